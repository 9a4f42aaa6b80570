"""The web UI: server-rendered pages (Jinja2) under ``/`` of ``genver server`` and ``genver ui``.

``pages.py`` holds the routes (the trace page's in ``trace_pages.py``, other pages in their own
modules), ``views.py`` / ``trace_views.py`` what each page shows (computed over the client and
``genver.compare``), ``templates/`` the layout only, ``static/`` the CSS, a small script and the
vendored htmx and uPlot (``static/vendor/README.md`` says where they come from).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

#: Paths the UI serves; anything else (``/api``, ``/v1``, ``/docs``) keeps JSON error bodies.
UI_PREFIXES = (
    "/experiments",
    "/versions",
    "/traces",
    "/compare",
    "/static",
    "/login",
    "/logout",
    "/runs",
    "/dashboards",
    "/docs",
)


def mount_ui(app: FastAPI) -> None:
    """Add the pages and ``/static/...`` to ``app``."""
    from genver.server.ui import api_docs, dashboards, evaluations, login, trace_compare, trace_pages
    from genver.server.ui.pages import router

    app.include_router(router)
    app.include_router(trace_pages.router)
    app.include_router(login.router)
    app.include_router(trace_compare.router)
    app.include_router(evaluations.router)
    app.include_router(dashboards.router)
    app.include_router(api_docs.router)


def is_ui_path(path: str) -> bool:
    return path == "/" or any(path == p or path.startswith(p + "/") for p in UI_PREFIXES)
