"""The exporter never gets in the app's way: store down, memory bound, kill -9, large inputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from genver.fluent import Genver
from genver.store.sql.store import SqlStore
from tests.tracing.conftest import FlakyStore


def flaky_genver(tmp_path: Path, **env: str) -> tuple[Genver, FlakyStore]:
    store = FlakyStore(SqlStore(f"sqlite:///{tmp_path}/flaky.db"))
    environ = {
        "GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"),
        "GENVER_TRACE_FLUSH_INTERVAL": "0.05",
        **env,
    }
    return Genver(store=store, environ=environ), store  # type: ignore[arg-type]


def count(gv: Genver) -> int:
    return len(gv.search_traces(experiment_ids=["0"], return_type="list", include_spans=False))


def test_store_down_then_back_delivers_every_trace(tmp_path: Path) -> None:
    gv, store = flaky_genver(tmp_path)

    @gv.trace
    def work(i: int) -> int:
        return i * 2

    store.down = True
    assert [work(i) for i in range(50)] == [i * 2 for i in range(50)]  # the app is unaffected
    gv.flush_trace_async_logging(timeout=10)
    stats = gv.get_trace_export_stats()
    assert stats is not None and stats.spooled == 50 and stats.exported == 0 and stats.dropped == 0
    assert list((tmp_path / "spool").glob("batch-*.jsonl"))

    store.down = False
    assert gv.flush_trace_async_logging(timeout=10)
    stats = gv.get_trace_export_stats()
    assert stats is not None and stats.delivered_from_spool == 50 and stats.dropped == 0
    assert count(gv) == 50
    assert not list((tmp_path / "spool").glob("batch-*"))
    gv.flush_trace_async_logging(terminate=True)


def test_memory_stays_bounded_when_the_store_is_slow(tmp_path: Path) -> None:
    gv, store = flaky_genver(tmp_path, GENVER_TRACE_MAX_QUEUE="20", GENVER_TRACE_BATCH_SIZE="10")
    gate = threading.Event()
    slow_inner = store.inner.log_traces

    def slow(traces: Any) -> None:
        gate.wait(10)
        slow_inner(traces)

    store.inner.log_traces = slow  # type: ignore[method-assign]

    @gv.trace
    def work(i: int) -> int:
        return i

    rt = gv.tracing_runtime()
    assert rt is not None
    peak = 0
    for i in range(300):
        work(i)
        peak = max(peak, len(rt.exporter._queue))
    assert peak <= 2 * 20 + 1  # past the bound the producer spools instead of queueing
    gate.set()
    assert gv.flush_trace_async_logging(timeout=30)
    stats = gv.get_trace_export_stats()
    assert stats is not None and stats.dropped == 0
    assert count(gv) == 300
    gv.flush_trace_async_logging(terminate=True)


def test_large_input_is_serialized_off_the_callers_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genver.tracing import runtime, serialize

    threads: set[str] = set()
    real = serialize.to_jsonable

    def spy(value: Any, _depth: int = 0) -> Any:
        threads.add(threading.current_thread().name)
        return real(value, _depth)

    monkeypatch.setattr(runtime, "to_jsonable", spy)
    gv, _ = flaky_genver(tmp_path)
    big = "x" * (1 << 20)

    @gv.trace
    def consume(payload: str) -> int:
        return len(payload)

    assert consume(big) == 1 << 20
    assert gv.flush_trace_async_logging(timeout=10)
    assert threads == {"genver-trace-exporter"}
    trace = gv.get_trace(gv.get_last_active_trace_id() or "")
    assert trace is not None and trace.data.spans[0].inputs == {"payload": big}
    gv.flush_trace_async_logging(terminate=True)


def test_internal_errors_never_reach_the_app_outside_pytest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    gv, _ = flaky_genver(tmp_path)
    rt = gv.tracing_runtime()
    assert rt is not None

    def broken(*a: Any, **k: Any) -> Any:
        raise RuntimeError("tracing bug")

    monkeypatch.setattr(rt, "start", broken)

    @gv.trace
    def work(x: int) -> int:
        return x + 1

    assert work(1) == 2


def test_internal_errors_surface_under_pytest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gv, _ = flaky_genver(tmp_path)
    rt = gv.tracing_runtime()
    assert rt is not None

    def broken(*a: Any, **k: Any) -> Any:
        raise RuntimeError("tracing bug")

    monkeypatch.setattr(rt, "start", broken)

    @gv.trace
    def work(x: int) -> int:
        return x + 1

    with pytest.raises(RuntimeError, match="tracing bug"):
        work(1)


PRODUCER = textwrap.dedent(
    """
    import sys, time
    import genver as mlflow

    @mlflow.trace
    def work(i):
        return i

    n = int(sys.argv[1])
    for i in range(n):
        work(i)
    time.sleep(float(sys.argv[2]))      # at least a few flush intervals
    # The background exporter alone (no flush) must have stored or spooled every trace; on a
    # loaded machine its first write (opening and migrating the store) may take longer.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        s = mlflow.get_trace_export_stats()
        if s is not None and s.exported + s.spooled >= n:
            break
        time.sleep(0.05)
    print("ready", flush=True)
    time.sleep(60)                      # killed here
    """
)


def _producer(tmp_path: Path, uri: str, n: int, settle: float) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENVER_", "MLFLOW_", "PYTEST_"))}
    env.update(
        {
            "GENVER_TRACKING_URI": uri,
            "GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"),
            "GENVER_TRACE_FLUSH_INTERVAL": "0.1",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", PRODUCER, str(n), str(settle)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_loses_nothing_older_than_the_flush_interval(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/killed.db"
    _kill(_producer(tmp_path, uri, 200, 1.0))
    reader = Genver(tracking_uri=uri, environ={"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool")})
    assert count(reader) == 200
    reader.client.close()


def test_what_a_killed_process_spooled_is_delivered_by_the_next(tmp_path: Path) -> None:
    down = "postgresql://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1
    _kill(_producer(tmp_path, down, 40, 1.5))
    spooled = list((tmp_path / "spool").glob("batch-*"))
    assert spooled, "the producer should have spooled while its store was down"

    # The next process, same spool folder, a working store: it delivers on its first flush.
    nxt = Genver(
        tracking_uri=f"sqlite:///{tmp_path}/up.db",
        environ={"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"},
    )

    @nxt.trace
    def work() -> None:
        pass

    work()
    deadline = time.monotonic() + 20
    while count(nxt) < 41 and time.monotonic() < deadline:
        nxt.flush_trace_async_logging(timeout=5)
    assert count(nxt) == 41
    assert not list((tmp_path / "spool").glob("batch-*"))
    nxt.flush_trace_async_logging(terminate=True)
    nxt.client.close()


def test_a_trace_the_store_refuses_is_isolated_and_counted(tmp_path: Path) -> None:
    from genver.exceptions import InvalidArgumentError

    gv, store = flaky_genver(tmp_path)
    real = store.inner.log_traces

    def picky(traces: Any) -> None:
        if any(t.data.spans[0].inputs == {"i": 3} for t in traces):
            raise InvalidArgumentError("trace 3 is invalid (test)")
        real(traces)

    store.inner.log_traces = picky  # type: ignore[method-assign]

    @gv.trace
    def work(i: int) -> int:
        return i

    for i in range(8):
        work(i)
    with pytest.raises(InvalidArgumentError):  # under pytest the refusal surfaces at flush
        gv.flush_trace_async_logging(timeout=10)
    stats = gv.get_trace_export_stats()
    assert stats is not None and stats.exported == 7 and stats.dropped == 1 and stats.spooled == 0
    assert count(gv) == 7
    gv.flush_trace_async_logging(terminate=True)


def test_spool_files_written_whole_and_claimed_once(tmp_path: Path) -> None:
    from genver.tracing.spool import Spool

    a, b = Spool(tmp_path), Spool(tmp_path)
    assert a.write([{"n": 1}, {"n": 2}]) and a.write([{"n": 3}])
    assert not list(tmp_path.glob("*.tmp"))
    claimed_a = list(a.claim())
    claimed_b = list(b.claim())  # the same process would claim nothing left
    assert sum(len(d) for _, d in claimed_a) == 3 and claimed_b == []
    for path, _ in claimed_a:
        a.done(path)
    assert a.pending() == [] and a.size() == 0
    full = Spool(tmp_path / "full", max_bytes=10)
    assert full.write([{"too": "big for ten bytes"}]) is False
