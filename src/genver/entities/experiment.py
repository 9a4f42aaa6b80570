"""Experiments group runs, versions and traces."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class LifecycleStage(str, enum.Enum):
    """Soft-delete marker shared by experiments, runs and versions."""

    ACTIVE = "active"
    DELETED = "deleted"

    def __str__(self) -> str:
        return self.value


class ViewType(enum.IntEnum):
    """Which lifecycle stages a search returns (MLflow's ``ViewType``)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Experiment:
    """A named container for runs, versions and traces. ``experiment_id`` is a string."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = LifecycleStage.ACTIVE.value
    tags: Mapping[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None
