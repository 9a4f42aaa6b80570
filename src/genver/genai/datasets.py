"""Evaluation datasets: named sets of records (``inputs`` and ``expectations``) with a content
digest, stored in the tracking store. (How ``evaluate`` reads its ``data``: ``genai.harness``.)

>>> from genver.genai import datasets
>>> ds = datasets.create_dataset("capitals", records=[
...     {"inputs": {"question": "Capital of France?"}, "expectations": {"expected_response": "Paris"}},
... ])  # doctest: +SKIP
>>> genver.genai.evaluate(ds, scorers=[ExactMatch()], predict_fn=answer)  # doctest: +SKIP

A record's id is ``sha256(canonical JSON of its inputs)[:16]``, so the same question has the same
id in every dataset and every evaluation, and scores of two versions pair up row by row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from genver.data import digest_of
from genver.entities import Assessment, DatasetRecord, EvaluationDataset, Trace
from genver.entities.paged_list import collect_pages
from genver.exceptions import InvalidArgumentError, NotFoundError

if TYPE_CHECKING:
    from genver.fluent import Genver

__all__ = [
    "EvaluationDataset",
    "add_records",
    "create_dataset",
    "dataset_from_traces",
    "delete_dataset",
    "get_dataset",
    "record_id_for",
    "search_datasets",
]

_RECORD_KEYS = ("inputs", "expectations", "tags")
#: The dataset name metrics carry when ``data`` is a plain list or DataFrame (MLflow's default).
DEFAULT_DATASET_NAME = "dataset"


def record_id_for(inputs: Any) -> str:
    """The id of a record: ``sha256`` of the canonical JSON of its inputs, 16 hex digits."""
    return digest_of(dict(inputs) if isinstance(inputs, Mapping) else inputs)


# -- the public API ------------------------------------------------------------------------------------
def create_dataset(
    name: str,
    *,
    experiment_id: str | None = None,
    records: Any = None,
    tags: Mapping[str, Any] | None = None,
    genver: Genver | None = None,
) -> EvaluationDataset:
    """Create an evaluation dataset in the active experiment (or ``experiment_id``).

    ``records``: a list of dicts with ``inputs`` (a dict: the keyword arguments of ``predict_fn``),
    optional ``expectations`` (a dict, e.g. ``{"expected_response": "Paris"}``) and ``tags``, or a
    DataFrame with those columns. Records with the same inputs are merged.

    >>> ds = create_dataset("capitals", records=[{"inputs": {"q": "France?"},
    ...                     "expectations": {"expected_response": "Paris"}}])  # doctest: +SKIP
    >>> ds.digest  # doctest: +SKIP
    '5d41402abc4b2a76'
    """
    gv = resolve_genver(genver)
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(f"Invalid dataset name {name!r}: expected a non-empty string.")
    if tags is not None and not isinstance(tags, Mapping):
        raise InvalidArgumentError(f"Invalid tags {tags!r}: expected a dict of tag name to value.")
    clean = to_records(records) if records is not None else []
    exp_id = str(experiment_id) if experiment_id is not None else gv.current_experiment_id()
    return gv.client.create_dataset(name, exp_id, tags, records=clean)


def add_records(dataset_id: str, records: Any, *, genver: Genver | None = None) -> EvaluationDataset:
    """Add records to a dataset (a record with the same inputs replaces the stored one); returns
    the dataset with its new digest and all its records.

    >>> add_records(ds.dataset_id, [{"inputs": {"q": "Italy?"}}]).digest != ds.digest  # doctest: +SKIP
    True
    """
    gv = resolve_genver(genver)
    return gv.client.merge_dataset_records(dataset_id, to_records(records))


def get_dataset(
    dataset_id: str | None = None,
    *,
    name: str | None = None,
    experiment_id: str | None = None,
    genver: Genver | None = None,
) -> EvaluationDataset:
    """A dataset with its records, by id, or the newest one with ``name`` in the active experiment.

    >>> get_dataset(name="capitals").records[0].inputs  # doctest: +SKIP
    {'q': 'France?'}
    """
    gv = resolve_genver(genver)
    if (dataset_id is None) == (name is None):
        raise InvalidArgumentError("Pass exactly one of dataset_id or name to get_dataset.")
    if dataset_id is not None:
        return gv.client.get_dataset(dataset_id)
    from genver.search.parser import quote

    exp_id = str(experiment_id) if experiment_id is not None else gv.current_experiment_id()
    page = gv.client.search_datasets([exp_id], f"name = {quote(str(name))}", max_results=1)
    if not page:
        raise NotFoundError(f"No evaluation dataset named {name!r} in experiment {exp_id!r}.")
    return gv.client.get_dataset(page[0].dataset_id)


def search_datasets(
    experiment_ids: Sequence[str] | str | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
    *,
    genver: Genver | None = None,
) -> list[EvaluationDataset]:
    """Datasets (without their records) matching a filter on ``name``, ``digest``,
    ``created_time`` or ``tags.<key>``; newest first, every page up to ``max_results``.

    >>> [d.name for d in search_datasets(filter_string="tags.team = 'search'")]  # doctest: +SKIP
    ['capitals']
    """
    gv = resolve_genver(genver)
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
    ):
        raise InvalidArgumentError(f"Invalid max_results {max_results!r}: expected a positive integer.")
    if isinstance(experiment_ids, (str, int)):
        experiment_ids = [str(experiment_ids)]
    ids = [str(e) for e in experiment_ids] if experiment_ids else [gv.current_experiment_id()]
    client = gv.client
    return collect_pages(
        lambda size, token: client.search_datasets(ids, filter_string, size, order_by, token), max_results
    )


def delete_dataset(dataset_id: str, *, genver: Genver | None = None) -> None:
    """Delete a dataset and its records: ``delete_dataset(ds.dataset_id)``."""
    resolve_genver(genver).client.delete_dataset(dataset_id)


def dataset_from_traces(
    name: str,
    traces: Any,
    *,
    expectations_from: str | Callable[[Trace], Mapping[str, Any] | None] | None = None,
    experiment_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    genver: Genver | None = None,
) -> EvaluationDataset:
    """A dataset whose records are the root-span inputs of ``traces`` (``Trace`` objects, trace
    ids, or the DataFrame ``search_traces`` returns).

    ``expectations_from``: None (no expectations), ``"outputs"`` (the trace's output becomes
    ``expected_response`` — e.g. to pin a known-good version's answers), ``"assessments"`` (the
    expectations already stored on the trace), or a function ``trace -> dict``.

    >>> prod = genver.search_traces(model_id=v1.model_id, max_results=50)  # doctest: +SKIP
    >>> ds = dataset_from_traces("regressions", prod, expectations_from="outputs")  # doctest: +SKIP
    """
    gv = resolve_genver(genver)
    if not (expectations_from in (None, "outputs", "assessments") or callable(expectations_from)):
        raise InvalidArgumentError(
            f"Invalid expectations_from {expectations_from!r}: expected None, 'outputs', "
            "'assessments' or a function trace -> dict."
        )
    full = load_traces(traces, gv)
    stored: dict[str, dict[str, Any]] = {}
    if expectations_from == "assessments" and full:
        ids = [t.info.trace_id for t in full]
        for a in gv.client.get_assessments(trace_ids=ids):
            if a.kind == "expectation":
                stored.setdefault(a.trace_id, {})[a.name] = a.value
    records: list[DatasetRecord] = []
    for t in full:
        inputs = trace_inputs(t)
        if expectations_from == "outputs":
            root = t.data.root
            expectations: Mapping[str, Any] = {"expected_response": root.outputs if root else None}
        elif expectations_from == "assessments":
            expectations = stored.get(t.info.trace_id) or trace_expectations(t)
        elif expectations_from is not None:
            assert callable(expectations_from)
            got = expectations_from(t)
            if got is not None and not isinstance(got, Mapping):
                raise InvalidArgumentError(
                    f"expectations_from returned {got!r} for trace {t.info.trace_id!r}: expected a dict."
                )
            expectations = got or {}
        else:
            expectations = {}
        records.append(
            DatasetRecord(
                record_id=record_id_for(inputs),
                inputs=inputs,
                expectations=dict(expectations),
                source_trace_id=t.info.trace_id,
            )
        )
    return create_dataset(name, experiment_id=experiment_id, records=records, tags=tags, genver=gv)


# -- records --------------------------------------------------------------------------------------------
def to_records(records: Any) -> list[DatasetRecord]:
    """User records (dicts, ``DatasetRecord``s or a DataFrame) as ``DatasetRecord``s, merged by id."""
    rows = as_row_list(records, "records")
    merged: dict[str, DatasetRecord] = {}
    for i, row in enumerate(rows):
        if isinstance(row, DatasetRecord):
            rec = row
        elif isinstance(row, Mapping):
            unknown = [k for k in row if k not in _RECORD_KEYS]
            if unknown:
                raise InvalidArgumentError(
                    f"Record {i} has unknown key {unknown[0]!r}: expected only {list(_RECORD_KEYS)}."
                )
            inputs = check_inputs(row.get("inputs"), i)
            rec = DatasetRecord(
                record_id=record_id_for(inputs),
                inputs=inputs,
                expectations=check_mapping(row.get("expectations"), "expectations", i),
                tags={str(k): str(v) for k, v in check_mapping(row.get("tags"), "tags", i).items()},
            )
        else:
            raise InvalidArgumentError(
                f"Record {i} is {row!r}: expected a dict with 'inputs' (and optional 'expectations')."
            )
        old = merged.get(rec.record_id)
        if old is not None:  # the same inputs twice: one record, expectations merged
            rec = DatasetRecord(
                record_id=rec.record_id,
                inputs=rec.inputs,
                expectations={**old.expectations, **rec.expectations},
                tags={**old.tags, **rec.tags},
                source_trace_id=rec.source_trace_id or old.source_trace_id,
            )
        merged[rec.record_id] = rec
    return list(merged.values())


def load_traces(traces: Any, gv: Genver) -> list[Trace]:
    """Traces with their spans, from ``Trace`` objects, trace ids or a ``search_traces`` DataFrame."""
    if hasattr(traces, "columns") and hasattr(traces, "to_dict"):
        col = "trace" if "trace" in traces.columns else "trace_id" if "trace_id" in traces.columns else None
        if col is None:
            raise InvalidArgumentError("A DataFrame of traces needs a 'trace' or 'trace_id' column.")
        traces = list(traces[col])
    if isinstance(traces, (Trace, str)) or not isinstance(traces, Sequence):
        raise InvalidArgumentError(
            f"Invalid traces {traces!r}: expected a list of Trace objects or trace ids."
        )
    out: list[Trace] = []
    for t in traces:
        if isinstance(t, str):
            out.append(gv.client.get_trace(t))
        elif isinstance(t, Trace):
            out.append(t if t.data.spans else gv.client.get_trace(t.info.trace_id))
        else:
            raise InvalidArgumentError(f"Invalid trace {t!r}: expected a Trace or a trace id.")
    return out


def trace_inputs(trace: Trace) -> dict[str, Any]:
    root = trace.data.root
    inputs = root.inputs if root is not None else None
    if inputs is None:
        return {}
    if not isinstance(inputs, Mapping):
        raise InvalidArgumentError(
            f"Trace {trace.info.trace_id!r} has root inputs {inputs!r}: expected a dict of arguments."
        )
    return dict(inputs)


def trace_expectations(trace: Trace) -> dict[str, Any]:
    return {
        a.name: a.value
        for a in trace.info.assessments
        if isinstance(a, Assessment) and a.kind == "expectation"
    }


# -- helpers ------------------------------------------------------------------------------------------------
def resolve_genver(instance: Genver | None) -> Genver:
    """The explicit instance, else the default one behind ``genver.*``."""
    from genver.fluent import Genver, default_genver

    if instance is None:
        return default_genver()
    if not isinstance(instance, Genver):
        raise InvalidArgumentError(f"Invalid genver {instance!r}: expected a genver.Genver instance.")
    return instance


def as_row_list(data: Any, what: str) -> list[Any]:
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
        rows: list[Any] = data.to_dict(orient="records")
        return rows
    if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, Sequence):
        raise InvalidArgumentError(
            f"Invalid {what} {data!r}: expected a list of dicts, a pandas DataFrame, a list of traces "
            "or an EvaluationDataset."
        )
    return list(data)


def check_inputs(value: Any, i: int) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(
            f"Invalid inputs {value!r} in row {i}: expected a dict of predict_fn keyword arguments, "
            'e.g. {"inputs": {"question": "..."}}.'
        )
    bad = next((k for k in value if not isinstance(k, str)), None)
    if bad is not None:
        raise InvalidArgumentError(f"Invalid inputs key {bad!r} in row {i}: keys must be strings.")
    return dict(value)


def check_mapping(value: Any, what: str, i: int) -> dict[str, Any]:
    if is_missing(value):
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"Invalid {what} {value!r} in row {i}: expected a dict.")
    return {str(k): v for k, v in value.items()}


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def __getattr__(name: str) -> Any:
    """MLflow's dataset calls genver leaves out raise ``NotOfferedError`` naming what to use instead."""
    from genver.not_offered import DATASETS, not_offered

    raise not_offered("genver.genai.datasets", name, DATASETS)
