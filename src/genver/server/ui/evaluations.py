"""The evaluation run page: ``/runs/<run_id>/evaluation?scorer=&only=failed|passed&page_token=``.

One ``genai.evaluate`` run: its versions, dataset, scorers and metrics, then a page of rows
(inputs, outputs, expectations, each scorer's value and rationale or error, a link to the row's
trace), all from ``genver.compare.evaluation``; the JSON twin is
``/api/v1/runs/<run_id>/evaluation`` with the same parameters.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from genver.client import GenverClient
from genver.compare.evaluation import ONLY, evaluation_run
from genver.exceptions import InvalidArgumentError
from genver.server import SERVER_NAME
from genver.server.routes import StoreDep
from genver.server.ui.pages import PAGE_SIZE, render

router = APIRouter(include_in_schema=False)


@router.get("/runs/{run_id}/evaluation", response_class=HTMLResponse)
def evaluation_page(
    request: Request, store: StoreDep, run_id: str, scorer: str = "", only: str = "", page_token: str = ""
) -> Response:
    client = GenverClient(store=store, shown_as=SERVER_NAME)
    run = client.get_run(run_id)  # an unknown run: the 404 page
    params = {"scorer": scorer, "only": only, "page_token": page_token}
    twin = f"/api/v1/runs/{quote(run.info.run_id, safe='')}/evaluation?" + urlencode(
        {**{k: v for k, v in params.items() if v}, "max_results": PAGE_SIZE}
    )
    context: dict[str, Any] = {
        "run": run,
        "experiment": run.info.experiment_id,
        "params": params,
        "only_values": ONLY,
        "shown": shown,
        "error": None,
        "ev": None,
    }
    try:
        context["ev"] = evaluation_run(
            client, run.info.run_id, scorer=scorer, only=only, page_token=page_token, max_results=PAGE_SIZE
        )
    except InvalidArgumentError as exc:  # a bad scorer or filter: said inline, as the API says it
        context["error"] = exc.message
        return render(request, "evaluation.html", context, twin=twin, status=400)
    return render(request, "evaluation.html", context, twin=twin)


def shown(value: Any) -> str:
    """A value as cell text: strings as they are, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
