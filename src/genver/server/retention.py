"""The server's background retention: a configured ``RetentionPolicy`` applied every interval.

Each server process (each ``--workers`` process, each replica) runs one daemon thread, started
with the app and stopped at its shutdown. The store's ``prune_traces`` does the work in small
transactions, so requests keep being served, and takes PostgreSQL's retention lock without
waiting: of replicas sharing a database, one prunes and the others skip that turn. A failing
prune is logged and tried again at the next interval; it never stops the server.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from genver.config import RETENTION_INTERVAL, RETENTION_KEEP_PER_VERSION, RETENTION_OLDER_THAN
from genver.durations import format_duration, parse_duration
from genver.entities.retention import PruneResult, RetentionPolicy
from genver.exceptions import InvalidArgumentError
from genver.store.actor import acting_as

log = logging.getLogger("genver.server.retention")
#: The actor the history names for the server's prunes.
RETENTION_ACTOR = "genver-retention"


class Prunable(Protocol):
    def prune_traces(self, policy: RetentionPolicy, **kwargs: Any) -> PruneResult: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionSchedule:
    """A policy and how often to apply it."""

    policy: RetentionPolicy
    interval_s: float

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RetentionSchedule | None:
        """The schedule the ``GENVER_RETENTION_*`` settings describe, or None when neither an
        age nor a count is set; a bad value is an ``InvalidArgumentError`` naming the setting."""
        env = os.environ if environ is None else environ
        older = RETENTION_OLDER_THAN.get(env)
        keep = RETENTION_KEEP_PER_VERSION.get(env)
        if older is None and keep is None:
            return None
        keep_n = None
        if keep is not None:
            if not (keep.isascii() and keep.isdigit()):
                raise InvalidArgumentError(
                    f"Invalid {RETENTION_KEEP_PER_VERSION.env_vars[0]} {keep!r}: expected a whole number "
                    "of traces, e.g. 1000."
                )
            keep_n = int(keep)
        interval = RETENTION_INTERVAL.get(env) or "1h"
        return cls(
            policy=RetentionPolicy(
                older_than_ms=None
                if older is None
                else parse_duration(older, RETENTION_OLDER_THAN.env_vars[0], allow_zero=False),
                keep_per_version=keep_n,
            ),
            interval_s=parse_duration(interval, RETENTION_INTERVAL.env_vars[0], allow_zero=False) / 1000,
        )

    def describe(self) -> str:
        return f"traces {self.policy.describe()}, every {format_duration(round(self.interval_s * 1000))}"


class RetentionWorker:
    """Applies ``schedule`` to ``store`` on a daemon thread: once at start, then every interval,
    until ``stop()`` (which also stops a prune in progress between two batches)."""

    def __init__(self, store: Prunable, schedule: RetentionSchedule) -> None:
        # "target", not "store": only genver.client and genver.store read a ".store" (tests/api)
        self.target, self.schedule = store, schedule
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.results: list[PruneResult] = []  # the last few, newest last (for tests and a status page)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="genver-retention", daemon=True)
        self._thread.start()
        log.info("retention: %s", self.schedule.describe())

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.schedule.interval_s)

    def run_once(self) -> PruneResult | None:
        """One prune; a failure is logged (with its traceback) and None returned."""
        try:
            with acting_as(RETENTION_ACTOR):  # who the versions' history says pruned
                result = self.target.prune_traces(self.schedule.policy, should_stop=self._stop.is_set)
        except Exception:
            log.exception(
                "retention: the prune failed; trying again in %s",
                format_duration(round(self.schedule.interval_s * 1000)),
            )
            return None
        self.results = [*self.results[-9:], result]
        if result.skipped:
            log.info("retention: another process is pruning this store; skipped this turn")
        elif result.deleted or result.stopped:
            log.info(
                "retention: deleted %d trace(s) %s in %.1f s (%d evaluated and %d dataset trace(s) kept)%s",
                result.deleted,
                result.policy.describe(),
                result.seconds,
                result.kept_evaluated,
                result.kept_dataset,
                "; stopped by shutdown, the rest goes next time" if result.stopped else "",
            )
        return result
