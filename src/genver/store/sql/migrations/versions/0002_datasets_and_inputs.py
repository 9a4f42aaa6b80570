"""Datasets (name + content digest) and run inputs (datasets and versions a run used).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
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
    op.create_table(
        "run_inputs",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("input_type", sa.String(16), primary_key=True),
        sa.Column("ref_id", sa.String(64), primary_key=True),
    )


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
