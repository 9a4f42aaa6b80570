"""Table definitions (SQLAlchemy Core). The schema itself is created and upgraded by the Alembic
migrations in ``migrations/``; these definitions mirror the head revision and are what queries use.
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa

from genver.store.sql.functions import fits_kv_index


class MetricValue(sa.types.TypeDecorator[float]):
    """A float that keeps NaN on SQLite, which would store it as NULL (and fail NOT NULL).

    NaN is written there as the text ``'NaN'``; SQLite sorts and compares text after every
    number, just as PostgreSQL treats NaN as larger than every number, so filters and order_by
    agree on both backends. The database column type is unchanged (no migration).
    """

    impl = sa.Float
    cache_ok = True

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        inner = super().bind_processor(dialect)  # the float conversion, which would undo 'NaN'
        if dialect.name != "sqlite":
            return inner

        def process(value: Any) -> Any:
            if isinstance(value, float) and math.isnan(value):
                return "NaN"
            return inner(value) if inner is not None else value

        return process

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return float(value) if isinstance(value, str) else value


metadata = sa.MetaData()

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("artifact_location", sa.String(1000), nullable=False),
    sa.Column("lifecycle_stage", sa.String(32), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("last_update_time", sa.BigInteger, nullable=False),
)

experiment_tags = sa.Table(
    "experiment_tags",
    metadata,
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
    sa.Column("run_name", sa.String(256), nullable=False),
    sa.Column("user_id", sa.String(256)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger),
    sa.Column("artifact_uri", sa.String(1000), nullable=False),
    sa.Column("lifecycle_stage", sa.String(32), nullable=False),
    sa.Index("ix_runs_experiment_start", "experiment_id", "start_time"),
)

run_params = sa.Table(
    "run_params",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

run_metrics = sa.Table(
    "run_metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("value", MetricValue, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("model_id", sa.String(34)),
    sa.Column("dataset_name", sa.String(500)),
    sa.Column("dataset_digest", sa.String(64)),
    sa.Index("ix_run_metrics_run_key", "run_id", "key"),
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", MetricValue, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
)

logged_models = sa.Table(
    "logged_models",
    metadata,
    sa.Column("model_id", sa.String(34), primary_key=True),
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("artifact_location", sa.String(1000), nullable=False),
    sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
    sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
    sa.Column("model_type", sa.String(500)),
    sa.Column("source_run_id", sa.String(32)),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("status_message", sa.Text),
    sa.Column("lifecycle_stage", sa.String(32), nullable=False),
    sa.Index("ix_logged_models_exp_name", "experiment_id", "name", "creation_timestamp"),
)

logged_model_params = sa.Table(
    "logged_model_params",
    metadata,
    sa.Column("model_id", sa.String(34), sa.ForeignKey("logged_models.model_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

logged_model_tags = sa.Table(
    "logged_model_tags",
    metadata,
    sa.Column("model_id", sa.String(34), sa.ForeignKey("logged_models.model_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

logged_model_metrics = sa.Table(
    "logged_model_metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.String(34), sa.ForeignKey("logged_models.model_id"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("value", MetricValue, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("run_id", sa.String(32)),
    sa.Column("dataset_name", sa.String(500)),
    sa.Column("dataset_digest", sa.String(64)),
    sa.Index("ix_logged_model_metrics_model_key", "model_id", "key"),
)

# Revision 0010: each version's latest value of each metric (by timestamp, step, then the later
# log), as runs have latest_metrics; log_batch keeps it in the same transaction with one
# conditional upsert. ``order_by`` a metric walks (experiment, key, value) for one page instead of
# computing every version's latest value and sorting them. experiment_id is the version's own
# (a version never moves).
logged_model_latest_metrics = sa.Table(
    "logged_model_latest_metrics",
    metadata,
    sa.Column("model_id", sa.String(34), sa.ForeignKey("logged_models.model_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("experiment_id", sa.Integer, nullable=False),
    sa.Column("value", MetricValue, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Index("ix_logged_model_latest_metrics_order", "experiment_id", "key", "value", "model_id"),
)

# Revision 0004: search indexes. A search reads ix_logged_models_exp_active alone to find its
# candidates (the row is read only for the versions it returns), and a filter on a param, tag or
# run metric is ``owner IN (SELECT owner FROM <table> WHERE key = ? AND value <op> ?)``
# (filters.kv_in), answered from a (key, value, owner) index without touching the table.
# On PostgreSQL a B-tree entry is limited to ~2.7 kB and param/tag values are longer text, so
# there the (key, value, owner) indexes of params and tags hold the values of at most
# functions.KV_INDEX_BYTES bytes (revision 0014, partial: ``fits_kv_index`` is the predicate,
# which filters.kv_select adds for values that fit), beside a (key, owner) index (0004). latest_metrics values are floats: one index on both.
_FITS: dict[str, Any] = {"postgresql_where": fits_kv_index(sa.literal_column("value"))}
sa.Index(
    "ix_logged_models_exp_active",
    logged_models.c.experiment_id,
    logged_models.c.lifecycle_stage,
    logged_models.c.creation_timestamp,
    logged_models.c.model_id,
)
sa.Index(
    "ix_logged_model_params_key_value",
    logged_model_params.c.key,
    logged_model_params.c.value,
    logged_model_params.c.model_id,
    **_FITS,
)
sa.Index(
    "ix_logged_model_tags_key_value",
    logged_model_tags.c.key,
    logged_model_tags.c.value,
    logged_model_tags.c.model_id,
    **_FITS,
)
sa.Index("ix_run_params_key_value", run_params.c.key, run_params.c.value, run_params.c.run_id, **_FITS)
sa.Index("ix_run_tags_key_value", run_tags.c.key, run_tags.c.value, run_tags.c.run_id, **_FITS)
sa.Index("ix_latest_metrics_key_value", latest_metrics.c.key, latest_metrics.c.value, latest_metrics.c.run_id)
# Revision 0009: a filter on a version's metric is ``model_id IN (SELECT model_id FROM
# logged_model_metrics WHERE key = ? AND value <op> ?)``, answered from this index alone.
sa.Index(
    "ix_logged_model_metrics_key_value",
    logged_model_metrics.c.key,
    logged_model_metrics.c.value,
    logged_model_metrics.c.model_id,
)

# Revision 0002: datasets and run inputs.
datasets = sa.Table(
    "datasets",
    metadata,
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

run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("input_type", sa.String(16), primary_key=True),
    sa.Column("ref_id", sa.String(64), primary_key=True),
)

# Revision 0003: traces. The version, run, session and user are copied out of the metadata into
# indexed columns, so the searches and statistics that filter on them never touch trace_metadata.
#: What trace statistics read besides the experiment and the time (``trace_stats``).
STATS_COLUMNS = (
    "model_id",
    "execution_duration",
    "state",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost",
)
traces = sa.Table(
    "traces",
    metadata,
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
    # PostgreSQL (revision 0013): it also carries what statistics read, so statistics over a
    # time window for every version read that window's index entries, not the whole table.
    # Revision 0013 also gives PostgreSQL (only) ix_traces_time_brin, a BRIN index on
    # request_time, which its planner prefers for such windows with the default costs.
    sa.Index(
        "ix_traces_experiment_time",
        "experiment_id",
        "request_time",
        postgresql_include=list(STATS_COLUMNS),
    ),
    sa.Index("ix_traces_model_time", "model_id", "request_time"),
    # Leads with (model_id, execution_duration) for percentiles; the other columns make it cover
    # every column trace statistics filter on or add up, so they never read the wide rows.
    sa.Index(
        "ix_traces_model_duration",
        "model_id",
        "execution_duration",
        "request_time",
        "experiment_id",
        "state",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "cost",
    ),
    sa.Index("ix_traces_run", "run_id"),
)

# No index on the values (revision 0011 dropped them): a metadata or tag filter probes one trace's
# key through the primary key, and a hash index over these few, much repeated strings made each
# insert walk a bucket's whole overflow chain.
trace_metadata = sa.Table(
    "trace_metadata",
    metadata,
    sa.Column("trace_id", sa.String(64), sa.ForeignKey("traces.trace_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

trace_tags = sa.Table(
    "trace_tags",
    metadata,
    sa.Column("trace_id", sa.String(64), sa.ForeignKey("traces.trace_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

spans = sa.Table(
    "spans",
    metadata,
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
    # Revision 0012: inputs, outputs and events deflated together where that pays (trace_rows);
    # those three columns are then NULL.
    sa.Column("payload", sa.LargeBinary),
    # A span filter is a correlated EXISTS: probed through the primary key per trace, or from
    # these for a rare name or type. One column each (revision 0012; (x, trace_id) before), so
    # PostgreSQL's B-tree deduplication keeps them at a few bytes a span.
    sa.Index("ix_spans_name", "name"),
    sa.Index("ix_spans_type", "span_type"),
)

# Revision 0005: assessments on traces and evaluation datasets. Assessment values and metadata,
# and dataset records' inputs, expectations and tags, are JSON text: they are read whole, never
# filtered on in SQL.
assessments = sa.Table(
    "assessments",
    metadata,
    sa.Column("assessment_id", sa.String(64), primary_key=True),
    sa.Column("trace_id", sa.String(64), sa.ForeignKey("traces.trace_id"), nullable=False),
    sa.Column("run_id", sa.String(32)),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("value", sa.Text),
    sa.Column("rationale", sa.Text),
    sa.Column("source_type", sa.String(32), nullable=False),
    sa.Column("source_id", sa.String(250), nullable=False),
    sa.Column("error_code", sa.String(250)),
    sa.Column("error_message", sa.Text),
    sa.Column("span_id", sa.String(32)),
    sa.Column("metadata", sa.Text),
    sa.Column("create_time_ms", sa.BigInteger, nullable=False),
    # Revision 0006: updates and overrides (NULL last update: never set, read as 0).
    sa.Column("last_update_time_ms", sa.BigInteger),
    sa.Column("valid", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("overrides", sa.String(64)),
    # Both lead with the column a read selects on (a trace's assessments when traces are loaded,
    # an evaluation run's for comparisons), so each read is one index range.
    sa.Index("ix_assessments_trace_name", "trace_id", "name"),
    sa.Index("ix_assessments_run_name", "run_id", "name"),
)

eval_datasets = sa.Table(
    "eval_datasets",
    metadata,
    sa.Column("dataset_id", sa.String(34), primary_key=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Column("last_update_time", sa.BigInteger, nullable=False),
    sa.Index("ix_eval_datasets_experiment_created", "experiment_id", "created_time"),
    sa.Index("ix_eval_datasets_name", "name"),
)

eval_dataset_tags = sa.Table(
    "eval_dataset_tags",
    metadata,
    sa.Column("dataset_id", sa.String(34), sa.ForeignKey("eval_datasets.dataset_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

eval_dataset_records = sa.Table(
    "eval_dataset_records",
    metadata,
    sa.Column("dataset_id", sa.String(34), sa.ForeignKey("eval_datasets.dataset_id"), primary_key=True),
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("expectations", sa.Text),
    sa.Column("tags", sa.Text),
    sa.Column("source_trace_id", sa.String(64)),
    # Revision 0006: outputs (JSON text) and the record's times (NULL on records added before).
    sa.Column("outputs", sa.Text),
    sa.Column("created_time", sa.BigInteger),
    sa.Column("last_update_time", sa.BigInteger),
)

# Revision 0007: aliases and the versions' history.
# An alias is unique in its experiment (the primary key); set_time / set_by repeat the history
# entry that put it there, so listing aliases reads one table.
model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), primary_key=True),
    sa.Column("alias", sa.String(255), primary_key=True),
    sa.Column("model_id", sa.String(34), sa.ForeignKey("logged_models.model_id"), nullable=False),
    sa.Column("set_time", sa.BigInteger, nullable=False),
    sa.Column("set_by", sa.String(256), nullable=False),
    sa.Index("ix_model_aliases_model", "model_id"),
)

# One hash chain per store: seq 1, 2, 3... (INTEGER PRIMARY KEY is SQLite's rowid, so the head
# is the last rowid), before/after as canonical JSON text (NULL for None). The hash covers seq,
# prev_hash, time, actor, model_id, kind, before and after (genver.entities.history).
model_history = sa.Table(
    "model_history",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("model_id", sa.String(34), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("before_json", sa.Text),
    sa.Column("after_json", sa.Text),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
    sa.Index("ix_model_history_model", "model_id", "seq"),
    # Alias moves only (a sliver of the entries): what "which version held @x at t" reads.
    sa.Index(
        "ix_model_history_alias_moves",
        "model_id",
        "seq",
        sqlite_where=sa.text("kind IN ('alias_set', 'alias_removed')"),
        postgresql_where=sa.text("kind IN ('alias_set', 'alias_removed')"),
    ),
)

# Revision 0008: prompts (genver.entities.prompt). A prompt's id ("p-" and 32 hex digits) names
# it in the history chain (model_history.model_id), where its alias moves are recorded.
# last_version only grows, so a deleted version's number is never given again.
prompts = sa.Table(
    "prompts",
    metadata,
    sa.Column("prompt_id", sa.String(34), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("last_update_time", sa.BigInteger, nullable=False),
    sa.Column("last_version", sa.Integer, nullable=False),
)

prompt_tags = sa.Table(
    "prompt_tags",
    metadata,
    sa.Column("prompt_id", sa.String(34), sa.ForeignKey("prompts.prompt_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# template: the text, or a chat's messages as JSON (prompt_type says which); model_config and
# response_format as JSON text. A deleted version keeps its row (deleted_time set), so the app
# versions that used it still show its text in comparisons.
prompt_versions = sa.Table(
    "prompt_versions",
    metadata,
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

prompt_version_tags = sa.Table(
    "prompt_version_tags",
    metadata,
    sa.Column("prompt_id", sa.String(34), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(
        ["prompt_id", "version"], ["prompt_versions.prompt_id", "prompt_versions.version"]
    ),
)

prompt_aliases = sa.Table(
    "prompt_aliases",
    metadata,
    sa.Column("prompt_id", sa.String(34), sa.ForeignKey("prompts.prompt_id"), primary_key=True),
    sa.Column("alias", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("set_time", sa.BigInteger, nullable=False),
    sa.Column("set_by", sa.String(256), nullable=False),
)
