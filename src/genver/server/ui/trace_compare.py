"""The compare-traces page: ``/compare/traces?a=<trace_id>&b=<trace_id>&diff_only=1``.

Spans of two traces aligned by ``genver.compare.traces`` (name path and sibling index), laid out
as rows with duration, token and cost deltas, added/removed spans marked, and collapsed diffs of
inputs and outputs; 500 rows per page. The JSON twin is ``/api/v1/compare/traces`` with the same
parameters. Without both ids the page is a form asking for them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from genver.client import GenverClient
from genver.compare.result import fmt_number
from genver.compare.traces import compare_traces, page_rows
from genver.exceptions import InvalidArgumentError
from genver.server import SERVER_NAME
from genver.server.routes import StoreDep
from genver.server.routes.trace_compare import PAGE_ROWS
from genver.server.ui.pages import render

router = APIRouter(include_in_schema=False)

#: Change → the sign shown before it (the change is never told by colour alone).
MARKS = {"same": "=", "changed": "≠", "added": "+", "removed": "−"}


@router.get("/compare/traces", response_class=HTMLResponse)
def compare_traces_page(
    request: Request, store: StoreDep, a: str = "", b: str = "", diff_only: str = "", page_token: str = ""
) -> Response:
    only = diff_only not in ("", "0", "false")
    params = {"a": a, "b": b, "diff_only": "1" if only else "", "page_token": page_token}
    context: dict[str, Any] = {
        "params": params,
        "marks": MARKS,
        "delta": delta,
        "delta_class": delta_class,
        "cmp": None,
        "rows": (),
        "next_token": None,
        "error": None,
    }
    if not (a and b):
        return render(request, "trace_compare.html", context, twin=None)
    twin = "/api/v1/compare/traces?" + urlencode(
        {**{k: v for k, v in params.items() if v}, "max_results": PAGE_ROWS}
    )
    cmp = compare_traces(GenverClient(store=store, shown_as=SERVER_NAME), a, b)  # unknown id: 404 page
    context.update(cmp=cmp, experiment=cmp.a.experiment_id)
    try:
        rows, token = page_rows(cmp.select(diff_only=only), page_token or None, PAGE_ROWS)
    except InvalidArgumentError as exc:
        context["error"] = exc.message
        return render(request, "trace_compare.html", context, twin=twin, status=400)
    context.update(rows=rows, next_token=token)
    return render(request, "trace_compare.html", context, twin=twin)


def delta(value: float | None) -> str:
    """A delta with its sign (0 without one); empty when either side has no value."""
    if value is None:
        return ""
    return "0" if value == 0 else fmt_number(value, signed=True)


def delta_class(value: float | None) -> str:
    """More time, tokens or cost is worse (the sign says so too)."""
    if value is None or value == 0:
        return ""
    return "worse" if value > 0 else "better"
