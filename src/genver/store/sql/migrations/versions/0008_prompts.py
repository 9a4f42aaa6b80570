"""Prompts: named, versioned templates with tags and aliases (MLflow 3's prompt registry).

``prompts`` (one row per name, with the id that names it in the history chain and the last
version number given), ``prompt_tags``, ``prompt_versions`` (immutable: the template, commit
message, model config and response format; a deleted version keeps its row with
``deleted_time``), ``prompt_version_tags`` and ``prompt_aliases``. Which app versions used which
prompt versions is the ``mlflow.linkedPrompts`` tag of each LoggedModel, as in MLflow.

Only tables are created, so the upgrade rewrites no row.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("prompt_id", sa.String(34), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("description", sa.Text),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
        sa.Column("last_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "prompt_tags",
        sa.Column("prompt_id", sa.String(34), sa.ForeignKey("prompts.prompt_id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "prompt_versions",
        sa.Column("prompt_id", sa.String(34), sa.ForeignKey("prompts.prompt_id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("prompt_type", sa.String(8), nullable=False),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("commit_message", sa.Text),
        sa.Column("model_config", sa.Text),
        sa.Column("response_format", sa.Text),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256)),
        sa.Column("deleted_time", sa.BigInteger),
    )
    op.create_table(
        "prompt_version_tags",
        sa.Column("prompt_id", sa.String(34), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["prompt_id", "version"], ["prompt_versions.prompt_id", "prompt_versions.version"]
        ),
    )
    op.create_table(
        "prompt_aliases",
        sa.Column("prompt_id", sa.String(34), sa.ForeignKey("prompts.prompt_id"), primary_key=True),
        sa.Column("alias", sa.String(255), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("set_time", sa.BigInteger, nullable=False),
        sa.Column("set_by", sa.String(256), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
