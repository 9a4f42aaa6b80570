"""Helpers for the evaluate / scorers / judges / datasets tests: genver instances on a fresh
SQLite file, an isolated default instance, and a local fake OpenAI-compatible endpoint."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import genver
from genver import context as ctx
from genver.fluent import Genver

ENV_PREFIXES = ("GENVER_", "MLFLOW_", "_MLFLOW_", "OPENAI_")


def make_eval_genver(tmp_path: Path, name: str = "eval.db", **env: str) -> Genver:
    environ = {
        "GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"),
        "GENVER_TRACE_FLUSH_INTERVAL": "0.05",
        **env,
    }
    return Genver(tracking_uri=f"sqlite:///{tmp_path}/{name}", environ=environ)


@contextmanager
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[Genver]:
    """An explicit instance, run from ``tmp_path`` (outside any git repository); closed after."""
    monkeypatch.chdir(tmp_path)
    gv = make_eval_genver(tmp_path, **env)
    try:
        yield gv
    finally:
        gv.flush_trace_async_logging(terminate=True)
        gv.client.close()


def _reset_default() -> None:
    default = genver._default
    if default._client is not None:
        default._client.close()
    rt = default._runtime
    if rt is not None:
        rt.exporter.flush(10.0)
    ctx.set_process_tracking_uri(None)
    default.__init__()  # type: ignore[misc]


@contextmanager
def default_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The module-level API on ``sqlite:///<tmp>/default.db``, with no state before or after."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GENVER_TRACE_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("GENVER_TRACE_FLUSH_INTERVAL", "0.05")
    _reset_default()
    genver.set_tracking_uri(f"sqlite:///{tmp_path}/default.db")
    try:
        yield genver
    finally:
        genver.flush_trace_async_logging()
        _reset_default()


# -- a fake OpenAI-compatible chat endpoint ----------------------------------------------------------------
Reply = tuple[int, Any]  # (HTTP status, JSON body or raw text)


def chat_reply(content: str) -> Reply:
    return 200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}


def verdict(result: str, rationale: str = "because") -> Reply:
    return chat_reply(json.dumps({"result": result, "rationale": rationale}))


class FakeChat:
    """``http.server`` on 127.0.0.1:<free port> answering ``POST /v1/chat/completions`` with the
    queued replies (the last one repeats); records each request. ``delay`` seconds before answering."""

    def __init__(self) -> None:
        self.replies: list[Reply | Callable[[dict[str, Any]], Reply]] = [verdict("yes")]
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append(body)
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                    reply = fake.replies.pop(0) if len(fake.replies) > 1 else fake.replies[0]
                if fake.delay:
                    time.sleep(fake.delay)
                status, payload = reply(body) if callable(reply) else reply
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                if self.path != "/v1/chat/completions":
                    status, data = 404, b'{"error": "not found"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client timed out
                    self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving (idempotent): the port then refuses connections."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
