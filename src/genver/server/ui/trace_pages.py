"""The trace page and its fragments: ``/traces/<id>`` (``?span=<id>`` opens the path to a span,
selected), ``/traces/<id>/spans`` (the next rows under a span, for htmx), and
``/traces/<id>/spans/<span>/inputs|outputs`` (a value in full). The JSON twin is
``/api/v1/traces/<id>``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from genver.client import GenverClient
from genver.entities import Trace, TraceInfo
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.server.routes import StoreDep
from genver.server.ui import trace_views
from genver.server.ui.pages import CSP, client_for, render, version_names

router = APIRouter(include_in_schema=False)


@router.get("/traces/{trace_id}", response_class=HTMLResponse)
def trace_page(request: Request, store: StoreDep, trace_id: str, span: str | None = None) -> Response:
    client = client_for(store)
    view = trace_views.trace_view(client, trace_id, span)
    context = {
        "view": view,
        "experiment": client.get_experiment(view.info.experiment_id),
        "names": version_names(client, [Trace(view.info)]),
        "newer": _neighbour(client, view.info, newer=True),
        "older": _neighbour(client, view.info, newer=False),
    }
    return render(request, "trace.html", context, twin=f"/api/v1/traces/{trace_id}")


def _neighbour(client: GenverClient, info: TraceInfo, *, newer: bool) -> str | None:
    """The id of the next newer (or older) trace of the experiment, for ``j``/``k``."""
    op, order = (">", "ASC") if newer else ("<", "DESC")
    found = client.search_traces(
        [info.experiment_id],
        f"attributes.timestamp_ms {op} {int(info.request_time)}",
        1,
        [f"timestamp_ms {order}"],
        include_spans=False,
    )
    return found[0].info.trace_id if found else None


@router.get("/traces/{trace_id}/spans/{span_id}/{part}")
def span_value(store: StoreDep, trace_id: str, span_id: str, part: str) -> Response:
    """A span's inputs or outputs in full, as text (the page shows the first 64 KB)."""
    if part not in ("inputs", "outputs"):
        raise InvalidArgumentError(f"Invalid part {part!r}: expected 'inputs' or 'outputs'.")
    found = client_for(store).get_spans(trace_id, [span_id])
    if not found:
        raise NotFoundError(f"No span {span_id!r} in trace {trace_id!r}.")
    text, _ = trace_views.as_text(getattr(found[0], part), limit=-1)
    return Response(text, media_type="text/plain; charset=utf-8", headers={"Content-Security-Policy": CSP})


@router.get("/traces/{trace_id}/spans", response_class=HTMLResponse)
def span_rows(
    request: Request, store: StoreDep, trace_id: str, parent: str = "", depth: int = 1, offset: int = 0
) -> Response:
    """A fragment: the next span rows under ``parent`` (htmx swaps it in on expand or "more")."""
    tree = trace_views.SpanTree(client_for(store).get_trace_outline(trace_id))
    if parent and parent not in tree.by_id:
        raise NotFoundError(f"No span {parent!r} in trace {trace_id!r}.")
    rows = tree.rows(parent or None, depth, open_path=[], selected=None, offset=max(offset, 0))
    context = {"rows": rows, "trace_id": trace_id}
    return render(request, "_span_rows.html", context, twin=None)
