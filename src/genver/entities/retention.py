"""Trace retention: which traces a prune may delete (``RetentionPolicy``) and what it did
(``PruneResult``). The SQL store applies a policy (``SqlStore.prune_traces``); ``genver traces
prune`` and the server's background retention build one."""

from __future__ import annotations

from dataclasses import dataclass

from genver.exceptions import InvalidArgumentError

#: The tag ``genai.evaluate`` puts on its runs (MLflow's): traces of such a run are evaluated.
EVALUATION_RUN_TAG = "mlflow.runType"
EVALUATION_RUN_TYPE = "genai_evaluate"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionPolicy:
    """Delete traces that started more than ``older_than_ms`` ago, except each version's newest
    ``keep_per_version`` (traces without a version count as one version per experiment); either
    alone works, both must hold for a trace to go. ``experiment_ids`` limits it (None: every
    experiment). Traces an evaluation run or a dataset record refers to stay unless
    ``include_evaluated``. Versions, runs and metrics are never deleted.

    >>> RetentionPolicy(older_than_ms=30 * 86_400_000, keep_per_version=1000).describe()
    'older than 30d, except the newest 1000 of each version'
    """

    older_than_ms: int | None = None
    keep_per_version: int | None = None
    experiment_ids: tuple[str, ...] | None = None
    include_evaluated: bool = False

    def __post_init__(self) -> None:
        if self.older_than_ms is None and self.keep_per_version is None:
            raise InvalidArgumentError(
                "A retention policy needs an age (older than, e.g. 30d) and/or a number of traces "
                "to keep per version; with neither it would delete every trace."
            )
        for value, what in (
            (self.older_than_ms, "older_than_ms"),
            (self.keep_per_version, "keep_per_version"),
        ):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise InvalidArgumentError(f"Invalid {what} {value!r}: expected an integer of 0 or more.")
        ids: object = self.experiment_ids
        if ids is not None and (not isinstance(ids, tuple) or not all(isinstance(e, str) for e in ids)):
            raise InvalidArgumentError(
                f"Invalid experiment_ids {ids!r}: expected a tuple of ids such as ('0',), or None for all."
            )

    def describe(self) -> str:
        """The policy in words, for logs and messages."""
        from genver.durations import format_duration

        keep = self.keep_per_version
        age = None if self.older_than_ms is None else f"older than {format_duration(self.older_than_ms)}"
        if age and keep:
            text = f"{age}, except the newest {keep} of each version"
        elif age:
            text = age
        elif keep:
            text = f"beyond the newest {keep} of each version"
        else:
            text = "every trace"
        if self.experiment_ids is not None:
            text += f", in experiment{'s' if len(self.experiment_ids) != 1 else ''} {', '.join(self.experiment_ids)}"
        if self.include_evaluated:
            text += ", evaluated traces included"
        return text


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionPrune:
    """How many traces of one version (``model_id`` None: traces without one) a prune deleted
    (or, in a dry run, would delete)."""

    experiment_id: str
    model_id: str | None
    deleted: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneResult:
    """What a prune did: ``deleted`` traces (in a dry run: would delete), per version; the old
    traces kept because an evaluation run (``kept_evaluated``) or a dataset record
    (``kept_dataset``) refers to them; ``cutoff_ms``, the start time before which traces were old
    enough. ``stopped``: asked to stop before the end (the rest is left for the next prune);
    ``skipped``: another process was already pruning this store, nothing was done."""

    policy: RetentionPolicy
    dry_run: bool
    cutoff_ms: int | None
    deleted: int = 0
    by_version: tuple[VersionPrune, ...] = ()
    kept_evaluated: int = 0
    kept_dataset: int = 0
    batches: int = 0
    seconds: float = 0.0
    stopped: bool = False
    skipped: bool = False

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready summary (the CLI's ``--format json``, the history entry, the log)."""
        return {
            "policy": self.policy.describe(),
            "older_than_ms": self.policy.older_than_ms,
            "keep_per_version": self.policy.keep_per_version,
            "experiment_ids": None
            if self.policy.experiment_ids is None
            else list(self.policy.experiment_ids),
            "include_evaluated": self.policy.include_evaluated,
            "dry_run": self.dry_run,
            "cutoff_ms": self.cutoff_ms,
            "deleted": self.deleted,
            "by_version": [
                {"experiment_id": v.experiment_id, "model_id": v.model_id, "deleted": v.deleted}
                for v in self.by_version
            ],
            "kept_evaluated": self.kept_evaluated,
            "kept_dataset": self.kept_dataset,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "stopped": self.stopped,
            "skipped": self.skipped,
        }
