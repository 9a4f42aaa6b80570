#!/usr/bin/env python
"""Web UI benchmark (issue 10, item 12): every page of genver's UI, its server time and its time
until usable in headless Chromium, and MLflow 3.17.2's UI on a trace of the same shape and the
same number of versions, in the same run. A script, not a test: it asserts nothing about timings.

Run it with genver's venv::

    .venv/bin/python bench/bench_ui.py              # default sizes, ~2.5 min once the stores are cached
    .venv/bin/python bench/bench_ui.py --quick      # smoke run: small stores, few loads, ~1 min
    .venv/bin/python bench/bench_ui.py --full       # 10,000 versions, 100,000 traces (seeding takes minutes once)
    .venv/bin/python bench/bench_ui.py --no-mlflow  # genver only, ~1 min

1. **Stores, cached.** genver's SQLite store is seeded in this process through the store's bulk
   path (``SqlStore.create_logged_model``, metrics through ``log_batch``, traces through
   ``log_traces`` in batches of 1,000, an evaluation run's assessments through
   ``log_assessments``); MLflow's by a worker in MLflow's venv through MLflow's API
   (``create_external_model``, ``MlflowClient.log_batch``, and the big trace span by span with
   ``start_span_no_context``, exported by MLflow's own async exporter to its SQLite store). Both
   land in ``bench/.cache/`` in a folder named after the sizes and are reused by later runs
   (``--reseed`` rebuilds them).
2. **Servers.** ``genver server`` on the cached store, and ``mlflow server`` (its default workers)
   on a copy of MLflow's, each a process group on a free loopback port, always stopped.
3. **Server time.** For every page, N sequential ``GET``s with httpx after 2 warm-ups, timed to the
   last byte of the body: p50 and p95.
4. **Time until usable.** Headless Chromium (Debian's, through Playwright), one browser for both
   UIs, a context per UI whose requests may not leave loopback. A tab per page, loaded N times,
   each time from ``about:blank``; measured in the page (``performance.now()``, from the start of
   the navigation) until the page's first row is in the DOM with a layout box and a frame has been
   painted after it. Median and best of the loads. Also: expanding the span with 5,000 children
   (a click on its toggle until its first child row is painted).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import shutil
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from _harness import RunLog, call_worker, fmt, import_backend, resolve_mlflow_python, write_json

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CACHE = os.path.join(HERE, ".cache")
#: Bumped whenever what a seed writes changes, so a stale cached store is never reused.
SEED_FORMAT = 1
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
SPAN_ROWS = "#span-tree [role=treeitem]"  # genver's span tree rows
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
QUIET_LOGGERS = ("mlflow", "genver", "alembic", "sqlalchemy", "opentelemetry", "httpx", "urllib3")
EXPERIMENT = "bench-ui"
DATASET, DIGEST = "bench-questions", "5d41402abc4b2a76"
LLMS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3-70b")
# Goals from the issue.
GOAL_SERVER_P95_MS = 300.0
GOAL_USABLE_S = 1.5
GOAL_BIG_TRACE_S = 2.0
GOAL_EXPAND_S = 0.5
GOAL_VS_MLFLOW = 10.0
#: MLflow's spans are exported one by one (MLflow's exporter, one ``log_spans`` call per span):
#: its queue must hold all of them or it drops spans.
MLFLOW_ENV = {"MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE": "200000"}


@dataclass(frozen=True)
class Sizes:
    versions: int  # versions in the experiment (genver and MLflow)
    traces: int  # 6-span traces, round-robin over the versions (genver)
    big_spans: int  # spans of the one big trace (genver and MLflow)
    fanout: int  # children of one span of the big trace
    eval_rows: int  # rows of the evaluation run (genver)
    requests: int  # server-time requests per page (after 2 warm-ups), within ~PAGE_BUDGET_S
    loads: int  # browser loads per genver page
    mlflow_loads: int  # browser loads per MLflow page (a load that hits the cap ends the series)

    def genver_key(self) -> str:
        return f"ui-genver-f{SEED_FORMAT}-{self.versions}v-{self.traces}t-{self.big_spans}s-{self.fanout}f-{self.eval_rows}e"

    def mlflow_key(self) -> str:
        return f"ui-mlflow-f{SEED_FORMAT}-{self.versions}v-{self.big_spans}s-{self.fanout}f"


DEFAULT_SIZES = Sizes(1_000, 10_000, 30_000, 5_000, 200, requests=20, loads=5, mlflow_loads=5)
FULL_SIZES = replace(DEFAULT_SIZES, versions=10_000, traces=100_000)
QUICK_SIZES = Sizes(200, 2_000, 3_000, 500, 50, requests=5, loads=2, mlflow_loads=1)
PAGE_BUDGET_S = 3.0  # server time: stop after this long on one page, with at least MIN_REQUESTS
MIN_REQUESTS = 5


# ---------------------------------------------------------------------------------------------
# The big trace's shape, shared by both backends (standard library only)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """Spans in creation order (a parent before its children): parent index (-1 for the root),
    name, span type; the fan-out span, its first child and the deepest span by index."""

    parents: list[int]
    names: list[str]
    types: list[str]
    fanout: int
    first_child: int
    deepest: int

    def times(self, base_ns: int) -> list[tuple[int, int]]:
        """(start, end) per span: 20 µs apart in creation order; a leaf lasts 15 µs, a parent
        ends 1 µs after its last child."""
        starts = [base_ns + 20_000 * i for i in range(len(self.parents))]
        ends = [s + 15_000 for s in starts]
        for i in range(len(self.parents) - 1, 0, -1):
            p = self.parents[i]
            ends[p] = max(ends[p], ends[i] + 1_000)
        return list(zip(starts, ends, strict=True))


DEEP = 100  # a chain of this many spans under the root: the deepest span is at depth 100


def tree_shape(total: int, fanout: int) -> Shape:
    """A root ``agent``; under it ``fanout`` (with ``fanout`` leaf children ``item-k``), a chain
    ``deep-0`` … ``deep-99``, then ``step-j`` spans with 8 ``call-j-k`` children of 30 ``tool``
    leaves each, until ``total`` spans."""
    if total < fanout + DEEP + 2:
        raise ValueError(
            f"a trace of {total} spans cannot hold a span of {fanout} children and {DEEP} levels"
        )
    parents, names, types = [-1], ["agent"], ["CHAIN"]

    def add(parent: int, name: str, kind: str) -> int:
        parents.append(parent)
        names.append(name)
        types.append(kind)
        return len(parents) - 1

    fan = add(0, "fanout", "CHAIN")
    first = len(parents)
    for k in range(fanout):
        add(fan, f"item-{k}", "RETRIEVER")
    node = 0
    for d in range(DEEP):
        node = add(node, f"deep-{d}", "CHAIN")
    deepest = node
    j = 0
    while len(parents) < total:
        step = add(0, f"step-{j}", "AGENT")
        for k in range(8):
            if len(parents) >= total:
                break
            call = add(step, f"call-{j}-{k}", "LLM")
            for g in range(30):
                if len(parents) >= total:
                    break
                add(call, f"tool-{j}-{k}-{g}", "TOOL")
        j += 1
    return Shape(parents, names, types, fan, first, deepest)


def version_params(i: int) -> dict[str, str]:
    return {
        "llm": LLMS[i % len(LLMS)],
        "temperature": f"0.{i % 10}",
        "max_tokens": str(256 * (1 + i % 4)),
        "prompt_version": f"v{i % 7}",
    }


def version_tags(i: int) -> dict[str, str]:
    return {
        "mlflow.source.git.commit": f"{i:08x}" + "0" * 32,
        "mlflow.source.git.branch": "main",
        "team": ("search", "support", "billing")[i % 3],
    }


def version_metrics(i: int) -> dict[str, float]:
    return {"accuracy": round(0.5 + (i * 37 % 50) / 100, 2), "relevance": round(0.6 + (i * 13 % 40) / 100, 2)}


# ---------------------------------------------------------------------------------------------
# Seeding genver (this process: the store's bulk path)
# ---------------------------------------------------------------------------------------------
def seed_genver(folder: str, sizes: Sizes) -> dict[str, Any]:
    from genver.entities import (
        Assessment,
        AssessmentSource,
        AssessmentSourceType,
        Dataset,
        LoggedModelStatus,
        Metric,
        Span,
        SpanStatus,
        SpanStatusCode,
        TokenUsage,
        Trace,
        TraceData,
        TraceInfo,
        TraceState,
    )
    from genver.entities.trace import MODEL_ID_KEY, SOURCE_RUN_KEY
    from genver.store.sql.store import SqlStore

    store = SqlStore(f"sqlite:///{folder}/genver.db")
    took: dict[str, float] = {}
    now_ms = int(time.time() * 1000)
    t0 = time.perf_counter()
    exp = store.create_experiment(EXPERIMENT)
    ids = [
        store.create_logged_model(
            experiment_id=exp,
            name=f"agent-v{i}",
            params=version_params(i),
            tags=version_tags(i),
            status=LoggedModelStatus.READY,
        ).model_id
        for i in range(sizes.versions)
    ]
    took["versions"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    metrics = [
        Metric(k, v, now_ms, 0, model_id=m, dataset_name=DATASET, dataset_digest=DIGEST)
        for i, m in enumerate(ids)
        for k, v in version_metrics(i).items()
    ]
    for start in range(0, len(metrics), 1000):
        store.log_batch(None, metrics=metrics[start : start + 1000])
    took["metrics"] = time.perf_counter() - t0

    run = store.create_run(
        experiment_id=exp, run_name="eval-agent-v0", tags={"mlflow.runType": "genai_evaluate"}
    )
    run_id = run.info.run_id
    rnd = random.Random(42)
    window_ms = 24 * 3600 * 1000  # the traces span the 24 hours before the seed: the dashboard's window
    first_ms = now_ms - window_ms

    def small_trace(i: int) -> Trace:
        tid = "tr-" + uuid.UUID(int=rnd.getrandbits(128)).hex
        model = ids[0] if i < sizes.eval_rows else ids[i % len(ids)]
        request_ms = first_ms + i * window_ms // sizes.traces
        duration = rnd.randint(50, 5000)
        start = request_ms * 1_000_000
        spans: list[Span] = []
        for j, kind in enumerate(("CHAIN", "RETRIEVER", "LLM", "TOOL", "LLM", "PARSER")):
            attributes: dict[str, Any] = {"mlflow.spanType": kind}
            if kind == "LLM":
                attributes |= {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 120}
            spans.append(
                Span(
                    trace_id=tid,
                    span_id=f"{rnd.getrandbits(64):016x}",
                    parent_id=None if j == 0 else spans[0].span_id,
                    name=f"step_{j}" if j else "answer",
                    span_type=kind,
                    start_time_ns=start + j * 1000,
                    end_time_ns=start + duration * 1_000_000 - j,
                    status=SpanStatus(SpanStatusCode.OK),
                    inputs={"question": f"What is item {i}? " + "x" * 150, "k": j},
                    outputs={"answer": "y" * 200, "score": 0.5},
                    attributes=attributes,
                )
            )
        metadata = {MODEL_ID_KEY: model, "mlflow.user": "bench", "mlflow.source.name": "bench_ui.py"}
        if i < sizes.eval_rows:
            metadata[SOURCE_RUN_KEY] = run_id
        info = TraceInfo(
            trace_id=tid,
            experiment_id=exp,
            request_time=request_ms,
            execution_duration=duration,
            state=TraceState.ERROR if rnd.random() < 0.05 else TraceState.OK,
            request_preview=json.dumps({"question": f"What is item {i}?"}),
            response_preview=json.dumps({"answer": "y" * 40}),
            trace_metadata=metadata,
            tags={"mlflow.traceName": "answer"},
            token_usage=TokenUsage(240, 80, 320),
            cost=0.0012,
        )
        return Trace(info, TraceData(spans))

    t0 = time.perf_counter()
    small_ids: list[str] = []
    for start in range(0, sizes.traces, 1000):
        batch = [small_trace(i) for i in range(start, min(start + 1000, sizes.traces))]
        store.log_traces(batch)
        small_ids.extend(t.info.trace_id for t in batch)
    took["traces"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    shape = tree_shape(sizes.big_spans, sizes.fanout)
    big_id = "tr-" + uuid.uuid4().hex
    big_ms = now_ms - 60_000
    span_ids = [f"{i + 1:016x}" for i in range(len(shape.parents))]
    big_spans = [
        Span(
            trace_id=big_id,
            span_id=span_ids[i],
            parent_id=None if p < 0 else span_ids[p],
            name=shape.names[i],
            span_type=shape.types[i],
            start_time_ns=start,
            end_time_ns=end,
            status=SpanStatus(SpanStatusCode.OK),
            inputs={"query": f"input of {shape.names[i]}", "i": i},
            outputs={"result": f"output of {shape.names[i]}"},
            attributes={"mlflow.spanType": shape.types[i]},
        )
        for i, (p, (start, end)) in enumerate(
            zip(shape.parents, shape.times(big_ms * 1_000_000), strict=True)
        )
    ]
    big_info = TraceInfo(
        trace_id=big_id,
        experiment_id=exp,
        request_time=big_ms,
        execution_duration=(big_spans[0].end_time_ns - big_spans[0].start_time_ns) // 1_000_000,
        request_preview=json.dumps(big_spans[0].inputs),
        response_preview=json.dumps(big_spans[0].outputs),
        trace_metadata={MODEL_ID_KEY: ids[-1], "mlflow.user": "bench"},
        tags={"mlflow.traceName": "agent"},
    )
    store.log_traces([Trace(big_info, TraceData(big_spans))])
    took["big_trace"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    human = AssessmentSource(AssessmentSourceType.HUMAN, DATASET)
    assessments: list[Assessment] = []
    for i, tid in enumerate(small_ids[: sizes.eval_rows]):
        meta = {"genver.record_id": f"r-{i:05d}", "genver.dataset_digest": DIGEST, "genver.model_id": ids[0]}
        common: dict[str, Any] = {
            "trace_id": tid,
            "run_id": run_id,
            "create_time_ms": now_ms,
            "metadata": meta,
        }
        assessments += [
            Assessment(
                assessment_id=f"a-{uuid.uuid4().hex}",
                name="exact_match",
                kind="feedback",
                value=i % 4 != 0,
                **common,
            ),
            Assessment(
                assessment_id=f"a-{uuid.uuid4().hex}",
                name="relevance",
                kind="feedback",
                value=round(0.4 + (i % 7) / 10, 2),
                rationale=f"The answer addresses item {i} " + "and cites the source. " * 3,
                **common,
            ),
            Assessment(
                assessment_id=f"a-{uuid.uuid4().hex}",
                name="expected_response",
                kind="expectation",
                value=f"Item {i} is described in the catalogue.",
                source=human,
                **common,
            ),
        ]
    for start in range(0, len(assessments), 1000):
        store.log_assessments(assessments[start : start + 1000])
    store.log_inputs(run_id, datasets=[Dataset(name=DATASET, digest=DIGEST)], model_ids=[ids[0]])
    rows = max(sizes.eval_rows, 1)
    run_metrics = {"exact_match/mean": sum(i % 4 != 0 for i in range(rows)) / rows, "relevance/mean": 0.7}
    store.log_batch(
        run_id,
        metrics=[
            Metric(
                k, v, now_ms, 0, model_id=ids[0], run_id=run_id, dataset_name=DATASET, dataset_digest=DIGEST
            )
            for k, v in run_metrics.items()
        ],
    )
    store.update_run(run_id, status="FINISHED", end_time=now_ms)
    took["evaluation"] = time.perf_counter() - t0
    store.close()
    hour = 3600 * 1000
    pair_b = sizes.eval_rows + len(ids) if sizes.eval_rows + len(ids) < len(small_ids) else len(small_ids) - 1
    return {
        "experiment_id": exp,
        "version_ids": [ids[0], ids[1], ids[-1]],
        "small_trace_ids": [small_ids[sizes.eval_rows], small_ids[pair_b]],  # the same version
        "big_trace_id": big_id,
        "fanout_span_id": span_ids[shape.fanout],
        "first_child_span_id": span_ids[shape.first_child],
        "deepest_span_id": span_ids[shape.deepest],
        "run_id": run_id,
        "dashboard_end_ms": -(-now_ms // hour) * hour,
        "seconds": took,
    }


# ---------------------------------------------------------------------------------------------
# Seeding MLflow (a worker in MLflow's venv: MLflow's API)
# ---------------------------------------------------------------------------------------------
def seed_mlflow(folder: str, sizes: Sizes) -> dict[str, Any]:
    os.environ.update(MLFLOW_ENV)  # before MLflow reads it
    mlflow = import_backend("mlflow", QUIET_LOGGERS, logging.ERROR)
    from mlflow.entities import Metric

    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    exp = str(mlflow.set_experiment(EXPERIMENT).experiment_id)
    took: dict[str, float] = {}
    t0 = time.perf_counter()
    ids = [
        mlflow.create_external_model(
            name=f"agent-v{i}", params=version_params(i), tags=version_tags(i)
        ).model_id
        for i in range(sizes.versions)
    ]
    took["versions"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    client = mlflow.MlflowClient()
    run_id = client.create_run(exp, run_name="bench-metrics").info.run_id
    now_ms = int(time.time() * 1000)
    metrics = [
        Metric(k, v, now_ms, 0, model_id=m, dataset_name=DATASET, dataset_digest=DIGEST)
        for i, m in enumerate(ids)
        for k, v in version_metrics(i).items()
    ]
    for start in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[start : start + 1000])
    client.set_terminated(run_id)
    took["metrics"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    shape = tree_shape(sizes.big_spans, sizes.fanout)
    times = shape.times((now_ms - 60_000) * 1_000_000)
    mlflow.set_active_model(model_id=ids[-1])
    spans: list[Any] = []
    for i, p in enumerate(shape.parents):
        spans.append(
            mlflow.start_span_no_context(
                shape.names[i],
                span_type=shape.types[i],
                parent_span=None if p < 0 else spans[p],
                inputs={"query": f"input of {shape.names[i]}", "i": i},
                start_time_ns=times[i][0],
            )
        )
    for i in range(len(spans) - 1, -1, -1):  # children end before their parents, the root last
        spans[i].end(outputs={"result": f"output of {shape.names[i]}"}, end_time_ns=times[i][1])
    mlflow.flush_trace_async_logging()
    trace_id = spans[0].trace_id
    with contextlib.closing(sqlite3.connect(f"{folder}/mlflow.db", timeout=60)) as conn:
        stored = conn.execute("SELECT COUNT(*) FROM spans WHERE trace_id = ?", (trace_id,)).fetchone()[0]
    took["big_trace"] = time.perf_counter() - t0
    if stored != sizes.big_spans:
        raise SystemExit(f"MLflow stored {stored} of the big trace's {sizes.big_spans} spans")
    return {
        "experiment_id": exp,
        "trace_id": trace_id,
        "version_ids": [ids[0], ids[-1]],
        "stored_spans": stored,
        "version": mlflow.__version__,
        "seconds": took,
    }


# ---------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------
def cached_seed(
    cache: str, key: str, reseed: bool, seed: Callable[[str], dict[str, Any]]
) -> tuple[str, dict[str, Any], bool]:
    """(folder, seed info, whether it was seeded now): the cached folder ``cache/key`` if it holds
    a finished seed, else a new one, seeded in a temp folder beside it and renamed when done (an
    interrupted seed is never mistaken for a cached one)."""
    folder = os.path.join(cache, key)
    info_path = os.path.join(folder, "seed.json")
    if not reseed and os.path.exists(info_path):
        with open(info_path, encoding="utf-8") as fh:
            return folder, json.load(fh), False
    os.makedirs(cache, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f".{key}-", dir=cache)
    try:
        info = seed(work)
        with open(os.path.join(work, "seed.json"), "w", encoding="utf-8") as fh:
            json.dump(info, fh, indent=2)
        shutil.rmtree(folder, ignore_errors=True)
        os.rename(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return folder, info, True


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def genver_server_cmd(uri: str, port: int) -> list[str]:
    genver = os.path.join(os.path.dirname(sys.executable), "genver")
    return [genver, "server", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port)]


def mlflow_server_cmd(python: str, uri: str, port: int, tmp: str) -> list[str]:
    """MLflow's server with its defaults (workers included): the UI as a user gets it."""
    mlflow = os.path.join(os.path.dirname(python), "mlflow")
    artifacts = os.path.join(tmp, "mlartifacts")
    return [
        mlflow,
        "server",
        "--backend-store-uri",
        uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--artifacts-destination",
        artifacts,
    ]


@contextlib.contextmanager
def server(cmd: list[str], port: int, cwd: str) -> Iterator[tuple[str, float]]:
    """(base URL, seconds until healthy); the process group is stopped on the way out."""
    from bench_server import running_server

    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    with running_server(cmd, url, cwd):
        yield url, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    print(f"  ({name}: {time.perf_counter() - t0:.0f} s)", flush=True)


@dataclass
class Page:
    name: str
    path: str
    selector: str | None  # the first row; None: server time only (a fragment)
    big: bool = False  # one of the big trace's pages: its goal is GOAL_BIG_TRACE_S
    count: str | None = None  # what to count once usable (default: the selector)
    key: str = ""  # "trace", "versions": the pages compared with MLflow's
    server_ms: list[float] = field(default_factory=list)
    status: int = 0
    bytes: int = 0
    usable_s: list[float | None] = field(default_factory=list)  # None: not usable within the cap
    wall_s: list[float | None] = field(default_factory=list)
    rows_in_dom: int | None = None  # rows (``count``) in the DOM once usable
    timelines: list[dict[str, Any]] = field(default_factory=list)  # per load: TIMELINE_JS

    def p(self, q: int) -> float:
        return percentile(sorted(self.server_ms), q)

    def usable(self, how: str) -> float:
        """Seconds until usable over the loads, ``how`` = "median" or "best"; inf when a load
        never became usable (for the median) or none did (best); nan without loads."""
        if how == "best":
            done = [x for x in self.usable_s if x is not None]
            return min(done) if done else float("inf") if self.usable_s else float("nan")
        return median_or_inf(self.usable_s)


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile of sorted values (inclusive method); nan for none."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def genver_pages(seed: dict[str, Any], sizes: Sizes) -> list[Page]:
    exp = seed["experiment_id"]
    v0, v1, _ = seed["version_ids"]
    a, b = seed["small_trace_ids"]
    big, fan, deepest = seed["big_trace_id"], seed["fanout_span_id"], seed["deepest_span_id"]
    n = f"{sizes.big_spans:,}"
    return [
        Page("experiments", "/experiments", "#experiments tr[data-id]"),
        Page(
            f"versions list ({sizes.versions:,})",
            f"/versions?experiment={exp}",
            "#versions tr[data-id]",
            key="versions",
        ),
        Page("version detail", f"/versions/{v0}", "#params tr[data-id]"),
        Page(f"traces list ({sizes.traces + 1:,})", f"/traces?experiment={exp}", "#trace-list tr[data-id]"),
        Page("trace (6 spans)", f"/traces/{a}", "#span-tree [role=treeitem]"),
        Page(f"trace ({n} spans)", f"/traces/{big}", SPAN_ROWS, big=True, key="trace"),
        Page(
            f"trace ({n}) ?span=deepest",
            f"/traces/{big}?span={deepest}",
            '#span-tree [aria-selected="true"]',
            big=True,
            count=SPAN_ROWS,
        ),
        Page(
            f"spans fragment ({sizes.fanout:,} children)",
            f"/traces/{big}/spans?parent={fan}&depth=2",
            None,
            big=True,
        ),
        Page(
            "compare versions (2)",
            f"/compare?version={v0}&version={v1}&experiment={exp}",
            "#compare-versions tr[data-key]",
        ),
        Page(
            f"evaluation run ({sizes.eval_rows} rows)",
            f"/runs/{seed['run_id']}/evaluation",
            "#eval-rows tr[data-id]",
        ),
        Page("compare traces (6 vs 6)", f"/compare/traces?a={a}&b={b}", "#trace-rows tr[data-id]"),
        Page(
            f"compare traces ({n} vs 6)",
            f"/compare/traces?a={big}&b={a}",
            "#trace-rows tr[data-id]",
            big=True,
        ),
        Page(
            "dashboard (24h)", f"/dashboards?experiment={exp}&end={seed['dashboard_end_ms']}", ".chart .uplot"
        ),
    ]


def time_server(url: str, pages: list[Page], requests: int) -> None:
    """Server time of every page: 2 warm-ups, then ``requests`` GETs (fewer once a page has taken
    PAGE_BUDGET_S, never fewer than MIN_REQUESTS), each timed to the body's last byte."""
    import httpx

    with httpx.Client(base_url=url, timeout=300) as client:
        for page in pages:
            for _ in range(2):
                resp = client.get(page.path)
                page.status, page.bytes = resp.status_code, len(resp.content)
            if page.status != 200:
                print(f"  {page.name}: HTTP {page.status}, not timed", flush=True)
                continue
            started = time.perf_counter()
            for i in range(requests):
                if i >= MIN_REQUESTS and time.perf_counter() - started > PAGE_BUDGET_S:
                    break
                t0 = time.perf_counter()
                client.get(page.path).read()
                page.server_ms.append(1000 * (time.perf_counter() - t0))
            print(
                f"  server {page.name:34s} n={len(page.server_ms):2d} p50={fmt(page.p(50)):>6s} ms "
                f"p95={fmt(page.p(95)):>6s} ms  {page.bytes / 1024:,.0f} KB",
                flush=True,
            )


def new_context(browser: Browser) -> BrowserContext:
    """A context (its own HTTP cache) that cannot leave loopback."""
    from urllib.parse import urlsplit

    context = browser.new_context(viewport=VIEWPORT, service_workers="block")

    def guard(route: Any) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname in LOOPBACK:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", guard)
    return context


#: Installed in each page before its document exists (a DevTools init script, outside the page's
#: CSP): from the first mutation on, and on every frame, look for the page's first row; once it is
#: in the DOM with a layout box, record the time after the next frame (it has been painted). The
#: times are ``performance.now()``: ms since the navigation started.
USABLE_JS = """
((selector) => {
  const state = { found: null, painted: null };
  window.__benchUsable = state;
  const check = () => {
    if (state.found !== null) { return true; }
    const el = document.querySelector(selector);
    if (!el || el.getClientRects().length === 0) { return false; }
    state.found = performance.now();
    requestAnimationFrame(() => setTimeout(() => { state.painted = performance.now(); }, 0));
    return true;
  };
  const observer = new MutationObserver(() => { if (check()) { observer.disconnect(); } });
  observer.observe(document, { childList: true, subtree: true });
  const frame = () => { if (!check()) { requestAnimationFrame(frame); } };
  requestAnimationFrame(frame);
})(%s);
"""
USABLE_DONE = "() => window.__benchUsable && window.__benchUsable.painted !== null"
#: Where a load's time went, in ms since the navigation started: the document's response ended, the
#: DOMContentLoaded handlers had run, the first row was in the DOM, a frame was painted after it; and
#: for the requests whose URL contains ``marker`` (MLflow's API calls), when each started and ended.
TIMELINE_JS = """
(marker) => {
  const nav = performance.getEntriesByType("navigation")[0];
  const api = marker ? performance.getEntriesByType("resource")
    .filter((e) => e.name.includes(marker))
    .map((e) => [Math.round(e.startTime), Math.round(e.responseEnd)]) : [];
  return {
    response_end: Math.round(nav.responseEnd),
    dom_content_loaded: Math.round(nav.domContentLoadedEventEnd),
    row_in_dom: Math.round(window.__benchUsable.found),
    painted: Math.round(window.__benchUsable.painted),
    api: api,
  };
}
"""
#: A click on ``toggle`` and the time until ``child`` is in the DOM with a layout box and a frame
#: has been painted after it, measured in the page (ms).
EXPAND_JS = """
([toggle, child]) => new Promise((resolve) => {
  const t0 = performance.now();
  const check = () => {
    const el = document.querySelector(child);
    if (!el || el.getClientRects().length === 0) { return false; }
    observer.disconnect();
    requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
    return true;
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, { childList: true, subtree: true });
  document.querySelector(toggle).click();
})
"""


@dataclass
class Load:
    usable_s: float | None  # in the page: navigation start to the first row painted; None past the cap
    wall_s: float | None  # the same seen from here (Playwright's round trips included)
    rows: int  # elements matching the count selector then
    timeline: dict[str, Any] = field(default_factory=dict)  # TIMELINE_JS


def load_series(
    context: BrowserContext,
    url: str,
    selector: str,
    loads: int,
    cap_s: float,
    count: str | None = None,
    marker: str = "",
) -> list[Load]:
    """``loads`` loads of ``url`` in one tab, each from ``about:blank`` (a full load, also for a
    ``#/`` URL; the renderer and the context's HTTP cache stay warm, as when a user navigates),
    each until ``selector``'s first match is painted or ``cap_s`` has passed. A load past the cap
    ends the series: that page's renderer may still be busy."""
    from playwright.sync_api import Error as PlaywrightError

    page = context.new_page()
    page.add_init_script(script=USABLE_JS % json.dumps(selector))
    out: list[Load] = []
    try:
        for i in range(loads):
            if i:
                page.goto("about:blank")
            try:
                t0 = time.perf_counter()
                page.goto(url, wait_until="commit", timeout=cap_s * 1000)
                left = cap_s - (time.perf_counter() - t0)
                page.wait_for_function(USABLE_DONE, timeout=max(left, 0.001) * 1000, polling=50)
                wall = time.perf_counter() - t0
                usable = page.evaluate("() => window.__benchUsable.painted") / 1000
                rows = page.locator(count or selector).count()
                timeline = page.evaluate(TIMELINE_JS, marker)
            except PlaywrightError:  # a timeout: not usable within the cap
                out.append(Load(None, None, 0))
                break
            out.append(Load(usable if usable <= cap_s else None, wall, rows, timeline))
    finally:
        with contextlib.suppress(PlaywrightError):
            page.close()
    return out


def time_browser(context: BrowserContext, url: str, pages: list[Page], loads: int, cap_s: float) -> None:
    for page in pages:
        if page.selector is None or page.status != 200:
            continue
        series = load_series(context, url + page.path, page.selector, loads, cap_s, page.count)
        for load in series:
            page.usable_s.append(load.usable_s)
            page.wall_s.append(load.wall_s)
            page.timelines.append(load.timeline)
            page.rows_in_dom = load.rows if load.usable_s is not None else page.rows_in_dom
        shown = [("> cap" if x is None else f"{1000 * x:,.0f}") for x in page.usable_s]
        print(
            f"  usable {page.name:34s} ms: {', '.join(shown)}; rows {page.rows_in_dom}; "
            f"median load: {timeline_text(series)}",
            flush=True,
        )


def timeline_text(series: list[Load]) -> str:
    """The timeline of the load with the median usable time, as text."""
    done = sorted((x for x in series if x.usable_s is not None), key=lambda x: x.usable_s or 0.0)
    if not done:
        return "-"
    t = done[(len(done) - 1) // 2].timeline
    api = " ".join(f"api {a}-{b}" for a, b in t["api"])
    return (
        f"response {t['response_end']}, DOMContentLoaded {t['dom_content_loaded']}, "
        f"row {t['row_in_dom']}, painted {t['painted']} {api}"
    ).rstrip()


def time_expand(context: BrowserContext, url: str, seed: dict[str, Any], loads: int) -> list[float | None]:
    """Expanding the span with ``fanout`` children: once the trace page has loaded, a click on
    the span's toggle until its first child row is painted, measured in the page; the page is
    loaded again (from ``about:blank``) for each click."""
    from playwright.sync_api import Error as PlaywrightError

    toggle = f"#span-{seed['fanout_span_id']} button[data-expand]"
    child = f"#span-{seed['first_child_span_id']}"
    out: list[float | None] = []
    page = context.new_page()
    try:
        for i in range(loads):
            if i:
                page.goto("about:blank")
            try:
                page.goto(f"{url}/traces/{seed['big_trace_id']}", wait_until="load")
                page.wait_for_selector(toggle, state="visible")
                out.append(page.evaluate(EXPAND_JS, [toggle, child]) / 1000)
            except PlaywrightError:
                out.append(None)
    finally:
        page.close()
    shown = ", ".join("failed" if x is None else f"{1000 * x:,.0f}" for x in out)
    print(f"  expand, ms: {shown}", flush=True)
    return out


def time_mlflow_api(url: str, seed: dict[str, Any], repeat: int) -> dict[str, float]:
    """The API calls that bring MLflow's pages their rows (``get-trace-artifact``: the whole trace
    as JSON; ``logged-models/search``: a page of versions), best of ``repeat``: is MLflow's time
    in its server or in the browser?"""
    import httpx

    def best(call: Callable[[], httpx.Response]) -> tuple[float, int]:
        timings, size = [], 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            size = len(call().content)
            timings.append(1000 * (time.perf_counter() - t0))
        return min(timings), size

    with httpx.Client(base_url=url, timeout=300) as client:
        path = f"/ajax-api/3.0/mlflow/get-trace-artifact?request_id={seed['trace_id']}"
        trace_ms, trace_bytes = best(lambda: client.get(path))
        body = {"experiment_ids": [seed["experiment_id"]], "max_results": 50}
        models_ms, _ = best(lambda: client.post("/ajax-api/2.0/mlflow/logged-models/search", json=body))
    return {
        "trace_artifact_ms": trace_ms,
        "trace_artifact_kb": trace_bytes / 1024,
        "models_search_ms": models_ms,
    }


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
def table(rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(r: list[str]) -> str:
        return (
            "| "
            + " | ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r))
            + " |"
        )

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line(rows[0]), rule, *map(line, rows[1:])])


def ms(seconds: float) -> str:
    if seconds != seconds:
        return "n/a"
    if seconds == float("inf"):
        return "> cap"
    return fmt(1000 * seconds)


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def median_or_inf(values: list[float | None]) -> float:
    """The median of loads; inf when a load never became usable; nan for none."""
    if not values:
        return float("nan")
    if any(x is None for x in values):
        return float("inf")
    return statistics.median([x for x in values if x is not None])


def pages_table(pages: list[Page], expand: list[float | None], fanout: int) -> list[list[str]]:
    """Per page: server p50/p95, usable median and best, rows in the DOM, goal, met."""
    head = ["page", "server p50 ms", "server p95 ms", "usable ms (median)", "best", "rows", "goal ms", "met"]
    rows = [head]
    for p in pages:
        if p.status != 200:
            rows.append([p.name, f"HTTP {p.status}", "", "", "", "", "", ""])
            continue
        server_ok = p.p(95) <= GOAL_SERVER_P95_MS
        if p.selector is None:
            goal = f"≤ {GOAL_SERVER_P95_MS:.0f}"
            rows.append([p.name, fmt(p.p(50)), fmt(p.p(95)), "(fragment)", "", "", goal, met(server_ok)])
            continue
        usable_goal = GOAL_BIG_TRACE_S if p.big else GOAL_USABLE_S
        median = p.usable("median")
        goal = f"≤ {GOAL_SERVER_P95_MS:.0f} / ≤ {usable_goal * 1000:,.0f}"
        ok = server_ok and median <= usable_goal
        count = "" if p.rows_in_dom is None else f"{p.rows_in_dom:,}"
        rows.append(
            [p.name, fmt(p.p(50)), fmt(p.p(95)), ms(median), ms(p.usable("best")), count, goal, met(ok)]
        )
    if expand:
        median = median_or_inf(expand)
        best = min((x for x in expand if x is not None), default=float("nan"))
        goal = f"≤ {GOAL_EXPAND_S * 1000:.0f}"
        name = f"expand the span of {fanout:,} children"
        rows.append([name, "", "", ms(median), ms(best), "", goal, met(median <= GOAL_EXPAND_S)])
    return rows


def ratio_text(genver_s: float, mlflow_s: float, capped: bool) -> tuple[str, float]:
    """MLflow's time / genver's, as text ("> N×" when MLflow hit the cap) and as a number."""
    if genver_s != genver_s or genver_s in (0, float("inf")) or mlflow_s != mlflow_s:
        return "n/a", float("nan")
    x = mlflow_s / genver_s
    return (f"> {x:.0f}×" if capped else f"{x:.1f}×"), x


def goals_table(
    pages: list[Page], expand: list[float | None], mlflow: dict[str, Any] | None, sizes: Sizes, cap_s: float
) -> list[list[str]]:
    """The issue's goals, each with genver's worst page, MLflow's figure where there is one, and
    met / NOT met."""
    timed = [p for p in pages if p.status == 200]
    browsed = [p for p in timed if p.selector is not None]
    worst_server = max(timed, key=lambda p: p.p(95))
    worst_small = max((p for p in browsed if not p.big), key=lambda p: p.usable("median"))
    worst_big = max((p for p in browsed if p.big), key=lambda p: p.usable("median"))
    expand_s = median_or_inf(expand)
    n = f"{sizes.big_spans:,}"
    rows = [["goal", "genver", "MLflow", "× faster", "target", "met"]]
    rows.append(
        [
            "every page: server p95",
            f"worst {fmt(worst_server.p(95))} ms: {worst_server.name}",
            "",
            "",
            f"≤ {GOAL_SERVER_P95_MS:.0f} ms",
            met(worst_server.p(95) <= GOAL_SERVER_P95_MS),
        ]
    )
    rows.append(
        [
            "every other page: usable (median)",
            f"worst {ms(worst_small.usable('median'))} ms: {worst_small.name}",
            "",
            "",
            f"≤ {GOAL_USABLE_S * 1000:,.0f} ms",
            met(worst_small.usable("median") <= GOAL_USABLE_S),
        ]
    )
    rows.append(
        [
            f"the {n}-span trace's pages: usable",
            f"worst {ms(worst_big.usable('median'))} ms: {worst_big.name}",
            "",
            "",
            f"≤ {GOAL_BIG_TRACE_S * 1000:,.0f} ms",
            met(worst_big.usable("median") <= GOAL_BIG_TRACE_S),
        ]
    )
    rows.append(
        [
            f"expand a span of {sizes.fanout:,} children",
            f"{ms(expand_s)} ms",
            "",
            "",
            f"≤ {GOAL_EXPAND_S * 1000:.0f} ms",
            met(expand_s <= GOAL_EXPAND_S),
        ]
    )
    if mlflow is None:
        rows.append(
            ["≥ 10× faster than MLflow's UI", "", "not run", "", f"≥ {GOAL_VS_MLFLOW:.0f}×", "not run"]
        )
        return rows
    trace = next(p for p in timed if p.key == "trace")
    versions = next(p for p in timed if p.key == "versions")
    for genver_page, key in ((trace, "trace"), (versions, "versions")):
        capped = mlflow["usable"][key] is None
        m_s = cap_s if capped else mlflow["usable"][key]
        text, x = ratio_text(genver_page.usable("median"), m_s, capped)
        rows.append(
            [
                f"{genver_page.name} vs MLflow's UI",
                f"{ms(genver_page.usable('median'))} ms",
                f"> {cap_s:.0f} s" if capped else f"{ms(m_s)} ms",
                text,
                f"≥ {GOAL_VS_MLFLOW:.0f}×",
                met(x >= GOAL_VS_MLFLOW),
            ]
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="smoke run: 200 versions, 2,000 traces, a 3,000-span trace"
    )
    size.add_argument(
        "--full", action="store_true", help="10,000 versions and 100,000 traces (seeded once, then cached)"
    )
    p.add_argument("--no-mlflow", action="store_true", help="genver only: no MLflow server, no comparison")
    p.add_argument("--requests", type=int, help="server-time requests per page (default 20; quick 5)")
    p.add_argument("--loads", type=int, help="browser loads per genver page (default 5; quick 2)")
    p.add_argument("--mlflow-loads", type=int, help="browser loads per MLflow page (default 3; quick 1)")
    p.add_argument(
        "--cap", type=float, default=60.0, help="seconds a page may take to become usable (default 60)"
    )
    p.add_argument(
        "--cache-dir", default=DEFAULT_CACHE, help="where seeded stores are kept (default bench/.cache)"
    )
    p.add_argument("--reseed", action="store_true", help="seed the stores again even if cached")
    p.add_argument("--json", metavar="PATH", help="write every figure as JSON")
    p.add_argument("--mlflow-python", help="python of the MLflow venv (env GENVER_BENCH_MLFLOW_PYTHON)")
    p.add_argument("--worker", choices=("mlflow",), help=argparse.SUPPRESS)
    p.add_argument("--seed-dir", help=argparse.SUPPRESS)
    p.add_argument("--sizes", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def pick_sizes(args: argparse.Namespace) -> Sizes:
    sizes = QUICK_SIZES if args.quick else FULL_SIZES if args.full else DEFAULT_SIZES
    given = {"requests": args.requests, "loads": args.loads, "mlflow_loads": args.mlflow_loads}
    return replace(sizes, **{k: v for k, v in given.items() if v is not None})


def run_genver(sizes: Sizes, args: argparse.Namespace, browser: Browser) -> dict[str, Any]:
    t0 = time.perf_counter()
    folder, seed, fresh = cached_seed(
        args.cache_dir, sizes.genver_key(), args.reseed, lambda d: seed_genver(d, sizes)
    )
    took = time.perf_counter() - t0
    what = f"seeded in {took:.0f} s {seed['seconds']}" if fresh else "cached"
    print(f"genver store: {folder} ({what})", flush=True)
    pages = genver_pages(seed, sizes)
    port = free_port()
    uri = f"sqlite:///{folder}/genver.db"
    with (
        tempfile.TemporaryDirectory(prefix="bench-ui-genver-") as tmp,
        server(genver_server_cmd(uri, port), port, tmp) as (url, up),
    ):
        print(f"genver server up in {up:.1f} s at {url}", flush=True)
        with phase("genver server time"):
            time_server(url, pages, sizes.requests)
        context = new_context(browser)
        try:
            with phase("genver in Chromium"):
                # the first load fills the context's HTTP cache with the CSS and scripts
                load_series(context, f"{url}/experiments", "#experiments tr[data-id]", 1, args.cap)
                time_browser(context, url, pages, sizes.loads, args.cap)
                expand = time_expand(context, url, seed, sizes.loads)
        finally:
            context.close()
    return {
        "store": folder,
        "seeded_now": fresh,
        "seed": seed,
        "pages": pages,
        "expand": expand,
        "server_start_s": up,
    }


def run_mlflow(sizes: Sizes, args: argparse.Namespace, browser: Browser) -> dict[str, Any]:
    python = resolve_mlflow_python(args.mlflow_python)

    def seed(folder: str) -> dict[str, Any]:
        data = ["--seed-dir", folder, "--sizes", json.dumps(asdict(sizes))]
        return call_worker(python, __file__, ["--worker", "mlflow"], data, cwd=folder)

    t0 = time.perf_counter()
    folder, info, fresh = cached_seed(args.cache_dir, sizes.mlflow_key(), args.reseed, seed)
    took = time.perf_counter() - t0
    what = f"seeded in {took:.0f} s {info['seconds']}" if fresh else "cached"
    print(f"MLflow store: {folder} ({what})", flush=True)
    cap = args.cap
    usable: dict[str, float | None] = {}
    loads: dict[str, list[float | None]] = {}
    rows: dict[str, int] = {}
    timelines: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ui-mlflow-") as tmp:
        shutil.copy(os.path.join(folder, "mlflow.db"), os.path.join(tmp, "mlflow.db"))  # the server may write
        port = free_port()
        cmd = mlflow_server_cmd(python, f"sqlite:///{tmp}/mlflow.db", port, tmp)
        with server(cmd, port, tmp) as (url, up):
            print(f"MLflow server up in {up:.1f} s at {url}", flush=True)
            with phase("MLflow API"):
                api = time_mlflow_api(url, info, 2)
                print(f"  MLflow API: {api}", flush=True)
            exp = info["experiment_id"]
            targets = {  # URL, its first row, the API call that brings the rows
                "versions": (
                    f"{url}/#/experiments/{exp}/models",
                    '.ag-row[row-id^="m-"]',
                    "logged-models/search",
                ),
                "trace": (
                    f"{url}/#/experiments/{exp}/traces/{info['trace_id']}",
                    '[data-testid^="timeline-tree-node-"]',
                    "get-trace-artifact",
                ),
            }
            context = new_context(browser)
            try:
                # the first load fills the context's HTTP cache with MLflow's JavaScript
                load_series(context, f"{url}/#/experiments", 'a[href*="experiments/"]', 1, cap)
                for key, (target, selector, marker) in targets.items():
                    series = load_series(context, target, selector, sizes.mlflow_loads, cap, marker=marker)
                    loads[key] = [load.usable_s for load in series]
                    timelines[key] = [load.timeline for load in series]
                    rows[key] = series[-1].rows  # 0 past the cap: the page cannot be asked then
                    done = [x for x in loads[key] if x is not None]
                    usable[key] = statistics.median(done) if done and len(done) == len(loads[key]) else None
                    shown = [("> cap" if x is None else f"{1000 * x:,.0f}") for x in loads[key]]
                    print(
                        f"  MLflow usable {key:8s} ms: {', '.join(shown)}; rows {rows[key]}; "
                        f"median load: {timeline_text(series)}",
                        flush=True,
                    )
            finally:
                context.close()
    return {
        "store": folder,
        "seeded_now": fresh,
        "seed": info,
        "api": api,
        "usable": usable,
        "loads": loads,
        "rows": rows,
        "timelines": timelines,
        "server_start_s": up,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        sizes = Sizes(**json.loads(args.sizes))
        print(json.dumps(seed_mlflow(args.seed_dir, sizes)))
        return 0
    sizes = pick_sizes(args)
    log = RunLog(asdict(sizes), 1, "median")
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            genver = run_genver(sizes, args, browser)
            mlflow = None if args.no_mlflow else run_mlflow(sizes, args, browser)
            chromium = browser.version
        finally:
            browser.close()
    pages: list[Page] = genver["pages"]
    print()
    print(
        f"genver UI, {sizes.versions:,} versions, {sizes.traces:,} traces, one {sizes.big_spans:,}-span trace; "
        f"server time over up to {sizes.requests} requests, usable: median and best of {sizes.loads} loads; Chromium {chromium}"
    )
    print(table(pages_table(pages, genver["expand"], sizes.fanout), right={1, 2, 3, 4, 5}))
    print()
    print(table(goals_table(pages, genver["expand"], mlflow, sizes, args.cap), right=set()))
    if mlflow is not None:
        print(
            f"MLflow {mlflow['seed'].get('version', '?')}: its UI, median of up to {sizes.mlflow_loads} loads, capped at "
            f"{args.cap:.0f} s; its server returns the trace's spans in {fmt(mlflow['api']['trace_artifact_ms'])} ms "
            f"({mlflow['api']['trace_artifact_kb']:,.0f} KB) and a page of versions in {fmt(mlflow['api']['models_search_ms'])} ms"
        )
    log.finish()
    if args.json:
        from importlib.metadata import version

        versions = {
            "genver": version("genver"),
            "mlflow": mlflow["seed"].get("version", "?") if mlflow else "not run",
            "chromium": chromium,
            "playwright": version("playwright"),
        }
        payload = log.json_head(versions) | {
            "genver": {
                **{k: v for k, v in genver.items() if k != "pages"},
                "pages": [asdict(p) for p in pages],
            },
            "mlflow": mlflow,
        }
        write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
