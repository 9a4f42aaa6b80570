"""``TCP_NODELAY`` on every served connection, ``--workers N`` included (see ``server.main``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from genver.server.main import NoDelayHTTPProtocol, set_nodelay


class _Transport:
    def __init__(self, sock: socket.socket | None) -> None:
        self._sock = sock

    def get_extra_info(self, name: str) -> Any:
        return self._sock if name == "socket" else None


@pytest.fixture
def accepted() -> Iterator[socket.socket]:
    """A server-side TCP connection accepted from a socket created with ``proto`` 0, as uvicorn's
    multi-worker mode creates it (so asyncio leaves Nagle's algorithm on)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()) as _client:
            conn, _ = listener.accept()
            with conn:
                yield conn


def test_set_nodelay_turns_nagle_off_on_a_tcp_connection(accepted: socket.socket) -> None:
    assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
    set_nodelay(_Transport(accepted))
    assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_set_nodelay_leaves_other_sockets_alone() -> None:
    set_nodelay(_Transport(None))
    left, right = socket.socketpair()  # AF_UNIX: no TCP options
    with left, right:
        set_nodelay(_Transport(left))


def test_set_nodelay_ignores_a_closed_socket(accepted: socket.socket) -> None:
    accepted.close()
    set_nodelay(_Transport(accepted))  # must not raise


def test_the_protocol_sets_nodelay_before_serving(
    accepted: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    parent = NoDelayHTTPProtocol.__mro__[1]
    monkeypatch.setattr(
        parent,
        "connection_made",
        lambda self, transport: seen.append(
            transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        ),
    )
    protocol = NoDelayHTTPProtocol.__new__(NoDelayHTTPProtocol)
    protocol.connection_made(_Transport(accepted))
    assert seen and seen[0] != 0
