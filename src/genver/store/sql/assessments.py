"""Assessments in the SQL store: feedback and expectations on traces.

An assessment is one ``assessments`` row. Its value (any JSON value: a bool stays a bool, ``1``
an int, ``0.5`` a float) and its metadata are JSON text, read whole and never filtered on in SQL.

``log_assessments`` validates and serializes the whole batch before the write transaction opens,
so bad input names the value and nothing is written; the transaction checks that every trace
exists, then upserts with one driver-level ``executemany``. Reads select on an index
(``trace_id, name`` or ``run_id, name``) and decode with json's C scanner directly.

Traces load their assessments with ``load_assessments`` (one ``IN`` query per chunk of trace
ids). Deleting a trace deletes its assessments; a trace stored again (a retried or re-spooled
batch) keeps them: ``log_traces`` replaces the trace's row in place.

As in MLflow: an assessment that ``overrides`` another marks that one ``valid = false`` in the
same transaction (and deleting it restores the other); ``update_assessment`` changes one in place
(name, value, error, rationale; metadata merged; source and span kept) and stamps
``last_update_time_ms``; deleting an assessment that is not there does nothing.
"""

from __future__ import annotations

import dataclasses
import json
import json.scanner
import operator
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from genver.entities import (
    Assessment,
    AssessmentError,
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
)
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql import tables as t
from genver.store.sql.base import SqlBase
from genver.store.sql.trace_rows import check_trace_id

_A = t.assessments
_T = t.traces
KINDS = ("feedback", "expectation")
MAX_NAME = 250
_MAX_SOURCE_TYPE = 32
_MAX_SHORT = 250  # source_id, error_code
_MAX_SPAN_ID = 32
_MAX_RUN_ID = 32
_INT64 = 2**63 - 1
_CHUNK = 500  # ids per IN (...), far below SQLite's and PostgreSQL's parameter limits
_ASSESSMENT_ID = re.compile(r"a-[0-9a-f]{32}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# The columns of the row tuples, in order: writes name them, reads select them.
COLUMNS = (
    "assessment_id",
    "trace_id",
    "run_id",
    "name",
    "kind",
    "value",
    "rationale",
    "source_type",
    "source_id",
    "error_code",
    "error_message",
    "span_id",
    "metadata",
    "create_time_ms",
    "last_update_time_ms",
    "valid",
    "overrides",
)
# What an upsert of an id already stored replaces: not ``valid``, which only an override (or the
# deletion of the overriding assessment) changes, so a retried batch cannot revive an overridden one.
_UPDATED = tuple(c for c in COLUMNS[1:] if c != "valid")
_SELECT = sa.select(*(_A.c[c] for c in COLUMNS))
_IDS: sa.BindParameter[list[str]] = sa.bindparam("ids", expanding=True)
_BY_TRACES = _SELECT.where(_A.c.trace_id.in_(_IDS))
_TRACES_FOUND = sa.select(_T.c.trace_id).where(_T.c.trace_id.in_(_IDS))
_ONE = _SELECT.where(_A.c.trace_id == sa.bindparam("tid"), _A.c.assessment_id == sa.bindparam("aid"))
_TRACE_EXISTS = sa.select(_T.c.trace_id).where(_T.c.trace_id == sa.bindparam("tid"))

# The C scanner json.loads ends in, called directly: the JSON is our own (about half of
# json.loads' time on the small values scorers return).
_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # stub too narrow
_SHAREABLE = frozenset({bool, int, float, str, type(None)})  # immutable: one object per JSON text
#: Rows sort by trace, name, creation time, id: in Python, since PostgreSQL may collate names
#: differently from SQLite.
_SORT_KEY = operator.itemgetter(1, 3, 13, 0)


class AssessmentsMixin(SqlBase):
    def log_assessments(self, assessments: Sequence[Assessment]) -> None:
        if isinstance(assessments, Assessment) or not isinstance(assessments, Sequence):
            raise InvalidArgumentError(
                f"Invalid assessments {assessments!r}: expected a list of Assessment objects."
            )
        now = self._clock()
        batch: dict[str, tuple[Any, ...]] = {}  # an id twice in one batch: the last copy wins
        for a in assessments:
            row = assessment_row(a, now)
            batch[row[0]] = row
        if not batch:
            return
        rows = list(batch.values())
        trace_ids = list(dict.fromkeys(r[1] for r in rows))
        sql = _upsert_sql(self.engine.dialect)

        def write(conn: Connection) -> None:
            found = {
                tid
                for chunk in _chunks(trace_ids)
                for tid in conn.execute(_TRACES_FOUND, {"ids": chunk}).scalars()
            }
            for tid in trace_ids:
                if tid not in found:
                    raise NotFoundError(f"Trace with ID {tid!r} not found.")
            # Driver-level executemany: the rows are already plain str/int/None tuples.
            conn.exec_driver_sql(sql, rows)
            for row in rows:
                if row[16] is not None:
                    _mark(conn, row[1], row[16], valid=False, required=True)

        try:
            self._write(write)
        except IntegrityError:
            # A trace was deleted after we looked (PostgreSQL's foreign key caught it): look again,
            # which names it.
            self._write(write)

    def get_assessments(
        self, *, trace_ids: Sequence[str] | None = None, run_id: str | None = None, name: str | None = None
    ) -> list[Assessment]:
        if trace_ids is None and run_id is None:
            raise InvalidArgumentError("get_assessments needs trace_ids or run_id (or both), got neither.")
        ids: list[str] | None = None
        if trace_ids is not None:
            if isinstance(trace_ids, str) or not isinstance(trace_ids, Sequence):
                raise InvalidArgumentError(f"Invalid trace_ids {trace_ids!r}: expected a list of trace ids.")
            ids = sorted({check_trace_id(i) for i in trace_ids})
        if run_id is not None and (not isinstance(run_id, str) or not run_id):
            raise InvalidArgumentError(f"Invalid run_id {run_id!r}: expected a run id string.")
        if name is not None and not isinstance(name, str):
            raise InvalidArgumentError(f"Invalid name {name!r}: expected an assessment name (a string).")
        if (name is not None and "\x00" in name) or (run_id is not None and "\x00" in run_id) or ids == []:
            return []  # nothing stored has one (and PostgreSQL cannot even compare a NUL)

        def read(conn: Connection) -> list[sa.Row[Any]]:
            conds: list[sa.ColumnElement[bool]] = []
            if run_id is not None:
                conds.append(_A.c.run_id == run_id)
            if name is not None:
                conds.append(_A.c.name == name)
            if ids is None:
                return list(conn.execute(_SELECT.where(*conds)).all())
            query = _SELECT.where(_A.c.trace_id.in_(_IDS), *conds)
            return [r for chunk in _chunks(ids) for r in conn.execute(query, {"ids": chunk}).all()]

        rows = self._read(read)
        rows.sort(key=_SORT_KEY)
        return decode_assessments(rows)

    def update_assessment(
        self, trace_id: str, assessment_id: str, update: Feedback | Expectation
    ) -> Assessment:
        check_trace_id(trace_id)
        _check_assessment_id(assessment_id)
        if not isinstance(update, (Feedback, Expectation)):
            raise InvalidArgumentError(
                f"Invalid assessment {update!r}: expected a Feedback or an Expectation with the new values."
            )
        kind = "feedback" if isinstance(update, Feedback) else "expectation"
        # Checked before the transaction: what the update carries, on a stand-in assessment.
        assessment_row(_updated(_stand_in(trace_id, assessment_id, kind), update, 0), 0)

        def write(conn: Connection) -> Assessment:
            found = conn.execute(_ONE, {"tid": trace_id, "aid": assessment_id}).first()
            if found is None:
                _missing(conn, trace_id, assessment_id)
            (old,) = decode_assessments([found])
            if old.kind != kind:
                raise InvalidArgumentError(
                    f"Cannot update {old.kind} {assessment_id!r} with {'a' if kind == 'feedback' else 'an'} "
                    f"{type(update).__name__}: pass {'a Feedback' if old.kind == 'feedback' else 'an Expectation'}."
                )
            new = _updated(old, update, self._clock())
            values = dict(zip(COLUMNS, assessment_row(new, 0), strict=True))
            conn.execute(
                _A.update()
                .where(_A.c.trace_id == trace_id, _A.c.assessment_id == assessment_id)
                .values({c: values[c] for c in _UPDATED})
            )
            return new

        return self._write(write)

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        check_trace_id(trace_id)
        _check_assessment_id(assessment_id)

        def write(conn: Connection) -> None:
            if conn.execute(_TRACE_EXISTS, {"tid": trace_id}).first() is None:
                raise NotFoundError(f"Trace with ID {trace_id!r} not found.")
            where = (_A.c.trace_id == trace_id, _A.c.assessment_id == assessment_id)
            overrides = conn.execute(sa.select(_A.c.overrides).where(*where)).first()
            if overrides is None:
                return  # already gone: deleting is idempotent, as in MLflow
            conn.execute(_A.delete().where(*where))
            if overrides[0] is not None:  # the assessment it overrode counts again
                _mark(conn, trace_id, overrides[0], valid=True, required=False)

        self._write(write)


def _mark(conn: Connection, trace_id: str, assessment_id: str, *, valid: bool, required: bool) -> None:
    done = conn.execute(
        _A.update().where(_A.c.trace_id == trace_id, _A.c.assessment_id == assessment_id).values(valid=valid)
    )
    if required and done.rowcount == 0:
        raise NotFoundError(
            f"Assessment {assessment_id!r} to override not found on trace {trace_id!r}: an assessment "
            "can only override one of the same trace."
        )


def _missing(conn: Connection, trace_id: str, assessment_id: str) -> NoReturn:
    if conn.execute(_TRACE_EXISTS, {"tid": trace_id}).first() is None:
        raise NotFoundError(f"Trace with ID {trace_id!r} not found.")
    raise NotFoundError(f"Assessment {assessment_id!r} not found on trace {trace_id!r}.")


def _stand_in(trace_id: str, assessment_id: str, kind: str) -> Assessment:
    return Assessment(assessment_id=assessment_id, trace_id=trace_id, name="x", kind=kind, value=None)


def _updated(old: Assessment, update: Feedback | Expectation, now: int) -> Assessment:
    """``old`` updated as MLflow's ``update_assessment`` does: name and value (and a feedback's
    error) from ``update``; its rationale when it has one; metadata merged, ``update``'s winning;
    source, span, run, creation time, ``valid`` and ``overrides`` kept."""
    metadata = update.metadata
    if isinstance(metadata, Mapping):
        metadata = {**old.metadata, **metadata}
    rationale = old.rationale
    error = old.error
    if isinstance(update, Feedback):
        error = update.error
        if update.rationale is not None:
            rationale = update.rationale
    return dataclasses.replace(
        old,
        name=update.name,
        value=update.value,
        error=error,
        rationale=rationale,
        metadata=metadata,
        last_update_time_ms=now,
    )


def _check_assessment_id(value: object) -> str:
    if not isinstance(value, str) or not _ASSESSMENT_ID.fullmatch(value):
        raise InvalidArgumentError(
            f"Invalid assessment id {value!r}: expected 'a-' followed by 32 lowercase hex digits."
        )
    return value


# -- writing --------------------------------------------------------------------------------------------
def assessment_row(a: object, now: int) -> tuple[Any, ...]:
    """The ``COLUMNS`` tuple of one assessment, validated and serialized; a ``create_time_ms`` of
    0 (unset) becomes ``now``."""
    if not isinstance(a, Assessment):
        raise InvalidArgumentError(f"Invalid assessment {a!r}: expected an Assessment.")
    aid = _check_assessment_id(a.assessment_id)
    where = f"assessment {aid!r}"
    trace_id = a.trace_id
    if not isinstance(trace_id, str) or not trace_id:
        raise InvalidArgumentError(f"Invalid trace id {trace_id!r} of {where}: expected 'tr-...'.")
    check_trace_id(trace_id)
    name = a.name
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or "\x00" in name:
        raise InvalidArgumentError(
            f"Invalid name {name!r} of {where}: expected a non-empty string of at most {MAX_NAME} "
            "characters, without NUL."
        )
    if a.kind not in KINDS:
        raise InvalidArgumentError(
            f"Invalid kind {a.kind!r} of {where}: expected 'feedback' or 'expectation'."
        )
    source = a.source
    if not isinstance(source, AssessmentSource):
        raise InvalidArgumentError(f"Invalid source {source!r} of {where}: expected an AssessmentSource.")
    source_type = _short(source.source_type, "source type", where, _MAX_SOURCE_TYPE, required=True)
    if source_type not in AssessmentSourceType.ALL:
        raise InvalidArgumentError(
            f"Invalid source type {source_type!r} of {where}: expected one of "
            f"{', '.join(AssessmentSourceType.ALL)} (any case)."
        )
    source_id = _short(source.source_id, "source id", where, _MAX_SHORT, required=False)
    error = a.error
    error_code = error_message = None
    if error is not None:
        if not isinstance(error, AssessmentError):
            raise InvalidArgumentError(
                f"Invalid error {error!r} of {where}: expected an AssessmentError or None."
            )
        error_code = _short(error.error_code, "error code", where, _MAX_SHORT, required=True)
        error_message = _text(error.error_message, "error message", where)
    create_time = _millis(a.create_time_ms, "create_time_ms", where) or now
    update_time = _millis(a.last_update_time_ms, "last_update_time_ms", where)
    if not isinstance(a.valid, bool):
        raise InvalidArgumentError(f"Invalid valid {a.valid!r} of {where}: expected True or False.")
    overrides = a.overrides
    if overrides is not None:
        if not isinstance(overrides, str) or not _ASSESSMENT_ID.fullmatch(overrides):
            raise InvalidArgumentError(
                f"Invalid overrides {overrides!r} of {where}: expected None or the id of the assessment "
                "it overrides ('a-' followed by 32 lowercase hex digits)."
            )
        if overrides == aid:
            raise InvalidArgumentError(
                f"Invalid overrides {overrides!r} of {where}: it cannot override itself."
            )
    return (
        aid,
        trace_id,
        _optional_id(a.run_id, "run id", where, _MAX_RUN_ID),
        name,
        a.kind,
        _value_json(a.value, name, where),
        _text(a.rationale, "rationale", where),
        source_type,
        source_id,
        error_code,
        error_message,
        _optional_id(a.span_id, "span id", where, _MAX_SPAN_ID),
        _metadata_json(a.metadata, where),
        create_time,
        update_time,
        a.valid,
        overrides,
    )


def _millis(value: object, what: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT64:
        raise InvalidArgumentError(
            f"Invalid {what} {value!r} of {where}: expected milliseconds since the epoch."
        )
    return value


def _value_json(value: Any, name: str, where: str) -> str | None:
    if value is None:
        return None
    try:
        return json.dumps(value)  # NaN and infinities are kept (Python's JSON reads them back)
    except (TypeError, ValueError, RecursionError) as exc:
        shown = repr(value)
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        raise InvalidArgumentError(
            f"Invalid value {shown} of {where} ({name!r}): expected a JSON-serializable value "
            f"(bool, number, string, list or dict): {exc}."
        ) from None


def _metadata_json(metadata: object, where: str) -> str | None:
    if not isinstance(metadata, Mapping):
        raise InvalidArgumentError(f"Invalid metadata {metadata!r} of {where}: expected a dict of strings.")
    if not metadata:
        return None
    for k, v in metadata.items():
        if not isinstance(k, str) or not k or len(k) > MAX_NAME or _CONTROL.search(k):
            raise InvalidArgumentError(
                f"Invalid metadata key {k!r} of {where}: expected a non-empty string of at most "
                f"{MAX_NAME} characters, without control characters."
            )
        if not isinstance(v, str):
            raise InvalidArgumentError(
                f"Invalid metadata value {v!r} for key {k!r} of {where}: expected a string."
            )
    return json.dumps(dict(metadata))


def _short(value: object, what: str, where: str, max_length: int, *, required: bool) -> str:
    if not isinstance(value, str) or (required and not value) or len(value) > max_length or "\x00" in value:
        more = "non-empty " if required else ""
        raise InvalidArgumentError(
            f"Invalid {what} {value!r} of {where}: expected a {more}string of at most {max_length} "
            "characters, without NUL."
        )
    return value


def _optional_id(value: object, what: str, where: str, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length or _CONTROL.search(value):
        raise InvalidArgumentError(
            f"Invalid {what} {value!r} of {where}: expected None or a string of 1 to {max_length} "
            "characters, without control characters."
        )
    return value


def _text(value: object, what: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or "\x00" in value:  # PostgreSQL text cannot hold NUL
        shown = value[:80] if isinstance(value, str) else value
        raise InvalidArgumentError(f"Invalid {what} {shown!r} of {where}: expected a string without NUL.")
    return value


_UPSERTS: dict[tuple[str, str], str] = {}


def _upsert_sql(dialect: sa.Dialect) -> str:
    """``INSERT ... ON CONFLICT (assessment_id) DO UPDATE`` in the driver's parameter style (the
    same text on SQLite and PostgreSQL). Cached per dialect name and style, not per dialect object."""
    key = (dialect.name, dialect.paramstyle)
    sql = _UPSERTS.get(key)
    if sql is None:
        quote = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        names = ", ".join(quote(c) for c in COLUMNS)
        update = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in _UPDATED)
        sql = _UPSERTS[key] = (
            f"INSERT INTO {quote(_A.name)} ({names}) VALUES ({', '.join(mark for _ in COLUMNS)}) "
            f"ON CONFLICT ({quote('assessment_id')}) DO UPDATE SET {update}"
        )
    return sql


# -- reading ----------------------------------------------------------------------------------------------
def decode_assessments(rows: Sequence[Sequence[Any]]) -> list[Assessment]:
    """``Assessment`` entities from ``COLUMNS`` rows (in their order)."""
    sources: dict[tuple[str, str], AssessmentSource] = {}  # frozen: shared between rows
    out: list[Assessment] = []
    append = out.append
    values: dict[str, Any] = {}  # decoded immutable values by their JSON text: scorers repeat them
    shareable = _SHAREABLE
    for row in rows:
        aid, tid, run_id, name, kind, value, rationale, stype, sid, ecode, emsg, span_id, meta, ctime = row[
            :14
        ]
        utime, valid, overrides = row[14:17]
        source = sources.get((stype, sid))
        if source is None:
            source = sources[(stype, sid)] = AssessmentSource(stype, sid)
        if value is not None:
            text = value
            value = values.get(text, values)  # the dict itself: "not seen yet"
            if value is values:
                value = _scan(text, 0)[0]
                if type(value) in shareable:
                    values[text] = value
        append(
            Assessment(
                assessment_id=aid,
                trace_id=tid,
                name=name,
                kind=kind,
                value=value,
                rationale=rationale,
                source=source,
                error=None if ecode is None else AssessmentError(ecode, emsg),
                metadata={} if meta is None else _scan(meta, 0)[0],
                span_id=span_id,
                run_id=run_id,
                create_time_ms=ctime,
                last_update_time_ms=utime or 0,
                valid=bool(valid),
                overrides=overrides,
            )
        )
    return out


def load_assessments(conn: Connection, trace_ids: Sequence[str]) -> dict[str, list[Assessment]]:
    """The assessments of these traces, by trace id (traces without any are left out), each list
    ordered by name, creation time and id."""
    out: dict[str, list[Assessment]] = {}
    for chunk in _chunks(trace_ids):
        rows = conn.execute(_BY_TRACES, {"ids": list(chunk)}).all()
        if rows:
            for a in decode_assessments(sorted(rows, key=_SORT_KEY)):
                out.setdefault(a.trace_id, []).append(a)
    return out


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]
