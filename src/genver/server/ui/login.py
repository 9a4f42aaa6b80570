"""Asking a person for a token once: ``/login`` sets it as an HttpOnly, SameSite=Strict cookie.

The cookie is accepted for reads only (``GET``/``HEAD``, see ``auth.TokenAuth``), so a page can
never be tricked into writing with it; the login and logout forms carry a double-submit CSRF
token (a random cookie the form must echo).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from genver.server.auth import TOKEN_COOKIE, Token, match_token
from genver.server.ui.pages import render

CSRF_COOKIE = "genver_csrf"
router = APIRouter(include_in_schema=False)


def _tokens(request: Request) -> tuple[Token, ...]:
    tokens: tuple[Token, ...] = getattr(request.app.state, "tokens", ())
    return tokens


def _safe_next(target: str | None) -> str:
    """Only a path on this server (no scheme, no //host): never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(
    request: Request, next_: str, error: str | None, status: int = 200, *, logout: bool = False
) -> Response:
    csrf = secrets.token_urlsafe(24)
    context: dict[str, Any] = {
        "next": next_,
        "csrf": csrf,
        "error": error,
        "auth_on": bool(_tokens(request)),
        "logout": logout,
    }
    response = render(request, "login.html", context, twin=None, status=status)
    _set_cookie(request, response, CSRF_COOKIE, csrf, max_age=3600)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, _safe_next(next), None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token, csrf, next_ = (form.get(k, [""])[0] for k in ("token", "csrf", "next"))
    if not _csrf_ok(request, csrf):
        return _login_page(request, _safe_next(next_), "The form expired: please enter the token again.", 400)
    if match_token(_tokens(request), token.strip()) is None:
        return _login_page(request, _safe_next(next_), "This server does not accept that token.", 400)
    response = RedirectResponse(_safe_next(next_), status_code=303)
    _set_cookie(request, response, TOKEN_COOKIE, token.strip(), max_age=30 * 24 * 3600)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/logout", response_class=HTMLResponse)
def logout_form(request: Request) -> Response:
    return _login_page(request, "/", None, logout=True)


@router.post("/logout", response_class=HTMLResponse)
async def logout(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    if not _csrf_ok(request, form.get("csrf", [""])[0]):
        return _login_page(request, "/", "The form expired: sign out again.", 400, logout=True)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


def _csrf_ok(request: Request, presented: str) -> bool:
    expected = request.cookies.get(CSRF_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected.encode(), presented.encode())
