"""A fake OpenAI-compatible judge endpoint on 127.0.0.1 (never the internet), for the judge tests.

``FakeJudge`` answers ``POST /v1/chat/completions`` with canned replies: a queue (the last one
repeats) of ``Reply`` or of functions of the request body, or by default a verdict chosen by
``grade(prompt)``. It records each request and its headers, and can delay its answers.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One HTTP answer: status, a JSON body (or raw text) and headers."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


def completion(content: str) -> Reply:
    """A chat completion whose message says ``content``."""
    return Reply(
        200, {"id": "c-1", "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
    )


def verdict(result: Any, rationale: str = "because") -> Reply:
    """A chat completion holding MLflow's JSON verdict."""
    return completion(json.dumps({"result": result, "rationale": rationale}))


def prompt_of(body: Mapping[str, Any]) -> str:
    """All the messages' text of a request body."""
    return "\n\n".join(str(m.get("content")) for m in body.get("messages", []))


class FakeJudge:
    """See the module docstring. ``base_url`` is ``http://127.0.0.1:<port>/v1``."""

    def __init__(self) -> None:
        self.replies: list[Reply | Callable[[dict[str, Any]], Reply]] = []
        self.grade: Callable[[str], Reply] = lambda prompt: verdict("yes")
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.times: list[float] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                with fake._lock:
                    fake.requests.append(body)
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                    fake.times.append(time.monotonic())
                    queued = fake.replies.pop(0) if len(fake.replies) > 1 else next(iter(fake.replies), None)
                if fake.delay:
                    time.sleep(fake.delay)
                if queued is None:
                    reply = fake.grade(prompt_of(body))
                else:
                    reply = queued(body) if callable(queued) else queued
                if self.path != "/v1/chat/completions":
                    reply = Reply(404, {"error": {"message": f"no route {self.path}"}})
                data = reply.body.encode() if isinstance(reply.body, str) else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
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


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
