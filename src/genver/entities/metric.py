"""Metric values, logged on runs and (optionally) on a version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Metric:
    """One logged value of a metric.

    ``model_id``, ``dataset_name`` and ``dataset_digest`` are set when the value was logged
    for a version (``log_metric(..., model_id=...)``) and/or on a dataset.
    """

    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None
    run_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None

    def to_dictionary(self) -> dict[str, Any]:
        """The metric as a plain dict (the MLflow field names)."""
        return {
            "key": self.key,
            "value": self.value,
            "timestamp": self.timestamp,
            "step": self.step,
            "model_id": self.model_id,
            "run_id": self.run_id,
            "dataset_name": self.dataset_name,
            "dataset_digest": self.dataset_digest,
        }
