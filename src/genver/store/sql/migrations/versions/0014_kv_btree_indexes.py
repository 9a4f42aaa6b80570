"""PostgreSQL: B-tree (key, value, owner) indexes on the params and tags of versions and runs,
for values up to ``VALUE_BYTES``, in place of revision 0004's hash indexes on the value.

Revision 0004 gave these tables a hash index on ``value`` because a B-tree entry is limited to
~2.7 kB and param and tag values are longer text. Two things were wrong with that:

- a hash index keeps equal values in one bucket, whose chain of overflow pages every insert walks
  to its end; params repeat few values (``llm = gpt-4`` on every version), so logging one more
  version with a popular value cost more as the store grew (revision 0011 dropped the same kind
  of index on trace metadata, where by 500,000 traces it had 1.6 billion buffer hits);
- it is not covering: a filter ``params.x = 'v'`` read each matching row from the heap to learn
  its owner (934 matches of one value at 100,000 versions were 782 heap pages).

A B-tree on (key, value, owner) answers the filter alone, from a few index pages, and takes
inserts of equal keys in O(log n) (duplicates are ordered by heap position and deduplicated).
The partial predicate keeps entries under the B-tree limit; a filter on ``=`` or ``IN`` whose
values all fit says so too (``filters.kv_select``), so that PostgreSQL may use the index. Longer
values, and the other operators, are searched as before (the (key, owner) index and the rows).
SQLite already has these indexes, without the limit (revision 0004).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Written out, not imported from the code: a migration stays what it was when it shipped.
VALUE_BYTES = 1000
_KV_TABLES = (
    ("logged_model_params", "model_id"),
    ("logged_model_tags", "model_id"),
    ("run_params", "run_id"),
    ("run_tags", "run_id"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, owner in _KV_TABLES:
        op.drop_index(f"ix_{table}_value", table_name=table)
        op.create_index(
            f"ix_{table}_key_value",
            table,
            ["key", "value", owner],
            postgresql_where=sa.text(f"octet_length(value) <= {VALUE_BYTES}"),
        )


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
