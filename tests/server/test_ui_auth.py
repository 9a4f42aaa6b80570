"""With server tokens on, a person's browser is asked for a token once: ``/login`` keeps it in an
HttpOnly, SameSite=Strict cookie that authorizes reads only, behind a double-submit CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from genver.server.app import create_app
from genver.server.auth import TOKEN_COOKIE, Token
from genver.store.sql.store import SqlStore
from tests.server.conftest import asgi_client

RO, RW = "ro-" + "a" * 24, "rw-" + "b" * 24
HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def browser(sql_store: SqlStore) -> Iterator[TestClient]:
    tokens = (Token.of(RO, can_write=False, label="reader"), Token.of(RW, can_write=True, label="writer"))
    with asgi_client(create_app(sql_store, tokens=tokens), raise_server_exceptions=False) as c:
        yield c


def _login(browser: TestClient, token: str, next_: str = "/versions?experiment=0") -> object:
    form = browser.get("/login", params={"next": next_}, headers=HTML)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert form.status_code == 200 and csrf is not None
    return browser.post(
        "/login",
        content=f"token={token}&csrf={csrf.group(1)}&next={next_.replace('?', '%3F').replace('=', '%3D')}",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def test_a_page_without_a_token_asks_for_one_and_returns_to_it(browser: TestClient) -> None:
    page = browser.get("/versions?experiment=0", headers=HTML, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=%2Fversions")
    api = browser.get("/api/v1/models?experiment_id=0", headers={"accept": "application/json"})
    assert api.status_code == 401  # the API keeps answering machines with 401

    done = _login(browser, RO)
    assert done.status_code == 303 and done.headers["location"] == "/versions?experiment=0"  # type: ignore[attr-defined]
    cookie = done.headers["set-cookie"]  # type: ignore[attr-defined]
    assert (
        TOKEN_COOKIE in cookie
        and "HttpOnly" in cookie
        and "SameSite=strict" in cookie.replace("Strict", "strict")
    )
    assert browser.get("/versions?experiment=0", headers=HTML).status_code == 200
    assert browser.get("/api/v1/models?experiment_id=0").status_code == 200  # the JSON twin opens too


def test_the_cookie_never_writes_even_a_read_write_token(browser: TestClient) -> None:
    _login(browser, RW)
    assert browser.get("/experiments", headers=HTML).status_code == 200
    write = browser.post("/api/v1/experiments", json={"name": "sneaky"})
    assert write.status_code == 401  # cookies authorize GET and HEAD only
    assert browser.get("/api/v1/experiments/by-name", params={"name": "sneaky"}).json()["experiment"] is None


def test_a_wrong_token_or_a_missing_csrf_token_is_refused(browser: TestClient) -> None:
    wrong = _login(browser, "not-a-token")
    assert wrong.status_code == 400 and "does not accept" in wrong.text  # type: ignore[attr-defined]
    assert TOKEN_COOKIE not in wrong.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    browser.cookies.clear()
    forged = browser.post(
        "/login",
        content=f"token={RO}&csrf=guessed&next=/",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert forged.status_code == 400 and TOKEN_COOKIE not in forged.headers.get("set-cookie", "")


def test_login_never_redirects_off_the_server(browser: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil"):
        done = _login(browser, RO, target)
        assert done.headers["location"] == "/", target  # type: ignore[attr-defined]


def test_sign_out_clears_the_cookie(browser: TestClient) -> None:
    _login(browser, RO)
    form = browser.get("/logout", headers=HTML)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    out = browser.post(
        "/logout",
        content=f"csrf={csrf.group(1)}",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert out.status_code == 303
    assert browser.get("/experiments", headers=HTML, follow_redirects=False).status_code == 303
