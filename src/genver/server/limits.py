"""A limit on request bodies: larger ones get 413 before the app reads them into memory.

A declared ``Content-Length`` over the limit is refused up front; a body without one (chunked)
is counted as it streams in, and refused as soon as it passes the limit.
"""

from __future__ import annotations

import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from genver import wire as w
from genver.config import SERVER_MAX_REQUEST_MB
from genver.exceptions import InvalidArgumentError
from genver.server.auth import send_json

MB = 1024 * 1024


def max_request_bytes(mb: float) -> int:
    """A limit in MB as bytes; it must be positive."""
    if not mb > 0:
        raise InvalidArgumentError(
            f"Invalid {SERVER_MAX_REQUEST_MB.env_vars[0]} / --max-request-mb {mb!r}: expected a number "
            f"of MB above 0, e.g. {SERVER_MAX_REQUEST_MB.default}."
        )
    return int(mb * MB)


DEFAULT_MAX_REQUEST_BYTES = max_request_bytes(float(SERVER_MAX_REQUEST_MB.default or 32))


class _TooLarge(InvalidArgumentError):
    """Raised from ``receive()`` once a streamed body passes the limit, to stop the app reading it.

    Internal: whatever the app makes of it (FastAPI's 400, the OTLP route's own answer, the
    GenverError handler), the middleware replaces the response with its 413 and suppresses it.
    """


class BodySizeLimit:
    """ASGI middleware answering 413 to request bodies larger than ``max_bytes``."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise InvalidArgumentError(f"Invalid max_bytes {max_bytes!r}: expected a positive number.")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send, declared)
            return
        received = 0
        exceeded = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # The app may turn the error from receive() into a response of its own (FastAPI
            # answers 400 "error parsing the body"): the 413 replaces it.
            nonlocal refused
            if not exceeded:
                await send(message)
            elif not refused and message["type"] == "http.response.start":
                refused = True
                await self._refuse(send, None)

        with contextlib.suppress(_TooLarge):  # raised from counting_receive, through the app
            await self.app(scope, counting_receive, guarded_send)
        if exceeded and not refused:
            await self._refuse(send, None)

    async def _refuse(self, send: Send, declared: int | None) -> None:
        size = f"of {declared} bytes " if declared is not None else ""
        limit = f"{self.max_bytes / MB:g} MB"
        body = w.ErrorBody(
            error_code="RESOURCE_LIMIT_EXCEEDED",
            message=f"Request body {size}is larger than this server's limit of {limit} "
            f"({self.max_bytes} bytes; server setting --max-request-mb / "
            f"{SERVER_MAX_REQUEST_MB.env_vars[0]}): send less per request.",
            error_type=InvalidArgumentError.__name__,
        )
        await send_json(send, 413, body.model_dump_json().encode(), {"connection": "close"})


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server rejects a malformed one; counting still applies
    return None
