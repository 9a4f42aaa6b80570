"""Trace searches: the filter keys of ``search_traces`` and how each compiles to SQL.

Metadata keys copied into trace columns (version, run, session, user) compile to the indexed
column; other metadata and tags to ``EXISTS`` probes; ``span.*`` to an ``EXISTS`` over spans.
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa

from genver.entities.trace import MODEL_ID_KEY, SESSION_KEY, SOURCE_RUN_KEY, USER_KEY
from genver.exceptions import InvalidFilterError
from genver.search import ast
from genver.store.sql import tables as t
from genver.store.sql.filters import Expr, Target, compare, kv_exists
from genver.store.sql.trace_rows import STATES

_T = t.traces
_M = t.trace_metadata
_G = t.trace_tags
_S = t.spans

# Metadata keys copied into trace columns: a filter on one compiles to the indexed column.
_META_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    MODEL_ID_KEY: _T.c.model_id,
    SOURCE_RUN_KEY: _T.c.run_id,
    SESSION_KEY: _T.c.session_id,
    USER_KEY: _T.c.user_id,
}
COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "trace_id": _T.c.trace_id,
    "state": _T.c.state,
    "name": _T.c.name,
    "client_request_id": _T.c.client_request_id,
    "model_id": _T.c.model_id,
    "run_id": _T.c.run_id,
    "session_id": _T.c.session_id,
    "user": _T.c.user_id,
    "experiment_id": sa.cast(_T.c.experiment_id, sa.String),
    "request_time": _T.c.request_time,
    "execution_time": _T.c.execution_duration,
    "input_tokens": _T.c.input_tokens,
    "output_tokens": _T.c.output_tokens,
    "total_tokens": _T.c.total_tokens,
    "cost": _T.c.cost,
}
_INT_COLUMNS = frozenset({"request_time", "execution_time", "input_tokens", "output_tokens", "total_tokens"})
NOT_NULL = frozenset({"trace_id", "state", "experiment_id", "request_time"})
_SPAN_KEYS = {"name": _S.c.name, "type": _S.c.span_type, "span_type": _S.c.span_type, "status": _S.c.status}


# -- filter keys -----------------------------------------------------------------------------------------
def _metadata(c: ast.Comparison) -> Expr:
    column = _META_COLUMNS.get(c.key)
    if column is not None:  # an exact copy of the metadata value, indexed
        return compare(column, c.op, c.value)
    return kv_exists(_M, _T.c.trace_id, "trace_id")(c)


def _span(c: ast.Comparison) -> Expr:
    """A span of the trace matches: ``span.name``, ``span.type``, ``span.status`` or
    ``span.attributes.<key>`` (compared as text)."""
    column = _SPAN_KEYS.get(c.key.lower())
    if column is None:
        prefix, _, key = c.key.partition(".")
        if prefix.lower() != "attributes" or not key:
            raise InvalidFilterError(
                f"Invalid span key {'span.' + c.key!r}: expected span.name, span.type, span.status "
                "or span.attributes.<key>."
            )
        if '"' in key:  # SQLite's JSON path syntax cannot quote it
            raise InvalidFilterError(f"Invalid span attribute key {key!r}: it cannot contain '\"'.")
        column = _S.c.attributes[key].as_string()
    return sa.exists().where(_S.c.trace_id == _T.c.trace_id, compare(column, c.op, c.value))


def _attribute_value(c: ast.Comparison) -> object:
    """States are checked and upper-cased; a number compared with an integer column becomes the
    equivalent integer bound, so PostgreSQL still uses the indexes (``x > 2.5`` is ``x > 2``)."""
    if c.key == "state" and c.op in ("=", "!=", "IN", "NOT IN"):
        values = c.value if isinstance(c.value, tuple) else (c.value,)
        states = []
        for v in values:
            if str(v).upper() not in STATES:
                raise InvalidFilterError(
                    f"Invalid trace state {v!r} in the filter: expected one of {', '.join(STATES)}."
                )
            states.append(str(v).upper())
        return tuple(states) if isinstance(c.value, tuple) else states[0]
    if c.key in _INT_COLUMNS and isinstance(c.value, float):
        value = c.value
        if abs(value) < 2.0**62:
            if value.is_integer():
                return int(value)
            if c.op in (">", "<="):
                return math.floor(value)
            if c.op in ("<", ">="):
                return math.ceil(value)
        return sa.literal(value, sa.Float)
    return c.value


TARGET = Target(
    columns=COLUMNS,
    kv={"tag": kv_exists(_G, _T.c.trace_id, "trace_id"), "metadata": _metadata, "span": _span},
    attribute_hook=_attribute_value,
)
