"""Assessments (feedback and expectations on traces) and evaluation datasets (records of inputs
and expectations, identified by a content digest), with their tags and records.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("assessment_id", sa.String(64), primary_key=True),
        sa.Column("trace_id", sa.String(64), sa.ForeignKey("traces.trace_id"), nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("rationale", sa.Text),
        sa.Column("source_type", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(250), nullable=False),
        sa.Column("error_code", sa.String(250)),
        sa.Column("error_message", sa.Text),
        sa.Column("span_id", sa.String(32)),
        sa.Column("metadata", sa.Text),
        sa.Column("create_time_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_assessments_trace_name", "assessments", ["trace_id", "name"])
    op.create_index("ix_assessments_run_name", "assessments", ["run_id", "name"])
    op.create_table(
        "eval_datasets",
        sa.Column("dataset_id", sa.String(34), primary_key=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_eval_datasets_experiment_created", "eval_datasets", ["experiment_id", "created_time"])
    op.create_index("ix_eval_datasets_name", "eval_datasets", ["name"])
    op.create_table(
        "eval_dataset_tags",
        sa.Column("dataset_id", sa.String(34), sa.ForeignKey("eval_datasets.dataset_id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "eval_dataset_records",
        sa.Column("dataset_id", sa.String(34), sa.ForeignKey("eval_datasets.dataset_id"), primary_key=True),
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("expectations", sa.Text),
        sa.Column("tags", sa.Text),
        sa.Column("source_trace_id", sa.String(64)),
    )


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
