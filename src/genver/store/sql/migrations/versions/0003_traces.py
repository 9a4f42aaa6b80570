"""Traces: one row per trace (linked version, run, experiment, state, timings, tokens, cost,
previews), its metadata and tags, and its spans.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(64), primary_key=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("request_time", sa.BigInteger, nullable=False),
        sa.Column("execution_duration", sa.BigInteger),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("request_preview", sa.Text),
        sa.Column("response_preview", sa.Text),
        sa.Column("client_request_id", sa.Text),
        sa.Column("model_id", sa.String(64)),
        sa.Column("run_id", sa.String(64)),
        sa.Column("session_id", sa.Text),
        sa.Column("user_id", sa.Text),
        sa.Column("input_tokens", sa.BigInteger),
        sa.Column("output_tokens", sa.BigInteger),
        sa.Column("total_tokens", sa.BigInteger),
        sa.Column("cost", sa.Float),
    )
    op.create_index("ix_traces_experiment_time", "traces", ["experiment_id", "request_time"])
    op.create_index("ix_traces_model_time", "traces", ["model_id", "request_time"])
    # Covers every column trace statistics read, so they never touch the wide rows.
    op.create_index(
        "ix_traces_model_duration",
        "traces",
        [
            "model_id",
            "execution_duration",
            "request_time",
            "experiment_id",
            "state",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cost",
        ],
    )
    op.create_index("ix_traces_run", "traces", ["run_id"])
    for table in ("trace_metadata", "trace_tags"):
        op.create_table(
            table,
            sa.Column("trace_id", sa.String(64), sa.ForeignKey("traces.trace_id"), primary_key=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
        # Hash on PostgreSQL: a B-tree entry over ~2.7 kB would make the insert fail.
        op.create_index(f"ix_{table}_value", table, ["value"], postgresql_using="hash")
    op.create_table(
        "spans",
        sa.Column("trace_id", sa.String(64), sa.ForeignKey("traces.trace_id"), primary_key=True),
        sa.Column("span_id", sa.String(32), primary_key=True),
        sa.Column("parent_id", sa.String(32)),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("span_type", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text),
        sa.Column("start_time_ns", sa.BigInteger, nullable=False),
        sa.Column("end_time_ns", sa.BigInteger),
        sa.Column("inputs", sa.Text),
        sa.Column("outputs", sa.Text),
        sa.Column("attributes", sa.JSON),
        sa.Column("events", sa.Text),
    )
    # (x, trace_id): a span filter is a correlated EXISTS, fully matched by either index.
    op.create_index("ix_spans_name", "spans", ["name", "trace_id"])
    op.create_index("ix_spans_type", "spans", ["span_type", "trace_id"])


def downgrade() -> None:
    raise NotImplementedError("genver never downgrades: it would drop data.")
