"""Search indexes: filters on params, tags and run metrics read an index, never the tables.

A filter on a param, tag or run metric compiles to an uncorrelated
``owner IN (SELECT owner FROM <table> WHERE key = ? AND value <op> ?)``; on SQLite a
(key, value, owner) index answers it alone. On PostgreSQL a B-tree entry is limited to ~2.7 kB
while param and tag values are longer text, so those tables get a B-tree on (key, owner) and a
hash index on value there instead; this also lifts that limit from the (key, value) index 0001
put on version params and tags. ``latest_metrics`` values are floats: the same index on both.
Versions are searched from (experiment_id, lifecycle_stage, creation_timestamp, model_id), which
replaces (experiment_id, creation_timestamp): the candidates of a search come from the index, and
only the rows it returns are read.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_KV_TABLES = (
    ("logged_model_params", "model_id"),
    ("logged_model_tags", "model_id"),
    ("run_params", "run_id"),
    ("run_tags", "run_id"),
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_logged_models_exp_created", table_name="logged_models")
    op.create_index(
        "ix_logged_models_exp_active",
        "logged_models",
        ["experiment_id", "lifecycle_stage", "creation_timestamp", "model_id"],
    )
    for table, owner in _KV_TABLES:
        if table.startswith("logged_model_"):
            op.drop_index(f"ix_{table}_kv", table_name=table)
        if postgres:
            op.create_index(f"ix_{table}_key", table, ["key", owner])
            op.create_index(f"ix_{table}_value", table, ["value"], postgresql_using="hash")
        else:
            op.create_index(f"ix_{table}_key_value", table, ["key", "value", owner])
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value", "run_id"])


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
