#!/usr/bin/env python
"""Autolog overhead benchmark: an OpenAI chat call to a local fake endpoint, untraced vs
``genver.openai.autolog()`` vs MLflow 3.17.2's ``mlflow.openai.autolog()``, in one run.

Run it with genver's venv::

    .venv/bin/python bench/bench_autolog.py            # default run, about 1 minute
    .venv/bin/python bench/bench_autolog.py --quick    # smoke run, about 25 s

The fake OpenAI endpoint (``tests/integrations/fakes.py``, standard library only) runs in a
process of its own on loopback. Each backend runs in a worker subprocess (MLflow's in the MLflow
venv, which needs ``openai`` installed) executing this same file with ``--worker``: it imports
its backend as ``import genver as mlflow`` / ``import mlflow`` and times blocks of the same
``client.chat.completions.create(...)`` call, alternating blocks with autolog on and off
(``autolog()`` / ``autolog(disable=True)``), so the untraced figure is measured in the same
process, interleaved with the traced one. A block's time is the calling loop only; the exporter
thread's work during a block counts, since it competes for the GIL; after a traced block the
backend's traces are flushed, untimed, so a backlog is never charged to the next untraced block
(MLflow exports ~50 traces/s, so its blocks are shorter). The overhead per call is the median,
over adjacent pairs of blocks (one traced, one untraced), of their difference; the same for the
calling thread's CPU time.

After the blocks, genver's traces are flushed and counted with ``search_traces``: every traced
call must be a stored trace with a CHAT_MODEL span. ``--instrumentation-python`` adds workers
for OpenInference's and OpenTelemetry's openai-v2 instrumentations (a venv with
``openinference-instrumentation-openai`` / ``opentelemetry-instrumentation-openai-v2``), each on
an OpenTelemetry SDK ``TracerProvider`` with a batch processor and a no-op exporter: the least
genver would pay to build on them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from _harness import (
    RunLog,
    aggregate,
    call_worker,
    fmt,
    import_backend,
    print_table,
    resolve_mlflow_python,
    write_json,
)

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(os.path.dirname(HERE), "tests", "integrations", "fakes.py")
MODEL_NAME = "bench-autolog"  # no dots: MLflow 3.17 rejects them
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
WORKERS = ("genver", "mlflow", "openinference", "otel-v2")
GOAL_US = 100.0  # genver's added time per call, beside the HTTP round trip
GOAL_RATIO = 10.0  # genver at least this many times cheaper per call than MLflow's autolog


@dataclass(frozen=True)
class Sizes:
    blocks: int = 24  # per worker, half traced and half untraced, in adjacent pairs
    calls: int = 120  # per block
    mlflow_calls: int = 30  # per block for MLflow: its export (~50 traces/s) is flushed after each
    warmup: int = 30
    all_in: int = 6  # (untraced run, traced run + flush) pairs, each of blocks * calls / 4 calls

    @classmethod
    def quick(cls) -> Sizes:
        return cls(blocks=8, calls=60, mlflow_calls=15, warmup=10, all_in=2)


# -- worker side --------------------------------------------------------------------------------------
def run_worker(kind: str, sizes: Sizes, port: int, workdir: str) -> dict[str, Any]:
    os.chdir(workdir)
    import openai

    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="bench", max_retries=0)

    def call() -> Any:
        return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.2)

    mlflow: Any = None
    if kind in ("genver", "mlflow"):
        mlflow = import_backend(kind, ("mlflow", "genver", "alembic", "httpx"), 40)
        mlflow.set_tracking_uri(f"sqlite:///{workdir}/{kind}.db")
        mlflow.set_experiment("bench-autolog")
        mlflow.set_active_model(name=MODEL_NAME)
        on = mlflow.openai.autolog
        off = lambda: mlflow.openai.autolog(disable=True)  # noqa: E731
        version = mlflow.__version__
    else:
        on, off, version = instrumentation(kind)
    for _ in range(sizes.warmup):
        call()
    on()
    for _ in range(sizes.warmup):
        call()
    if mlflow is not None:
        mlflow.flush_trace_async_logging()
    off()
    calls = sizes.mlflow_calls if kind == "mlflow" else sizes.calls
    wall: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    process: dict[str, list[float]] = {"off": [], "on": []}
    for block in range(sizes.blocks):
        mode = ("off", "on")[(block + block // 2) % 2]  # off on | on off | off on ...: no drift favours one
        (on if mode == "on" else off)()
        t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
        for _ in range(calls):
            call()
        wall[mode].append((time.perf_counter() - t0) / calls * 1e6)
        cpu[mode].append((time.thread_time() - c0) / calls * 1e6)
        if mode == "on" and mlflow is not None:
            # untimed: a backlog exported during the next (untraced) block would be charged to it
            mlflow.flush_trace_async_logging()
        # every thread's CPU, the export of the block's traces included
        process[mode].append((time.process_time() - p0) / calls * 1e6)
    all_in_us, all_in_calls = all_in(mlflow, call, on, off, sizes, calls) if mlflow is not None else (None, 0)
    traced_calls = calls * len(wall["on"]) + sizes.warmup + all_in_calls
    out: dict[str, Any] = {
        "version": version,
        "off_us": statistics.fmean(wall["off"]),
        "on_us": statistics.fmean(wall["on"]),
        "off_cpu_us": statistics.fmean(cpu["off"]),
        "on_cpu_us": statistics.fmean(cpu["on"]),
        "blocks_off_us": wall["off"],
        "blocks_on_us": wall["on"],
        "traced_calls": traced_calls,
        # adjacent blocks pair up (one on, one off); the median of the pairs' differences
        # shrugs off a block hit by another process, which the means do not
        "overhead_us": paired(wall),
        "overhead_cpu_us": paired(cpu),
        "overhead_process_us": paired(process),
    }
    if all_in_us is not None:
        out["overhead_all_in_us"] = all_in_us
    if kind == "genver":
        t0 = time.perf_counter()
        assert mlflow.flush_trace_async_logging(timeout=120)
        out["flush_s"] = time.perf_counter() - t0
        model_id = mlflow.get_active_model_id()
        traces = mlflow.search_traces(
            model_id=model_id, max_results=traced_calls + 10, return_type="list", include_spans=True
        )
        out["stored"] = sum(
            1 for t in traces if [s.span_type for s in t.data.spans] == ["CHAT_MODEL"] and t.info.token_usage
        )
        out["wrapper_us"] = wrapper_alone(mlflow, call(), sizes)
    client.close()
    return out


def all_in(mlflow: Any, call: Any, on: Any, off: Any, sizes: Sizes, calls: int) -> tuple[float, int]:
    """Nothing left out: a run of traced calls *and the flush that stores their traces*, against
    as many untraced calls right before it (median over ``sizes.all_in`` pairs, µs per call).
    Each run is a quarter of a round's calls, so the exporter's timer fires during it; every
    bit of export work, on its thread or at the flush, is in the traced run's wall time.
    Returns the overhead and how many traced calls it made."""
    n = max(calls, sizes.blocks * calls // 4)
    diffs = []
    for _ in range(sizes.all_in):
        off()
        t0 = time.perf_counter()
        for _ in range(n):
            call()
        untraced = time.perf_counter() - t0
        on()
        t0 = time.perf_counter()
        for _ in range(n):
            call()
        mlflow.flush_trace_async_logging()
        diffs.append((time.perf_counter() - t0 - untraced) / n * 1e6)
    off()
    return statistics.median(diffs), n * sizes.all_in


def wrapper_alone(mlflow: Any, reply: Any, sizes: Sizes) -> float:
    """genver's own cost per call without the HTTP call's noise: the autolog wrapper of
    ``Completions.create`` around a function that returns a real response at once, minus that
    function called bare (µs; export included, as it competes for the GIL, then flushed)."""
    from genver.entities import SpanType
    from genver.integrations.base import CallSpec, sync_call
    from genver.integrations.openai import INTEGRATION, read_chat

    def create(self: Any, **kwargs: Any) -> Any:
        return reply

    traced = sync_call(INTEGRATION, CallSpec(lambda _: "Completions", SpanType.CHAT_MODEL, read_chat))(create)
    mlflow.openai.autolog()
    n = sizes.calls * sizes.blocks
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            create(None, model="gpt-4o-mini", messages=MESSAGES)
        bare = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(n):
            traced(None, model="gpt-4o-mini", messages=MESSAGES)
        best = min(best, (time.perf_counter() - t0 - bare) / n * 1e6)
        mlflow.flush_trace_async_logging()
    mlflow.openai.autolog(disable=True)
    return best


def paired(times: dict[str, list[float]]) -> float:
    """Median over adjacent (off, on) block pairs of on − off."""
    return statistics.median(on - off for on, off in zip(times["on"], times["off"], strict=False))


def instrumentation(kind: str) -> tuple[Any, Any, str]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Null(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Null()))
    if kind == "openinference":
        from importlib.metadata import version

        from openinference.instrumentation.openai import OpenAIInstrumentor

        name = "openinference-instrumentation-openai " + version("openinference-instrumentation-openai")
    else:
        from importlib.metadata import version

        # messages captured on the span, as genver and MLflow record them
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor  # type: ignore[no-redef]

        name = "opentelemetry-instrumentation-openai-v2 " + version("opentelemetry-instrumentation-openai-v2")
    instrumentor = OpenAIInstrumentor()
    state = {"on": False}

    def on() -> None:
        if not state["on"]:
            instrumentor.instrument(tracer_provider=provider)
            state["on"] = True

    def off() -> None:
        if state["on"]:
            instrumentor.uninstrument()
            state["on"] = False

    return on, off, name


# -- parent side --------------------------------------------------------------------------------------
class FakeServer:
    """``tests/integrations/fakes.py`` in its own process (so its CPU is not the caller's)."""

    def __enter__(self) -> int:
        self.proc = subprocess.Popen([sys.executable, FAKE], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            self.proc.kill()
            raise SystemExit(f"the fake endpoint did not start: {line!r}")
        return int(line[1])

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def build_table(
    res: dict[str, dict[str, list[float]]], how: str
) -> tuple[list[list[str]], list[dict[str, Any]]]:
    def agg(worker: str, key: str) -> float:
        return aggregate(res.get(worker, {}).get(key, []), higher_is_better=False, how=how)

    g_over, m_over = agg("genver", "overhead_us"), agg("mlflow", "overhead_us")
    g_cpu, m_cpu = agg("genver", "overhead_cpu_us"), agg("mlflow", "overhead_cpu_us")
    stored = min(res["genver"]["stored"]) if res["genver"]["stored"] else float("nan")
    traced = max(res["genver"]["traced_calls"]) if res["genver"]["traced_calls"] else float("nan")
    entries: list[dict[str, Any]] = [
        {
            "label": "untraced call (HTTP round trip to the fake)",
            "unit": "µs/call",
            "genver": agg("genver", "off_us"),
            "mlflow": agg("mlflow", "off_us"),
            "goal": "-",
            "met": None,
        },
        {
            "label": "call with autolog",
            "unit": "µs/call",
            "genver": agg("genver", "on_us"),
            "mlflow": agg("mlflow", "on_us"),
            "goal": "-",
            "met": None,
        },
        {
            "label": "autolog overhead per call (wall)",
            "unit": "µs/call",
            "genver": g_over,
            "mlflow": m_over,
            "better": m_over / g_over if g_over > 0 else float("inf"),
            "goal": f"≤ {GOAL_US:.0f} µs; ≥ {GOAL_RATIO:.0f}× MLflow",
            "met": g_over <= GOAL_US and (g_over <= 0 or m_over / g_over >= GOAL_RATIO),
        },
        {
            "label": "  (caller-thread CPU overhead)",
            "unit": "µs/call",
            "genver": g_cpu,
            "mlflow": m_cpu,
            "better": m_cpu / g_cpu if g_cpu > 0 else float("inf"),
            "goal": "info",
            "met": None,
        },
        {
            "label": "  (process CPU, all threads, export included)",
            "unit": "µs/call",
            "genver": agg("genver", "overhead_process_us"),
            "mlflow": agg("mlflow", "overhead_process_us"),
            "better": agg("mlflow", "overhead_process_us") / agg("genver", "overhead_process_us"),
            "goal": "info",
            "met": None,
        },
        {
            "label": "  (all in: traced calls + flush until stored, wall)",
            "unit": "µs/call",
            "genver": agg("genver", "overhead_all_in_us"),
            "mlflow": agg("mlflow", "overhead_all_in_us"),
            "better": agg("mlflow", "overhead_all_in_us") / agg("genver", "overhead_all_in_us"),
            "goal": "info",
            "met": None,
        },
        {
            "label": "  (genver's wrapper alone, no HTTP, best of 3)",
            "unit": "µs/call",
            "genver": agg("genver", "wrapper_us"),
            "mlflow": None,
            "goal": "info",
            "met": None,
        },
        {
            "label": "traces stored of traced calls (worst round)",
            "unit": "traces",
            "genver": stored,
            "mlflow": None,
            "goal": "all",
            "met": stored == traced,
            "of": traced,
        },
    ]
    for worker in ("openinference", "otel-v2"):
        if res.get(worker, {}).get("overhead_us"):
            entries.append(
                {
                    "label": f"  {worker} instrumentation overhead (wall)",
                    "unit": "µs/call",
                    "genver": agg(worker, "overhead_us"),
                    "mlflow": None,
                    "goal": "info",
                    "met": None,
                    "cpu": agg(worker, "overhead_cpu_us"),
                }
            )
    rows = [["workload", "unit", "genver", "mlflow", "× better", "goal", "met"]]
    for e in entries:
        if "of" in e:
            gv = f"{int(e['genver']):,}/{int(e['of']):,}" if e["genver"] == e["genver"] else "n/a"
        else:
            gv = fmt(e["genver"])
        if "cpu" in e:
            gv += f" (CPU {fmt(e['cpu'])})"
        mv = "" if e.get("mlflow") is None else fmt(e["mlflow"])
        better = "" if e.get("better") is None else f"{e['better']:.1f}×"
        met = "" if e["met"] is None else ("met" if e["met"] else "NOT met")
        rows.append([e["label"], e["unit"], gv, mv, better, e["goal"], met])
    return rows, entries


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes for a smoke run (~25 s)")
    p.add_argument("--rounds", type=int, default=None, help="rounds per worker (default 2; quick 1)")
    p.add_argument("--blocks", type=int, default=None, help="blocks per worker and round (default 24)")
    p.add_argument("--calls", type=int, default=None, help="calls per block (default 120; MLflow 30)")
    p.add_argument("--aggregate", choices=("median", "best"), default="median", help="across rounds")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--mlflow-python", help="python of the MLflow venv (env GENVER_BENCH_MLFLOW_PYTHON)")
    p.add_argument("--no-mlflow", action="store_true", help="genver only")
    p.add_argument(
        "--instrumentation-python",
        help="python of a venv with OpenInference's / OpenTelemetry's openai instrumentations: measure them too",
    )
    p.add_argument("--worker", choices=WORKERS, help=argparse.SUPPRESS)
    p.add_argument("--sizes", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        sizes = Sizes(**json.loads(args.sizes))
        with tempfile.TemporaryDirectory(prefix="bench-autolog-") as workdir:
            result = run_worker(args.worker, sizes, args.port, workdir)
        print(json.dumps(result), flush=True)
        sys.stderr.flush()
        os._exit(0)  # MLflow's exporter would flush its backlog at exit; no figure uses it

    sizes = Sizes.quick() if args.quick else Sizes()
    sizes = replace(sizes, **{k: v for k, v in (("blocks", args.blocks), ("calls", args.calls)) if v})
    rounds = args.rounds or (1 if args.quick else 2)
    pythons = {"genver": sys.executable}
    if not args.no_mlflow:
        pythons["mlflow"] = resolve_mlflow_python(args.mlflow_python)
    if args.instrumentation_python:
        pythons["openinference"] = pythons["otel-v2"] = args.instrumentation_python
    keys = (
        "off_us",
        "on_us",
        "overhead_us",
        "off_cpu_us",
        "on_cpu_us",
        "overhead_cpu_us",
        "overhead_process_us",
        "overhead_all_in_us",
        "wrapper_us",
        "stored",
        "traced_calls",
    )
    res: dict[str, dict[str, list[float]]] = {w: {k: [] for k in keys} for w in pythons}
    runs: list[dict[str, Any]] = []
    versions: dict[str, str] = {}
    log = RunLog(asdict(sizes), rounds, args.aggregate)
    with FakeServer() as port:
        for r in range(rounds):
            print(f"round {r + 1}/{rounds}", flush=True)
            for worker, python in pythons.items():
                t0 = time.perf_counter()
                out = call_worker(
                    python,
                    __file__,
                    ["--worker", worker],
                    ["--sizes", json.dumps(asdict(sizes)), "--port", str(port)],
                )
                versions[worker] = str(out["version"])
                runs.append(dict(out, worker=worker, round=r))
                for k in keys:
                    if k in out:
                        res[worker][k].append(out[k])
                stored = f"; stored {out['stored']:,}/{out['traced_calls']:,}" if "stored" in out else ""
                print(
                    f"  {worker:13s} ({time.perf_counter() - t0:4.1f} s): untraced {out['off_us']:.0f} µs, "
                    f"autolog {out['on_us']:.0f} µs → +{out['overhead_us']:.1f} µs/call "
                    f"(thread CPU +{out['overhead_cpu_us']:.1f} µs, process CPU +{out['overhead_process_us']:.1f} µs"
                    + (f", all in +{out['overhead_all_in_us']:.1f} µs" if "overhead_all_in_us" in out else "")
                    + ")"
                    f"{stored}",
                    flush=True,
                )
    if "mlflow" not in res:
        res["mlflow"] = {k: [] for k in keys}
    rows, entries = build_table(res, args.aggregate)
    print()
    print(
        f"{', '.join(f'{w} {v}' for w, v in versions.items())}; {args.aggregate} of {rounds} round(s); "
        f"{sizes.blocks} blocks of {sizes.calls} calls per worker and round, on/off alternating"
    )
    print_table(rows)
    goals = [e for e in entries if e["met"] is not None]
    print(
        f"\n{sum(1 for e in goals if e['met'])}/{len(goals)} goals met (MLflow figures measured in this run)"
    )
    log.finish()
    if args.json:
        write_json(args.json, log.json_head(versions) | {"per_round": res, "runs": runs, "results": entries})
    return 0


if __name__ == "__main__":
    sys.exit(main())
