"""The spool is delivered without waiting for a new trace (issue 12, item 9): a process that
starts tracing delivers what an earlier one spooled at once, and `genver traces deliver-spool`
delivers it on demand (exit 1 while some is left)."""

from __future__ import annotations

import time
from pathlib import Path

from typer.testing import CliRunner

from genver.cli import app
from genver.fluent import Genver
from tests.tracing.test_export import count, flaky_genver

runner = CliRunner()


def spool_some(tmp_path: Path, n: int) -> None:
    """An earlier process: the store was down while it traced ``n`` calls, then it exited."""
    gv, store = flaky_genver(tmp_path)

    @gv.trace
    def work(i: int) -> int:
        return i

    store.down = True
    for i in range(n):
        work(i)
    assert gv.flush_trace_async_logging(timeout=10) is False  # spooled, not stored
    gv.flush_trace_async_logging(terminate=True, timeout=5)
    gv.client.close()
    assert list((tmp_path / "spool").glob("batch-*.jsonl"))


def test_a_new_process_delivers_the_spool_before_any_trace(tmp_path: Path) -> None:
    spool_some(tmp_path, 10)
    gv = Genver(
        tracking_uri=f"sqlite:///{tmp_path}/flaky.db",
        environ={"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"},
    )
    assert gv.tracing_runtime() is not None  # built, but nothing traced
    deadline = time.monotonic() + 10
    while count(gv) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count(gv) == 10 and not list((tmp_path / "spool").glob("batch-*"))
    gv.flush_trace_async_logging(terminate=True)
    gv.client.close()


def test_deliver_spool_command(tmp_path: Path) -> None:
    spool_some(tmp_path, 5)
    env = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool")}
    uri = f"sqlite:///{tmp_path}/flaky.db"

    result = runner.invoke(app, ["traces", "deliver-spool", "--tracking-uri", uri], env=env)

    assert result.exit_code == 0, result.output
    assert "Delivered 5 trace(s) from 1 batch file(s)" in " ".join(result.output.split())
    assert "0 file(s) left" in result.output
    gv = Genver(tracking_uri=uri, environ=env)
    assert count(gv) == 5
    gv.client.close()


def test_deliver_spool_says_when_the_store_is_still_down(tmp_path: Path) -> None:
    spool_some(tmp_path, 3)
    env = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool")}
    down = "http://127.0.0.1:9/"  # nothing listens: the store is unavailable
    result = runner.invoke(
        app, ["traces", "deliver-spool", "--timeout", "5", "--tracking-uri", down], env=env
    )
    assert result.exit_code == 1 and "1 file(s) left" in " ".join(result.output.split())
