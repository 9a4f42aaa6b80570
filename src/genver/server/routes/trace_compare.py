"""``GET /api/v1/compare/traces?a=&b=``: two traces aligned span by span, computed by
``genver.compare.traces`` over a client on the app's store (the compare-traces page's JSON twin).

The answer is ``TraceComparison.to_dict()`` with a page of rows (each with its input/output
diffs) and ``next_page_token``; ``diff_only`` leaves out the rows that are the same. A sync
route: aligning and diffing is CPU work and runs in the threadpool.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from genver.client import GenverClient
from genver.compare.traces import MAX_ROWS, compare_traces, page_rows
from genver.exceptions import InvalidArgumentError
from genver.server import SERVER_NAME
from genver.server.routes import StoreDep

router = APIRouter(tags=["comparison"])
PAGE_ROWS = 500


@router.get("/compare/traces", response_model=dict[str, Any])
def compare_two_traces(
    store: StoreDep,
    a: Annotated[str, Query(description="The baseline trace id.")],
    b: Annotated[str, Query(description="The trace compared with it.")],
    diff_only: Annotated[bool, Query(description="Leave out rows that are the same.")] = False,
    page_token: Annotated[str | None, Query(description="The previous page's next_page_token.")] = None,
    max_results: Annotated[int, Query(description=f"Rows per page, 1 to {MAX_ROWS}.")] = PAGE_ROWS,
) -> Response:
    """Spans of traces ``a`` and ``b`` aligned by name path and sibling index, with duration,
    token and cost deltas and diffs of inputs and outputs."""
    if not 1 <= max_results <= MAX_ROWS:
        raise InvalidArgumentError(f"Invalid max_results {max_results!r}: expected 1 to {MAX_ROWS}.")
    result = compare_traces(GenverClient(store=store, shown_as=SERVER_NAME), a, b)
    rows, token = page_rows(result.select(diff_only=diff_only), page_token, max_results)
    body = {**result.to_dict(rows), "diff_only": diff_only, "next_page_token": token}
    return Response(json.dumps(body, default=str), media_type="application/json")
