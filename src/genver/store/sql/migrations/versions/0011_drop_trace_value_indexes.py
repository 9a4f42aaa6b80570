"""Drop the value indexes of trace metadata and tags: no query reads them, and on PostgreSQL they
made trace ingest quadratic.

``ix_trace_metadata_value`` and ``ix_trace_tags_value`` (revision 0003) were PostgreSQL hash
indexes (a B-tree on SQLite). A trace filter on metadata or a tag is a correlated ``EXISTS``
probing one trace's key through the primary key (``filters.kv_exists``), and retention and
statistics read the columns copied onto ``traces``, so neither index was ever scanned
(``pg_stat_user_indexes.idx_scan`` = 0 after a million traces). But every trace inserts six
metadata values and a tag that are mostly the same few strings (the schema version, the user,
the source, the run), and a hash index keeps equal values in one bucket whose overflow pages an
insert walks to the end: at 500,000 traces that was ~500 page reads per row, 1.6 billion buffer
hits, most of what ingest cost (``bench/bench_scale.py``).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_trace_metadata_value", table_name="trace_metadata")
    op.drop_index("ix_trace_tags_value", table_name="trace_tags")


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
