"""Traces and spans in the SQL store.

A trace is one ``traces`` row plus its ``trace_metadata``, ``trace_tags`` and ``spans`` rows. The
version (``mlflow.modelId``), run, session and user are copied out of the metadata into indexed
columns of ``traces``: filters on those metadata keys compile to the columns and statistics group
on them, so neither touches ``trace_metadata``. Rows are built and decoded in ``trace_rows``;
statistics live in ``trace_stats``.

``log_traces`` is the exporter's hot path: the batch is validated and serialized first, then one
write transaction replaces any earlier copy of the same trace ids and inserts the rows
(``trace_writes``: COPY on PostgreSQL, one ``executemany`` per table on SQLite). ``merge_traces`` (OTLP ingest) reads the stored copies in the same transaction,
merges (``trace_merge``) and writes the result the same way; each trace id is locked first on
PostgreSQL (SQLite's write lock already serializes writers), so replicas merging spans of one
trace at the same time never lose each other's spans.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from genver.entities import PagedList, Span, SpanOutline, Trace, TraceOutline, TraceStats
from genver.entities.trace import MODEL_ID_KEY, SOURCE_RUN_KEY
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.search import ast
from genver.search.parser import parse_filter, parse_order_by
from genver.store.outlines import outline, usage_attributes
from genver.store.paging import check_max_results, decode_token, encode_token
from genver.store.sql import tables as t
from genver.store.sql.assessments import load_assessments
from genver.store.sql.base import SqlBase, driver_rows
from genver.store.sql.filters import compile_filter
from genver.store.sql.functions import in_json_list
from genver.store.sql.trace_filters import COLUMNS, NOT_NULL, TARGET
from genver.store.sql.trace_merge import merge_trace
from genver.store.sql.trace_rows import (
    INFO_COLUMNS,
    SPAN_COLUMNS,
    TraceRows,
    check_trace_id,
    span_from_row,
    trace_from_row,
)
from genver.store.sql.trace_stats import compute_stats, empty_stats
from genver.store.sql.trace_writes import (
    chunks,
    delete_rows,
    driver_inserts,
    existing,
    existing_ids,
    replace_copies,
    require_experiments,
)
from genver.trace_summary import SPAN_COST_KEY
from genver.validation import check_int, check_key, check_tags

_T = t.traces
_M = t.trace_metadata
_G = t.trace_tags
_S = t.spans
_E = t.experiments

# A page's metadata, tags and spans: the ids as one JSON list (``in_json_list``), so each is one
# statement whatever the page's size, read on the driver's cursor (``driver_rows``): SQLAlchemy's
# per-row work was a tenth of a 100-trace search, whose 600 spans are most of its rows.
_KV = sa.select(
    sa.union_all(
        sa.select(sa.literal(0), _M.c.trace_id, _M.c.key, _M.c.value).where(
            in_json_list(_M.c.trace_id, "ids")
        ),
        sa.select(sa.literal(1), _G.c.trace_id, _G.c.key, _G.c.value).where(
            in_json_list(_G.c.trace_id, "ids")
        ),
    ).subquery()
)
_SPANS = (
    sa.select(*SPAN_COLUMNS)
    .where(in_json_list(_S.c.trace_id, "ids"))
    .order_by(_S.c.trace_id, _S.c.start_time_ns, _S.c.span_id)
)
_ATTR_TEXT = sa.cast(_S.c.attributes, sa.Text)
#: A ``SpanOutline``'s ten fields, then the attributes' text only where it can hold tokens or a
#: cost (most spans of a big trace hold neither): the test runs in the database, the decoding in
#: ``outlines``. Rows without it are outlines as they come.
_OUTLINE = (
    sa.select(
        _S.c.span_id,
        _S.c.parent_id,
        _S.c.name,
        _S.c.span_type,
        _S.c.status,
        _S.c.start_time_ns,
        _S.c.end_time_ns,
        sa.null(),
        sa.null(),
        sa.null(),
        sa.case((_ATTR_TEXT.like("%token%") | _ATTR_TEXT.like(f"%{SPAN_COST_KEY}%"), _ATTR_TEXT)),
    )
    .where(_S.c.trace_id == sa.bindparam("trace_id"))
    .order_by(_S.c.start_time_ns, _S.c.span_id)
)
_SOME_SPANS = sa.select(*SPAN_COLUMNS).where(
    _S.c.trace_id == sa.bindparam("trace_id"), _S.c.span_id.in_(sa.bindparam("span_ids", expanding=True))
)


class TracesMixin(SqlBase):
    # -- writes -------------------------------------------------------------------------------------
    def log_traces(self, traces: Sequence[Trace]) -> None:
        batch = _batch(traces, merge=False)
        if not batch:
            return
        rows = TraceRows()
        experiments: dict[int, str] = {}  # experiment -> a trace logged to it, for messages
        for trace_id, trace in batch.items():
            exp_int = self._experiment_int(trace.info.experiment_id)
            experiments.setdefault(exp_int, trace_id)
            rows.add(trace_id, exp_int, trace)
        ids = list(batch)
        locks = ["trace:" + trace_id for trace_id in sorted(ids)]  # one order: no deadlock
        insert = driver_inserts(self.engine.dialect)

        def write(conn: Connection) -> None:
            require_experiments(conn, experiments)
            # PostgreSQL: writers of the same ids (log_traces and merge_traces alike) take turns,
            # so the look-up of stored copies and the replace cannot interleave (four writers
            # racing on one batch failed a retry otherwise). One statement per batch.
            self._lock_all(conn, locks)
            replace_copies(conn, insert, existing_ids(conn, ids), rows)

        try:
            self._write(write)
        except IntegrityError:
            # A concurrent writer stored one of these ids after we looked: now replace its copy.
            self._write(write)

    def merge_traces(self, traces: Sequence[Trace]) -> None:
        batch = _batch(traces, merge=True)
        if not batch:
            return
        experiments: dict[int, str] = {}
        checked: dict[str, TraceRows] = {}  # each trace's rows, as stored when it is new
        for trace_id, trace in batch.items():  # checked before the transaction opens
            exp_int = self._experiment_int(trace.info.experiment_id)
            experiments.setdefault(exp_int, trace_id)
            checked[trace_id] = rows = TraceRows()
            rows.add(trace_id, exp_int, trace)
        ids = sorted(batch)  # locks taken in one order: two merging replicas never deadlock
        insert = driver_inserts(self.engine.dialect)

        def write(conn: Connection) -> None:
            require_experiments(conn, experiments)
            # PostgreSQL: one read-merge-write per trace id at a time
            self._lock_all(conn, ["trace:" + trace_id for trace_id in ids])
            # Which are stored first (usually none), on the driver's cursor as log_traces asks,
            # then only those loaded: SQLAlchemy's expanding IN over the whole batch cost more
            # CPU than the answer (merge_traces of 100 new traces: ~120 -> ~115 us a trace).
            stored = {
                tr.info.trace_id: tr
                for chunk in chunks(existing_ids(conn, ids))
                for tr in _load(
                    conn, sa.select(*INFO_COLUMNS).where(_T.c.trace_id.in_(chunk)), include_spans=True
                )
            }
            rows = TraceRows()
            for trace_id in ids:
                old = stored.get(trace_id)
                if old is None:  # the usual case: rows made above
                    rows.extend(checked[trace_id])
                else:
                    trace = merge_trace(old, batch[trace_id])
                    rows.add(trace_id, self._experiment_int(trace.info.experiment_id), trace)
            replace_copies(conn, insert, list(stored), rows)

        try:
            self._write(write)
        except IntegrityError:  # a concurrent log_traces stored one of these ids: merge into it
            self._write(write)

    def delete_traces(
        self,
        *,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        exp_int = self._experiment_int(experiment_id)
        if (trace_ids is None) == (max_timestamp_millis is None):
            raise InvalidArgumentError(
                "delete_traces needs exactly one of trace_ids and max_timestamp_millis, got "
                f"trace_ids={trace_ids!r} and max_timestamp_millis={max_timestamp_millis!r}."
            )
        if max_traces is not None:
            if trace_ids is not None:
                raise InvalidArgumentError(
                    "max_traces limits deleting by age; it cannot be used with trace_ids."
                )
            check_int(max_traces, "max_traces", minimum=1)
        ids: list[str] = []
        if trace_ids is not None:
            if isinstance(trace_ids, str) or not isinstance(trace_ids, Sequence):
                raise InvalidArgumentError(f"Invalid trace_ids {trace_ids!r}: expected a list of trace ids.")
            ids = list(dict.fromkeys(check_trace_id(i) for i in trace_ids))
        else:
            check_int(max_timestamp_millis, "max_timestamp_millis")

        def delete(conn: Connection) -> int:
            if (
                conn.execute(sa.select(_E.c.experiment_id).where(_E.c.experiment_id == exp_int)).first()
                is None
            ):
                raise NotFoundError(f"No experiment with id {str(experiment_id)!r}.")
            if trace_ids is not None:
                found = existing(conn, ids, _T.c.experiment_id == exp_int)
            else:  # older than or at the timestamp (as MLflow), oldest first
                query = (
                    sa.select(_T.c.trace_id)
                    .where(_T.c.experiment_id == exp_int, _T.c.request_time <= max_timestamp_millis)
                    .order_by(_T.c.request_time.asc(), _T.c.trace_id.asc())
                    .limit(max_traces)
                )
                found = list(conn.execute(query).scalars())
            delete_rows(conn, found)
            return len(found)

        return self._write(delete)

    def set_trace_tags(self, trace_id: str, tags: Mapping[str, str]) -> None:
        check_trace_id(trace_id)
        clean = check_tags(tags)

        def update(conn: Connection) -> None:
            _require_trace(conn, trace_id)
            rows = [{"trace_id": trace_id, "key": k, "value": v} for k, v in clean.items()]
            self._upsert(conn, _G, rows, ("trace_id", "key"))

        self._write(update)

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        check_trace_id(trace_id)
        check_key(key, "tag")

        def delete(conn: Connection) -> None:
            _require_trace(conn, trace_id)
            if conn.execute(_G.delete().where(_G.c.trace_id == trace_id, _G.c.key == key)).rowcount == 0:
                raise NotFoundError(f"No tag with key {key!r} found for trace with ID {trace_id!r}.")

        self._write(delete)

    # -- reads ----------------------------------------------------------------------------------------
    def get_trace(self, trace_id: str) -> Trace:
        _check_id(trace_id)
        query = sa.select(*INFO_COLUMNS).where(_T.c.trace_id == trace_id)
        found = self._read(lambda conn: _load(conn, query, include_spans=True))
        if not found:
            raise NotFoundError(f"Trace with ID {trace_id!r} not found.")
        return found[0]

    def get_trace_outline(self, trace_id: str) -> TraceOutline:
        """The info and the span outlines, from the tree's columns and the attributes' text; only
        attributes that can hold tokens or a cost are decoded (``outlines.usage_attributes``)."""
        _check_id(trace_id)

        def read(conn: Connection) -> TraceOutline:
            found = _load(
                conn, sa.select(*INFO_COLUMNS).where(_T.c.trace_id == trace_id), include_spans=False
            )
            if not found:
                raise NotFoundError(f"Trace with ID {trace_id!r} not found.")
            new = tuple.__new__
            spans = tuple(
                new(SpanOutline, r[:10])
                if r[10] is None
                else outline(r[0], r[1], r[2], r[3], r[4], r[5], r[6], usage_attributes(r[10]))
                for r in driver_rows(conn, _OUTLINE, {"trace_id": trace_id})
            )
            return TraceOutline(found[0].info, spans)

        return self._read(read)

    def get_spans(self, trace_id: str, span_ids: Sequence[str]) -> list[Span]:
        _check_id(trace_id)
        if isinstance(span_ids, str) or not all(isinstance(i, str) for i in span_ids):
            raise InvalidArgumentError(f"Invalid span_ids {span_ids!r}: expected a list of span id strings.")
        wanted = list(dict.fromkeys(span_ids))

        def read(conn: Connection) -> list[Span]:
            _require_trace(conn, trace_id)
            found: dict[str, Span] = {}
            for chunk in chunks(wanted):
                for r in conn.execute(_SOME_SPANS, {"trace_id": trace_id, "span_ids": chunk}).all():
                    found[r[1]] = span_from_row(r)
            return [found[i] for i in wanted if i in found]

        return self._read(read)

    def search_traces(
        self,
        *,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        include_spans: bool = True,
    ) -> PagedList[Trace]:
        check_max_results(max_results)
        offset = decode_token(page_token)
        exp_ints = self._experiment_ints(experiment_ids)
        if isinstance(order_by, str):
            raise InvalidArgumentError(
                f"Invalid order_by {order_by!r}: expected a list such as [{order_by!r}]."
            )
        node = parse_filter(filter_string, ast.TRACES)
        where = compile_filter(node, TARGET)
        experiment: sa.ColumnElement[Any] = _T.c.experiment_id
        if self.dialect == "sqlite" and _pins_version_or_run(node):
            # SQLite has no statistics: it would walk the experiments' traces by time and check
            # each for the version, reading every trace of the experiment when the version has
            # fewer than a page. ``+ 0`` keeps it off the experiment index, so it reads the
            # version's (or run's) own index newest first and stops after a page.
            experiment = experiment + 0
        query = sa.select(*INFO_COLUMNS).where(experiment.in_(exp_ints))
        if where is not None:
            query = query.where(where)
        ordering: list[Any] = []
        for item in order_by or ():
            term = parse_order_by(item, ast.TRACES)
            column = COLUMNS[term.key]
            if term.key not in NOT_NULL:
                ordering.append(column.is_(None))  # missing values last, in both directions
            ordering.append(column.asc() if term.ascending else column.desc())
        if not order_by:
            ordering.append(_T.c.request_time.desc())
        ordering.append(_T.c.trace_id.asc())
        query = query.order_by(*ordering).limit(max_results + 1).offset(offset)
        found = self._read(lambda conn: _load(conn, query, include_spans=include_spans))
        token = encode_token(offset + max_results) if len(found) > max_results else None
        return PagedList(found[:max_results], token)

    def trace_stats(
        self,
        *,
        experiment_ids: Sequence[str] | None = None,
        model_ids: Sequence[str] | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        bucket_ms: int | None = None,
    ) -> list[TraceStats]:
        exp_ints = None if experiment_ids is None else self._experiment_ints(experiment_ids)
        wanted: list[str] | None = None
        if model_ids is not None:
            if isinstance(model_ids, str) or not isinstance(model_ids, Sequence):
                raise InvalidArgumentError(f"Invalid model_ids {model_ids!r}: expected a list of model ids.")
            for m in model_ids:
                if not isinstance(m, str) or not m:
                    raise InvalidArgumentError(f"Invalid model id {m!r} in model_ids: expected a string.")
            wanted = list(dict.fromkeys(model_ids))
        for value, what in ((start_time, "start_time"), (end_time, "end_time")):
            if value is not None:
                check_int(value, what)
        if bucket_ms is not None:
            check_int(bucket_ms, "bucket_ms", minimum=1)
            if start_time is None or end_time is None:
                raise InvalidArgumentError(
                    f"Invalid bucket_ms {bucket_ms!r}: buckets need both start_time and end_time "
                    f"(got {start_time!r} and {end_time!r})."
                )

        found = self._read(
            lambda conn: compute_stats(
                conn,
                experiment_ids=exp_ints,
                model_ids=wanted,
                start_time=start_time,
                end_time=end_time,
                bucket_ms=bucket_ms,
            )
        )
        if bucket_ms is None:  # every version asked for is reported, with zero traces if need be
            listed = {s.model_id for s in found}
            found += [empty_stats(m) for m in wanted or () if m not in listed]
        return sorted(found, key=lambda s: (s.model_id is None, s.model_id or "", s.bucket_start or 0))


# -- plumbing ---------------------------------------------------------------------------------------------
def _batch(traces: Sequence[Trace], *, merge: bool) -> dict[str, Trace]:
    """The traces by id; an id twice in one batch: the last copy wins, or both merge."""
    if isinstance(traces, Trace) or not isinstance(traces, Sequence):
        raise InvalidArgumentError(f"Invalid traces {traces!r}: expected a list of Trace objects.")
    batch: dict[str, Trace] = {}
    for trace in traces:
        if not isinstance(trace, Trace):
            raise InvalidArgumentError(f"Invalid trace {trace!r}: expected a Trace.")
        trace_id = check_trace_id(trace.info.trace_id)
        earlier = batch.get(trace_id) if merge else None
        batch[trace_id] = trace if earlier is None else merge_trace(earlier, trace)
    return batch


#: Trace columns with an index of their own (``ix_traces_model_time``, ``ix_traces_run``), as a
#: filter names them: an attribute, or the metadata key copied into the column.
_PINNING = {
    ("attribute", "model_id"),
    ("metadata", MODEL_ID_KEY),
    ("attribute", "run_id"),
    ("metadata", SOURCE_RUN_KEY),
}


def _pins_version_or_run(node: ast.Node | None) -> bool:
    """Whether the filter's top-level ``AND`` has ``model_id = '...'`` or ``run_id = '...'``."""
    items = node.items if isinstance(node, ast.And) else (node,)
    return any(isinstance(c, ast.Comparison) and c.op == "=" and (c.kind, c.key) in _PINNING for c in items)


def _check_id(trace_id: object) -> None:
    if not isinstance(trace_id, str) or not trace_id:
        raise InvalidArgumentError(f"Invalid trace id {trace_id!r}: expected a string such as 'tr-...'.")


def _require_trace(conn: Connection, trace_id: str) -> None:
    if conn.execute(sa.select(_T.c.trace_id).where(_T.c.trace_id == trace_id)).first() is None:
        raise NotFoundError(f"Trace with ID {trace_id!r} not found.")


def _load(conn: Connection, query: sa.Select[Any], *, include_spans: bool) -> list[Trace]:
    """Traces for the rows of ``query`` (``INFO_COLUMNS``): their metadata and tags come from one
    ``IN`` query, their spans from another, their assessments from a third."""
    rows = conn.execute(query).all()
    if not rows:
        return []
    ids = [r[0] for r in rows]
    meta: dict[str, dict[str, str]] = {i: {} for i in ids}
    tags: dict[str, dict[str, str]] = {i: {} for i in ids}
    spans: dict[str, list[Span]] = {i: [] for i in ids}
    for chunk in chunks(ids):
        listed = {"ids": json.dumps(list(chunk))}
        for is_tag, tid, key, value in driver_rows(conn, _KV, listed):
            (tags if is_tag else meta)[tid][key] = value
        if include_spans:
            for r in driver_rows(conn, _SPANS, listed):
                spans[r[0]].append(span_from_row(r))
    assessments = load_assessments(conn, ids)
    return [
        trace_from_row(r, meta[r[0]], tags[r[0]], parent_first(spans[r[0]]), assessments.get(r[0], ()))
        for r in rows
    ]


def parent_first(spans: list[Span]) -> list[Span]:
    """``spans`` (in start order) with every parent before its children, otherwise still in
    start order: a child whose clock ran ahead of its parent's (spans from another process or
    language) comes right after the parent is placed, never before it. Already so: unchanged."""
    seen: set[str] = set()
    ids = {s.span_id for s in spans}
    for s in spans:
        if s.parent_id is not None and s.parent_id in ids and s.parent_id not in seen:
            break
        seen.add(s.span_id)
    else:
        return spans
    children: dict[str | None, list[Span]] = {}
    for s in spans:
        children.setdefault(s.parent_id if s.parent_id in ids else None, []).append(s)
    ready = [(s.start_time_ns, s.span_id, s) for s in children.get(None, [])]
    heapq.heapify(ready)
    out: list[Span] = []
    while ready:
        _, _, s = heapq.heappop(ready)
        out.append(s)
        for c in children.get(s.span_id, ()):
            heapq.heappush(ready, (c.start_time_ns, c.span_id, c))
    if len(out) < len(spans):  # parent links that form a cycle: those spans keep start order
        placed = {s.span_id for s in out}
        out += [s for s in spans if s.span_id not in placed]
    return out
