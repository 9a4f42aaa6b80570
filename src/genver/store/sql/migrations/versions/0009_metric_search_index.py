"""Metric search index: a filter on a version's metric reads an index, never every version.

``metrics.accuracy > 0.99`` compiles to ``model_id IN (SELECT model_id FROM
logged_model_metrics WHERE key = ? AND value > ?)`` (``filters.kv_in``), as params and tags do
since revision 0004; a (key, value, model_id) index answers it alone on both databases (metric
values are floats, so PostgreSQL's B-tree size limit does not apply). Before, it was a correlated
``EXISTS`` probed once per version in scope: a metric matching 1 % read every version.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_logged_model_metrics_key_value", "logged_model_metrics", ["key", "value", "model_id"])


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
