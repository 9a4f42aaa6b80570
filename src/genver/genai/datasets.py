"""Evaluation datasets as MLflow 3 has them (``mlflow.genai.datasets``): named sets of records
(``inputs``, ``expectations``, optional ``outputs``) with a content digest, stored in the tracking
store. (How ``evaluate`` reads its ``data``: ``genai.harness``.)

>>> import genver as mlflow
>>> dataset = mlflow.genai.datasets.create_dataset(name="capitals", experiment_id=["0"],
...                                                tags={"team": "search"})  # doctest: +SKIP
>>> dataset.merge_records([
...     {"inputs": {"question": "Capital of France?"}, "expectations": {"expected_response": "Paris"}},
... ])  # doctest: +SKIP
>>> mlflow.genai.evaluate(data=dataset, scorers=[ExactMatch()], predict_fn=answer)  # doctest: +SKIP

A record's id is ``sha256(canonical JSON of its inputs)[:16]``, so the same question has the same
id in every dataset and every evaluation, and scores of two versions pair up row by row. A
dataset belongs to one experiment (MLflow's can be linked to several).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from genver.client.eval_dataset import EvaluationDataset, record_id_for, records_of
from genver.client.eval_dataset import trace_expectations as _trace_expectations
from genver.entities import DatasetRecord, Trace
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
    "delete_dataset_tag",
    "get_dataset",
    "record_id_for",
    "search_datasets",
    "set_dataset_tags",
]

#: The dataset name metrics carry when ``data`` is a plain list or DataFrame (MLflow's default).
DEFAULT_DATASET_NAME = "dataset"
_DATASET_ID = re.compile(r"d-[0-9a-f]{32}")
#: ``search_datasets()`` without a filter finds datasets created in the last 7 days, as MLflow's.
_RECENT_MS = 7 * 24 * 60 * 60 * 1000


# -- the public API ------------------------------------------------------------------------------------
def create_dataset(
    name: str | None = None,
    experiment_id: str | Sequence[str] | None = None,
    tags: Mapping[str, Any] | None = None,
    *,
    records: Any = None,
    genver: Genver | None = None,
) -> EvaluationDataset:
    """Create an evaluation dataset in the active experiment (or ``experiment_id``: an id, or a
    list of one, as MLflow takes lists).

    ``records`` (a genver extension; MLflow adds them with ``dataset.merge_records``): a list of
    dicts with ``inputs`` (a dict: the keyword arguments of ``predict_fn``), optional
    ``expectations`` (e.g. ``{"expected_response": "Paris"}``), ``outputs`` and ``tags``; a
    DataFrame with those columns; or traces. Records with the same inputs are merged.

    >>> ds = create_dataset(name="customer_support_qa_v1", experiment_id="0",
    ...                     tags={"version": "1.0", "team": "ml-platform"})  # doctest: +SKIP
    >>> ds.digest  # doctest: +SKIP
    '4f53cda18c2baa0c'
    """
    gv = resolve_genver(genver)
    if name is None:
        raise InvalidArgumentError("create_dataset needs a name, e.g. create_dataset(name='qa_v1').")
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(f"Invalid dataset name {name!r}: expected a non-empty string.")
    if tags is not None and not isinstance(tags, Mapping):
        raise InvalidArgumentError(f"Invalid tags {tags!r}: expected a dict of tag name to value.")
    exp: Any = experiment_id if experiment_id is not None else gv.current_experiment_id()
    clean = records_of(records, gv.client.get_trace) if records is not None else []
    return gv.client.create_dataset(name, exp, tags, records=clean)


def add_records(dataset_id: str, records: Any, *, genver: Genver | None = None) -> EvaluationDataset:
    """Add records to a dataset (a record with the same inputs replaces the stored one); returns
    the dataset with its new digest and all its records. ``dataset.merge_records`` merges
    expectations into the stored record instead, as MLflow does.

    >>> add_records(ds.dataset_id, [{"inputs": {"q": "Italy?"}}]).digest != ds.digest  # doctest: +SKIP
    True
    """
    gv = resolve_genver(genver)
    return gv.client.merge_dataset_records(dataset_id, records_of(records, gv.client.get_trace))


def get_dataset(
    name: str | None = None,
    dataset_id: str | None = None,
    version: Any = None,
    *,
    experiment_id: str | None = None,
    genver: Genver | None = None,
) -> EvaluationDataset:
    """A dataset with its records, by ``dataset_id`` or by ``name`` (which must name one
    dataset: in any experiment, as in MLflow, or in ``experiment_id``). A first argument shaped
    like a dataset id (``d-<32 hex>``) is taken as the id.

    >>> get_dataset(dataset_id="d-7f2e3a9b8c1d4e5f6a7b8c9d0e1f2a3b").to_df()  # doctest: +SKIP
    >>> get_dataset(name="capitals").records[0].inputs  # doctest: +SKIP
    {'q': 'France?'}
    """
    gv = resolve_genver(genver)
    if version is not None:
        raise InvalidArgumentError(
            f"Invalid version {version!r}: dataset versions are a Databricks feature; a genver dataset "
            "is identified by its digest (dataset.digest) instead."
        )
    name, dataset_id = _name_or_id(name, dataset_id, "get_dataset")
    if dataset_id is not None:
        return gv.client.get_dataset(dataset_id)
    assert name is not None
    return gv.client.get_dataset(_id_by_name(gv, name, experiment_id))


def search_datasets(
    experiment_ids: Sequence[str] | str | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
    *,
    genver: Genver | None = None,
) -> list[EvaluationDataset]:
    """Datasets matching a filter on ``name``, ``digest``, ``created_time``,
    ``last_update_time`` or ``tags.<key>``, in ``experiment_ids`` (default: every experiment),
    newest first, every page up to ``max_results``. As in MLflow, without a ``filter_string``
    only datasets created in the last 7 days are found. Records load on first use.

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
    ids = [str(e) for e in experiment_ids] if experiment_ids is not None else None
    if not filter_string:
        filter_string = f"created_time >= {int(time.time() * 1000) - _RECENT_MS}"
    order = order_by if order_by is not None else ["created_time DESC"]
    client = gv.client
    return collect_pages(
        lambda size, token: client.search_datasets(ids, filter_string, size, order, token), max_results
    )


def delete_dataset(
    name: str | None = None, dataset_id: str | None = None, *, genver: Genver | None = None
) -> None:
    """Delete a dataset and its records: ``delete_dataset(dataset_id=ds.dataset_id)`` (or by a
    ``name`` that names one dataset; a first argument shaped like an id is the id)."""
    gv = resolve_genver(genver)
    name, dataset_id = _name_or_id(name, dataset_id, "delete_dataset")
    gv.client.delete_dataset(dataset_id if dataset_id is not None else _id_by_name(gv, str(name), None))


def set_dataset_tags(dataset_id: str, tags: Mapping[str, Any], *, genver: Genver | None = None) -> None:
    """Set tags on a dataset; existing tags are kept, a None value deletes that tag.

    >>> set_dataset_tags(dataset_id=ds.dataset_id, tags={"environment": "production", "draft": None})  # doctest: +SKIP
    """
    if tags is None:
        raise InvalidArgumentError("set_dataset_tags needs tags, e.g. {'status': 'validated'}.")
    resolve_genver(genver).client.set_dataset_tags(dataset_id, tags)


def delete_dataset_tag(dataset_id: str, key: str, *, genver: Genver | None = None) -> None:
    """Delete one tag of a dataset (a key it does not have: nothing happens)."""
    resolve_genver(genver).client.delete_dataset_tag(dataset_id, key)


def _name_or_id(name: Any, dataset_id: Any, call: str) -> tuple[str | None, str | None]:
    if dataset_id is None and isinstance(name, str) and _DATASET_ID.fullmatch(name):
        return None, name  # get_dataset("d-...") as genver always took it
    if (dataset_id is None) == (name is None):
        raise InvalidArgumentError(f"Pass exactly one of dataset_id or name to {call}.")
    if name is not None and not isinstance(name, str):
        raise InvalidArgumentError(
            f"Invalid dataset id {name!r}: expected dataset_id='d-<32 hex>' or a dataset name (a string)."
        )
    if name is not None and not name.strip():
        raise InvalidArgumentError(f"Invalid dataset name {name!r}: expected a non-empty string.")
    return name, dataset_id


def _id_by_name(gv: Genver, name: str, experiment_id: str | None) -> str:
    from genver.search.parser import quote

    ids = None if experiment_id is None else [str(experiment_id)]
    found = gv.client.search_datasets(
        ids, f"name = {quote(name)}", max_results=2, order_by=["created_time DESC"]
    )
    where = "" if experiment_id is None else f" in experiment {str(experiment_id)!r}"
    if not found:
        raise NotFoundError(f"No evaluation dataset named {name!r}{where}.")
    if len(found) > 1:
        raise InvalidArgumentError(
            f"Several evaluation datasets are named {name!r}{where} (e.g. {found[0].dataset_id!r} and "
            f"{found[1].dataset_id!r}): pass dataset_id, or experiment_id to look in one experiment."
        )
    return found[0].dataset_id


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
    expectations already stored on the trace), or a function ``trace -> dict``. (MLflow's way,
    ``dataset.merge_records(traces)``, keeps the outputs as outputs and the stored expectations.)

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
            if a.kind == "expectation" and a.valid:
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
    return records_of(records)


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
    """The expectations stored on a trace, by name (valid ones; the latest of a name wins)."""
    return _trace_expectations(trace)


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
