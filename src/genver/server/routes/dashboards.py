"""``GET /api/v1/dashboards``: the dashboard page's JSON twin, with the page's parameters.

The series come from ``genver.server.ui.dashboard_views`` over a client on the app's store, the
same function the page lays out, so page and twin always agree.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from genver.client import GenverClient
from genver.server import SERVER_NAME
from genver.server.routes import StoreDep
from genver.server.ui.dashboard_views import BUCKETS, MAX_VERSIONS, WINDOWS, dashboard

router = APIRouter(tags=["dashboards"])

Window = Annotated[str, Query(description=f"Time window, one of {', '.join(WINDOWS)}.")]
Bucket = Annotated[str, Query(description=f"Bucket size, one of {', '.join(BUCKETS)}.")]
Versions = Annotated[
    list[str] | None,
    Query(
        description=f"Versions overlaid (model id or name), up to {MAX_VERSIONS}; default: the 2 "
        "most recent versions with traces in the window."
    ),
]
End = Annotated[
    str | None,
    Query(description="End of the window, ms since the epoch; default: now, rounded up to a bucket."),
]
MetricKey = Annotated[str | None, Query(description="A metric key: its latest value per version.")]
Dataset = Annotated[
    str | None, Query(description="Only the metric's values on this dataset (name or digest).")
]


@router.get("/dashboards", response_model=dict[str, Any])
def get_dashboard(
    store: StoreDep,
    experiment: str = "0",
    window: Window = "24h",
    bucket: Bucket = "1h",
    version: Versions = None,
    end: End = None,
    metric: MetricKey = None,
    dataset: Dataset = None,
) -> Response:
    """Per version and time bucket: trace count, error rate, latency p50/p95/p99, tokens and cost
    per request; with ``metric``, that metric's latest value per version in creation order."""
    client = GenverClient(store=store, shown_as=SERVER_NAME)
    view = dashboard(
        client,
        client.get_experiment(experiment),
        window=window,
        bucket=bucket,
        versions=version or [],
        end=end,
        metric=metric,
        dataset=dataset,
        now_ms=int(time.time() * 1000),
    )
    return Response(json.dumps(view.to_dict(), allow_nan=False), media_type="application/json")
