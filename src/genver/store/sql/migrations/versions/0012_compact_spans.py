"""Compact spans: payloads deflated where that pays, and one-column name and type indexes.

At a million traces of the scale benchmark's 6 spans (``bench/bench_scale.py``), a span took 970
bytes on PostgreSQL: a 654-byte row, 424 of it inputs and outputs as JSON text that TOAST never
compresses (it starts at ~2 kB a row), and 287 bytes of indexes, of which the (name, trace_id)
and (span_type, trace_id) indexes were 210, each entry carrying the 36-byte trace id again.

- ``spans.payload``: inputs, outputs and events deflated together, written instead of the three
  text columns when it is at most 80 % of their size (``trace_rows.pack_payload``). Rows
  written before keep their text columns; both read the same.
- ``ix_spans_name`` and ``ix_spans_type`` on the one column: PostgreSQL's B-tree deduplication
  stores each distinct name once per page with a list of row pointers, a few bytes a span. A
  span filter probes the primary key per trace, or for a rare value reads the index and the
  rows it points to. Rebuilding them reads the whole table once (minutes at tens of millions
  of spans).
- PostgreSQL: the payload is stored without a second compression attempt (``EXTERNAL``), and
  big inputs, outputs, attributes and events use LZ4 where the server has it (faster than the
  default pglz for rows over TOAST's threshold).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("spans", sa.Column("payload", sa.LargeBinary))
    op.drop_index("ix_spans_name", table_name="spans")
    op.drop_index("ix_spans_type", table_name="spans")
    op.create_index("ix_spans_name", "spans", ["name"])
    op.create_index("ix_spans_type", "spans", ["span_type"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE spans ALTER COLUMN payload SET STORAGE EXTERNAL")
    lz4 = bind.exec_driver_sql(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    ).scalar()
    if lz4:
        for column in ("inputs", "outputs", "attributes", "events"):
            op.execute(f"ALTER TABLE spans ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
