#!/usr/bin/env python
"""What the versions' history costs (issue 13 item 6): genver with and without it, in one run.

Run it with genver's venv::

    .venv/bin/python bench/bench_history.py            # default run, about 2 minutes
    .venv/bin/python bench/bench_history.py --quick    # smoke run, about 15 seconds
    .venv/bin/python bench/bench_history.py --postgres-uri postgresql://postgres@127.0.0.1:5432/test

Every change to a version appends a hash-chained history entry in the change's transaction. This
script times ``create_external_model`` (4 params, 3 tags) and ``log_metric(model_id=...)`` in a
run with the history on, and with it off: ``SqlBase._record`` and ``_lock_history`` replaced by
no-ops (and the metric entries' building skipped), which leaves exactly the statements and work
the store did before the history existed. Blocks of
calls alternate on/off in adjacent pairs (on-off, off-on, ...) on the same store, so a load
change on the machine hits both sides of a pair; the overhead is the median over the pairs of
``on / off - 1``. The goal is at most 10 %.

It also times ``set_active_model(name="@production")`` (an alias resolved in the store on every
call; goal: at least 10,000 calls/s), ``set_active_model(name=...)`` by name for reference, and
``genver audit verify`` over the chain the run wrote (entries checked per second).

Each round uses a fresh SQLite file in a new temp dir (or, with ``--postgres-uri``, a fresh
database next to the one named, dropped afterwards). genver runs in this process.

``--baseline-src DIR`` also compares against another genver source tree (e.g. the commit before
the history, ``git archive <commit> src | tar -x -C DIR``): fresh subprocesses alternate between
that tree and this one, each timing the same two writes on a fresh SQLite file (process CPU and
wall per call). That is the end-to-end cost of the history, every other change included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any

from _harness import RunLog, chdir, fmt, print_table, write_json

OVERHEAD_GOAL = 0.10  # the history may make a hot path at most 10 % slower
ALIAS_GOAL = 10_000.0  # set_active_model(name="@production") calls/s


@dataclass(frozen=True)
class Sizes:
    block: int = 400  # calls per timed block
    pairs: int = 10  # on/off block pairs per workload and round
    active_calls: int = 3000  # set_active_model calls timed
    rounds: int = 3

    @classmethod
    def quick(cls) -> Sizes:
        return cls(block=40, pairs=4, active_calls=300, rounds=1)


@contextmanager
def history_off() -> Iterator[None]:
    """The store without the history: recording and the chain lock become no-ops."""
    from genver.store.sql import run_logging
    from genver.store.sql.base import SqlBase

    record, lock, metric_changes = SqlBase._record, SqlBase._lock_history, run_logging._metric_changes

    def no_record(
        self: Any, conn: Any, changes: Any, *, locked: bool = False, time_ms: int | None = None
    ) -> int:
        return int(self._clock() if time_ms is None else time_ms)

    SqlBase._record = no_record  # type: ignore[method-assign]
    SqlBase._lock_history = lambda self, conn: None  # type: ignore[method-assign]
    run_logging._metric_changes = lambda rows: []
    try:
        yield
    finally:
        SqlBase._record, SqlBase._lock_history = record, lock  # type: ignore[method-assign]
        run_logging._metric_changes = metric_changes


@contextmanager
def history_on() -> Iterator[None]:
    yield


def timed_block(calls: int, call: Callable[[], object]) -> tuple[float, float]:
    """Seconds per call of ``calls`` calls: wall clock, and this process's CPU time (user and
    system, the SQLite writes included), which other processes on a shared machine do not skew."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        call()
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


def paired(
    block: Callable[[], tuple[float, float]],
    pairs: int,
    on_mode: Callable[[], AbstractContextManager[None]] = history_on,
) -> dict[str, Any]:
    """Per-call times of on and off blocks, alternated in adjacent pairs (ABBA), and the
    overhead: the median over the pairs of on/off - 1, in CPU time and in wall time."""
    on: list[tuple[float, float]] = []
    off: list[tuple[float, float]] = []
    for i in range(pairs):
        order = (on_mode, history_off) if i % 2 == 0 else (history_off, on_mode)
        for mode in order:
            with mode():
                (on if mode is on_mode else off).append(block())
    out: dict[str, Any] = {}
    for j, clock in enumerate(("wall", "cpu")):
        ratios = [a[j] / b[j] - 1 for a, b in zip(on, off, strict=True)]
        out[clock] = {
            "on_us": statistics.median(a[j] for a in on) * 1e6,
            "off_us": statistics.median(b[j] for b in off) * 1e6,
            "overhead": statistics.median(ratios),
            "pairs": ratios,
        }
    return out


def one_round(uri: str, sizes: Sizes) -> dict[str, Any]:
    from genver.fluent import Genver

    gv = Genver(tracking_uri=uri)
    out: dict[str, Any] = {}
    params = {"llm": "gpt-4", "temperature": "0.7", "max_tokens": "512", "prompt_version": "v3"}
    tags = {"team": "search", "env": "prod", "owner": "bench"}
    counter = iter(range(10**9))
    gv.set_experiment("bench-history")
    for i in range(5):  # warm-up: statement compilation, lazy imports, the remembered head
        gv.create_external_model(name=f"warmup-{i}", params=params, tags=tags)

    def create_block() -> tuple[float, float]:
        return timed_block(
            sizes.block,
            lambda: gv.create_external_model(name=f"bench-model-{next(counter)}", params=params, tags=tags),
        )

    out["create"] = paired(create_block, sizes.pairs)

    model = gv.create_external_model(name="bench-metrics-model")
    gv.start_run()
    for i in range(5):
        gv.log_metric("warmup", float(i), step=i, model_id=model.model_id)

    def log_one() -> None:
        step = next(counter)
        gv.log_metric("accuracy", step / 1e6, step=step, model_id=model.model_id)

    def metric_block() -> tuple[float, float]:
        return timed_block(sizes.block, log_one)

    out["log_metric"] = paired(metric_block, sizes.pairs)
    gv.end_run()

    gv.set_experiment("bench-history-active")  # few versions, as bench_core's set_active_model has
    target = gv.create_external_model(name="bench-active", params={"llm": "gpt-4"})
    gv.set_logged_model_alias(target.model_id, "production")
    for ref in ("@production", "bench-active"):
        for _ in range(20):  # warm-up
            gv.set_active_model(name=ref)
        start = time.perf_counter()
        for _ in range(sizes.active_calls):
            gv.set_active_model(name=ref)
        out["alias" if ref.startswith("@") else "by_name"] = sizes.active_calls / (
            time.perf_counter() - start
        )
    gv.clear_active_model()

    client = gv.client
    head = client.get_history_head()
    start = time.perf_counter()
    report = client.verify_history(head)
    elapsed = time.perf_counter() - start
    assert report.ok, report.problem
    out["verify"] = {"entries": report.checked, "per_second": report.checked / elapsed}
    client.close()
    return out


@contextmanager
def entry_not_written() -> Iterator[None]:
    """The history's Python work alone: each SQLite append builds its entries (JSON, hash) and
    writes nothing."""
    from genver.store.sql import history_rows

    append = history_rows._append_sqlite

    def build_only(conn: Any, changes: Any, *, time_ms: int, actor: str, known: Any) -> Any:
        rows = history_rows._rows(changes, known or history_rows.EMPTY, time_ms, actor)
        return history_rows._head_of(rows[-1])

    history_rows._append_sqlite = build_only
    try:
        yield
    finally:
        history_rows._append_sqlite = append


def floor_round(sizes: Sizes) -> dict[str, Any]:
    """``--floor`` (SQLite): log_metric's overhead as built, with the entry built but not
    written (the Python part), and without the per-version index (the most a lazily maintained
    one could save), each against the history off on a fresh store."""
    import sqlalchemy as sa

    from genver.fluent import Genver

    out: dict[str, Any] = {}
    for variant in ("as built", "entry built, not written", "no per-version index"):
        with fresh_store(None) as uri:
            gv = Genver(tracking_uri=uri)
            gv.set_experiment("bench-history-floor")
            model = gv.create_external_model(name="bench-metrics-model")
            if variant == "no per-version index":
                with gv.client._store._engine.begin() as conn:  # type: ignore[attr-defined]
                    conn.execute(sa.text("DROP INDEX ix_model_history_model"))
            gv.start_run()
            steps = iter(range(10**9))

            def log_one(g: Any = gv, m: str = model.model_id, steps: Iterator[int] = steps) -> None:
                step = next(steps)
                g.log_metric("accuracy", step / 1e6, step=step, model_id=m)

            for _ in range(20):
                log_one()
            on_mode = entry_not_written if variant == "entry built, not written" else history_on
            out[variant] = paired(lambda: timed_block(sizes.block, log_one), sizes.pairs, on_mode)
            gv.end_run()
            gv.client.close()
    return out


@contextmanager
def fresh_store(postgres_uri: str | None) -> Iterator[str]:
    if postgres_uri is None:
        with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp, chdir(tmp):
            yield f"sqlite:///{tmp}/genver.db"
        return
    import psycopg
    import sqlalchemy as sa

    name = f"bench_history_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(postgres_uri, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp, chdir(tmp):
            yield sa.engine.make_url(postgres_uri).set(database=name).render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def writes_worker(src: str, creates: int, metrics: int) -> None:
    """``--worker-writes``: time create_external_model and log_metric with the genver found in
    ``src`` (a fresh SQLite file), print JSON."""
    sys.path.insert(0, src)
    import genver

    assert genver.__file__ is not None and genver.__file__.startswith(src), genver.__file__
    params = {"llm": "gpt-4", "temperature": "0.7", "max_tokens": "512", "prompt_version": "v3"}
    tags = {"team": "search", "env": "prod", "owner": "bench"}
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp, chdir(tmp):
        genver.set_tracking_uri(f"sqlite:///{tmp}/genver.db")
        genver.set_experiment("bench-history")
        for i in range(5):
            genver.create_external_model(name=f"warmup-{i}", params=params, tags=tags)
        wall, cpu = timed_block(
            creates,
            lambda: genver.create_external_model(name=f"m-{uuid.uuid4().hex[:12]}", params=params, tags=tags),
        )
        out = {"create": {"wall_us": wall * 1e6, "cpu_us": cpu * 1e6}}
        model = genver.create_external_model(name="bench-metrics-model")
        with genver.start_run():
            for i in range(5):
                genver.log_metric("warmup", float(i), step=i, model_id=model.model_id)
            steps = iter(range(10**9))

            def log_one() -> None:
                step = next(steps)
                genver.log_metric("accuracy", step / 1e6, step=step, model_id=model.model_id)

            wall, cpu = timed_block(metrics, log_one)
        out["log_metric"] = {"wall_us": wall * 1e6, "cpu_us": cpu * 1e6}
    print(json.dumps(out))


def against_baseline(baseline: str, rounds: int, creates: int, metrics: int) -> list[list[str]]:
    """Alternate fresh subprocesses of the baseline tree and this one; the table's rows."""
    import subprocess

    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "now": []}
    for r in range(rounds):
        order = (
            (("baseline", baseline), ("now", here)) if r % 2 == 0 else (("now", here), ("baseline", baseline))
        )
        for label, src in order:
            cmd = [
                sys.executable,
                os.path.abspath(__file__),
                "--worker-writes",
                src,
                str(creates),
                str(metrics),
            ]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=1800)
            runs[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
    rows = [["workload (separate processes)", "unit", "now", "baseline", "overhead (CPU)", "overhead (wall)"]]
    for key in ("create", "log_metric"):

        def med(label: str, clock: str, k: str = key) -> float:
            return statistics.median(x[k][clock] for x in runs[label])

        rows.append(
            [
                key,
                "us CPU/call",
                fmt(med("now", "cpu_us")),
                fmt(med("baseline", "cpu_us")),
                f"{(med('now', 'cpu_us') / med('baseline', 'cpu_us') - 1) * 100:+.1f} %",
                f"{(med('now', 'wall_us') / med('baseline', 'wall_us') - 1) * 100:+.1f} %",
            ]
        )
    return rows


def run_floor(sizes: Sizes, json_path: str | None) -> None:
    """Short blocks and many pairs: the variants differ by a few percent."""
    sizes = replace(sizes, block=max(sizes.block // 4, 10), pairs=sizes.pairs * 4)
    log = RunLog(asdict(sizes), sizes.rounds, "median")
    rounds = []
    for r in range(sizes.rounds):
        rounds.append(floor_round(sizes))
        print(f"round {r + 1}/{sizes.rounds} done", flush=True)
    log.finish()
    rows = [["log_metric(model_id=...) in a run (SQLite)", "history on", "history off", "overhead (CPU)"]]
    for variant in rounds[0]:

        def med(clock: str, key: str, v: str = variant) -> float:
            return statistics.median(x[v][clock][key] for x in rounds)

        rows.append(
            [
                variant,
                f"{fmt(med('cpu', 'on_us'))} us",
                f"{fmt(med('cpu', 'off_us'))} us",
                f"{med('cpu', 'overhead') * 100:+.1f} %",
            ]
        )
    print_table(rows)
    if json_path:
        from importlib.metadata import version

        payload = log.json_head({"genver": version("genver")})
        payload.update(backend="sqlite", floor=rounds, table=rows)
        write_json(json_path, payload)


def main(argv: list[str] | None = None) -> None:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--worker-writes":
        writes_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    p.add_argument("--rounds", type=int, help="rounds (default 3; quick 1)")
    p.add_argument("--block", type=int, help="calls per timed block (default 200)")
    p.add_argument("--pairs", type=int, help="on/off block pairs per workload and round (default 10)")
    p.add_argument("--postgres-uri", help="run on PostgreSQL (a fresh database next to this one)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--baseline-src", metavar="DIR", help="also compare with the genver source tree in DIR")
    p.add_argument("--baseline-rounds", type=int, default=8, help="subprocess pairs for --baseline-src")
    p.add_argument(
        "--floor",
        action="store_true",
        help="SQLite: split log_metric's overhead (Python part, per-version index) and exit",
    )
    args = p.parse_args(argv)
    sizes = Sizes.quick() if args.quick else Sizes()
    for field in ("rounds", "block", "pairs"):
        if getattr(args, field) is not None:
            sizes = replace(sizes, **{field: getattr(args, field)})
    if args.floor:
        run_floor(sizes, args.json)
        return
    log = RunLog(asdict(sizes), sizes.rounds, "median")
    backend = "postgresql" if args.postgres_uri else "sqlite"
    rounds = []
    for r in range(sizes.rounds):
        with fresh_store(args.postgres_uri) as uri:
            rounds.append(one_round(uri, sizes))
        print(f"round {r + 1}/{sizes.rounds} done", flush=True)
    log.finish()

    rows: list[list[str]] = []
    if rounds:

        def med(get: Callable[[dict[str, Any]], float]) -> float:
            return statistics.median(get(x) for x in rounds)

        rows = [
            ["workload", "unit", "history on", "history off", "overhead", "overhead (wall)", "goal", "met"]
        ]
        for key, label in (
            ("create", "create_external_model (4 params, 3 tags)"),
            ("log_metric", "log_metric(model_id=...) in a run"),
        ):
            overhead = med(lambda x, k=key: x[k]["cpu"]["overhead"])
            rows.append(
                [
                    label,
                    "us CPU/call",
                    fmt(med(lambda x, k=key: x[k]["cpu"]["on_us"])),
                    fmt(med(lambda x, k=key: x[k]["cpu"]["off_us"])),
                    f"{overhead * 100:+.1f} %",
                    f"{med(lambda x, k=key: x[k]['wall']['overhead']) * 100:+.1f} %",
                    "<= +10 %",
                    "met" if overhead <= OVERHEAD_GOAL else "NOT met",
                ]
            )
        alias = med(lambda x: x["alias"])
        met = "met" if alias >= ALIAS_GOAL else "NOT met"
        rows.append(
            ['set_active_model(name="@production")', "calls/s", fmt(alias), "", "", "", ">= 10,000/s", met]
        )
        by_name = fmt(med(lambda x: x["by_name"]))
        rows.append(["set_active_model(name=...) (reference)", "calls/s", by_name, "", "", "", "", ""])
        verify = fmt(med(lambda x: x["verify"]["per_second"]))
        rows.append(["audit verify (the run's chain)", "entries/s", verify, "", "", "", "", ""])
    if rows:
        print(f"\nbackend: {backend}; medians of {len(rounds)} round(s)")
        print_table(rows)
    baseline_rows = None
    if args.baseline_src:
        baseline_rows = against_baseline(
            os.path.abspath(args.baseline_src), args.baseline_rounds, sizes.block * 2, sizes.block * 4
        )
        print(f"\nagainst {args.baseline_src}: medians of {args.baseline_rounds} fresh processes each")
        print_table(baseline_rows)
    if args.json:
        from importlib.metadata import version

        payload = log.json_head({"genver": version("genver")})
        payload.update(backend=backend, rounds_detail=rounds, table=rows, baseline_table=baseline_rows)
        write_json(args.json, payload)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
