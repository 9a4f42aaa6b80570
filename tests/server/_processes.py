"""Real ``genver server`` processes (and in-process uvicorn servers) on loopback, for tests.

Every wait is bounded: a server that does not answer ``/health`` in time fails the test with its
output, and every process is killed by its own pid when the test ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from genver.entities import Span, Trace, TraceData, TraceInfo
from genver.entities.trace import MODEL_ID_KEY
from genver.server.app import create_app
from genver.store.base import Store

START_TIMEOUT = 60.0  # a cold start imports FastAPI and migrates the database: generous on 2 cores


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(
    url: str, *, timeout: float = START_TIMEOUT, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server at {url} exited with {proc.returncode} before answering /health")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"server at {url} did not answer /health within {timeout} s")
        time.sleep(0.05)


class ServerProcess:
    """``genver server --backend-store-uri URI --port P`` as a child process."""

    def __init__(self, backend_uri: str, port: int | None = None, args: Sequence[str] = ()) -> None:
        self.backend_uri = backend_uri
        self.args = list(args)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GENVER_", "MLFLOW_", "PYTEST_"))}
        cmd = [sys.executable, "-m", "genver", "server", "--backend-store-uri", self.backend_uri]
        self.proc = subprocess.Popen(
            [*cmd, "--host", "127.0.0.1", "--port", str(self.port), *self.args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(self.url, proc=self.proc)
        except AssertionError as e:
            self.stop()
            raise AssertionError(f"{e}\n--- server output ---\n{self.output()}") from None
        return self

    def kill(self) -> None:
        """``kill -9``: no shutdown, no goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def close(self) -> None:
        self.stop()
        self._log.close()


@contextmanager
def server_process(backend_uri: str, port: int | None = None) -> Iterator[ServerProcess]:
    server = ServerProcess(backend_uri, port).start()
    try:
        yield server
    finally:
        server.close()


@contextmanager
def uvicorn_thread(store: Store, port: int | None = None) -> Iterator[str]:
    """``create_app(store)`` under uvicorn in a thread of this process; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        assert thread.is_alive(), "uvicorn exited before starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def sqlite_uri(directory: Path, name: str = "server.db") -> str:
    return f"sqlite:///{directory / name}"


def simple_trace(experiment_id: str, model_id: str, request_time: int) -> Trace:
    """A one-span trace of version ``model_id`` (what the exporter would send)."""
    tid = "tr-" + uuid.uuid4().hex
    root = Span(
        trace_id=tid,
        span_id=uuid.uuid4().hex[:16],
        parent_id=None,
        name="predict",
        start_time_ns=request_time * 1_000_000,
        end_time_ns=request_time * 1_000_000 + 3_000_000,
        inputs={"q": "why?"},
        outputs={"a": "because"},
    )
    info = TraceInfo(
        trace_id=tid,
        experiment_id=experiment_id,
        request_time=request_time,
        execution_duration=3,
        trace_metadata={MODEL_ID_KEY: model_id},
    )
    return Trace(info, TraceData([root]))
