"""``create_app(store)``: the genver REST API over any ``Store``.

The app keeps no state of its own beyond the store it is given, so several replicas can serve one
database. Errors leave as ``wire.ErrorBody`` with the status from ``wire.errors.STATUS_BY_ERROR``;
a body that fails validation is a 400 naming the field (FastAPI's default would be 422).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import reprlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from genver import wire as w
from genver.exceptions import GenverError
from genver.server.auth import ClaimedActor, Token, TokenAuth
from genver.server.limits import DEFAULT_MAX_REQUEST_BYTES, BodySizeLimit
from genver.server.retention import RetentionSchedule, RetentionWorker
from genver.server.routes import (
    compare,
    dashboards,
    datasets,
    evaluations,
    experiments,
    history,
    models,
    otlp,
    prompts,
    runs,
    trace_compare,
    traces,
)
from genver.server.ui import is_ui_path, mount_ui
from genver.store.base import Store
from genver.wire.errors import STATUS_BY_ERROR, status_for

API_PREFIX = "/api/v1"
_log = logging.getLogger(__name__)
# Every route may answer with an error body; the OpenAPI schema says so (and drops FastAPI's 422,
# which this app never sends: a body that fails validation is a 400).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": w.ErrorBody, "description": f"{cls.__name__} (error body)"}
    for cls, status in sorted(STATUS_BY_ERROR, key=lambda row: row[1])
}


def create_app(
    store: Store,
    *,
    tokens: Sequence[Token] = (),
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    retention: RetentionSchedule | None = None,
) -> FastAPI:
    """A FastAPI app serving ``store`` under ``/api/v1``, with ``GET /health`` and docs at ``/docs``.

    With ``tokens`` (``auth.Token``), every request but ``GET /health`` needs one of them as a
    bearer token; request bodies above ``max_request_bytes`` get 413. With ``retention``, a
    background thread prunes the store's traces by that schedule while the app runs.

    >>> from genver.store.sql.store import SqlStore
    >>> app = create_app(SqlStore("sqlite://"))
    """
    app = FastAPI(
        title="genver",
        version="1",
        docs_url=None,  # /docs is ui/api_docs.py: server-rendered, no CDN
        redoc_url=None,
        openapi_url="/openapi.json",
        responses=ERROR_RESPONSES,
        lifespan=functools.partial(_lifespan, store=store, retention=retention),
    )
    app.state.store = store
    app.state.tokens = tuple(tokens)  # /login checks a person's token against them
    for router in (
        experiments.router,
        runs.router,
        models.router,
        history.router,
        prompts.router,
        traces.router,
        traces.assessments,
        datasets.router,
        compare.router,
        trace_compare.router,
        evaluations.router,
        dashboards.router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(otlp.router)  # POST /v1/traces: the standard OTLP/HTTP path
    mount_ui(app)  # the web UI's pages under /, with /static

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_exception_handler(GenverError, _genver_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)
    app.openapi = functools.partial(_openapi_without_422, app, app.openapi)  # type: ignore[method-assign]
    app.add_middleware(BodySizeLimit, max_bytes=max_request_bytes)
    if tokens:  # added last, so it runs first: no body is read for a request without a token
        app.add_middleware(TokenAuth, tokens=tokens)  # names the token as the actor of changes
    else:
        app.add_middleware(ClaimedActor)  # no tokens: the actor the client claims
    return app


@contextlib.asynccontextmanager
async def _lifespan(
    app: FastAPI, *, store: Store, retention: RetentionSchedule | None
) -> AsyncIterator[None]:
    """Start the background retention with the app, stop it at shutdown."""
    worker = None
    if retention is not None:
        if hasattr(store, "prune_traces"):
            worker = RetentionWorker(store, retention)
            worker.start()
        else:
            _log.warning("retention is configured, but %r cannot prune traces: not applied", store)
    app.state.retention = worker
    try:
        yield
    finally:
        if worker is not None:
            await asyncio.to_thread(worker.stop)


def _openapi_without_422(app: FastAPI, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = build()  # FastAPI keeps it in app.openapi_schema: edited once, in place
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)
    return schema


def _body(status: int, error_code: str, message: str, error_type: str) -> Response:
    err = w.ErrorBody(error_code=error_code, message=message, error_type=error_type)
    return Response(err.model_dump_json(), status_code=status, media_type="application/json")


def _genver_error(request: Request, error: GenverError) -> Response:
    if is_ui_path(request.url.path):
        from genver.server.ui.pages import error_page

        title = "Not found" if status_for(error) == 404 else "Cannot show this"
        return error_page(request, status_for(error), title, error.message)
    return _body(status_for(error), error.error_code, error.message, type(error).__name__)


def _validation_error(request: Request, error: RequestValidationError) -> Response:
    first = error.errors()[0] if error.errors() else {}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if first.get("type") == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "invalid JSON")
        message = f"Malformed JSON request body at character {'.'.join(loc) or 0}: {detail}."
    else:
        field = ".".join(loc) or "body"
        given = ""
        if loc[:1] in (["query"], ["path"]) and first.get("type") != "missing":
            given = f" = {reprlib.repr(first.get('input'))}"  # a URL parameter: named (reprlib shortens it)
        message = f"Invalid request field {field!r}{given}: {first.get('msg', 'invalid value')}."
    if len(error.errors()) > 1:
        message += f" ({len(error.errors()) - 1} more error(s))"
    return _body(400, "INVALID_PARAMETER_VALUE", message, "InvalidArgumentError")


def _http_error(request: Request, error: HTTPException) -> Response:
    """Routing errors (no such path, method not allowed) in the same error body as the rest."""
    codes = {404: "ENDPOINT_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    message = f"{request.method} {request.url.path}: {error.detail}."
    if is_ui_path(request.url.path) and not request.url.path.startswith("/static/"):
        from genver.server.ui.pages import error_page

        return error_page(request, error.status_code, str(error.detail), message)
    response = _body(error.status_code, codes.get(error.status_code, "BAD_REQUEST"), message, "GenverError")
    for key, value in (error.headers or {}).items():
        response.headers[key] = value
    return response


def _unexpected_error(request: Request, error: Exception) -> Response:
    _log.exception("Unhandled error serving %s %s", request.method, request.url.path)
    message = f"Internal server error: {type(error).__name__}."
    return _body(500, "INTERNAL_ERROR", message, "StoreError")
