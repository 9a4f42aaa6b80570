"""Bearer tokens for the genver server: off unless tokens are configured; read-only or read-write.

With tokens on, every request except ``GET /health`` needs ``Authorization: Bearer <token>``:
none or an unknown one is a 401 (``UnauthenticatedError``), a read-only token on a write route
a 403 (``PermissionDeniedError``). Whether a route writes is not guessed from its method (the
searches are POSTs that only read): every route is listed in ``ROUTE_ACCESS``, and anything not
listed there, including a route added later without an entry, counts as a write (fails closed).

Tokens come from ``GENVER_SERVER_TOKENS`` (``"ci=rw:TOKEN1,ana=ro:TOKEN2"``; the ``name=`` is
optional) and/or a token file, one per line: ``<token> read-write|read-only [name]``, ``#``
starting a comment. They are compared in constant time (as SHA-256 digests, so their lengths do not
leak either) and never logged. A token's name is who the versions' history says made a change
through it (``genver.store.actor``); a token without one is named by where it was configured
(``GENVER_SERVER_TOKENS[2]``, ``tokens.txt:3``). With auth off, the history names who the client
says it is (``X-Genver-Actor``), else ``anonymous``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import unquote, urlencode

from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from genver import wire as w
from genver.config import SERVER_TOKEN_FILE, SERVER_TOKENS
from genver.exceptions import GenverError, InvalidArgumentError, PermissionDeniedError, UnauthenticatedError
from genver.store.actor import ACTOR_HEADER, acting_as
from genver.validation import check_actor
from genver.wire.errors import status_for


class Access(enum.IntEnum):
    """What a route needs, least to most: nothing, any token, a read-write token."""

    PUBLIC = 0
    READ = 1
    WRITE = 2


_R, _W = Access.READ, Access.WRITE
# Every route of the app, by method and path template. A test walks the app's routes and fails
# on any route missing here; a request no entry matches needs a read-write token.
ROUTE_ACCESS: Mapping[tuple[str, str], Access] = {
    ("GET", "/health"): Access.PUBLIC,
    ("GET", "/static/{path:path}"): Access.PUBLIC,
    ("GET", "/login"): Access.PUBLIC,
    ("POST", "/login"): Access.PUBLIC,  # checks the token itself; CSRF-protected
    ("GET", "/logout"): Access.PUBLIC,
    ("POST", "/logout"): Access.PUBLIC,
    ("GET", "/"): _R,
    ("GET", "/experiments"): _R,
    ("GET", "/versions"): _R,
    ("GET", "/versions/{model_id}"): _R,
    ("GET", "/traces"): _R,
    ("GET", "/traces/{trace_id}"): _R,
    ("GET", "/traces/{trace_id}/spans"): _R,
    ("GET", "/traces/{trace_id}/spans/{span_id}/{part}"): _R,
    ("GET", "/compare"): _R,
    ("GET", "/dashboards"): _R,
    ("GET", "/compare/traces"): _R,
    ("GET", "/runs/{run_id}/evaluation"): _R,
    ("GET", "/openapi.json"): _R,
    ("GET", "/docs"): _R,
    ("POST", "/api/v1/experiments"): _W,
    ("GET", "/api/v1/experiments"): _R,
    ("GET", "/api/v1/experiments/by-name"): _R,
    ("POST", "/api/v1/experiments/search"): _R,
    ("GET", "/api/v1/experiments/{experiment_id}"): _R,
    ("PATCH", "/api/v1/experiments/{experiment_id}"): _W,
    ("POST", "/api/v1/runs"): _W,
    ("POST", "/api/v1/runs/search"): _R,
    ("POST", "/api/v1/runs/log-batch"): _W,
    ("GET", "/api/v1/runs/{run_id}"): _R,
    ("PATCH", "/api/v1/runs/{run_id}"): _W,
    ("PUT", "/api/v1/runs/{run_id}/inputs"): _W,
    ("POST", "/api/v1/models"): _W,
    ("GET", "/api/v1/models"): _R,
    ("GET", "/api/v1/models/find"): _R,
    ("POST", "/api/v1/models/search"): _R,
    ("GET", "/api/v1/models/{model_id}"): _R,
    ("PATCH", "/api/v1/models/{model_id}"): _W,
    ("PUT", "/api/v1/models/{model_id}/tags"): _W,
    ("DELETE", "/api/v1/models/{model_id}/tags"): _W,
    ("PUT", "/api/v1/models/{model_id}/params"): _W,
    ("PUT", "/api/v1/models/{model_id}/aliases/{alias}"): _W,
    ("GET", "/api/v1/models/{model_id}/history"): _R,
    ("GET", "/api/v1/aliases"): _R,
    ("GET", "/api/v1/aliases/{alias}"): _R,
    ("DELETE", "/api/v1/aliases/{alias}"): _W,
    ("GET", "/api/v1/aliases/{alias}/history"): _R,
    ("GET", "/api/v1/history"): _R,
    ("GET", "/api/v1/history/head"): _R,
    ("GET", "/api/v1/prompts"): _R,
    ("GET", "/api/v1/prompts/{name}"): _R,
    ("POST", "/api/v1/prompts/{name}/versions"): _W,
    ("GET", "/api/v1/prompts/{name}/versions"): _R,
    ("GET", "/api/v1/prompts/{name}/versions/{version}"): _R,
    ("DELETE", "/api/v1/prompts/{name}/versions/{version}"): _W,
    ("GET", "/api/v1/prompts/{name}/aliases/{alias}"): _R,
    ("PUT", "/api/v1/prompts/{name}/aliases/{alias}"): _W,
    ("DELETE", "/api/v1/prompts/{name}/aliases/{alias}"): _W,
    ("PATCH", "/api/v1/prompts/{name}/tags"): _W,
    ("DELETE", "/api/v1/prompts/{name}/tags/{key}"): _W,
    ("GET", "/api/v1/prompts/{name}/history"): _R,
    ("POST", "/api/v1/models/{model_id}/prompts"): _W,
    ("PUT", "/api/v1/traces"): _W,
    ("GET", "/api/v1/traces"): _R,
    ("POST", "/api/v1/traces/search"): _R,
    ("POST", "/api/v1/traces/delete"): _W,
    ("POST", "/api/v1/traces/stats"): _R,
    ("GET", "/api/v1/traces/{trace_id}"): _R,
    ("PUT", "/api/v1/traces/{trace_id}/tags"): _W,
    ("DELETE", "/api/v1/traces/{trace_id}/tags"): _W,
    ("GET", "/api/v1/traces/{trace_id}/outline"): _R,
    ("GET", "/api/v1/traces/{trace_id}/spans"): _R,
    ("PUT", "/api/v1/assessments"): _W,
    ("POST", "/api/v1/assessments/query"): _R,
    ("PATCH", "/api/v1/assessments/{trace_id}/{assessment_id}"): _W,
    ("DELETE", "/api/v1/assessments/{trace_id}/{assessment_id}"): _W,
    ("POST", "/api/v1/eval-datasets"): _W,
    ("POST", "/api/v1/eval-datasets/search"): _R,
    ("GET", "/api/v1/eval-datasets/{dataset_id}"): _R,
    ("PUT", "/api/v1/eval-datasets/{dataset_id}/records"): _W,
    ("PATCH", "/api/v1/eval-datasets/{dataset_id}/tags"): _W,
    ("DELETE", "/api/v1/eval-datasets/{dataset_id}/tags"): _W,
    ("DELETE", "/api/v1/eval-datasets/{dataset_id}"): _W,
    ("GET", "/api/v1/compare"): _R,
    ("GET", "/api/v1/gate"): _R,
    ("GET", "/api/v1/dashboards"): _R,
    ("GET", "/api/v1/compare/traces"): _R,
    ("GET", "/api/v1/runs/{run_id}/evaluation"): _R,
    ("POST", "/v1/traces"): _W,  # OTLP/HTTP ingest
}
_PATTERNS: tuple[tuple[str, re.Pattern[str], Access], ...] = tuple(
    (method, compile_path(path)[0], access) for (method, path), access in ROUTE_ACCESS.items()
)


def route_access(method: str, path: str) -> Access:
    """What a request needs. Several matching entries: the strictest; none: ``WRITE``."""
    method = "GET" if method == "HEAD" else method
    found = [access for m, regex, access in _PATTERNS if m == method and regex.match(path)]
    return max(found) if found else Access.WRITE


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """One accepted token. The secret is kept only as its digest and never shown; ``label`` is
    its name, which the versions' history records as who made a change with it."""

    digest: bytes = field(repr=False)
    can_write: bool
    label: str = ""

    @classmethod
    def of(cls, secret: str, *, can_write: bool, label: str = "") -> Token:
        return cls(digest=_digest(secret), can_write=can_write, label=label)

    @property
    def name(self) -> str:
        return self.label or "token"


_ACCESS_WORDS = {"rw": True, "read-write": True, "ro": False, "read-only": False}


def parse_tokens(spec: str) -> list[Token]:
    """``"ci=rw:TOKEN1,ro:TOKEN2"`` as tokens (the ``GENVER_SERVER_TOKENS`` format): each item is
    ``[name=]rw|ro:TOKEN``; a token without a name is called ``GENVER_SERVER_TOKENS[<n>]``."""
    var = SERVER_TOKENS.env_vars[0]
    tokens = []
    for n, item in enumerate((i.strip() for i in spec.split(",")), start=1):
        if not item:
            continue
        head, sep, secret = item.partition(":")
        name, has_name, access = head.rpartition("=") if "=" in head else ("", "", head)
        if not sep or access.strip() not in _ACCESS_WORDS or not _valid_secret(secret):
            raise InvalidArgumentError(  # the item itself is a secret: say where, not what
                f"Invalid {var} item {n}: expected '[name=]rw:TOKEN' or '[name=]ro:TOKEN' (a token "
                "without spaces or commas), e.g. 'ci=rw:TOKEN1,ana=ro:TOKEN2'."
            )
        label = _token_name(name, f"{var} item {n}") if has_name else f"{var}[{n}]"
        tokens.append(Token.of(secret, can_write=_ACCESS_WORDS[access.strip()], label=label))
    return tokens


def _token_name(name: str, where: str) -> str:
    try:
        return check_actor(name.strip(), f"token name in {where}")
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"{exc.message} (the name the versions' history records)") from None


def read_token_file(path: str | os.PathLike[str]) -> list[Token]:
    """The tokens of a token file: ``<token> read-write|read-only [name]`` per line (the name,
    which may hold spaces, is who the versions' history records; default ``<file>:<line>``)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidArgumentError(f"Cannot read token file {os.fspath(path)!r}: {e}.") from None
    tokens = []
    for n, line in enumerate(lines, start=1):
        words = line.split("#", 1)[0].split() if not line.lstrip().startswith("#") else []
        if not words:
            continue
        if len(words) < 2 or words[1] not in _ACCESS_WORDS:
            raise InvalidArgumentError(
                f"Invalid line {n} of token file {os.fspath(path)!r}: expected "
                "'<token> read-write|read-only [name]'"
                + (f", got access {words[1]!r}." if len(words) >= 2 else ", got no access level.")
            )
        where = f"line {n} of token file {os.fspath(path)!r}"
        label = _token_name(" ".join(words[2:]), where) if words[2:] else f"{os.path.basename(path)}:{n}"
        tokens.append(Token.of(words[0], can_write=_ACCESS_WORDS[words[1]], label=label))
    if not tokens:
        raise InvalidArgumentError(
            f"Token file {os.fspath(path)!r} holds no tokens: expected lines like 's3cret read-write'."
        )
    return tokens


def load_tokens(environ: Mapping[str, str] | None = None) -> tuple[Token, ...]:
    """The tokens the settings configure (``GENVER_SERVER_TOKENS``, ``GENVER_SERVER_TOKEN_FILE``)."""
    spec, path = SERVER_TOKENS.get(environ), SERVER_TOKEN_FILE.get(environ)
    tokens = (parse_tokens(spec) if spec else []) + (read_token_file(path) if path else [])
    if spec and not tokens:
        raise InvalidArgumentError(f"{SERVER_TOKENS.env_vars[0]} is set but holds no tokens.")
    access: dict[bytes, Token] = {}
    for token in tokens:
        other = access.setdefault(token.digest, token)
        if other.can_write != token.can_write:
            raise InvalidArgumentError(
                f"The same token is configured as read-write and read-only ({other.label!r} and "
                f"{token.label!r}): keep one."
            )
    return tuple(tokens)


#: The web UI's cookie holding a token (set by ``/login``; HttpOnly, SameSite=Strict). It is read
#: for ``GET``/``HEAD`` only: a cookie can never authorize a write, so no page can be made to write.
TOKEN_COOKIE = "genver_token"


def match_token(tokens: Sequence[Token], presented: str) -> Token | None:
    """The configured token ``presented`` is, compared in constant time; None if none."""
    if not presented:
        return None
    digest = _digest(presented)
    found = None
    for token in tokens:  # no early exit: every request costs the same
        if hmac.compare_digest(digest, token.digest):
            found = token
    return found


class TokenAuth:
    """ASGI middleware: checks the bearer token of every HTTP request against ``tokens`` (or, for
    reads of the web UI and the API, the ``genver_token`` cookie ``/login`` sets)."""

    def __init__(self, app: ASGIApp, *, tokens: Sequence[Token]) -> None:
        if not tokens:
            raise InvalidArgumentError("TokenAuth needs at least one token.")
        self.app = app
        self._tokens = tuple(tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websocket routes: refuse rather than pass unchecked
            await send({"type": "websocket.close", "code": 1008})
            return
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        needed = route_access(scope["method"], path)
        if needed is Access.PUBLIC:
            await self.app(scope, receive, send)
            return
        presented = _bearer(scope)
        if presented is None and scope["method"] in ("GET", "HEAD"):
            presented = _cookie(scope, TOKEN_COOKIE)
        token = None if presented is None else self._match(presented)
        error: GenverError | None = None
        if token is None and scope["method"] in ("GET", "HEAD") and _wants_page(scope, path):
            await _redirect(send, "/login?" + urlencode({"next": _full_path(scope, path)}))
            return
        if token is None:
            error = UnauthenticatedError(
                ("Missing" if presented is None else "Unknown")
                + " bearer token: this genver server requires 'Authorization: Bearer <token>' "
                "(clients: set GENVER_TRACKING_TOKEN to a token the server accepts)."
            )
            challenge = 'Bearer realm="genver"' + ("" if presented is None else ', error="invalid_token"')
        elif needed is Access.WRITE and not token.can_write:
            error = PermissionDeniedError(
                f"Read-only token {token.label!r} cannot {scope['method']} {path}: "
                "this needs a read-write token."
            )
            challenge = 'Bearer realm="genver", error="insufficient_scope"'
        if error is None:
            assert token is not None
            with acting_as(token.name):  # the versions' history names the token
                await self.app(scope, receive, send)
            return
        body = w.ErrorBody(
            error_code=error.error_code, message=error.message, error_type=type(error).__name__
        )
        await send_json(
            send, status_for(error), body.model_dump_json().encode(), {"www-authenticate": challenge}
        )

    def _match(self, presented: str) -> Token | None:
        return match_token(self._tokens, presented)


class ClaimedActor:
    """ASGI middleware of a server without auth tokens: changes are recorded in the versions'
    history as made by whoever the client says it is (``X-Genver-Actor``, percent-encoded, as
    ``RestStore`` sends its local user), else ``anonymous``. Nothing checks the claim: that is
    what tokens are for (``TokenAuth`` ignores the header)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        claimed = _header(scope, ACTOR_HEADER.lower().encode())
        try:
            actor = check_actor(unquote(claimed), f"{ACTOR_HEADER} header") if claimed else "anonymous"
        except InvalidArgumentError as error:
            body = w.ErrorBody(
                error_code=error.error_code, message=error.message, error_type=type(error).__name__
            )
            await send_json(send, status_for(error), body.model_dump_json().encode())
            return
        with acting_as(actor):
            await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))  # unquotes what set_cookie quoted
            except CookieError:
                return None
            morsel = jar.get(name)
            return morsel.value if morsel is not None and morsel.value else None
    return None


def _wants_page(scope: Scope, path: str) -> bool:
    """A person's browser asking for a UI page (not the API, not a script)."""
    from genver.server.ui import is_ui_path

    if not is_ui_path(path) or path.startswith("/static/"):
        return False
    for key, value in scope.get("headers", ()):
        if key == b"accept":
            return b"text/html" in value
    return False


def _full_path(scope: Scope, path: str) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    return path + ("?" + query if query else "")


async def _redirect(send: Send, location: str) -> None:
    headers = [(b"location", location.encode("latin-1")), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def send_json(send: Send, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
    """A complete JSON response (used by the middlewares, which answer before the app)."""
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _bearer(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            text: str = value.decode("latin-1")
            scheme, _, credentials = text.strip().partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
            return None
    return None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _valid_secret(secret: str) -> bool:
    return bool(secret) and not any(c.isspace() for c in secret)
