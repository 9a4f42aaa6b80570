"""Which version a trace links to, across threads, pools, asyncio tasks and processes."""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from genver.fluent import Genver


def model_of(gv: Genver, trace_id: str | None) -> str | None:
    assert trace_id is not None
    assert gv.flush_trace_async_logging(timeout=10)
    trace = gv.get_trace(trace_id)
    assert trace is not None
    return trace.info.model_id


def traced(gv: Genver) -> Any:
    @gv.trace
    def work(x: int) -> str:
        span = gv.get_current_active_span()
        assert span is not None
        return span.trace_id

    return work


def test_plain_set_active_model_links_traces_in_every_thread(gv: Genver) -> None:
    model = gv.set_active_model(name="plain-v1")
    work = traced(gv)
    ids: list[str] = []
    thread = threading.Thread(target=lambda: ids.append(work(1)))
    thread.start()
    thread.join()
    with ThreadPoolExecutor(2) as pool:
        ids += list(pool.map(work, range(3)))
    assert [model_of(gv, i) for i in ids] == [model.model_id] * 4


def test_with_block_links_asyncio_tasks_and_copied_contexts(gv: Genver) -> None:
    work = traced(gv)

    @gv.trace
    async def handle(i: int) -> str:
        await asyncio.sleep(0)
        span = gv.get_current_active_span()
        assert span is not None
        return span.trace_id

    async def main() -> list[str]:
        return list(await asyncio.gather(*(handle(i) for i in range(3))))

    with gv.set_active_model(name="block-v1") as model:
        ids = asyncio.run(main())
        ids.append(contextvars.copy_context().run(work, 5))
    outside = work(6)
    assert [model_of(gv, i) for i in ids] == [model.model_id] * 4
    assert model_of(gv, outside) is None


def test_worker_thread_without_context_falls_back_to_the_single_open_block(gv: Genver) -> None:
    work = traced(gv)
    with gv.set_active_model(name="fallback-v1") as model, ThreadPoolExecutor(1) as pool:
        trace_id = pool.submit(work, 1).result()  # the pool does not propagate context
    assert model_of(gv, trace_id) == model.model_id


def test_threads_with_their_own_blocks_link_to_their_own_versions(gv: Genver) -> None:
    work = traced(gv)
    a = gv.create_external_model(name="thread-a")
    b = gv.create_external_model(name="thread-b")
    results: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def run(name: str, model_id: str) -> None:
        with gv.set_active_model(model_id=model_id):
            barrier.wait()
            results[name] = work(0)
            barrier.wait()

    threads = [
        threading.Thread(target=run, args=("a", a.model_id)),
        threading.Thread(target=run, args=("b", b.model_id)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert model_of(gv, results["a"]) == a.model_id
    assert model_of(gv, results["b"]) == b.model_id


def test_model_activated_mid_trace_does_not_relink_it(gv: Genver) -> None:
    first = gv.set_active_model(name="first")

    @gv.trace
    def work() -> str:
        gv.set_active_model(name="second")
        span = gv.get_current_active_span()
        assert span is not None
        return span.trace_id

    assert model_of(gv, work()) == first.model_id


def test_trace_records_active_run(gv: Genver) -> None:
    work = traced(gv)
    with gv.start_run() as run:
        trace_id = work(1)
    assert gv.flush_trace_async_logging(timeout=10)
    trace = gv.get_trace(trace_id)
    assert trace is not None and trace.info.run_id == run.info.run_id


def test_experiment_of_the_trace_follows_set_experiment(gv: Genver) -> None:
    exp = gv.set_experiment("traced-exp")
    work = traced(gv)
    trace_id = work(1)
    assert gv.flush_trace_async_logging(timeout=10)
    trace = gv.get_trace(trace_id)
    assert trace is not None and trace.info.experiment_id == exp.experiment_id


CHILD = textwrap.dedent(
    """
    import genver as mlflow

    @mlflow.trace
    def handle(q):
        return q.upper()

    handle("hi")
    print(mlflow.get_active_model_id())
    """
)


def _run_child(tmp_path: Path, env_var: str, value: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENVER_", "MLFLOW_", "PYTEST_"))}
    env.update({env_var: value, "GENVER_TRACKING_URI": f"sqlite:///{tmp_path}/traces.db"})
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_env_var_with_a_name_in_a_child_process(gv: Genver, tmp_path: Path) -> None:
    printed = _run_child(tmp_path, "MLFLOW_ACTIVE_MODEL_ID", "my-agent-v1.0")
    model = gv.client.store.find_logged_model(experiment_id="0", name="my-agent-v1.0")
    assert model is not None and printed == model.model_id
    traces = gv.search_traces(model_id=model.model_id, return_type="list")
    assert len(traces) == 1  # exported at the child's exit
    assert traces[0].data.spans[0].outputs == "HI"


def test_env_var_with_an_id_in_a_child_process(gv: Genver, tmp_path: Path) -> None:
    model = gv.create_external_model(name="by-id")
    assert _run_child(tmp_path, "GENVER_ACTIVE_MODEL_ID", model.model_id) == model.model_id
    assert len(gv.search_traces(model_id=model.model_id, return_type="list")) == 1


def test_generator_traces_link_to_the_block_they_started_in(gv: Genver) -> None:
    @gv.trace
    def stream(n: int) -> Any:
        yield from range(n)

    with gv.set_active_model(name="gen-v1") as model:
        assert list(stream(3)) == [0, 1, 2]
    assert model_of(gv, gv.get_last_active_trace_id()) == model.model_id
