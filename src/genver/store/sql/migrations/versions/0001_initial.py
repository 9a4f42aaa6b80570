"""Experiments, runs and versions (LoggedModel) with their params, tags and metrics.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("artifact_location", sa.String(1000), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "experiment_tags",
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("run_name", sa.String(256), nullable=False),
        sa.Column("user_id", sa.String(256)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger),
        sa.Column("artifact_uri", sa.String(1000), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
    )
    op.create_index("ix_runs_experiment_start", "runs", ["experiment_id", "start_time"])
    for table in ("run_params", "run_tags"):
        op.create_table(
            table,
            sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    op.create_table(
        "run_metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("model_id", sa.String(34)),
        sa.Column("dataset_name", sa.String(500)),
        sa.Column("dataset_digest", sa.String(64)),
    )
    op.create_index("ix_run_metrics_run_key", "run_metrics", ["run_id", "key"])
    op.create_table(
        "latest_metrics",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(34), primary_key=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("artifact_location", sa.String(1000), nullable=False),
        sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
        sa.Column("model_type", sa.String(500)),
        sa.Column("source_run_id", sa.String(32)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_message", sa.Text),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
    )
    op.create_index(
        "ix_logged_models_exp_name", "logged_models", ["experiment_id", "name", "creation_timestamp"]
    )
    op.create_index("ix_logged_models_exp_created", "logged_models", ["experiment_id", "creation_timestamp"])
    for table in ("logged_model_params", "logged_model_tags"):
        op.create_table(
            table,
            sa.Column("model_id", sa.String(34), sa.ForeignKey("logged_models.model_id"), primary_key=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
        op.create_index(f"ix_{table}_kv", table, ["key", "value"])
    op.create_table(
        "logged_model_metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.String(34), sa.ForeignKey("logged_models.model_id"), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("dataset_name", sa.String(500)),
        sa.Column("dataset_digest", sa.String(64)),
    )
    op.create_index("ix_logged_model_metrics_model_key", "logged_model_metrics", ["model_id", "key"])


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
