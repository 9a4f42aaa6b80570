"""Aliases on versions and the versions' hash-chained history.

``model_aliases``: an alias (unique in its experiment: the primary key) and the version it points
to, with when and by whom it was set. ``model_history``: one row per change to a version, numbered
1, 2, 3... over the store, each with the SHA-256 of its content and of the entry before
(``genver.entities.history``). History starts at this revision: versions created before it have
no ``created`` entry, and their earlier changes are not recorded.

Only tables are created, so the upgrade rewrites no row.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ALIAS_MOVES = sa.text("kind IN ('alias_set', 'alias_removed')")


def upgrade() -> None:
    op.create_table(
        "model_aliases",
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), primary_key=True),
        sa.Column("alias", sa.String(255), primary_key=True),
        sa.Column("model_id", sa.String(34), sa.ForeignKey("logged_models.model_id"), nullable=False),
        sa.Column("set_time", sa.BigInteger, nullable=False),
        sa.Column("set_by", sa.String(256), nullable=False),
    )
    op.create_index("ix_model_aliases_model", "model_aliases", ["model_id"])
    op.create_table(
        "model_history",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),  # SQLite: the rowid
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("model_id", sa.String(34), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("before_json", sa.Text),
        sa.Column("after_json", sa.Text),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_model_history_model", "model_history", ["model_id", "seq"])
    op.create_index(
        "ix_model_history_alias_moves",
        "model_history",
        ["model_id", "seq"],
        sqlite_where=_ALIAS_MOVES,
        postgresql_where=_ALIAS_MOVES,
    )


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
