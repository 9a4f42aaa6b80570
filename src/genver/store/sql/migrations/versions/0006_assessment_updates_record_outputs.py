"""Assessments that can be updated and overridden, dataset records with outputs and times.

``assessments`` gains ``last_update_time_ms`` (the creation time, then each
``update_assessment``; NULL on older rows, read as 0), ``valid`` (false once a later feedback overrides it) and
``overrides`` (the id of the assessment this one overrides), as MLflow 3 keeps them.
``eval_dataset_records`` gains ``outputs`` (JSON text, as records built from traces carry them)
and ``created_time`` / ``last_update_time`` (NULL on older rows).

Only columns are added (nullable, or with a default), so the upgrade rewrites no row.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("assessments", sa.Column("last_update_time_ms", sa.BigInteger))
    op.add_column("assessments", sa.Column("valid", sa.Boolean, nullable=False, server_default=sa.true()))
    op.add_column("assessments", sa.Column("overrides", sa.String(64)))
    op.add_column("eval_dataset_records", sa.Column("outputs", sa.Text))
    op.add_column("eval_dataset_records", sa.Column("created_time", sa.BigInteger))
    op.add_column("eval_dataset_records", sa.Column("last_update_time", sa.BigInteger))


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
