"""Trace retention: ``SqlStore.prune_traces(policy)`` deletes old traces in small batches.

Work is split so that it never holds the store for long:

- **Groups**: without ``keep_per_version``, one group per experiment; with it, one per
  (experiment, version) that holds more traces than it keeps, bounded by its N-th newest trace
  (``request_time``, ``trace_id``), found once at the start. A trace logged during the prune is
  newer than the bound, so it is never taken for an old one.
- **Batches**: each group is walked oldest first with a keyset cursor, ``batch_size`` traces
  (PostgreSQL 500, SQLite 100: see ``DEFAULT_BATCH_SIZE``) per write transaction: select the next candidates, drop the protected ones, delete the rest with
  their children (every table with a foreign key to ``traces``: spans, metadata, tags,
  assessments). SQLite has one writer at a time, so after each batch the pruner sleeps as long as
  the batch took: ingest waiting on the lock gets it at least half the time.
- **Protected**: a trace an evaluation run refers to (an assessment with a run id, or
  ``mlflow.sourceRun`` naming a run tagged ``mlflow.runType=genai_evaluate``) or a dataset record
  does (``source_trace_id``) is kept unless the policy includes evaluated traces.
- **One pruner at a time**: on PostgreSQL a session advisory lock (``pg_try_advisory_lock``) is
  held for the whole prune; another replica finding it taken skips its turn. SQLite's write lock
  already serializes the batches.
- **History**: a prune that deleted something is recorded in the versions' history when it ends
  (``prune_changes``: one ``traces_pruned`` entry per version, and one under the empty model id
  for traces without a version), by the actor running it (the server's retention acts as
  ``genver-retention``). A prune stopped half-way records what it deleted; one killed does not.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities.history import TRACES_PRUNED
from genver.entities.retention import (
    EVALUATION_RUN_TAG,
    EVALUATION_RUN_TYPE,
    PruneResult,
    RetentionPolicy,
    VersionPrune,
)
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql import tables as t
from genver.store.sql.base import SqlBase
from genver.store.sql.history_rows import Change

log = logging.getLogger("genver.store.retention")

_T = t.traces
#: Session advisory lock held by the one process pruning a PostgreSQL store ("genvretn").
RETENTION_LOCK_KEY = 0x67656E767265746E
#: Traces per transaction. SQLite has one writer at a time, so its batches are smaller: measured
#: (bench/bench_prune.py, 30,000 traces of 6 spans), 500 per batch held the lock ~150 ms and
#: raised a concurrent log_traces from 2 ms to 42 ms at the median; 100 kept it at 11 ms and
#: pruned half as fast (730 traces/s). PostgreSQL locks rows: 500 left ingest at 12 ms.
DEFAULT_BATCH_SIZE = {"postgresql": 500, "sqlite": 100}
_MAX_BATCH_SIZE = 10_000


def child_tables() -> list[sa.Table]:
    """Every table with a foreign key to ``traces``: deleted before the trace rows (SQLite does
    not cascade). Derived from the metadata, so a table added later is deleted too."""
    return [
        table
        for table in t.metadata.sorted_tables
        if table is not _T and any(fk.column.table is _T for fk in table.foreign_keys)
    ]


@dataclass
class _Group:
    experiment_id: int
    model_id: str | None
    any_model: bool  # no keep_per_version: the whole experiment
    bound: tuple[int, str] | None  # delete only before this (request_time, trace_id)


@dataclass
class _Tally:
    deleted: Counter[tuple[int, str | None]]
    kept_evaluated: int = 0
    kept_dataset: int = 0
    batches: int = 0


class RetentionMixin(SqlBase):
    def prune_traces(
        self,
        policy: RetentionPolicy,
        *,
        dry_run: bool = False,
        batch_size: int | None = None,
        now_ms: int | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> PruneResult:
        """Delete the traces ``policy`` lets go (in a dry run: count them), oldest first,
        ``batch_size`` per transaction (default: ``DEFAULT_BATCH_SIZE`` for the database).
        ``should_stop`` is asked between batches (a server shutting down); what is left goes at
        the next prune. Returns ``skipped`` when another process is pruning this store
        (PostgreSQL).

        >>> store.prune_traces(RetentionPolicy(older_than_ms=30 * 86_400_000))  # doctest: +SKIP
        """
        if not isinstance(policy, RetentionPolicy):
            raise InvalidArgumentError(f"Invalid policy {policy!r}: expected a RetentionPolicy.")
        if batch_size is None:
            batch_size = DEFAULT_BATCH_SIZE.get(self.dialect, 100)
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int)
            or not 1 <= batch_size <= _MAX_BATCH_SIZE
        ):
            raise InvalidArgumentError(
                f"Invalid batch_size {batch_size!r}: expected an integer from 1 to {_MAX_BATCH_SIZE}."
            )
        exp_ints = None if policy.experiment_ids is None else self._experiment_ints(policy.experiment_ids)
        now = self._clock() if now_ms is None else now_ms
        cutoff = None if policy.older_than_ms is None else now - policy.older_than_ms
        started = time.monotonic()
        with self._retention_lock() as held:
            if not held:
                return PruneResult(policy=policy, dry_run=dry_run, cutoff_ms=cutoff, skipped=True)
            if exp_ints is not None:
                self._read(lambda conn: _require_experiments(conn, exp_ints))
            groups = self._read(lambda conn: _groups(conn, exp_ints, policy.keep_per_version))
            tally = _Tally(Counter())
            stopped = False
            for group in groups:
                cursor: tuple[int, str] | None = None
                while True:
                    if should_stop is not None and should_stop():
                        stopped = True
                        break
                    began = time.monotonic()
                    step = _Step(group, cursor, cutoff, batch_size, policy.include_evaluated, dry_run)
                    cursor = self._read(step.run) if dry_run else self._write(step.run)
                    step.add_to(tally)
                    if cursor is None:
                        break
                    if not dry_run and self.dialect == "sqlite":  # let waiting writers in
                        time.sleep(max(0.005, time.monotonic() - began))
                if stopped:
                    break
        result = PruneResult(
            policy=policy,
            dry_run=dry_run,
            cutoff_ms=cutoff,
            deleted=sum(tally.deleted.values()),
            by_version=tuple(
                VersionPrune(experiment_id=str(e), model_id=m, deleted=n)
                for (e, m), n in sorted(tally.deleted.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
            ),
            kept_evaluated=tally.kept_evaluated,
            kept_dataset=tally.kept_dataset,
            batches=tally.batches,
            seconds=time.monotonic() - started,
            stopped=stopped,
        )
        if result.deleted and not dry_run:
            self._write(lambda conn: self._record(conn, prune_changes(result)))
            log.info("pruned %d trace(s) %s in %.1f s", result.deleted, policy.describe(), result.seconds)
        return result

    @contextmanager
    def _retention_lock(self) -> Iterator[bool]:
        """Whether this process may prune: PostgreSQL's session advisory lock, taken without
        waiting and held until the prune ends (a killed pruner's session releases it)."""
        if self.dialect != "postgresql":
            yield True
            return
        with self.engine.connect() as conn:
            held = bool(
                conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": RETENTION_LOCK_KEY}).scalar()
            )
            conn.commit()
            try:
                yield held
            finally:
                if held:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": RETENTION_LOCK_KEY})
                    conn.commit()


def prune_changes(result: PruneResult) -> list[Change]:
    """The history entries of a prune: per version whose traces it deleted, how many and by
    which policy (traces without a version: the empty model id)."""
    policy = result.policy
    common = {
        "policy": policy.describe(),
        "older_than_ms": policy.older_than_ms,
        "keep_per_version": policy.keep_per_version,
        "include_evaluated": policy.include_evaluated,
        "cutoff_ms": result.cutoff_ms,
    }
    return [
        Change(
            v.model_id or "",
            TRACES_PRUNED,
            None,
            {**common, "experiment_id": v.experiment_id, "deleted": v.deleted},
        )
        for v in result.by_version
        if v.deleted
    ]


# -- planning ---------------------------------------------------------------------------------------
def _require_experiments(conn: Connection, exp_ints: Sequence[int]) -> None:
    found = set(
        conn.execute(
            sa.select(t.experiments.c.experiment_id).where(t.experiments.c.experiment_id.in_(exp_ints))
        ).scalars()
    )
    missing = [e for e in exp_ints if e not in found]
    if missing:
        raise NotFoundError(f"No experiment with id {str(missing[0])!r}.")


def _groups(conn: Connection, exp_ints: Sequence[int] | None, keep: int | None) -> list[_Group]:
    scope = [] if exp_ints is None else [_T.c.experiment_id.in_(exp_ints)]
    if not keep:
        query = sa.select(_T.c.experiment_id).where(*scope).distinct().order_by(_T.c.experiment_id)
        return [_Group(e, None, True, None) for e in conn.execute(query).scalars()]
    counts = (
        sa.select(_T.c.experiment_id, _T.c.model_id)
        .where(*scope)
        .group_by(_T.c.experiment_id, _T.c.model_id)
        .having(sa.func.count() > keep)
        .order_by(_T.c.experiment_id, _T.c.model_id)
    )
    groups = []
    for exp_int, model_id in conn.execute(counts).all():
        nth = (
            sa.select(_T.c.request_time, _T.c.trace_id)
            .where(_T.c.experiment_id == exp_int, _model_is(model_id))
            .order_by(_T.c.request_time.desc(), _T.c.trace_id.desc())
            .limit(1)
            .offset(keep - 1)
        )
        bound = conn.execute(nth).first()
        if bound is not None:
            groups.append(_Group(exp_int, model_id, False, (bound[0], bound[1])))
    return groups


def _model_is(model_id: str | None) -> sa.ColumnElement[bool]:
    return _T.c.model_id.is_(None) if model_id is None else _T.c.model_id == model_id


def _before(bound: tuple[int, str]) -> sa.ColumnElement[bool]:
    """(request_time, trace_id) < bound, with a plain range on request_time for the index."""
    at, tid = bound
    return sa.and_(_T.c.request_time <= at, sa.or_(_T.c.request_time < at, _T.c.trace_id < tid))


def _after(cursor: tuple[int, str]) -> sa.ColumnElement[bool]:
    at, tid = cursor
    return sa.and_(_T.c.request_time >= at, sa.or_(_T.c.request_time > at, _T.c.trace_id > tid))


# -- one batch ----------------------------------------------------------------------------------------
class _Step:
    """One batch of one group, run inside one transaction (a read in a dry run): the next
    candidates after ``cursor``, the protected ones set aside, the rest deleted. ``run`` returns
    the cursor to continue from, or None when the group is done."""

    def __init__(
        self,
        group: _Group,
        cursor: tuple[int, str] | None,
        cutoff: int | None,
        batch_size: int,
        include_evaluated: bool,
        dry_run: bool,
    ) -> None:
        self.group, self.cursor, self.cutoff = group, cursor, cutoff
        self.batch_size, self.include_evaluated, self.dry_run = batch_size, include_evaluated, dry_run
        self.deleted: Counter[tuple[int, str | None]] = Counter()
        self.kept_evaluated = self.kept_dataset = 0

    def run(self, conn: Connection) -> tuple[int, str] | None:
        self.deleted.clear()  # a retried transaction starts over
        self.kept_evaluated = self.kept_dataset = 0
        g = self.group
        where: list[sa.ColumnElement[bool]] = [_T.c.experiment_id == g.experiment_id]
        if not g.any_model:
            where.append(_model_is(g.model_id))
        if self.cutoff is not None:
            where.append(_T.c.request_time < self.cutoff)
        if g.bound is not None:
            where.append(_before(g.bound))
        if self.cursor is not None:
            where.append(_after(self.cursor))
        query = (
            sa.select(_T.c.trace_id, _T.c.request_time, _T.c.model_id, _T.c.run_id)
            .where(*where)
            .order_by(_T.c.request_time, _T.c.trace_id)
            .limit(self.batch_size)
        )
        rows = conn.execute(query).all()
        if not rows:
            return None
        evaluated: set[str] = set()
        in_dataset: set[str] = set()
        if not self.include_evaluated:
            evaluated, in_dataset = _protected(conn, rows)
        doomed = [r for r in rows if r[0] not in evaluated and r[0] not in in_dataset]
        self.kept_evaluated = len(evaluated)
        self.kept_dataset = len(in_dataset - evaluated)
        for r in doomed:
            self.deleted[(g.experiment_id, r[2])] += 1
        if doomed and not self.dry_run:
            ids = [r[0] for r in doomed]
            for table in (*child_tables(), _T):
                conn.execute(table.delete().where(table.c.trace_id.in_(ids)))
        last = rows[-1]
        return (last[1], last[0]) if len(rows) == self.batch_size else None

    def add_to(self, tally: _Tally) -> None:
        tally.deleted.update(self.deleted)
        tally.kept_evaluated += self.kept_evaluated
        tally.kept_dataset += self.kept_dataset
        tally.batches += 1


_A = t.assessments
_R = t.eval_dataset_records
_RT = t.run_tags


def _protected(conn: Connection, rows: Sequence[Any]) -> tuple[set[str], set[str]]:
    """Of these candidate rows (trace_id, request_time, model_id, run_id): the traces an
    evaluation refers to, and those a dataset record refers to."""
    ids = [r[0] for r in rows]
    evaluated = set(
        conn.execute(
            sa.select(_A.c.trace_id).where(_A.c.trace_id.in_(ids), _A.c.run_id.is_not(None)).distinct()
        ).scalars()
    )
    run_ids = list({r[3] for r in rows if r[3] is not None})
    if run_ids:
        eval_runs = set(
            conn.execute(
                sa.select(_RT.c.run_id).where(
                    _RT.c.key == EVALUATION_RUN_TAG,
                    _RT.c.value == EVALUATION_RUN_TYPE,
                    _RT.c.run_id.in_(run_ids),
                )
            ).scalars()
        )
        evaluated.update(r[0] for r in rows if r[3] in eval_runs)
    in_dataset = set(
        conn.execute(
            sa.select(_R.c.source_trace_id).where(_R.c.source_trace_id.in_(ids)).distinct()
        ).scalars()
    )
    return evaluated, in_dataset
