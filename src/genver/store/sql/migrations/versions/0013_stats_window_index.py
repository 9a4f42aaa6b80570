"""PostgreSQL: the experiment-by-time index of traces carries what statistics read.

``trace_stats`` for every version over a time window (the versions list, dashboards) had no index
that starts with the time: PostgreSQL read the whole traces table (a parallel sequential scan)
and kept the window's rows. At 1.8 million traces that was 0.56 s for a day of 167,000 traces,
and it grows with the store, not with the window (``bench/bench_scale.py``).
``ix_traces_experiment_time`` now ``INCLUDE``s the version, duration, state, tokens and cost, so
the window can be an index-only range scan. And ``ix_traces_time_brin``, a BRIN index on
``request_time`` (a few kB: traces arrive in time order, so each 128-page block range holds a
narrow span of times): with PostgreSQL's default costs the planner still preferred a sequential
scan to the B-tree for a window of a few percent of the table (4 million traces: 0.75 s, of
which 0.33 s reading the table), and with the BRIN index it reads only the window's blocks (the
same call 0.41 s, 68 ms of it reading). One version's statistics still read
``ix_traces_model_duration``. SQLite is unchanged (no ``INCLUDE`` or BRIN; its statistics read
the duration index).

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
    # autosummarize: autovacuum summarizes each block range as inserts fill it; an unsummarized
    # range matches every search, so without it the index stops helping until the next vacuum.
    op.create_index(
        "ix_traces_time_brin",
        "traces",
        ["request_time"],
        postgresql_using="brin",
        postgresql_with={"autosummarize": "on"},
    )


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
