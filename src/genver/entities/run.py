"""Runs: one execution (an evaluation, a training job) with params, metrics and tags."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from genver.entities.dataset import Dataset


class RunStatus(str, enum.Enum):
    """Status of a run (MLflow's strings)."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    def __str__(self) -> str:
        return self.value

    @staticmethod
    def is_terminated(status: str) -> bool:
        return status in ("FINISHED", "FAILED", "KILLED")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInfo:
    """Identity and lifecycle of a run."""

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str | None
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str = "active"

    @property
    def run_uuid(self) -> str:
        """MLflow's older name for ``run_id``."""
        return self.run_id


@dataclass(frozen=True, slots=True, kw_only=True)
class RunData:
    """Latest metric values, params and tags of a run."""

    metrics: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DatasetInput:
    """A dataset a run used, with free-form tags (e.g. ``mlflow.data.context``)."""

    dataset: Dataset
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoggedModelInput:
    """A version a run used (evaluated, for instance)."""

    model_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInputs:
    """What a run consumed: datasets and versions."""

    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[LoggedModelInput] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """A run: ``info`` (identity, status), ``data`` (metrics, params, tags) and ``inputs``."""

    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)
