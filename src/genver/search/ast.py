"""The parsed form of a filter string, shared by the parser and the SQL compiler.

A filter such as ``params.llm = 'gpt-4' AND (metrics.acc > 0.9 OR tags.env IN ('prod', 'staging'))``
parses into::

    And((Comparison(kind="param", key="llm", op="=", value="gpt-4"),
         Or((Comparison(kind="metric", key="acc", op=">", value=0.9),
             Comparison(kind="tag", key="env", op="IN", value=("prod", "staging"))))))

Nodes are plain values: the compiler (``genver.store.sql.filters``) turns them into SQL with
bound parameters only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["attribute", "param", "tag", "metric", "metadata", "span"]
#: ``time``: a number of milliseconds since the epoch, or an ISO-8601 date-time string (UTC unless
#: it carries an offset) that the parser turns into one; compared as a number.
ValueType = Literal["string", "number", "time"]
Op = Literal["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN"]

STRING_OPS: frozenset[str] = frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"})
NUMBER_OPS: frozenset[str] = frozenset({"=", "!=", "<", "<=", ">", ">="})


@dataclass(frozen=True, slots=True)
class Comparison:
    """``<kind>.<key> <op> <value>``; ``value`` is a tuple for ``IN`` / ``NOT IN``."""

    kind: Kind
    key: str
    op: Op
    value: str | float | tuple[str, ...]
    position: int = 0


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


Node = Comparison | And | Or


@dataclass(frozen=True, slots=True)
class OrderBy:
    """One ``order_by`` term: ``kind`` is ``attribute`` or ``metric`` (or ``param``/``tag`` for runs)."""

    kind: Kind
    key: str
    ascending: bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True, slots=True)
class FilterSchema:
    """What one searchable entity accepts.

    ``attributes`` maps each canonical attribute to its value type; ``aliases`` maps other
    spellings (``creation_time``) to canonical names; ``prefixes`` maps a key prefix without the
    dot (``params``, ``param``, ``tags``, ``attributes``...) to the kind it selects;
    ``kind_types`` gives the value type of each non-attribute kind (metrics are numbers).
    ``order_kinds`` lists the kinds ``order_by`` accepts.
    """

    entity: str
    attributes: Mapping[str, ValueType]
    aliases: Mapping[str, str] = field(default_factory=dict)
    prefixes: Mapping[str, Kind] = field(default_factory=dict)
    kind_types: Mapping[Kind, ValueType] = field(default_factory=dict)
    order_kinds: frozenset[Kind] = frozenset({"attribute", "metric"})


_COMMON_PREFIXES: dict[str, Kind] = {
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "metric": "metric",
    "metrics": "metric",
}
_COMMON_KIND_TYPES: dict[Kind, ValueType] = {"param": "string", "tag": "string", "metric": "number"}

LOGGED_MODELS = FilterSchema(
    entity="logged models",
    attributes={
        "model_id": "string",
        "name": "string",
        "model_type": "string",
        "status": "string",
        "source_run_id": "string",
        "experiment_id": "string",
        "creation_timestamp": "time",
        "last_updated_timestamp": "time",
    },
    aliases={
        "creation_time": "creation_timestamp",
        "creation_timestamp_ms": "creation_timestamp",
        "last_updated_timestamp_ms": "last_updated_timestamp",
        "last_updated_time": "last_updated_timestamp",
        "id": "model_id",
        "model_name": "name",
    },
    prefixes=_COMMON_PREFIXES,
    kind_types=_COMMON_KIND_TYPES,
    order_kinds=frozenset({"attribute", "metric"}),
)

RUNS = FilterSchema(
    entity="runs",
    attributes={
        "run_id": "string",
        "run_name": "string",
        "status": "string",
        "user_id": "string",
        "artifact_uri": "string",
        "experiment_id": "string",
        "lifecycle_stage": "string",
        "start_time": "time",
        "end_time": "time",
    },
    aliases={"run_uuid": "run_id", "created": "start_time", "name": "run_name"},
    prefixes=_COMMON_PREFIXES,
    kind_types=_COMMON_KIND_TYPES,
    order_kinds=frozenset({"attribute", "metric", "param", "tag"}),
)

EXPERIMENTS = FilterSchema(
    entity="experiments",
    attributes={
        "experiment_id": "string",
        "name": "string",
        "lifecycle_stage": "string",
        "creation_time": "time",
        "last_update_time": "time",
    },
    aliases={"creation_timestamp": "creation_time", "last_update_timestamp": "last_update_time"},
    prefixes={"attribute": "attribute", "attributes": "attribute", "tag": "tag", "tags": "tag"},
    kind_types={"tag": "string"},
    order_kinds=frozenset({"attribute"}),
)

TRACES = FilterSchema(
    entity="traces",
    attributes={
        "trace_id": "string",
        "state": "string",
        "name": "string",
        "client_request_id": "string",
        "model_id": "string",
        "run_id": "string",
        "session_id": "string",
        "user": "string",
        "experiment_id": "string",
        "request_time": "time",
        "execution_time": "number",
        "input_tokens": "number",
        "output_tokens": "number",
        "total_tokens": "number",
        "cost": "number",
    },
    aliases={
        "status": "state",
        "request_id": "trace_id",
        "timestamp": "request_time",
        "timestamp_ms": "request_time",
        "execution_time_ms": "execution_time",
        "execution_duration": "execution_time",
        "trace_name": "name",
    },
    prefixes={
        "attribute": "attribute",
        "attributes": "attribute",
        "tag": "tag",
        "tags": "tag",
        "metadata": "metadata",
        "request_metadata": "metadata",
        "trace_metadata": "metadata",
        "resource": "metadata",  # resource.service.name: the metadata key resource.service.name
        "span": "span",
        "spans": "span",
    },
    kind_types={"tag": "string", "metadata": "string", "span": "string"},
    order_kinds=frozenset({"attribute"}),
)
"""Trace filters: ``state = 'ERROR'``, ``execution_time > 500``, ``tags.env = 'prod'``,
``timestamp >= '2026-12-06T00:57:06'`` (or epoch milliseconds; naive times are UTC),
``metadata.`mlflow.modelId` = 'm-...'``, ``span.name = 'retrieve'``, ``span.type = 'LLM'``,
``span.attributes.`gen_ai.request.model` = 'gpt-4o'`` (a span key is ``name``, ``type``,
``status`` or ``attributes.<key>``; a trace matches when any of its spans does),
``resource.service.name = 'checkout'`` (the OpenTelemetry resource of a trace sent over OTLP,
kept as metadata ``resource.<key>``)."""

EVAL_DATASETS = FilterSchema(
    entity="evaluation datasets",
    attributes={
        "dataset_id": "string",
        "name": "string",
        "digest": "string",
        "created_time": "time",
        "last_update_time": "time",
    },
    aliases={
        "id": "dataset_id",
        "dataset_name": "name",
        "dataset_digest": "digest",
        "creation_time": "created_time",
        "create_time": "created_time",
        "last_updated_time": "last_update_time",
    },
    prefixes={"attribute": "attribute", "attributes": "attribute", "tag": "tag", "tags": "tag"},
    kind_types={"tag": "string"},
    order_kinds=frozenset({"attribute"}),
)
"""Evaluation dataset filters: ``name = 'golden'``, ``digest = '3f2a...'``,
``created_time > 1700000000000``, ``tags.team = 'search'``."""

PROMPTS = FilterSchema(
    entity="prompts",
    attributes={"name": "string", "creation_timestamp": "time", "last_updated_timestamp": "time"},
    aliases={"creation_time": "creation_timestamp", "last_update_time": "last_updated_timestamp"},
    prefixes={"attribute": "attribute", "attributes": "attribute", "tag": "tag", "tags": "tag"},
    kind_types={"tag": "string"},
    order_kinds=frozenset({"attribute"}),
)
