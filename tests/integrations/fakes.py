"""Fake OpenAI and Anthropic endpoints on loopback, speaking each protocol well enough for the
real ``openai`` and ``anthropic`` clients (and LangChain over them): JSON and SSE streaming,
tool calls, embeddings, the Responses API, 429/500 errors and a slow answer for client timeouts.

Standard library only: ``bench/bench_autolog.py`` runs it as a script in its own process
(``python tests/integrations/fakes.py`` prints ``port <n>``), also for MLflow's venv.

What a request gets is decided by its ``model``:

- ``error-429`` / ``error-500``: that status with the provider's error body (``retry-after-ms: 1``,
  so a client that retries does so at once);
- ``slow``: the answer comes after ``SLOW_SECONDS`` (for client timeouts);
- anything else: an answer. With ``tools`` in the request and no tool result yet in the
  conversation, the answer is a call of the first tool with ``{"city": "Paris"}``; otherwise the
  text ``echo: <last user text>``.

Token usage is deterministic: input tokens = the words of every message's text, output tokens =
the words of the answer (``words``), so tests can compute what a span must carry.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SLOW_SECONDS = 1.5
TOOL_ARGUMENTS = {"city": "Paris"}


def words(text: str) -> int:
    return len(text.split())


def text_of(content: Any) -> str:
    """The text in a message's content: a string, or a list of parts with ``text``."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(text_of(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def prompt_words(messages: list[dict[str, Any]], system: Any = None) -> int:
    total = words(text_of(system)) if system else 0
    return total + sum(words(text_of(m.get("content"))) for m in messages)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            return text_of(m.get("content"))
    return ""


def reply_for(messages: list[dict[str, Any]]) -> str:
    return f"echo: {last_user_text(messages)}"


class FakeLLM:
    """A threaded HTTP server on 127.0.0.1 (a free port), recording what it was asked."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        fake = self

        class Handler(_Handler):
            owner = fake

        self.server = _Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> FakeLLM:
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(
                request, client_address
            )  # a client that hung up (a timeout, a closed stream) is no error


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients' connection pools expect
    disable_nagle_algorithm = True  # else headers and body in two writes wait ~40 ms for an ACK
    owner: FakeLLM

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.owner.requests.append((self.path, body, dict(self.headers)))
        model = str(body.get("model", ""))
        anthropic = self.path.endswith("/messages")
        if model in ("error-429", "error-500"):
            self._error(int(model[-3:]), anthropic)
            return
        if model == "slow":
            time.sleep(SLOW_SECONDS)
        path = self.path.split("?")[0]
        if path.endswith("/chat/completions"):
            self._chat(body)
        elif path.endswith("/responses"):
            self._responses(body)
        elif path.endswith("/embeddings"):
            self._embeddings(body)
        elif anthropic:
            self._messages(body)
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    # -- plumbing -------------------------------------------------------------------------------
    def _json(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: Iterator[tuple[str | None, Any]]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for event, data in events:
            text = (
                (f"event: {event}\n" if event else "")
                + "data: "
                + (data if isinstance(data, str) else json.dumps(data))
            )
            self._chunk((text + "\n\n").encode())
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _error(self, status: int, anthropic: bool) -> None:
        kind = "rate_limit_error" if status == 429 else "api_error"
        message = "Rate limit reached (fake)" if status == 429 else "Internal error (fake)"
        doc: dict[str, Any] = (
            {"type": "error", "error": {"type": kind, "message": message}}
            if anthropic
            else {"error": {"message": message, "type": kind, "code": None, "param": None}}
        )
        self._json(status, doc, {"retry-after-ms": "1"})

    # -- OpenAI ---------------------------------------------------------------------------------
    def _chat(self, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        model = body.get("model", "")
        tools = body.get("tools") or []
        call_tool = bool(tools) and not any(m.get("role") == "tool" for m in messages)
        text = "" if call_tool else reply_for(messages)
        usage = {
            "prompt_tokens": prompt_words(messages),
            "completion_tokens": words(text) if text else 3,
            "total_tokens": 0,
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        finish = "tool_calls" if call_tool else "stop"
        tool_call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": tools[0]["function"]["name"], "arguments": json.dumps(TOOL_ARGUMENTS)}
            if call_tool
            else {},
        }
        head = {"id": "chatcmpl-fake", "created": 1_700_000_000, "model": model, "system_fingerprint": "fp"}
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if call_tool:
                message["tool_calls"] = [tool_call]
            self._json(
                200,
                {
                    **head,
                    "object": "chat.completion",
                    "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                    "usage": usage,
                },
            )
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> tuple[None, Any]:
            return None, {
                **head,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
            }

        def events() -> Iterator[tuple[str | None, Any]]:
            yield chunk({"role": "assistant", "content": ""})
            if call_tool:
                yield chunk(
                    {
                        "tool_calls": [
                            {"index": 0, **tool_call, "function": {**tool_call["function"], "arguments": ""}}
                        ]
                    }
                )
                args = tool_call["function"]["arguments"]
                for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                    yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
            else:
                for i, word in enumerate(text.split()):
                    yield chunk({"content": word if i == 0 else " " + word})
            yield chunk({}, finish)
            if include_usage:
                yield None, {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            yield None, "[DONE]"

        self._sse(events())

    def _responses(self, body: dict[str, Any]) -> None:
        raw = body.get("input")
        messages = [{"role": "user", "content": raw}] if isinstance(raw, str) else list(raw or [])
        text = reply_for(messages)
        usage = {
            "input_tokens": prompt_words(messages, body.get("instructions")),
            "output_tokens": words(text),
            "total_tokens": 0,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        }
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        item = {
            "type": "message",
            "id": "msg_fake",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        response = {
            "id": "resp_fake",
            "object": "response",
            "created_at": 1_700_000_000,
            "model": body.get("model", ""),
            "status": "completed",
            "output": [item],
            "usage": usage,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }
        if not body.get("stream"):
            self._json(200, response)
            return

        def events() -> Iterator[tuple[str | None, Any]]:
            started = {**response, "status": "in_progress", "output": [], "usage": None}
            yield "response.created", {"type": "response.created", "sequence_number": 0, "response": started}
            yield (
                "response.output_item.added",
                {
                    "type": "response.output_item.added",
                    "output_index": 0,
                    "item": {**item, "status": "in_progress", "content": []},
                    "sequence_number": 1,
                },
            )
            yield (
                "response.content_part.added",
                {
                    "type": "response.content_part.added",
                    "item_id": "msg_fake",
                    "output_index": 0,
                    "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": []},
                    "sequence_number": 2,
                },
            )
            n = 3
            for i, word in enumerate(text.split()):
                delta = word if i == 0 else " " + word
                yield (
                    "response.output_text.delta",
                    {
                        "type": "response.output_text.delta",
                        "item_id": "msg_fake",
                        "output_index": 0,
                        "content_index": 0,
                        "delta": delta,
                        "logprobs": [],
                        "sequence_number": n,
                    },
                )
                n += 1
            yield (
                "response.output_item.done",
                {
                    "type": "response.output_item.done",
                    "output_index": 0,
                    "item": item,
                    "sequence_number": n,
                },
            )
            yield (
                "response.completed",
                {"type": "response.completed", "sequence_number": n + 1, "response": response},
            )

        self._sse(events())

    def _embeddings(self, body: dict[str, Any]) -> None:
        raw = body.get("input")
        items = [raw] if isinstance(raw, str) else list(raw or [])
        tokens = sum(words(str(i)) for i in items)
        self._json(
            200,
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": [0.1 * (i + 1), 0.2, 0.3]}
                    for i in range(len(items))
                ],
                "model": body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # -- Anthropic ------------------------------------------------------------------------------
    def _messages(self, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        tools = body.get("tools") or []
        call_tool = bool(tools) and not any(
            isinstance(m.get("content"), list)
            and any(isinstance(p, dict) and p.get("type") == "tool_result" for p in m["content"])
            for m in messages
        )
        text = "" if call_tool else reply_for(messages)
        input_tokens = prompt_words(messages, body.get("system"))
        output_tokens = words(text) if text else 3
        block: dict[str, Any] = (
            {"type": "tool_use", "id": "toolu_1", "name": tools[0]["name"], "input": TOOL_ARGUMENTS}
            if call_tool
            else {"type": "text", "text": text}
        )
        stop = "tool_use" if call_tool else "end_turn"
        message = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": [block],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }
        if not body.get("stream"):
            self._json(200, message)
            return

        def events() -> Iterator[tuple[str | None, Any]]:
            start = {
                **message,
                "content": [],
                "stop_reason": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            }
            yield "message_start", {"type": "message_start", "message": start}
            if call_tool:
                yield (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": 0,
                        "content_block": {**block, "input": {}},
                    },
                )
                args = json.dumps(TOOL_ARGUMENTS)
                for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                    yield (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": 0,
                            "delta": {"type": "input_json_delta", "partial_json": part},
                        },
                    )
            else:
                yield (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": 0,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
                for i, word in enumerate(text.split()):
                    yield (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": 0,
                            "delta": {"type": "text_delta", "text": word if i == 0 else " " + word},
                        },
                    )
            yield "content_block_stop", {"type": "content_block_stop", "index": 0}
            yield (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": output_tokens},
                },
            )
            yield "message_stop", {"type": "message_stop"}

        self._sse(events())


if __name__ == "__main__":  # a fake in its own process: prints "port <n>", serves until killed
    port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 0
    fake = FakeLLM(port)
    print(f"port {fake.port}", flush=True)
    fake.server.serve_forever()
