"""Evaluation datasets: records of inputs and expectations, identified by a content digest."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The columns of ``EvaluationDataset.to_df()``: MLflow's, then genver's ``record_id`` (the same
#: value as ``dataset_record_id``).
DF_COLUMNS = (
    "inputs",
    "outputs",
    "expectations",
    "tags",
    "source_type",
    "source_id",
    "source",
    "created_time",
    "dataset_record_id",
    "record_id",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetRecord:
    """One row: ``inputs`` (keyword arguments of ``predict_fn``), ``expectations`` and, when the
    record holds an answer already (e.g. built from a trace), ``outputs``.

    ``record_id`` is a digest of the inputs, so the same question pairs across versions and
    datasets; ``source_trace_id`` is set when the record was built from a trace. The times are
    kept by the store (None on records stored before genver kept them) and are not part of a
    record's equality.
    """

    record_id: str
    inputs: Mapping[str, Any]
    expectations: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    source_trace_id: str | None = None
    outputs: Any = None
    created_time: int | None = field(default=None, compare=False)
    last_update_time: int | None = field(default=None, compare=False)

    @property
    def dataset_record_id(self) -> str:
        """MLflow's name of ``record_id``."""
        return self.record_id

    @property
    def source_type(self) -> str:
        """``TRACE`` for a record built from a trace; else ``HUMAN`` when it has expectations
        (ground truth someone wrote), ``CODE`` when it has inputs only, as MLflow infers it."""
        if self.source_trace_id is not None:
            return "TRACE"
        return "HUMAN" if self.expectations else "CODE"

    @property
    def source_id(self) -> str | None:
        return self.source_trace_id

    @property
    def source(self) -> dict[str, Any]:
        """MLflow's ``{"source_type", "source_data"}`` form of the source."""
        data = {"trace_id": self.source_trace_id} if self.source_trace_id is not None else {}
        return {"source_type": self.source_type, "source_data": data}

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_record_id": self.record_id,
            "inputs": dict(self.inputs),
            "outputs": self.outputs,
            "expectations": dict(self.expectations),
            "tags": dict(self.tags),
            "source": self.source,
            "source_type": self.source_type,
            "source_id": self.source_id,
            "created_time": self.created_time,
            "last_update_time": self.last_update_time,
        }


def _field_type(value: Any) -> str:
    """The type name MLflow's dataset schema records for a value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationDataset:
    """A named set of records in one experiment. Two datasets with the same records share a
    ``digest``. ``records`` is None on search results (they carry no records)."""

    dataset_id: str
    name: str
    digest: str
    experiment_id: str
    created_time: int
    last_update_time: int
    tags: Mapping[str, str] = field(default_factory=dict)
    records: list[DatasetRecord] | None = None

    @property
    def experiment_ids(self) -> list[str]:
        """MLflow's list of the dataset's experiments: genver links a dataset to one."""
        return [self.experiment_id]

    @property
    def schema(self) -> str | None:
        """The records' fields and their types as MLflow computes it: JSON text of
        ``{"inputs": {name: type}, "outputs": ..., "expectations": {...}, "version": "1.0"}``
        (the first type seen per field); None for a dataset without records."""
        records = self.records
        if not records:
            return None
        inputs: dict[str, str] = {}
        outputs: dict[str, str] | str = {}
        expectations: dict[str, str] = {}
        for r in records:
            for k, v in r.inputs.items():
                inputs.setdefault(k, _field_type(v))
            if isinstance(r.outputs, Mapping):
                if isinstance(outputs, dict):
                    for k, v in r.outputs.items():
                        outputs.setdefault(k, _field_type(v))
            elif r.outputs is not None and not outputs:
                outputs = _field_type(r.outputs)
            for k, v in r.expectations.items():
                expectations.setdefault(k, _field_type(v))
        return json.dumps(
            {"inputs": inputs, "outputs": outputs, "expectations": expectations, "version": "1.0"}
        )

    @property
    def profile(self) -> str | None:
        """MLflow's profile: JSON text of ``{"num_records": n}``; None without records."""
        return json.dumps({"num_records": len(self.records)}) if self.records else None

    def has_records(self) -> bool:
        """Whether the records are here (a search result has none loaded)."""
        return self.records is not None

    def to_df(self) -> Any:
        """The records as a pandas DataFrame with MLflow's columns (``inputs``, ``outputs``,
        ``expectations``, ``tags``, ``source_type``, ``source_id``, ``source``, ``created_time``,
        ``dataset_record_id``) and genver's ``record_id``."""
        import pandas as pd

        rows = [
            {
                "inputs": dict(r.inputs),
                "outputs": r.outputs,
                "expectations": dict(r.expectations),
                "tags": dict(r.tags),
                "source_type": r.source_type,
                "source_id": r.source_id,
                "source": r.source,
                "created_time": r.created_time,
                "dataset_record_id": r.record_id,
                "record_id": r.record_id,
            }
            for r in self.records or []
        ]
        return pd.DataFrame(rows, columns=list(DF_COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_id": self.dataset_id,
            "name": self.name,
            "digest": self.digest,
            "experiment_ids": self.experiment_ids,
            "tags": dict(self.tags),
            "schema": self.schema,
            "profile": self.profile,
            "created_time": self.created_time,
            "last_update_time": self.last_update_time,
            "records": [r.to_dict() for r in self.records or []],
        }
