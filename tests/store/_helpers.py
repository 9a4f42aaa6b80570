"""Small helpers shared by the store tests (no fixtures here; see tests/conftest.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import sqlalchemy as sa

from genver.store.sql.store import SqlStore

T0 = 4_000_000_000_000  # a fixed "now" in ms, after any real clock reading in these tests


def ticking_clock(start: int = T0, step: int = 1000) -> Callable[[], int]:
    """A clock that advances ``step`` ms on every call (``step=0`` freezes it)."""
    counter = itertools.count(start, step)
    return lambda: next(counter)


def clocked(store: SqlStore, clock: Callable[[], int] | None = None) -> SqlStore:
    """A second store on the same engine with a deterministic clock (do not close it)."""
    return SqlStore(store.engine, clock=clock or ticking_clock(), upgrade=False)


def count_rows(store: SqlStore, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one())


def all_counts(store: SqlStore) -> dict[str, int]:
    """Row counts of every genver table, to prove that a failed call wrote nothing."""
    with store.engine.connect() as conn:
        names = sorted(sa.inspect(conn).get_table_names())
        return {
            n: int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(n))).scalar_one())
            for n in names
        }


def at_once(n: int, work: Callable[[int], object]) -> list[BaseException]:
    """Run ``work(0)`` .. ``work(n - 1)`` in ``n`` threads released together by a barrier; the
    errors they raised (empty when none did)."""
    import threading

    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # reported to the caller, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
