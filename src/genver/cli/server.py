"""``genver server``: serve a tracking database over HTTP with uvicorn."""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import Annotated, NoReturn

import typer
from rich.markup import escape

from genver.cli.common import console
from genver.config import SERVER_BACKEND_STORE_URI


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
) -> None:
    """Serve the tracking database over HTTP (REST API under /api/v1, docs at /docs)."""
    try:
        import uvicorn

        from genver.server.main import ServerSettings, app_from_env, build_app, open_backend_store
    except ImportError as e:  # fastapi / uvicorn are the server extra
        _fail(f"genver server needs the server extra ({e}): pip install 'genver[server]'")
    from genver.store.sql.engine import safe_url

    env = dict(os.environ)
    if backend_store_uri:
        env[SERVER_BACKEND_STORE_URI.env_vars[0]] = backend_store_uri
    settings = ServerSettings.from_environ(env)
    shown_uri = safe_url(settings.backend_store_uri)
    try:
        store = open_backend_store(settings.backend_store_uri)  # upgrades the schema before serving
    except Exception as e:  # any failure to open is the user's URI or database: no traceback
        _fail(f"cannot open backend store {shown_uri}: {_one_line(e)}")

    where = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    plural = "s" if workers > 1 else ""
    typer.echo(f"genver server listening on {where}, serving {shown_uri} ({workers} worker{plural})")
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown; end with exit code 0 instead.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    if workers == 1:
        uvicorn.run(build_app(settings, store), host=host, port=port, log_level="info")
        return
    store.close()  # each worker opens its own (already upgraded) store
    os.environ.update({SERVER_BACKEND_STORE_URI.env_vars[0]: settings.backend_store_uri})
    uvicorn.run(
        f"{app_from_env.__module__}:{app_from_env.__name__}",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def _fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
