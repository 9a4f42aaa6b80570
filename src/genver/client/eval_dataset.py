"""``EvaluationDataset`` as MLflow's is: a dataset bound to the client that read it, so
``dataset.merge_records(...)`` writes through to the store and ``dataset.records`` /
``dataset.to_df()`` read its records (loaded on first use for a search result).

The entity (``genver.entities.EvaluationDataset``) stays a frozen value with no I/O; this
subclass adds the client and replaces its fields with the store's answer after each write, so
code holding the dataset sees the new records, digest and update time, as in MLflow. Anything
that takes the entity (``genai.evaluate``, comparisons) takes it unchanged.

``records_of`` turns what MLflow's ``merge_records`` accepts into ``DatasetRecord``s: a list of
dicts (``inputs``, ``expectations``, ``outputs``, ``tags``, ``source``), a DataFrame (with those
columns, or a ``trace`` column as ``search_traces`` returns), or a list of ``Trace`` objects (root
span inputs and outputs, the trace's expectations). Records with the same inputs are one record:
its id is a digest of the inputs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from genver import entities
from genver.data import digest_of
from genver.entities import Assessment, DatasetRecord, Trace
from genver.exceptions import InvalidArgumentError


class DatasetsClient(Protocol):
    """What a bound dataset asks of its client (a ``GenverClient``)."""

    def get_dataset(self, dataset_id: str) -> entities.EvaluationDataset: ...

    def merge_dataset_records(
        self, dataset_id: str, records: Sequence[DatasetRecord], *, merge: bool = False
    ) -> entities.EvaluationDataset: ...

    def get_trace(self, trace_id: str, display: bool = True, flush: bool = False) -> Trace: ...


__all__ = ["EvaluationDataset", "record_id_for", "records_of"]

_FIELDS = tuple(f.name for f in dataclasses.fields(entities.EvaluationDataset))
# The entity's slots, written directly: its frozen __setattr__ (and this class's ``records``
# property) stand in the way of plain assignment.
_SLOTS = {name: entities.EvaluationDataset.__dict__[name] for name in _FIELDS}
#: Keys a record dict may have: MLflow's, plus the columns ``to_df()`` adds (read back from a
#: DataFrame of another dataset; the derived ones are ignored).
_RECORD_KEYS = ("inputs", "expectations", "outputs", "tags", "source")
_DERIVED_KEYS = (
    "source_type",
    "source_id",
    "created_time",
    "dataset_record_id",
    "record_id",
    "last_update_time",
)


class EvaluationDataset(entities.EvaluationDataset):
    """An evaluation dataset you can add records to: ``merge_records`` (a list of dicts, a
    DataFrame or traces; a record with the same inputs as a stored one is merged into it),
    ``records`` and ``to_df()`` (loaded on first use), ``schema``, ``digest``, ``tags``.

    >>> ds = genver.genai.datasets.create_dataset(name="qa", experiment_id="0")  # doctest: +SKIP
    >>> ds.merge_records([{"inputs": {"q": "2+2?"}, "expectations": {"expected_response": "4"}}])  # doctest: +SKIP
    >>> ds.to_df()[["inputs", "expectations"]]  # doctest: +SKIP
    """

    __slots__ = ("_client",)

    def __init__(self, *, client: DatasetsClient | None = None, **fields: Any) -> None:
        self._refresh(entities.EvaluationDataset(**fields))
        object.__setattr__(self, "_client", client)

    @classmethod
    def bound(cls, snapshot: entities.EvaluationDataset, client: DatasetsClient) -> EvaluationDataset:
        """``snapshot`` bound to ``client``."""
        self = cls.__new__(cls)
        self._refresh(snapshot)
        object.__setattr__(self, "_client", client)
        return self

    def _refresh(self, snapshot: entities.EvaluationDataset) -> None:
        for name, slot in _SLOTS.items():
            value = slot.__get__(snapshot, type(snapshot)) if name == "records" else getattr(snapshot, name)
            slot.__set__(self, value)

    @property
    def records(self) -> list[DatasetRecord]:
        """The records, in the order they were added (read from the store on first use)."""
        slot = _SLOTS["records"]
        loaded: list[DatasetRecord] | None = slot.__get__(self, type(self))
        if loaded is None:
            loaded = self._owner().get_dataset(self.dataset_id).records or []
            slot.__set__(self, loaded)
        return loaded

    def has_records(self) -> bool:
        """Whether the records are loaded already (without loading them)."""
        return _SLOTS["records"].__get__(self, type(self)) is not None

    def merge_records(self, records: Any) -> EvaluationDataset:
        """Add records and return this dataset, updated (records, digest, update time).

        ``records``: a list of dicts with ``inputs`` (a dict) and optional ``expectations``,
        ``outputs``, ``tags``; a pandas DataFrame with those columns, or the DataFrame
        ``search_traces`` returns; or a list of ``Trace``. A record whose inputs match a stored
        one is merged into it as in MLflow: expectations and tags by key (new values win),
        outputs replaced when given.

        >>> dataset.merge_records(genver.search_traces(filter_string="timestamp >= '2026-12-06'"))  # doctest: +SKIP
        """
        client = self._owner()
        merged = client.merge_dataset_records(
            self.dataset_id, records_of(records, client.get_trace), merge=True
        )
        self._refresh(merged)
        return self

    def _owner(self) -> DatasetsClient:
        client: DatasetsClient | None = getattr(self, "_client", None)
        if client is None:
            raise InvalidArgumentError(
                f"Evaluation dataset {self.dataset_id!r} is not bound to a client: get it with "
                "genver.genai.datasets.get_dataset or MlflowClient().get_dataset to read or add records."
            )
        return client

    def __eq__(self, other: object) -> bool:
        """Equal to a dataset (bound or not) with the same fields: binding is not content."""
        if not isinstance(other, entities.EvaluationDataset):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _FIELDS)

    __hash__ = entities.EvaluationDataset.__hash__

    def __repr__(self) -> str:
        loaded = _SLOTS["records"].__get__(self, type(self))
        count = "not loaded" if loaded is None else str(len(loaded))
        return (
            f"EvaluationDataset(dataset_id={self.dataset_id!r}, name={self.name!r}, digest={self.digest!r}, "
            f"experiment_id={self.experiment_id!r}, tags={dict(self.tags)!r}, records={count})"
        )


# -- records -------------------------------------------------------------------------------------------
def record_id_for(inputs: Any) -> str:
    """The id of a record: ``sha256`` of the canonical JSON of its inputs, 16 hex digits."""
    return digest_of(dict(inputs) if isinstance(inputs, Mapping) else inputs)


def records_of(data: Any, get_trace: Callable[[str], Trace] | None = None) -> list[DatasetRecord]:
    """``DatasetRecord``s from dicts, ``DatasetRecord``s, a DataFrame or ``Trace``s, merged by
    inputs (expectations and tags by key, the later record winning). ``get_trace`` loads the
    spans of traces that come without them."""
    if hasattr(data, "columns") and hasattr(data, "to_dict"):  # a pandas DataFrame
        data = list(data["trace"]) if "trace" in data.columns else data.to_dict(orient="records")
    if isinstance(data, (str, bytes, Mapping, Trace, DatasetRecord)) or not isinstance(data, Sequence):
        raise InvalidArgumentError(
            f"Invalid records {_short(data)}: expected a list of dicts with 'inputs', a pandas DataFrame, "
            "or a list of traces."
        )
    traces = [t for t in data if isinstance(t, Trace)]
    if traces and len(traces) != len(data):
        index = next(i for i, t in enumerate(data) if not isinstance(t, Trace))
        raise InvalidArgumentError(
            f"Invalid record {index}: {_short(data[index])} in a list of traces: pass only Trace objects, "
            "or only dicts."
        )
    rows = (
        [trace_record(t, get_trace) for t in traces]
        if traces
        else [_record(i, r) for i, r in enumerate(data)]
    )
    merged: dict[str, DatasetRecord] = {}
    for rec in rows:
        old = merged.get(rec.record_id)
        if old is not None:  # the same inputs twice: one record
            rec = dataclasses.replace(
                rec,
                expectations={**old.expectations, **rec.expectations},
                tags={**old.tags, **rec.tags},
                outputs=old.outputs if rec.outputs is None else rec.outputs,
                source_trace_id=rec.source_trace_id or old.source_trace_id,
            )
        merged[rec.record_id] = rec
    return list(merged.values())


def trace_record(trace: Trace, get_trace: Callable[[str], Trace] | None = None) -> DatasetRecord:
    """A trace as a record, as MLflow builds it: the root span's inputs and outputs, the
    trace's (valid) expectations, and the trace as its source."""
    if not trace.data.spans and get_trace is not None:
        trace = get_trace(trace.info.trace_id)
    root = trace.data.root
    inputs = root.inputs if root is not None else None
    if not isinstance(inputs, Mapping) or not inputs:
        raise InvalidArgumentError(
            f"Trace {trace.info.trace_id!r} has root inputs {_short(inputs)}: a record needs a non-empty "
            "dict of arguments (a traced function's call)."
        )
    return DatasetRecord(
        record_id=record_id_for(inputs),
        inputs=dict(inputs),
        expectations=trace_expectations(trace),
        outputs=root.outputs if root is not None else None,
        source_trace_id=trace.info.trace_id,
    )


def trace_expectations(trace: Trace) -> dict[str, Any]:
    """The trace's expectations by name (valid ones; the latest of a name wins)."""
    found = [
        a for a in trace.info.assessments if isinstance(a, Assessment) and a.kind == "expectation" and a.valid
    ]
    return {a.name: a.value for a in sorted(found, key=lambda a: (a.create_time_ms, a.assessment_id))}


def _record(i: int, row: Any) -> DatasetRecord:
    if isinstance(row, DatasetRecord):
        return row
    if not isinstance(row, Mapping):
        raise InvalidArgumentError(
            f"Record {i} is {_short(row)}: expected a dict with 'inputs' (and optional 'expectations', "
            "'outputs', 'tags')."
        )
    unknown = [k for k in row if k not in _RECORD_KEYS and k not in _DERIVED_KEYS]
    if unknown:
        raise InvalidArgumentError(
            f"Record {i} has unknown key {unknown[0]!r}: expected only {list(_RECORD_KEYS)}."
        )
    inputs = row.get("inputs")
    if not isinstance(inputs, Mapping) or not inputs:
        raise InvalidArgumentError(
            f"Invalid inputs {_short(inputs)} in row {i}: expected a non-empty dict of predict_fn keyword "
            'arguments, e.g. {"inputs": {"question": "..."}}.'
        )
    bad = next((k for k in inputs if not isinstance(k, str)), None)
    if bad is not None:
        raise InvalidArgumentError(f"Invalid inputs key {bad!r} in row {i}: keys must be strings.")
    outputs = row.get("outputs")
    return DatasetRecord(
        record_id=record_id_for(inputs),
        inputs=dict(inputs),
        expectations=_mapping(row.get("expectations"), "expectations", i),
        tags={str(k): str(v) for k, v in _mapping(row.get("tags"), "tags", i).items()},
        outputs=None if is_missing(outputs) else outputs,
        source_trace_id=_source_trace(row.get("source"), i),
    )


def _mapping(value: Any, what: str, i: int) -> dict[str, Any]:
    if is_missing(value):
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"Invalid {what} {_short(value)} in row {i}: expected a dict.")
    return {str(k): v for k, v in value.items()}


def _source_trace(source: Any, i: int) -> str | None:
    """The trace id of MLflow's ``{"source_type": "TRACE", "source_data": {"trace_id": ...}}``;
    other sources (HUMAN, CODE, DOCUMENT) are what genver infers and carry nothing to keep."""
    if is_missing(source):
        return None
    if not isinstance(source, Mapping):
        raise InvalidArgumentError(
            f"Invalid source {_short(source)} in row {i}: expected a dict such as "
            "{'source_type': 'TRACE', 'source_data': {'trace_id': 'tr-...'}}."
        )
    data = source.get("source_data")
    trace_id = data.get("trace_id") if isinstance(data, Mapping) else None
    return (
        trace_id
        if isinstance(trace_id, str) and str(source.get("source_type", "")).upper() == "TRACE"
        else None
    )


def is_missing(value: Any) -> bool:
    """None, or pandas' NaN for a cell a DataFrame row does not have."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 200 else shown[:200] + "..."
