"""Table definitions (SQLAlchemy Core). The schema itself is created and upgraded by the Alembic
migrations in ``migrations/``; these definitions mirror the head revision and are what queries use.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("artifact_location", sa.String(1000), nullable=False),
    sa.Column("lifecycle_stage", sa.String(32), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("last_update_time", sa.BigInteger, nullable=False),
)

experiment_tags = sa.Table(
    "experiment_tags",
    metadata,
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
    sa.Column("run_name", sa.String(256), nullable=False),
    sa.Column("user_id", sa.String(256)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger),
    sa.Column("artifact_uri", sa.String(1000), nullable=False),
    sa.Column("lifecycle_stage", sa.String(32), nullable=False),
    sa.Index("ix_runs_experiment_start", "experiment_id", "start_time"),
)

run_params = sa.Table(
    "run_params",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

run_metrics = sa.Table(
    "run_metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("model_id", sa.String(34)),
    sa.Column("dataset_name", sa.String(500)),
    sa.Column("dataset_digest", sa.String(64)),
    sa.Index("ix_run_metrics_run_key", "run_id", "key"),
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
)

logged_models = sa.Table(
    "logged_models",
    metadata,
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
    sa.Index("ix_logged_models_exp_name", "experiment_id", "name", "creation_timestamp"),
    sa.Index("ix_logged_models_exp_created", "experiment_id", "creation_timestamp"),
)

logged_model_params = sa.Table(
    "logged_model_params",
    metadata,
    sa.Column("model_id", sa.String(34), sa.ForeignKey("logged_models.model_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_logged_model_params_kv", "key", "value"),
)

logged_model_tags = sa.Table(
    "logged_model_tags",
    metadata,
    sa.Column("model_id", sa.String(34), sa.ForeignKey("logged_models.model_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_logged_model_tags_kv", "key", "value"),
)

logged_model_metrics = sa.Table(
    "logged_model_metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.String(34), sa.ForeignKey("logged_models.model_id"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("run_id", sa.String(32)),
    sa.Column("dataset_name", sa.String(500)),
    sa.Column("dataset_digest", sa.String(64)),
    sa.Index("ix_logged_model_metrics_model_key", "model_id", "key"),
)

# Revision 0002: datasets and run inputs.
datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("dataset_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("source_type", sa.String(36), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("schema", sa.Text),
    sa.Column("profile", sa.Text),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("name", "digest", name="uq_datasets_name_digest"),
)

run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("input_type", sa.String(16), primary_key=True),
    sa.Column("ref_id", sa.String(64), primary_key=True),
)
