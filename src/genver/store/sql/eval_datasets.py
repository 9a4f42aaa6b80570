"""Evaluation datasets in the SQL store: an ``eval_datasets`` row, its ``eval_dataset_tags`` and
its ``eval_dataset_records`` (inputs, expectations and tags as JSON text, kept in insertion order
by ``position``).

A dataset is identified by its content: ``digest`` is the first 16 hex digits of the SHA-256 of
the canonical JSON (``sort_keys``, compact) of ``[[inputs, expectations], ...]`` ordered by
``record_id`` (see ``compute_digest``; a record with outputs adds them as a third item). The
same records give the same digest whatever the dataset's name or the order they were added in;
an empty dataset has the digest of ``[]``.

Records are validated and serialized before the write transaction opens; values are normalized
through JSON (tuples become lists), so what a call returns is what a later read returns. Adding a
record whose id is stored replaces it, or with ``merge=True`` merges into it as MLflow's
``merge_records`` does: expectations and tags by key (the new value wins), outputs replaced when
the new record has some; it keeps its place and creation time either way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import json.scanner
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities import DatasetRecord, EvaluationDataset, PagedList
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.search import ast
from genver.search.parser import parse_filter, parse_order_by
from genver.store.paging import check_max_results, decode_token, encode_token
from genver.store.sql import tables as t
from genver.store.sql.base import SqlBase
from genver.store.sql.filters import Target, compile_filter, kv_exists
from genver.validation import check_key, check_tags

_D = t.eval_datasets
_DT = t.eval_dataset_tags
_DR = t.eval_dataset_records
MAX_NAME = 500
MAX_RECORD_ID = 64
_DATASET_ID = re.compile(r"d-[0-9a-f]{32}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CHUNK = 500  # ids per IN (...), far below SQLite's and PostgreSQL's parameter limits

_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "dataset_id": _D.c.dataset_id,
    "name": _D.c.name,
    "digest": _D.c.digest,
    "created_time": _D.c.created_time,
    "last_update_time": _D.c.last_update_time,
}
_TARGET = Target(columns=_COLUMNS, kv={"tag": kv_exists(_DT, _D.c.dataset_id, "dataset_id")})
_RECORD_COLUMNS = (
    _DR.c.record_id,
    _DR.c.inputs,
    _DR.c.expectations,
    _DR.c.tags,
    _DR.c.source_trace_id,
    _DR.c.outputs,
    _DR.c.created_time,
    _DR.c.last_update_time,
)
_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # stub too narrow


class EvalDatasetsMixin(SqlBase):
    def create_eval_dataset(
        self,
        *,
        name: str,
        experiment_id: str,
        records: Sequence[DatasetRecord] = (),
        tags: Mapping[str, str] | None = None,
    ) -> EvaluationDataset:
        _check_name(name)
        self._experiment_int(experiment_id)
        clean_tags = check_tags(tags)
        rows = _record_rows(records)
        digest = compute_digest((rid, row.inputs, row.expectations, row.outputs) for rid, row in rows.items())
        dataset_id = new_dataset_id()

        def create(conn: Connection) -> EvaluationDataset:
            exp = self._active_experiment_row(conn, experiment_id)
            now = self._clock()
            conn.execute(
                _D.insert().values(
                    dataset_id=dataset_id,
                    name=name,
                    digest=digest,
                    experiment_id=exp.experiment_id,
                    created_time=now,
                    last_update_time=now,
                )
            )
            if clean_tags:
                conn.execute(
                    _DT.insert(),
                    [{"dataset_id": dataset_id, "key": k, "value": v} for k, v in clean_tags.items()],
                )
            if rows:
                conn.execute(
                    _DR.insert(),
                    [row.params(dataset_id, rid, i, now, now) for i, (rid, row) in enumerate(rows.items())],
                )
            return EvaluationDataset(
                dataset_id=dataset_id,
                name=name,
                digest=digest,
                experiment_id=str(exp.experiment_id),
                created_time=now,
                last_update_time=now,
                tags=clean_tags,
                records=[row.record(rid, now, now) for rid, row in rows.items()],
            )

        return self._write(create)

    def get_eval_dataset(self, dataset_id: str) -> EvaluationDataset:
        _check_dataset_id(dataset_id)

        def get(conn: Connection) -> EvaluationDataset:
            found = _load(conn, sa.select(_D).where(_D.c.dataset_id == dataset_id), records=True)
            if not found:
                raise NotFoundError(f"Evaluation dataset with ID {dataset_id!r} not found.")
            return found[0]

        return self._read(get)

    def search_eval_datasets(
        self,
        *,
        experiment_ids: Sequence[str] | None,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[EvaluationDataset]:
        check_max_results(max_results)
        offset = decode_token(page_token)
        exp_ints = None if experiment_ids is None else self._experiment_ints(experiment_ids)
        if isinstance(order_by, str):
            raise InvalidArgumentError(
                f"Invalid order_by {order_by!r}: expected a list such as [{order_by!r}]."
            )
        where = compile_filter(parse_filter(filter_string, ast.EVAL_DATASETS), _TARGET)
        query = sa.select(_D)
        if exp_ints is not None:
            query = query.where(_D.c.experiment_id.in_(exp_ints))
        if where is not None:
            query = query.where(where)
        ordering: list[Any] = []
        for item in order_by or ():
            term = parse_order_by(item, ast.EVAL_DATASETS)
            column = _COLUMNS[term.key]
            ordering.append(column.asc() if term.ascending else column.desc())
        if not ordering:
            ordering.append(_D.c.created_time.desc())
        ordering.append(_D.c.dataset_id.asc())
        query = query.order_by(*ordering).limit(max_results + 1).offset(offset)
        found = self._read(lambda conn: _load(conn, query, records=False))
        token = encode_token(offset + max_results) if len(found) > max_results else None
        return PagedList(found[:max_results], token)

    def add_eval_dataset_records(
        self, dataset_id: str, records: Sequence[DatasetRecord], *, merge: bool = False
    ) -> EvaluationDataset:
        _check_dataset_id(dataset_id)
        if not isinstance(merge, bool):
            raise InvalidArgumentError(f"Invalid merge {merge!r}: expected True or False.")
        rows = _record_rows(records)
        if not rows:
            return self.get_eval_dataset(dataset_id)

        def add(conn: Connection) -> EvaluationDataset:
            # FOR UPDATE serializes adders on PostgreSQL (SQLite's write lock already does), so
            # two of them never hand out the same positions.
            locked = sa.select(_D.c.dataset_id).where(_D.c.dataset_id == dataset_id).with_for_update()
            if conn.execute(locked).first() is None:
                raise NotFoundError(f"Evaluation dataset with ID {dataset_id!r} not found.")
            stored = _stored_records(conn, dataset_id, list(rows))
            top = conn.execute(
                sa.select(sa.func.max(_DR.c.position)).where(_DR.c.dataset_id == dataset_id)
            ).scalar_one_or_none()
            next_position = 0 if top is None else top + 1
            now = self._clock()
            params = []
            for rid, row in rows.items():
                old = stored.get(rid)
                if old is None:  # new: appended
                    params.append(row.params(dataset_id, rid, next_position, now, now))
                    next_position += 1
                    continue
                if merge:
                    row = row.merged_into(old)
                # replaced or merged: keeps its place and creation time
                params.append(row.params(dataset_id, rid, old.position, old.created_time or now, now))
            self._upsert(conn, _DR, params, ("dataset_id", "record_id"))
            dataset = _load(conn, sa.select(_D).where(_D.c.dataset_id == dataset_id), records=True)[0]
            digest = compute_digest(
                (r.record_id, r.inputs, r.expectations, r.outputs) for r in dataset.records or ()
            )
            conn.execute(
                _D.update().where(_D.c.dataset_id == dataset_id).values(digest=digest, last_update_time=now)
            )
            return dataclasses.replace(dataset, digest=digest, last_update_time=now)

        return self._write(add)

    def set_eval_dataset_tags(self, dataset_id: str, tags: Mapping[str, str | None]) -> None:
        _check_dataset_id(dataset_id)
        if not isinstance(tags, Mapping):
            raise InvalidArgumentError(
                f"Invalid tags {tags!r}: expected a dict of tag name to value (None deletes)."
            )
        dropped = [k for k, v in tags.items() if v is None]
        kept = check_tags({k: v for k, v in tags.items() if v is not None})
        for key in dropped:
            check_key(key, "tag")

        def write(conn: Connection) -> None:
            if conn.execute(sa.select(_D.c.dataset_id).where(_D.c.dataset_id == dataset_id)).first() is None:
                raise NotFoundError(f"Evaluation dataset with ID {dataset_id!r} not found.")
            self._upsert(
                conn,
                _DT,
                [{"dataset_id": dataset_id, "key": k, "value": v} for k, v in kept.items()],
                ("dataset_id", "key"),
            )
            if dropped:
                conn.execute(_DT.delete().where(_DT.c.dataset_id == dataset_id, _DT.c.key.in_(dropped)))

        self._write(write)

    def delete_eval_dataset_tag(self, dataset_id: str, key: str) -> None:
        _check_dataset_id(dataset_id)
        if not isinstance(key, str):
            raise InvalidArgumentError(f"Invalid tag key {key!r}: expected a string.")

        def write(conn: Connection) -> None:
            if conn.execute(sa.select(_D.c.dataset_id).where(_D.c.dataset_id == dataset_id)).first() is None:
                raise NotFoundError(f"Evaluation dataset with ID {dataset_id!r} not found.")
            # a key the dataset does not have: nothing to do, as in MLflow
            conn.execute(_DT.delete().where(_DT.c.dataset_id == dataset_id, _DT.c.key == key))

        self._write(write)

    def delete_eval_dataset(self, dataset_id: str) -> None:
        _check_dataset_id(dataset_id)

        def delete(conn: Connection) -> None:
            for table in (_DR, _DT):  # children first (SQLite does not cascade by default)
                conn.execute(table.delete().where(table.c.dataset_id == dataset_id))
            if conn.execute(_D.delete().where(_D.c.dataset_id == dataset_id)).rowcount == 0:
                raise NotFoundError(f"Evaluation dataset with ID {dataset_id!r} not found.")

        self._write(delete)


# -- digest and ids ------------------------------------------------------------------------------------
def compute_digest(records: Iterable[tuple[Any, ...]]) -> str:
    """The content digest of ``(record_id, inputs, expectations[, outputs])`` tuples: the first
    16 hex digits of SHA-256 over the canonical JSON of ``[[inputs, expectations], ...]`` ordered
    by ``record_id``, where a record with outputs (not None) is ``[inputs, expectations, outputs]``
    (so datasets without outputs keep the digests they always had).

    >>> compute_digest([])
    '4f53cda18c2baa0c'
    """
    ordered = [
        list(r[1:3]) if len(r) < 4 or r[3] is None else list(r[1:4])
        for r in sorted(records, key=lambda r: r[0])
    ]
    text = json.dumps(ordered, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def new_dataset_id() -> str:
    """``d-`` followed by 32 lowercase hex digits."""
    return "d-" + uuid.uuid4().hex


# -- records -------------------------------------------------------------------------------------------
class _Row:
    """One validated record: its JSON text and its values as read back from that text."""

    __slots__ = (
        "expectations",
        "expectations_json",
        "inputs",
        "inputs_json",
        "outputs",
        "outputs_json",
        "source_trace_id",
        "tags",
    )

    def __init__(self, record: DatasetRecord, where: str) -> None:
        inputs = record.inputs
        if not isinstance(inputs, Mapping) or not inputs:
            raise InvalidArgumentError(
                f"Invalid inputs {inputs!r} of {where}: expected a non-empty dict of keyword arguments."
            )
        for key in inputs:
            if not isinstance(key, str):
                raise InvalidArgumentError(f"Invalid input name {key!r} of {where}: expected a string.")
        expectations = record.expectations
        if not isinstance(expectations, Mapping):
            raise InvalidArgumentError(f"Invalid expectations {expectations!r} of {where}: expected a dict.")
        self.inputs_json = _encode(inputs, "inputs", where)
        self.expectations_json = _encode(expectations, "expectations", where) if expectations else None
        self.inputs: dict[str, Any] = _scan(self.inputs_json, 0)[0]
        self.expectations: dict[str, Any] = _decode(self.expectations_json)
        self.outputs_json = None if record.outputs is None else _encode(record.outputs, "outputs", where)
        self.outputs: Any = None if self.outputs_json is None else _scan(self.outputs_json, 0)[0]
        try:
            self.tags = check_tags(record.tags)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"{exc} (in {where})") from None
        source = record.source_trace_id
        if source is not None and (
            not isinstance(source, str) or not source or len(source) > 64 or _CONTROL.search(source)
        ):
            raise InvalidArgumentError(
                f"Invalid source_trace_id {source!r} of {where}: expected None or a trace id such as 'tr-...'."
            )
        self.source_trace_id = source

    def params(
        self, dataset_id: str, record_id: str, position: int, created: int, updated: int
    ) -> dict[str, Any]:
        return {
            "dataset_id": dataset_id,
            "record_id": record_id,
            "position": position,
            "inputs": self.inputs_json,
            "expectations": self.expectations_json,
            "tags": json.dumps(self.tags) if self.tags else None,
            "source_trace_id": self.source_trace_id,
            "outputs": self.outputs_json,
            "created_time": created,
            "last_update_time": updated,
        }

    def record(self, record_id: str, created: int, updated: int) -> DatasetRecord:
        return DatasetRecord(
            record_id=record_id,
            inputs=self.inputs,
            expectations=self.expectations,
            tags=dict(self.tags),
            source_trace_id=self.source_trace_id,
            outputs=self.outputs,
            created_time=created,
            last_update_time=updated,
        )

    def merged_into(self, old: _Stored) -> _Row:
        """This record merged into the stored one: expectations and tags by key (this one's win),
        outputs and source trace this one's when it has them."""
        expectations = {**old.expectations, **self.expectations}
        self.expectations_json = json.dumps(expectations) if expectations else None
        self.expectations = expectations
        self.tags = {**old.tags, **self.tags}
        if self.outputs_json is None:
            self.outputs_json, self.outputs = old.outputs_json, old.outputs
        if self.source_trace_id is None:
            self.source_trace_id = old.source_trace_id
        return self


class _Stored:
    """What a merge reads of a stored record."""

    __slots__ = (
        "created_time",
        "expectations",
        "outputs",
        "outputs_json",
        "position",
        "source_trace_id",
        "tags",
    )

    def __init__(self, row: Sequence[Any]) -> None:
        position, expectations, tags, source, outputs, created = row
        self.position: int = position
        self.expectations: dict[str, Any] = _decode(expectations)
        self.tags: dict[str, str] = _decode(tags)
        self.source_trace_id: str | None = source
        self.outputs_json: str | None = outputs
        self.outputs: Any = None if outputs is None else _scan(outputs, 0)[0]
        self.created_time: int | None = created


def _stored_records(conn: Connection, dataset_id: str, record_ids: list[str]) -> dict[str, _Stored]:
    """The stored records of ``record_ids`` in the dataset (those it has), by id."""
    columns = (
        _DR.c.record_id,
        _DR.c.position,
        _DR.c.expectations,
        _DR.c.tags,
        _DR.c.source_trace_id,
        _DR.c.outputs,
        _DR.c.created_time,
    )
    found: dict[str, _Stored] = {}
    for i in range(0, len(record_ids), _CHUNK):
        chunk = record_ids[i : i + _CHUNK]
        query = sa.select(*columns).where(_DR.c.dataset_id == dataset_id, _DR.c.record_id.in_(chunk))
        for row in conn.execute(query):
            found[row[0]] = _Stored(row[1:])
    return found


def _record_rows(records: object) -> dict[str, _Row]:
    """Validated records by id, in first-seen order; a record id twice in one call: the last
    copy wins (in the first one's place)."""
    if isinstance(records, (str, bytes, DatasetRecord)) or not isinstance(records, Sequence):
        raise InvalidArgumentError(f"Invalid records {records!r}: expected a list of DatasetRecord objects.")
    out: dict[str, _Row] = {}
    for record in records:
        if not isinstance(record, DatasetRecord):
            raise InvalidArgumentError(f"Invalid record {record!r}: expected a DatasetRecord.")
        rid = record.record_id
        if not isinstance(rid, str) or not rid.strip() or len(rid) > MAX_RECORD_ID or _CONTROL.search(rid):
            raise InvalidArgumentError(
                f"Invalid record_id {rid!r}: expected a non-empty string of at most {MAX_RECORD_ID} "
                "characters, without control characters."
            )
        out[rid] = _Row(record, f"record {rid!r}")
    return out


def _encode(value: Any, what: str, where: str) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError, RecursionError) as exc:
        shown = repr(value)
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        raise InvalidArgumentError(
            f"Invalid {what} {shown} of {where}: expected JSON-serializable values: {exc}."
        ) from None


def _decode(text: str | None) -> dict[str, Any]:
    return {} if text is None else _scan(text, 0)[0]


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or _CONTROL.search(name):
        shown = name[:80] + "..." if isinstance(name, str) and len(name) > 80 else name
        raise InvalidArgumentError(
            f"Invalid dataset name {shown!r}: expected a non-empty string of at most {MAX_NAME} "
            "characters, without control characters."
        )


def _check_dataset_id(dataset_id: object) -> None:
    if not isinstance(dataset_id, str) or not _DATASET_ID.fullmatch(dataset_id):
        raise InvalidArgumentError(
            f"Invalid dataset id {dataset_id!r}: expected 'd-' followed by 32 lowercase hex digits."
        )


# -- reading ---------------------------------------------------------------------------------------------
def _load(conn: Connection, query: sa.Select[Any], *, records: bool) -> list[EvaluationDataset]:
    """Datasets for the ``eval_datasets`` rows of ``query``: tags from one ``IN`` query, and
    records (in insertion order) when asked."""
    rows = conn.execute(query).all()
    if not rows:
        return []
    ids = [r.dataset_id for r in rows]
    tags: dict[str, dict[str, str]] = {i: {} for i in ids}
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        for dataset_id, key, value in conn.execute(
            sa.select(_DT.c.dataset_id, _DT.c.key, _DT.c.value).where(_DT.c.dataset_id.in_(chunk))
        ):
            tags[dataset_id][key] = value
    loaded: dict[str, list[DatasetRecord]] = {}
    if records:
        for dataset_id in ids:
            query = (
                sa.select(*_RECORD_COLUMNS)
                .where(_DR.c.dataset_id == dataset_id)
                .order_by(_DR.c.position, _DR.c.record_id)
            )
            loaded[dataset_id] = [
                DatasetRecord(
                    record_id=r[0],
                    inputs=_scan(r[1], 0)[0],
                    expectations=_decode(r[2]),
                    tags=_decode(r[3]),
                    source_trace_id=r[4],
                    outputs=None if r[5] is None else _scan(r[5], 0)[0],
                    created_time=r[6],
                    last_update_time=r[7],
                )
                for r in conn.execute(query)
            ]
    return [
        EvaluationDataset(
            dataset_id=r.dataset_id,
            name=r.name,
            digest=r.digest,
            experiment_id=str(r.experiment_id),
            created_time=r.created_time,
            last_update_time=r.last_update_time,
            tags=tags[r.dataset_id],
            records=loaded.get(r.dataset_id) if records else None,
        )
        for r in rows
    ]
