"""The app ``genver server`` runs: settings read from the environment, the store opened from them.

``uvicorn`` needs an import string to start several worker processes, so each worker calls
``app_from_env()`` (``uvicorn.run("genver.server.main:app_from_env", factory=True, ...)``); the
``genver server`` command passes its options to the workers through the settings below.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from genver.config import DEFAULT_TRACKING_URI, SERVER_BACKEND_STORE_URI, SERVER_MAX_REQUEST_MB, TRACKING_URI
from genver.exceptions import InvalidArgumentError
from genver.server.app import create_app
from genver.server.auth import Token, load_tokens
from genver.server.limits import DEFAULT_MAX_REQUEST_BYTES, max_request_bytes
from genver.server.retention import RetentionSchedule
from genver.store import store_for_uri
from genver.store.base import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSettings:
    """What a server process needs: the database it serves, its tokens, its request limit, its
    retention schedule (None: traces are kept)."""

    backend_store_uri: str
    tokens: tuple[Token, ...] = ()
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    retention: RetentionSchedule | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Read (and check) every server setting; a bad one raises ``InvalidArgumentError``."""
        env = os.environ if environ is None else environ
        uri = SERVER_BACKEND_STORE_URI.get(env) or TRACKING_URI.get(env) or DEFAULT_TRACKING_URI
        return cls(
            backend_store_uri=uri,
            tokens=load_tokens(env),
            max_request_bytes=max_request_bytes(SERVER_MAX_REQUEST_MB.get_float(env)),
            retention=RetentionSchedule.from_environ(env),
        )


def open_backend_store(uri: str) -> Store:
    """The database the server serves, opened (and upgraded to the newest schema, under a lock).

    A genver server serves a database, not another server: an ``http(s)://`` URI is refused.
    """
    scheme = uri.split(":", 1)[0].lower()
    if not (scheme.startswith("sqlite") or scheme.startswith("postgres")):
        raise InvalidArgumentError(
            f"Invalid backend store URI {uri!r}: expected sqlite:///path/to/file.db or "
            "postgresql://user@host:port/db."
        )
    return store_for_uri(uri)


def build_app(settings: ServerSettings, store: Store) -> FastAPI:
    """The app serving ``store`` with the settings' options."""
    return create_app(
        store,
        tokens=settings.tokens,
        max_request_bytes=settings.max_request_bytes,
        retention=settings.retention,
    )


def app_from_env() -> FastAPI:
    """The app factory each ``uvicorn`` worker calls: settings from ``os.environ``."""
    settings = ServerSettings.from_environ()
    return build_app(settings, open_backend_store(settings.backend_store_uri))


def set_nodelay(transport: Any) -> None:
    """Turn off Nagle's algorithm on a connection's TCP socket (no-op for other sockets).

    uvicorn's multi-worker mode binds a socket whose ``proto`` is 0, so asyncio does not set
    ``TCP_NODELAY`` on accepted connections; a response written in two sends then waits for the
    client's delayed ACK, ~40 ms per keep-alive request (uvicorn issue #3149).
    """
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):  # a socket already closed: nothing to tune
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol with ``TCP_NODELAY`` on every connection (``--workers N`` too)."""

    def connection_made(self, transport: Any) -> None:
        set_nodelay(transport)
        super().connection_made(transport)
