"""`genver traces show` on a 30,000-span trace: time until the summary is printed (issue 12,
item 5: it took 22.7 s and printed 90,003 lines before the tree was read from the outline).

On the web UI benchmark's cached store (``bench_ui.py``'s seed, built here when missing), in the
same run:

- **summary**: ``genver traces show <trace>`` (the first 200 spans and a count of the rest), as a
  fresh process (Python start-up and imports included: what a person waits for) and in-process
  (the command's own work);
- **baseline, every span**: ``genver traces show <trace> --limit 30000``, the whole tree as the
  command printed it before (it read the whole trace and printed every span);
- **json**: ``--format json`` (the whole trace, unnarrowed, as before).

Each is run ``--repeat`` times (default 5); the table shows the median and the best, the lines
printed, and each figure as a ratio of the baseline measured in the same run. A script, not a
test: it asserts nothing about timings.

    .venv/bin/python bench/bench_cli_trace.py            # ~1 min with the store cached
    .venv/bin/python bench/bench_cli_trace.py --quick    # a 3,000-span trace
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stdout, suppress

import bench_ui

HERE = os.path.dirname(os.path.abspath(__file__))
GENVER = os.path.join(os.path.dirname(sys.executable), "genver")


def timed(fn: Callable[[], str], repeat: int) -> tuple[list[float], int]:
    """Seconds of each of ``repeat`` runs of ``fn`` and the lines of its (last) output."""
    times, lines = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        lines = out.count("\n")
    return times, lines


def as_process(args: list[str], env: dict[str, str]) -> Callable[[], str]:
    def run() -> str:
        done = subprocess.run([GENVER, *args], capture_output=True, text=True, env=env, check=True)
        return done.stdout

    return run


def in_process(args: list[str]) -> Callable[[], str]:
    from genver.cli import app

    def run() -> str:
        buf = io.StringIO()
        with redirect_stdout(buf), suppress(SystemExit):
            app(args, standalone_mode=False)
        return buf.getvalue()

    return run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="the quick store of bench_ui (a 3,000-span trace)")
    p.add_argument("--repeat", type=int, default=5, help="runs of each command (default 5)")
    p.add_argument("--cache-dir", default=bench_ui.DEFAULT_CACHE, help="bench_ui's seeded stores")
    args = p.parse_args(argv)
    sizes = bench_ui.pick_sizes(bench_ui.parse_args(["--quick"] if args.quick else []))
    folder, seed, fresh = bench_ui.cached_seed(
        args.cache_dir, sizes.genver_key(), False, lambda d: bench_ui.seed_genver(d, sizes)
    )
    uri = f"sqlite:///{folder}/genver.db"
    trace = seed["big_trace_id"]
    print(
        f"store: {folder} ({'seeded now' if fresh else 'cached'}); trace {trace}, {sizes.big_spans:,} spans"
    )
    env = {**os.environ, "COLUMNS": "120"}
    base = ["traces", "show", trace, "--tracking-uri", uri]
    runs = {
        "summary, fresh process": as_process(base, env),
        "summary, in-process": in_process(base),
        "every span (--limit), fresh process": as_process([*base, "--limit", str(sizes.big_spans)], env),
        "whole trace as JSON, fresh process": as_process([*base, "--format", "json"], env),
    }
    results = {name: timed(fn, args.repeat) for name, fn in runs.items()}
    baseline = statistics.median(results["every span (--limit), fresh process"][0])
    print(f"\n`genver traces show` on a {sizes.big_spans:,}-span trace, {args.repeat} runs each")
    print("| command | median s | best s | lines printed | × faster than every span |")
    print("|---|---:|---:|---:|---:|")
    for name, (times, lines) in results.items():
        med = statistics.median(times)
        print(f"| {name} | {med:.2f} | {min(times):.2f} | {lines:,} | {baseline / med:.1f}× |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    raise SystemExit(main())
