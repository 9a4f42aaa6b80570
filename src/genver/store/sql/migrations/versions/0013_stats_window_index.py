"""PostgreSQL: the experiment-by-time index of traces carries what statistics read.

``trace_stats`` for every version over a time window (the versions list, dashboards) had no index
that starts with the time: PostgreSQL read the whole traces table (a parallel sequential scan)
and kept the window's rows. At 1.8 million traces that was 0.56 s for a day of 167,000 traces,
and it grows with the store, not with the window (``bench/bench_scale.py``).
``ix_traces_experiment_time`` now ``INCLUDE``s the version, duration, state, tokens and cost, so
the window is an index-only range scan. One version's statistics still read
``ix_traces_model_duration``. SQLite is unchanged (no ``INCLUDE``; its statistics read the
duration index).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

# Written out, not imported from tables.py: a migration stays what it was when it shipped.
STATS_COLUMNS = (
    "model_id",
    "execution_duration",
    "state",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost",
)

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_traces_experiment_time", table_name="traces")
    op.create_index(
        "ix_traces_experiment_time",
        "traces",
        ["experiment_id", "request_time"],
        postgresql_include=list(STATS_COLUMNS),
    )


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
