"""``genver server``: serve a tracking database over HTTP with uvicorn."""

from __future__ import annotations

import copy
import ipaddress
import os
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape

from genver.cli.common import console
from genver.config import (
    RETENTION_INTERVAL,
    RETENTION_KEEP_PER_VERSION,
    RETENTION_OLDER_THAN,
    SERVER_BACKEND_STORE_URI,
    SERVER_MAX_REQUEST_MB,
    SERVER_TOKEN_FILE,
)
from genver.exceptions import GenverError


def server(
    backend_store_uri: Annotated[
        str | None,
        typer.Option(
            help="Database to serve: sqlite:///path.db or postgresql://... "
            "(default: GENVER_TRACKING_URI / MLFLOW_TRACKING_URI, else sqlite:///genver.db)."
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 5000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    token_file: Annotated[
        Path | None,
        typer.Option(
            help="Turn auth on with the tokens in this file, one per line: "
            "'<token> read-write|read-only [name]' (also: GENVER_SERVER_TOKENS='ci=rw:T1,ro:T2'); "
            "the name is who the versions' history says made each change.",
            dir_okay=False,
        ),
    ] = None,
    allow_unauthenticated: Annotated[
        bool,
        typer.Option(
            "--allow-unauthenticated",
            help="Listen on a non-loopback address without tokens: anyone who reaches it can write.",
        ),
    ] = False,
    max_request_mb: Annotated[
        float | None,
        typer.Option(help="Largest request body in MB; larger ones get 413 (default 32)."),
    ] = None,
    retention_older_than: Annotated[
        str | None,
        typer.Option(
            help="Delete traces older than this (30d, 12h) in the background, evaluated ones kept "
            "(also: GENVER_RETENTION_OLDER_THAN)."
        ),
    ] = None,
    retention_keep_per_version: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Background retention keeps each version's newest N traces (also: "
            "GENVER_RETENTION_KEEP_PER_VERSION).",
        ),
    ] = None,
    retention_interval: Annotated[
        str | None,
        typer.Option(help="How often retention runs (default 1h; also: GENVER_RETENTION_INTERVAL)."),
    ] = None,
) -> None:
    """Serve the tracking database over HTTP: web UI at /, REST API under /api/v1, docs at /docs."""
    try:
        import uvicorn

        from genver.server.main import (
            NoDelayHTTPProtocol,
            ServerSettings,
            app_from_env,
            build_app,
            open_backend_store,
        )
    except ImportError as e:  # fastapi / uvicorn are the server extra
        _fail(f"genver server needs the server extra ({e}): pip install 'genver[server]'")
    from genver.store.sql.engine import safe_url

    overrides = {  # the options as settings, so worker processes read the same values
        SERVER_BACKEND_STORE_URI.env_vars[0]: backend_store_uri,
        SERVER_TOKEN_FILE.env_vars[0]: None if token_file is None else str(token_file.resolve()),
        SERVER_MAX_REQUEST_MB.env_vars[0]: None if max_request_mb is None else repr(max_request_mb),
        RETENTION_OLDER_THAN.env_vars[0]: retention_older_than,
        RETENTION_KEEP_PER_VERSION.env_vars[0]: None
        if retention_keep_per_version is None
        else str(retention_keep_per_version),
        RETENTION_INTERVAL.env_vars[0]: retention_interval,
    }
    env = {**os.environ, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        settings = ServerSettings.from_environ(env)
    except GenverError as e:
        _fail(str(e))
    if not settings.tokens and not allow_unauthenticated and not is_loopback(host):
        _fail(
            f"Refusing to serve on {host!r} without auth tokens: anyone who can reach it could read "
            "and change your data. Pass --token-file PATH (or set GENVER_SERVER_TOKENS='rw:TOKEN'), "
            "listen on 127.0.0.1, or pass --allow-unauthenticated if the network is trusted.",
            code=2,
        )
    shown_uri = safe_url(settings.backend_store_uri)
    try:
        store = open_backend_store(settings.backend_store_uri)  # upgrades the schema before serving
    except Exception as e:  # any failure to open is the user's URI or database: no traceback
        _fail(f"cannot open backend store {shown_uri}: {_one_line(e)}")

    where = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    plural = "s" if workers > 1 else ""
    auth = f"{len(settings.tokens)} token(s)" if settings.tokens else "no auth"
    typer.echo(f"genver server listening on {where}, serving {shown_uri} ({workers} worker{plural}, {auth})")
    if settings.retention is not None:
        typer.echo(f"retention: {settings.retention.describe()}")
    _warn_about_tuning(store)
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown; end with exit code 0 instead.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    if workers == 1:
        uvicorn.run(
            build_app(settings, store),
            host=host,
            port=port,
            http=NoDelayHTTPProtocol,
            log_level="info",
            log_config=log_config(),
        )
        return
    store.close()  # each worker opens its own (already upgraded) store
    os.environ.update({k: v for k, v in overrides.items() if v is not None})  # for the workers
    uvicorn.run(
        f"{app_from_env.__module__}:{app_from_env.__name__}",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=NoDelayHTTPProtocol,
        log_level="info",
        log_config=log_config(),  # applied again in each worker process
    )


def ui(
    backend_store_uri: Annotated[
        str | None,
        typer.Option(
            help="Database to show: sqlite:///path.db or postgresql://... "
            "(default: GENVER_TRACKING_URI / MLFLOW_TRACKING_URI, else sqlite:///genver.db)."
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1 only).", min=0, max=65535)] = 5000,
) -> None:
    """Open the web UI for a local store: genver server on 127.0.0.1 (MLflow's `mlflow ui`)."""
    typer.echo(f"genver UI at http://127.0.0.1:{port}/ (versions, traces, comparisons); Ctrl-C stops it.")
    server(
        backend_store_uri=backend_store_uri,
        host="127.0.0.1",
        port=port,
        workers=1,
        token_file=None,
        allow_unauthenticated=False,
        max_request_mb=None,
        retention_older_than=None,
        retention_keep_per_version=None,
        retention_interval=None,
    )


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the server's own INFO lines (the background retention's) through
    the same handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["genver.server"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def _warn_about_tuning(store: object) -> None:
    """Name the PostgreSQL settings that will slow the store down as traces grow (once, at
    start); a store whose settings cannot be read is not worth failing the start for."""
    from genver.store.sql.store import SqlStore
    from genver.store.sql.tuning import postgres_advice

    if not isinstance(store, SqlStore):
        return
    try:
        advice = postgres_advice(store.engine)
    except Exception:  # a hint, never a reason not to serve
        return
    if advice:
        typer.echo(
            "warning: PostgreSQL runs with settings that will slow genver down as traces grow "
            "(README, 'Tuning PostgreSQL'):",
            err=True,
        )
        for item in advice:
            typer.echo(f"  {item}", err=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
