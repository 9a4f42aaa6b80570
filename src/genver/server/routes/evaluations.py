"""``GET /api/v1/runs/{run_id}/evaluation``: one evaluation run's rows, computed by
``genver.compare.evaluation`` over a client on the app's store (the evaluation page's JSON twin).

The answer is ``EvaluationRun.to_dict()``: the run, its versions, datasets, scorers and metrics,
and a page of rows (trace, previews, expectations, each scorer's value, rationale or error),
ordered by trace id; ``next_page_token`` continues it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from genver.client import GenverClient
from genver.compare.evaluation import MAX_RESULTS, evaluation_run
from genver.server import SERVER_NAME
from genver.server.routes import StoreDep

router = APIRouter(tags=["evaluations"])


@router.get("/runs/{run_id}/evaluation", response_model=dict[str, Any])
def evaluation(
    store: StoreDep,
    run_id: str,
    scorer: Annotated[str | None, Query(description="Only rows this scorer assessed.")] = None,
    only: Annotated[
        str | None, Query(description="'failed' or 'passed' rows (of `scorer`, else any).")
    ] = None,
    page_token: Annotated[str | None, Query(description="The previous page's next_page_token.")] = None,
    max_results: Annotated[int, Query(description=f"Rows per page, 1 to {MAX_RESULTS}.")] = 50,
) -> Response:
    """A page of the rows of evaluation run ``run_id``, with its datasets, scorers and metrics."""
    client = GenverClient(store=store, shown_as=SERVER_NAME)
    result = evaluation_run(
        client, run_id, scorer=scorer, only=only, page_token=page_token, max_results=max_results
    )
    # NaN (a metric or a score may be one) leaves as the constant, as the wire models send it.
    return Response(json.dumps(result.to_dict(), default=str), media_type="application/json")
