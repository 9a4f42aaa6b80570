"""Evaluation datasets: records of inputs and expectations, identified by a content digest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetRecord:
    """One row: ``inputs`` (keyword arguments of ``predict_fn``) and ``expectations``.

    ``record_id`` is a digest of the inputs, so the same question pairs across versions and
    datasets; ``source_trace_id`` is set when the record was built from a trace.
    """

    record_id: str
    inputs: Mapping[str, Any]
    expectations: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    source_trace_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationDataset:
    """A named, versioned set of records. Two datasets with the same records share a ``digest``."""

    dataset_id: str
    name: str
    digest: str
    experiment_id: str
    created_time: int
    last_update_time: int
    tags: Mapping[str, str] = field(default_factory=dict)
    records: list[DatasetRecord] | None = None

    def to_df(self) -> Any:
        """The records as a pandas DataFrame with ``inputs`` and ``expectations`` columns."""
        import pandas as pd

        rows = [
            {"inputs": dict(r.inputs), "expectations": dict(r.expectations), "record_id": r.record_id}
            for r in self.records or []
        ]
        return pd.DataFrame(rows, columns=["inputs", "expectations", "record_id"])
