"""The dashboard page: ``/dashboards?experiment=&window=24h|7d|30d&bucket=1h|6h|1d&version=...``
(up to four versions overlaid) ``&metric=<key>`` (one metric across versions).

The route parses the URL, asks ``dashboard_views`` and renders ``dashboard.html``; the charts are
drawn by ``static/dashboard.js`` from the page's JSON island (the twin's body), and every chart
has a table of the same numbers. A bad window, bucket, end or version is said inline (400/404).
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from genver.client import GenverClient
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.server import SERVER_NAME
from genver.server.routes import StoreDep
from genver.server.ui.dashboard_views import BUCKETS, SERIES, WINDOWS, dashboard
from genver.server.ui.pages import render
from genver.wire.errors import status_for

router = APIRouter(include_in_schema=False)


@router.get("/dashboards", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    store: StoreDep,
    experiment: str = "0",
    window: str = "24h",
    bucket: str = "1h",
    version: Annotated[list[str] | None, Query()] = None,
    end: str | None = None,
    metric: str | None = None,
    dataset: str | None = None,
) -> Response:
    client = GenverClient(store=store, shown_as=SERVER_NAME)
    experiment_ = client.get_experiment(experiment)  # unknown: the app's 404 page
    asked = [
        ("experiment", experiment),
        ("window", window),
        ("bucket", bucket),
        *[("version", v) for v in version or []],
        ("end", end or ""),
        ("metric", metric or ""),
        ("dataset", dataset or ""),
    ]
    context: dict[str, Any] = {
        "experiment": experiment_,
        "windows": list(WINDOWS),
        "buckets": list(BUCKETS),
        "series": SERIES,
        "asked": {"window": window, "bucket": bucket, "metric": metric or "", "end": end or ""},
        "error": None,
        "view": None,
        "data": None,
    }
    try:
        view = dashboard(
            client,
            experiment_,
            window=window,
            bucket=bucket,
            versions=version or [],
            end=end,
            metric=metric,
            dataset=dataset,
            now_ms=int(time.time() * 1000),
        )
    except (InvalidArgumentError, NotFoundError) as exc:  # said inline, as the twin says it
        context["error"] = exc.message
        twin = "/api/v1/dashboards?" + urlencode([(k, v) for k, v in asked if v])
        return render(request, "dashboard.html", context, twin=twin, status=status_for(exc))
    query = view.query()
    context.update(
        view=view,
        data=view.to_dict(),  # the twin's body, for dashboard.js (|tojson escapes <, > and &)
        permalink="/dashboards?" + urlencode(query),
        earlier="/dashboards?" + urlencode(_moved(query, view.start_time)),
        later="/dashboards?" + urlencode(_moved(query, view.end_time + (view.end_time - view.start_time))),
        live="/dashboards?" + urlencode([(k, v) for k, v in query if k != "end"]),
    )
    return render(request, "dashboard.html", context, twin="/api/v1/dashboards?" + urlencode(query))


def _moved(query: list[tuple[str, str]], end: int) -> list[tuple[str, str]]:
    return [(k, str(end) if k == "end" else v) for k, v in query]
