"""Traces to rows and back: validation and JSON encoding for ``log_traces``, decoding for reads.

A whole batch is checked and serialized here before the write transaction opens, so a bad trace
fails the batch with an ``InvalidArgumentError`` that names the value, and nothing is written.

Span inputs, outputs and events are stored as JSON text and come back exactly; when they are big
enough to gain (``_PACK_MIN``), the three are packed into one deflated ``payload`` instead
(``pack_payload``). Attributes are stored as
strict JSON in a JSON column, because SQLite's and PostgreSQL's JSON functions reject ``NaN`` (and
PostgreSQL lone surrogates): in attributes only, non-finite floats are stored as the strings
``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` and lone surrogates as U+FFFD. Values that are not
JSON types are stored as ``str(value)``; tuples come back as lists.
"""

from __future__ import annotations

import json
import json.encoder
import json.scanner
import math
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from genver.entities import (
    Assessment,
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    TokenUsage,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from genver.entities.trace import MODEL_ID_KEY, SESSION_KEY, SOURCE_RUN_KEY, USER_KEY
from genver.exceptions import InvalidArgumentError
from genver.store.sql import tables as t
from genver.validation import check_key

_T = t.traces
_S = t.spans

MAX_SPAN_NAME = 500  # spans are indexed on their name: PostgreSQL B-tree entries stay small
_MAX_ID = 64  # the model_id and run_id columns
_MAX_SPAN_ID = 32
_INT64 = 2**63 - 1
_TRACE_ID = re.compile(r"tr-[0-9a-f]{32}")
STATES = {s.value: s for s in TraceState}
# Metadata keys stored in their own (indexed) trace column instead of in trace_metadata.
COLUMN_KEYS = {
    MODEL_ID_KEY: "model_id",
    SOURCE_RUN_KEY: "run_id",
    SESSION_KEY: "session_id",
    USER_KEY: "user_id",
}
_CODES = {c.value: c for c in SpanStatusCode}
_CODE_VALUES: dict[str, str] = {c: c.value for c in SpanStatusCode}  # members and plain strings
_STATE_VALUES: dict[str, str] = {s: s.value for s in TraceState}
_PLAIN_STATUS = {c.value: SpanStatus(c, "") for c in SpanStatusCode}

# The columns of the tuples TraceRows builds, in order (the insert statements name them).
TRACE_INSERT = (
    "trace_id",
    "experiment_id",
    "request_time",
    "execution_duration",
    "state",
    "name",
    "request_preview",
    "response_preview",
    "client_request_id",
    "model_id",
    "run_id",
    "session_id",
    "user_id",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost",
)
KV_INSERT = ("trace_id", "key", "value")
SPAN_INSERT = (
    "trace_id",
    "span_id",
    "parent_id",
    "name",
    "span_type",
    "status",
    "status_message",
    "start_time_ns",
    "end_time_ns",
    "inputs",
    "outputs",
    "attributes",
    "events",
    "payload",
)


def _encoder(allow_nan: bool) -> Callable[[Any], str]:
    """``json.dumps`` (compact, ``default=str``) without its per-call wrappers: about 2x faster.
    It is json's own C encoder, built once (``json.dumps`` builds one per call)."""
    try:
        from _json import make_encoder
    except ImportError:  # no C accelerator
        return json.JSONEncoder(default=str, separators=(",", ":"), allow_nan=allow_nan).encode
    encode = make_encoder(
        None, str, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, allow_nan
    )
    return lambda value: "".join(encode(value, 0))


_dumps = _encoder(allow_nan=True)
_dumps_strict = _encoder(allow_nan=False)
# The C scanner json.loads ends in, called directly: the JSON is our own, so none of the checks
# and wrappers around it are needed (about half of json.loads' time on small values).
_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # stub too narrow

# Columns read back, in the order trace_from_row / span_from_row expect.
INFO_COLUMNS = (
    _T.c.trace_id,
    _T.c.experiment_id,
    _T.c.request_time,
    _T.c.execution_duration,
    _T.c.state,
    _T.c.request_preview,
    _T.c.response_preview,
    _T.c.client_request_id,
    _T.c.input_tokens,
    _T.c.output_tokens,
    _T.c.total_tokens,
    _T.c.cost,
    *(_T.c[name] for name in COLUMN_KEYS.values()),
)
SPAN_COLUMNS = (
    _S.c.trace_id,
    _S.c.span_id,
    _S.c.parent_id,
    _S.c.name,
    _S.c.span_type,
    _S.c.status,
    _S.c.status_message,
    _S.c.start_time_ns,
    _S.c.end_time_ns,
    _S.c.inputs,
    _S.c.outputs,
    sa.type_coerce(_S.c.attributes, sa.Text),  # decoded below (PostgreSQL's driver already does)
    _S.c.events,
    _S.c.payload,
)


def check_trace_id(value: object) -> str:
    if isinstance(value, str) and _TRACE_ID.fullmatch(value):
        return value
    raise InvalidArgumentError(
        f"Invalid trace id {value!r}: expected 'tr-' followed by 32 lowercase hex digits."
    )


class TraceRows:
    """The rows of one ``log_traces`` batch as tuples (``TRACE_INSERT``, ``KV_INSERT``,
    ``SPAN_INSERT`` order), validated and serialized. Keys in ``COLUMN_KEYS`` are stored only in
    their trace column, not in trace_metadata."""

    __slots__ = ("metadata", "spans", "tags", "traces")

    def __init__(self) -> None:
        self.traces: list[tuple[Any, ...]] = []
        self.metadata: list[tuple[str, str, str]] = []
        self.tags: list[tuple[str, str, str]] = []
        self.spans: list[tuple[Any, ...]] = []

    def extend(self, other: TraceRows) -> None:
        self.traces += other.traces
        self.metadata += other.metadata
        self.tags += other.tags
        self.spans += other.spans

    def add(self, trace_id: str, exp_int: int, trace: Trace) -> None:
        info = trace.info
        where = f"trace {trace_id!r}"
        meta = _strings(info.trace_metadata, "metadata", where)
        tags = _strings(info.tags, "tag", where)
        usage = info.token_usage
        if usage is not None and not isinstance(usage, TokenUsage):
            raise InvalidArgumentError(f"Invalid token_usage {usage!r} of {where}: expected a TokenUsage.")
        cost = info.cost
        if cost is not None and (
            isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost)
        ):
            raise InvalidArgumentError(f"Invalid cost {cost!r} of {where}: expected a finite number.")
        state = _STATE_VALUES.get(info.state) if isinstance(info.state, str) else None
        if state is None:
            raise InvalidArgumentError(
                f"Invalid state {info.state!r} of {where}: expected one of {', '.join(STATES)}."
            )
        spans = trace.data.spans
        root = trace.data.root if spans else None
        self.traces.append(
            (
                trace_id,
                exp_int,
                _int(info.request_time, "request_time", where),
                None
                if info.execution_duration is None
                else _int(info.execution_duration, "execution_duration", where),
                state,
                None if root is None else root.name,
                _text(info.request_preview, "request_preview", where),
                _text(info.response_preview, "response_preview", where),
                _text(info.client_request_id, "client_request_id", where),
                _id(meta.get(MODEL_ID_KEY), MODEL_ID_KEY, where),  # the COLUMN_KEYS
                _id(meta.get(SOURCE_RUN_KEY), SOURCE_RUN_KEY, where),
                meta.get(SESSION_KEY),
                meta.get(USER_KEY),
                None if usage is None else _int(usage.input_tokens, "input_tokens", where),
                None if usage is None else _int(usage.output_tokens, "output_tokens", where),
                None if usage is None else _int(usage.total_tokens, "total_tokens", where),
                None if cost is None else float(cost),
            )
        )
        self.metadata.extend((trace_id, k, v) for k, v in meta.items() if k not in COLUMN_KEYS)
        self.tags.extend((trace_id, k, v) for k, v in tags.items())
        seen: set[str] = set()
        for span in spans:
            self.spans.append(_span_row(trace_id, span, seen))


def _span_row(trace_id: str, span: Span, seen: set[str]) -> tuple[Any, ...]:
    # The hot path: one combined check, and the precise message only when it fails.
    try:
        span_id, parent, name, span_type = span.span_id, span.parent_id, span.name, span.span_type
        start, end, status = span.start_time_ns, span.end_time_ns, span.status
        code, message = _CODE_VALUES[status.status_code], status.description
    except (AttributeError, KeyError, TypeError):
        _check_span(trace_id, span, seen)
        raise  # _check_span found the problem first
    if not (
        type(span_id) is str
        and 0 < len(span_id) <= _MAX_SPAN_ID
        and span_id not in seen
        and span.trace_id == trace_id
        and (parent is None or (type(parent) is str and len(parent) <= _MAX_SPAN_ID))
        and type(name) is str
        and len(name) <= MAX_SPAN_NAME
        and "\x00" not in name
        and type(span_type) is str
        and len(span_type) <= MAX_SPAN_NAME
        and "\x00" not in span_type
        and type(start) is int
        and -_INT64 <= start <= _INT64
        and (end is None or (type(end) is int and -_INT64 <= end <= _INT64))
        and type(message) is str
        and "\x00" not in message
    ):
        _check_span(trace_id, span, seen)  # raises unless only str/int subclasses were seen
    seen.add(span_id)
    inputs, outputs, events = span.inputs, span.outputs, span.events
    try:
        i = None if inputs is None else _dumps(inputs)
        o = None if outputs is None else _dumps(outputs)
        e = _dumps([_event(ev) for ev in events]) if events else None
        payload = pack_payload(i, o, e)
        if payload is not None:
            i = o = e = None
        return (
            trace_id,
            span_id,
            parent,
            name,
            span_type,
            code,
            message or None,
            start,
            end,
            i,
            o,
            _attributes_json(span.attributes),
            e,
            payload,
        )
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise InvalidArgumentError(
            f"Cannot store span {span_id!r} of trace {trace_id!r} as JSON: {exc}."
        ) from None


def _check_span(trace_id: str, span: object, seen: set[str]) -> None:
    """Raise the precise error for a span that failed the fast check."""
    if not isinstance(span, Span):
        raise InvalidArgumentError(f"Invalid span {span!r} in trace {trace_id!r}: expected a Span.")
    span_id = span.span_id
    if not isinstance(span_id, str) or not span_id or len(span_id) > _MAX_SPAN_ID:
        raise InvalidArgumentError(
            f"Invalid span id {span_id!r} in trace {trace_id!r}: "
            f"expected a string of 1 to {_MAX_SPAN_ID} characters."
        )
    if span_id in seen:
        raise InvalidArgumentError(f"Span id {span_id!r} appears twice in trace {trace_id!r}.")
    where = f"span {span_id!r} of trace {trace_id!r}"
    if span.trace_id != trace_id:
        raise InvalidArgumentError(f"Invalid trace id {span.trace_id!r} of {where}: expected {trace_id!r}.")
    parent = span.parent_id
    if parent is not None and (not isinstance(parent, str) or len(parent) > _MAX_SPAN_ID):
        raise InvalidArgumentError(f"Invalid parent id {parent!r} of {where}.")
    code = getattr(span.status, "status_code", None)
    if not isinstance(code, str) or code not in _CODE_VALUES:
        raise InvalidArgumentError(f"Invalid status {span.status!r} of {where}: expected OK, ERROR or UNSET.")
    _name(span.name, "name", where)
    _name(span.span_type, "span type", where)
    _int(span.start_time_ns, "start_time_ns", where)
    if span.end_time_ns is not None:
        _int(span.end_time_ns, "end_time_ns", where)
    _text(span.status.description, "status description", where)


# A span's inputs, outputs and events, as JSON text of _PACK_MIN characters or more, are stored as
# one raw-deflate stream when it is at most _PACK_RATIO of their size: LLM payloads (prose, chat
# message lists, repeated prompt text) shrink by a third to nine tenths, and on PostgreSQL a row
# under ~2 kB is never compressed by TOAST. The first byte is the format (1: deflate of the JSON
# array [inputs, outputs, events]). A 4 kB window and memLevel 2 for the common small payload
# make a compressor cost ~4 us instead of ~50 us for zlib's defaults (their allocation).
_PACK_MIN = 96
_PACK_RATIO = 0.8
_PACK_V1 = b"\x01"
_SMALL = 4096


def pack_payload(inputs: str | None, outputs: str | None, events: str | None) -> bytes | None:
    """The packed payload of a span's JSON texts, or None where packing does not pay."""
    size = (len(inputs) if inputs else 0) + (len(outputs) if outputs else 0) + (len(events) if events else 0)
    if size < _PACK_MIN:
        return None
    raw = f"[{inputs or 'null'},{outputs or 'null'},{events or 'null'}]".encode("ascii")  # _dumps: ASCII
    z = (
        zlib.compressobj(1, zlib.DEFLATED, -12, 2)
        if size <= _SMALL
        else zlib.compressobj(1, zlib.DEFLATED, -15)
    )
    packed = _PACK_V1 + z.compress(raw) + z.flush()
    return packed if len(packed) <= size * _PACK_RATIO else None


def unpack_payload(packed: bytes) -> list[Any]:
    """``[inputs, outputs, events]`` of a packed payload, decoded."""
    if packed[0] != 1:
        raise ValueError(f"Unknown span payload format {packed[0]} (this genver reads format 1).")
    return _scan(zlib.decompress(packed[1:], -15).decode("ascii"), 0)[0]  # type: ignore[no-any-return]


def _event(e: SpanEvent) -> dict[str, Any]:
    return {"name": e.name, "timestamp": e.timestamp, "attributes": dict(e.attributes)}


def _attributes_json(attributes: Mapping[str, Any]) -> str | None:
    if not attributes:
        return None
    if not isinstance(attributes, Mapping):
        raise TypeError(f"attributes must be a dict, got {attributes!r}")
    try:
        text = _dumps_strict(attributes)
    except ValueError:  # NaN or an infinity
        return _dumps_strict(_sanitize(attributes))
    if "\\ud" in text:  # maybe a lone surrogate, on which PostgreSQL's ->> fails for every search
        return _dumps_strict(_sanitize(attributes))
    return text


def _sanitize(value: Any) -> Any:
    """``value`` as strict JSON can hold it in a JSON column: non-finite floats become strings,
    lone surrogates (from undecodable bytes) become U+FFFD."""
    if isinstance(value, str):
        return (
            value if value.isascii() else value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        )
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {_sanitize(k): _sanitize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitize(v) for v in value]
    return value


def _int(value: object, what: str, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value <= _INT64:
        return value
    raise InvalidArgumentError(f"Invalid {what} {value!r} of {where}: expected a 64-bit integer.")


def _text(value: object, what: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"Invalid {what} {value!r} of {where}: expected a string.")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL
        raise InvalidArgumentError(
            f"Invalid {what} {value[:80]!r} of {where}: NUL characters are not allowed."
        )
    return value


def _name(value: object, what: str, where: str) -> str:
    text = _text(value, what, where)
    if text is None or len(text) > MAX_SPAN_NAME:
        shown = value if text is None else text[:80] + "..."
        raise InvalidArgumentError(
            f"Invalid {what} {shown!r} of {where}: expected a string of at most {MAX_SPAN_NAME} characters."
        )
    return text


def _id(value: str | None, key: str, where: str) -> str | None:
    if value is not None and len(value) > _MAX_ID:
        raise InvalidArgumentError(
            f"Invalid metadata {key!r} = {value[:80]!r} of {where}: at most {_MAX_ID} characters."
        )
    return value


#: Metadata and tag keys ``check_key`` accepted: the same few keys come with every trace (ten
#: regular-expression checks per trace were a tenth of building its rows).
_GOOD_KEYS: set[str] = set()


def _strings(items: Mapping[str, Any], what: str, where: str) -> dict[str, str]:
    """Metadata or tags: valid keys and string values (other values are stringified, as MLflow does)."""
    if not isinstance(items, Mapping):
        raise InvalidArgumentError(f"Invalid {what} {items!r} of {where}: expected a dict of strings.")
    out: dict[str, str] = {}
    for k, v in items.items():
        if k not in _GOOD_KEYS:
            check_key(k, f"trace {what}")
            if type(k) is str and len(_GOOD_KEYS) < 10_000:
                _GOOD_KEYS.add(k)
        if v is None:
            raise InvalidArgumentError(f"Trace {what} {k!r} of {where} has value None: expected a string.")
        value = v if isinstance(v, str) else str(v)
        if "\x00" in value:
            raise InvalidArgumentError(f"Trace {what} {k!r} of {where}: NUL characters are not allowed.")
        out[k] = value
    return out


# -- reading --------------------------------------------------------------------------------------
def trace_from_row(
    r: Sequence[Any],
    meta: dict[str, str],
    tags: Mapping[str, str],
    spans: list[Span],
    assessments: Sequence[Assessment] = (),
) -> Trace:
    """A ``Trace`` from an ``INFO_COLUMNS`` row; ``meta`` (from trace_metadata) is completed with
    the keys kept in columns. ``assessments`` is a list when the trace has any, else ``()`` (the
    ``TraceInfo`` default, so a trace read back equals the one logged)."""
    for i, key in enumerate(COLUMN_KEYS, 12):
        if r[i] is not None:
            meta[key] = r[i]
    tin, tout, ttotal = r[8], r[9], r[10]
    usage = (
        None
        if tin is None and tout is None and ttotal is None
        else TokenUsage(tin or 0, tout or 0, ttotal or 0)
    )
    info = TraceInfo(
        trace_id=r[0],
        experiment_id=str(r[1]),
        request_time=r[2],
        execution_duration=r[3],
        state=STATES[r[4]],
        request_preview=r[5],
        response_preview=r[6],
        client_request_id=r[7],
        trace_metadata=meta,
        tags=tags,
        assessments=assessments,
        token_usage=usage,
        cost=r[11],
    )
    return Trace(info, TraceData(spans))


def span_from_row(r: Sequence[Any]) -> Span:
    """A ``Span`` from a ``SPAN_COLUMNS`` row."""
    message, inputs, outputs, attributes, events = r[6], r[9], r[10], r[11], r[12]
    if attributes is None:
        attributes = {}
    elif isinstance(attributes, str):
        attributes = _scan(attributes, 0)[0]
    if r[13] is not None:
        inputs, outputs, events = unpack_payload(r[13])
    else:
        inputs = None if inputs is None else _scan(inputs, 0)[0]
        outputs = None if outputs is None else _scan(outputs, 0)[0]
        events = None if events is None else _scan(events, 0)[0]
    return Span(
        trace_id=r[0],
        span_id=r[1],
        parent_id=r[2],
        name=r[3],
        span_type=r[4],
        start_time_ns=r[7],
        end_time_ns=r[8],
        status=_PLAIN_STATUS[r[5]] if message is None else SpanStatus(_CODES[r[5]], message),
        inputs=inputs,
        outputs=outputs,
        attributes=attributes,
        events=()
        if events is None
        else tuple(SpanEvent(e["name"], e["timestamp"], e["attributes"]) for e in events),
    )
