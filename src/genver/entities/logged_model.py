"""The version entity: ``LoggedModel`` and its status."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from genver.entities.metric import Metric


class LoggedModelStatus(str, enum.Enum):
    """Lifecycle status of a version.

    MLflow's four members plus ``FAILED_REGISTRATION`` (a version whose registration in a
    model registry failed). It is a ``str`` enum, so ``status == "READY"`` holds.
    """

    UNSPECIFIED = "UNSPECIFIED"
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"

    def __str__(self) -> str:
        return self.value

    @property
    def code(self) -> int:
        """MLflow's integer code (``READY`` → 2), used by ``to_dictionary()``."""
        return _STATUS_CODES[self]

    def is_finalized(self) -> bool:
        """True once a version has reached an end state."""
        return self in (
            LoggedModelStatus.READY,
            LoggedModelStatus.FAILED,
            LoggedModelStatus.FAILED_REGISTRATION,
        )

    @classmethod
    def from_value(cls, value: object) -> LoggedModelStatus:
        """Accept a member, its name, MLflow's proto name or its integer code."""
        if isinstance(value, LoggedModelStatus):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            for status, code in _STATUS_CODES.items():
                if code == value:
                    return status
        if isinstance(value, str):
            name = _PROTO_NAMES.get(value.upper(), value.upper())
            if name in cls.__members__:
                return cls[name]
        from genver.exceptions import InvalidArgumentError

        allowed = ", ".join(repr(s.value) for s in cls)
        raise InvalidArgumentError(f"Invalid LoggedModel status {value!r}: expected one of {allowed}.")


_STATUS_CODES = {
    LoggedModelStatus.UNSPECIFIED: 0,
    LoggedModelStatus.PENDING: 1,
    LoggedModelStatus.READY: 2,
    LoggedModelStatus.FAILED: 3,
    LoggedModelStatus.FAILED_REGISTRATION: 4,
}
_PROTO_NAMES = {
    "LOGGED_MODEL_STATUS_UNSPECIFIED": "UNSPECIFIED",
    "LOGGED_MODEL_PENDING": "PENDING",
    "LOGGED_MODEL_READY": "READY",
    "LOGGED_MODEL_UPLOAD_FAILED": "FAILED",
    "LOGGED_MODEL_REGISTRATION_FAILED": "FAILED_REGISTRATION",
}

_REPR_EXCLUDED = frozenset({"tags", "params", "metrics"})
#: genver's own fields, not in MLflow's ``LoggedModel.to_dictionary()``.
_GENVER_ONLY = frozenset({"aliases"})


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedModel:
    """One version of an application: name, params, tags, metrics and lifecycle status.

    Immutable: every change goes through the client and returns a fresh ``LoggedModel``.
    """

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    model_type: str | None = None
    source_run_id: str | None = None
    status: LoggedModelStatus = LoggedModelStatus.READY
    status_message: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: list[Metric] | None = None
    aliases: list[str] = field(default_factory=list)  # genver: the version's aliases, sorted

    @property
    def model_uri(self) -> str:
        """``models:/<model_id>``."""
        return f"models:/{self.model_id}"

    def to_dictionary(self) -> dict[str, Any]:
        """MLflow's dictionary: every property but ``model_uri`` and genver's ``aliases``, with
        ``status`` as MLflow's integer code."""
        out = {f.name: getattr(self, f.name) for f in fields(LoggedModel) if f.name not in _GENVER_ONLY}
        out["status"] = self.status.code
        out["tags"] = dict(self.tags)
        out["params"] = dict(self.params)
        return out

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for f in fields(LoggedModel):
            yield f.name, getattr(self, f.name)
        yield "model_uri", self.model_uri

    def __repr__(self) -> str:
        parts = sorted(
            (f.name, getattr(self, f.name)) for f in fields(LoggedModel) if f.name not in _REPR_EXCLUDED
        )
        body = ", ".join(f"{k}={v!r}" for k, v in parts)
        return f"{type(self).__name__}({body})"
