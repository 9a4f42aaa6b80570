"""Bearer tokens: every route of the app walked with no token, a read-only and a read-write token."""

from __future__ import annotations

import contextlib
import functools
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

from genver.entities import LoggedModel
from genver.exceptions import InvalidArgumentError, PermissionDeniedError, UnauthenticatedError
from genver.fluent import Genver
from genver.server.app import create_app
from genver.server.auth import ROUTE_ACCESS, Access, Token, load_tokens, route_access
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore
from tests.server.conftest import TestClient, asgi_client
from tests.store._helpers import all_counts

RW, RO = "rw-" + "a" * 20, "ro-" + "b" * 20
TOKENS = (Token.of(RW, can_write=True, label="writer"), Token.of(RO, can_write=False, label="reader"))


class RecordingStore:
    """The store, noting every call the app makes to it (so a refused request provably made none)."""

    def __init__(self, inner: SqlStore) -> None:
        self._inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attr(*args, **kwargs)

        return call


@pytest.fixture
def recording(sql_store: SqlStore) -> RecordingStore:
    return RecordingStore(sql_store)


@pytest.fixture
def auth_app(recording: RecordingStore) -> FastAPI:
    return create_app(recording, tokens=TOKENS)  # type: ignore[arg-type]


@pytest.fixture
def auth_client(auth_app: FastAPI) -> Iterator[TestClient]:
    with asgi_client(auth_app, raise_server_exceptions=False) as c:
        yield c


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) the app serves, HEAD aside (it follows GET)."""
    # FastAPI >= 0.16x keeps included routers nested; iter_route_contexts flattens them.
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = list(flatten(app.routes)) if flatten else list(app.routes)
    out = set()
    for route in routes:
        for method in getattr(route, "methods", None) or {"GET"}:  # a mount: its GETs
            if method != "HEAD":
                out.add((method, route.path))
    return sorted(out)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "placeholder-1", path)


def send(client: TestClient, method: str, path: str, token: str | None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body = None if method in ("GET", "HEAD") else b"{}"
    if body is not None:
        headers["content-type"] = "application/json"
    return client.request(method, concrete(path), content=body, headers=headers)


def test_every_route_is_classified(app: FastAPI) -> None:
    routes = app_routes(app)
    unclassified = [r for r in routes if r not in ROUTE_ACCESS]
    assert not unclassified, f"add these routes to genver.server.auth.ROUTE_ACCESS: {unclassified}"
    stale = sorted(set(ROUTE_ACCESS) - set(routes))
    assert not stale, f"ROUTE_ACCESS lists routes the app does not have: {stale}"
    assert ROUTE_ACCESS[("GET", "/health")] is Access.PUBLIC
    assert ROUTE_ACCESS[("POST", "/v1/traces")] is Access.WRITE
    assert ROUTE_ACCESS[("POST", "/api/v1/traces/search")] is Access.READ


def test_walk_every_route(
    auth_app: FastAPI, auth_client: TestClient, recording: RecordingStore, sql_store: SqlStore
) -> None:
    routes = app_routes(auth_app)
    assert len(routes) > 30  # the walk really covers the API
    for method, path in routes:
        access = route_access(method, concrete(path))
        where = f"{method} {path}"
        if access is Access.PUBLIC:  # no token needed (a made-up static file is a 404)
            assert send(auth_client, method, path, None).status_code not in (401, 403), where
            continue
        before, calls = all_counts(sql_store), len(recording.calls)
        for token in (None, "not-a-token"):
            resp = send(auth_client, method, path, token)
            assert resp.status_code == 401, (where, resp.text)
            assert resp.headers["www-authenticate"].startswith('Bearer realm="genver"'), where
            assert resp.json()["error_code"] == "UNAUTHENTICATED", where
            assert "GENVER_TRACKING_TOKEN" in resp.json()["message"]
        resp = send(auth_client, method, path, RO)
        if access is Access.WRITE:
            assert resp.status_code == 403, (where, resp.text)
            body = resp.json()
            assert (body["error_code"], body["error_type"]) == ("PERMISSION_DENIED", "PermissionDeniedError")
            assert "'reader'" in body["message"] and RO not in body["message"]
        else:
            assert resp.status_code not in (401, 403), (where, resp.text)
        assert all_counts(sql_store) == before, f"{where}: a refused request wrote"
        if access is Access.WRITE:
            assert len(recording.calls) == calls, f"{where}: a refused request reached the store"
        resp = send(auth_client, method, path, RW)
        assert resp.status_code not in (401, 403), (where, resp.text)


def test_unclassified_requests_fail_closed(auth_client: TestClient) -> None:
    assert route_access("GET", "/api/v1/brand-new") is Access.WRITE
    assert route_access("POST", "/api/v1/experiments/0") is Access.WRITE  # a method the table lacks
    assert route_access("HEAD", "/api/v1/runs/abc") is Access.READ  # HEAD follows GET
    assert send(auth_client, "GET", "/api/v1/brand-new", RO).status_code == 403
    assert send(auth_client, "GET", "/api/v1/brand-new", RW).status_code == 404


def test_docs_need_a_token_when_auth_is_on(auth_client: TestClient) -> None:
    for path in ("/docs", "/openapi.json"):
        assert auth_client.get(path).status_code == 401
        assert auth_client.get(path, headers={"authorization": f"Bearer {RO}"}).status_code == 200
    assert auth_client.get("/health").json() == {"status": "ok"}


def test_auth_is_off_without_tokens(client: TestClient) -> None:
    assert client.post("/api/v1/experiments", json={"name": "open"}).status_code == 201


@contextlib.contextmanager
def running_server(app: FastAPI) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # a readiness bound, not a timing assertion
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def rest(client: TestClient, token: str | None) -> RestStore:
    return RestStore(http_client=client, token=token, sleep=lambda _: None)


def test_rest_store_with_tokens_end_to_end(auth_client: TestClient, sql_store: SqlStore) -> None:
    writer = rest(auth_client, RW)
    exp_id = writer.create_experiment("secured")
    model = writer.create_logged_model(experiment_id=exp_id, name="agent-v1")
    reader = rest(auth_client, RO)
    assert reader.get_logged_model(model.model_id).name == "agent-v1"
    assert [m.model_id for m in reader.search_logged_models(experiment_ids=[exp_id])] == [model.model_id]
    before = all_counts(sql_store)
    with pytest.raises(PermissionDeniedError, match="read-only") as denied:
        reader.create_logged_model(experiment_id=exp_id, name="agent-v2")
    assert not isinstance(denied.value, UnauthenticatedError)
    assert isinstance(denied.value, PermissionError)
    assert denied.value.error_code == "PERMISSION_DENIED"
    assert all_counts(sql_store) == before


def test_rest_store_without_a_token_says_to_set_one(auth_client: TestClient, sql_store: SqlStore) -> None:
    before = all_counts(sql_store)
    with pytest.raises(UnauthenticatedError, match="set GENVER_TRACKING_TOKEN") as missing:
        rest(auth_client, None).create_experiment("nope")
    assert missing.value.error_code == "UNAUTHENTICATED"
    with pytest.raises(UnauthenticatedError, match="not one the server accepts"):
        rest(auth_client, "wrong-token").get_experiment("0")
    assert all_counts(sql_store) == before


def test_fluent_api_sends_the_token_from_its_environ(auth_app: FastAPI, tmp_path: Path) -> None:
    with running_server(auth_app) as url:  # the fluent API opens its own RestStore from the URI
        env = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "MLFLOW_TRACKING_TOKEN": RW}
        gv = Genver(environ=env)
        gv.set_tracking_uri(url)
        model: LoggedModel = gv.create_external_model(name="remote-v1")
        assert gv.get_logged_model(model.model_id).name == "remote-v1"
        gv.client.close()
        anon = Genver(environ={"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool2")})
        anon.set_tracking_uri(url)
        with pytest.raises(UnauthenticatedError, match="GENVER_TRACKING_TOKEN"):
            anon.get_logged_model(model.model_id)
        anon.client.close()


# -- token configuration --------------------------------------------------------------------------
def test_tokens_from_env_and_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("# who may do what\n\nfile-rw read-write CI pipeline\nfile-ro read-only  # dashboards\n")
    tokens = load_tokens(
        {"GENVER_SERVER_TOKENS": "rw:env-rw, ro:env-ro", "GENVER_SERVER_TOKEN_FILE": str(path)}
    )
    assert [(t.label, t.can_write) for t in tokens] == [
        ("GENVER_SERVER_TOKENS[1]", True),
        ("GENVER_SERVER_TOKENS[2]", False),
        ("CI pipeline", True),
        ("tokens:4", False),
    ]
    assert tokens[2].digest == Token.of("file-rw", can_write=True).digest
    assert "file-rw" not in repr(tokens)
    assert load_tokens({}) == ()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GENVER_SERVER_TOKENS": "rx:s3cret"}, "item 1: expected '[name=]rw:TOKEN' or '[name=]ro:TOKEN'"),
        ({"GENVER_SERVER_TOKENS": "s3cret"}, "item 1"),
        ({"GENVER_SERVER_TOKENS": ","}, "holds no tokens"),
        ({"GENVER_SERVER_TOKENS": "rw:s3cret,ro:s3cret"}, "read-write and read-only"),
    ],
)
def test_bad_token_settings_never_echo_the_secret(env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=re.escape(message)) as bad:
        load_tokens(env)
    assert "s3cret" not in str(bad.value)


def test_bad_token_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("s3cret read-mostly\n")
    with pytest.raises(InvalidArgumentError, match="line 1 .* got access 'read-mostly'") as bad:
        load_tokens({"GENVER_SERVER_TOKEN_FILE": str(path)})
    assert "s3cret" not in str(bad.value)
    path.write_text("# only comments\n")
    with pytest.raises(InvalidArgumentError, match="holds no tokens"):
        load_tokens({"GENVER_SERVER_TOKEN_FILE": str(path)})
    with pytest.raises(InvalidArgumentError, match="Cannot read token file"):
        load_tokens({"GENVER_SERVER_TOKEN_FILE": str(tmp_path / "missing")})


@functools.cache
def shared_app() -> FastAPI:
    return create_app(SqlStore("sqlite://"), tokens=TOKENS)


HEADER_VALUES = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    st.builds(
        lambda scheme, token, tail: scheme + token + tail,
        st.sampled_from(["Bearer ", "bearer ", "BEARER  ", "Basic ", "Bearer", "", " Bearer "]),
        st.sampled_from([RW, RO, RW[:-1], RO + "b", RW.upper()]),
        st.sampled_from(["", " ", "x", ",", " extra"]),
    ),
)


@settings(deadline=None)  # the first example builds the shared app (imports the UI's templates)
@given(HEADER_VALUES)
def test_only_a_configured_bearer_token_gets_in(value: str) -> None:
    with asgi_client(shared_app()) as c:
        resp = c.get("/api/v1/experiments/0", headers={"authorization": value})
    scheme, _, credentials = value.strip().partition(" ")
    accepted = scheme.lower() == "bearer" and credentials.strip() in (RW, RO)
    assert resp.status_code == (200 if accepted else 401), (value, resp.text)
