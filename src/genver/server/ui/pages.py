"""The web UI's routes: parse the URL, ask ``views`` (over the client and ``genver.compare``),
render a template. Every page names its JSON twin, the ``/api/v1`` call with the same parameters.

Every view is a URL: filters, sort, page token, selected span, compare set and "differences only"
are query parameters, so reload, back/forward and a pasted link restore the view.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from genver.client import GenverClient
from genver.compare import core, examples
from genver.compare.result import GitState, fmt_number, fmt_time
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.server import SERVER_NAME
from genver.server.routes import StoreDep, experiment_id_of
from genver.server.ui import trace_views, views

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
#: UI pages forbid inline script (htmx and genver.js load from /static); inline style attributes
#: are allowed for the server-computed waterfall bars.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_SIZE = 50

templates = Jinja2Templates(directory=HERE / "templates")  # autoescapes .html
templates.env.globals.update(
    fmt_number=fmt_number, fmt_time=fmt_time, chat_messages=trace_views.chat_messages
)
templates.env.filters["qs"] = lambda params: urlencode([(k, v) for k, v in params if v not in (None, "")])
router = APIRouter(include_in_schema=False)


def render(
    request: Request, template: str, context: dict[str, Any], *, twin: str | None, status: int = 200
) -> Response:
    response = templates.TemplateResponse(
        request,
        template,
        {"twin": twin, **context},
        status_code=status,
        headers={"Content-Security-Policy": CSP},
    )
    return response


def client_for(store: Any) -> GenverClient:
    return GenverClient(store=store, shown_as=SERVER_NAME)


_static = StaticFiles(directory=STATIC_DIR)


@router.get("/static/{path:path}")
async def static(request: Request, path: str) -> Response:
    """CSS, genver.js and the vendored htmx/uPlot: public (no secrets), cached for an hour."""
    response = await _static.get_response(path, request.scope)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    """An error as a page (the app's handlers use it for UI paths; the API keeps JSON bodies)."""
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        twin=None,
        status=status,
    )


@router.get("/", response_class=HTMLResponse)
def home() -> Response:
    return RedirectResponse("/experiments", status_code=307)


@router.get("/experiments", response_class=HTMLResponse)
def experiments_page(request: Request, store: StoreDep, page_token: str | None = None) -> Response:
    client = client_for(store)
    page = client.search_experiments(
        max_results=PAGE_SIZE, order_by=["creation_time DESC"], page_token=page_token
    )
    twin = "/api/v1/experiments?" + urlencode(
        {"max_results": PAGE_SIZE, **({"page_token": page_token} if page_token else {})}
    )
    return render(
        request, "experiments.html", {"experiments": list(page), "next_token": page.token}, twin=twin
    )


@router.get("/versions", response_class=HTMLResponse)
def versions_page(
    request: Request,
    store: StoreDep,
    experiment: str = "0",
    filter: str = "",
    order_by: str = "",
    page_token: str = "",
    columns: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """``order_by`` also takes the trace statistics (``traces.p95_latency_ms DESC``, see
    ``routes.model_stats_order``); ``columns`` (comma-separated or repeated, as the Columns
    form sends it) picks the column groups shown."""

    def fill(client: GenverClient, context: dict[str, Any]) -> None:
        context["view"] = views.versions_view(
            client,
            context["experiment"],
            filter_string=filter,
            order_by=order_by,
            page_token=page_token or None,
            max_results=PAGE_SIZE,
            columns=columns or (),
        )

    twin_params = {"filter": filter, "order_by": order_by, "page_token": page_token}
    params = {**twin_params, "columns": ",".join(columns or ())}
    return _list_page(
        request, store, experiment, params, "versions.html", "/api/v1/models", fill, twin_params=twin_params
    )


def _list_page(
    request: Request,
    store: Any,
    experiment: str,
    params: dict[str, str],
    template: str,
    api_path: str,
    fill: Any,
    *,
    twin_params: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """A filterable list of an experiment: ``fill(client, context)`` adds the rows; a bad filter,
    sort or other parameter is said inline (400) in the API's own words. The twin is ``api_path``
    with ``twin_params`` (default: the page's ``params``); ``extra`` joins the context."""
    client = client_for(store)
    listed = params if twin_params is None else twin_params
    twin = f"{api_path}?" + urlencode(
        {"experiment_id": experiment, "max_results": PAGE_SIZE, **{k: v for k, v in listed.items() if v}}
    )
    context: dict[str, Any] = {
        "experiment": client.get_experiment(experiment),
        "params": params,
        "error": None,
        "view": None,
        "traces": [],
        "next_token": None,
        **(extra or {}),
    }
    try:
        fill(client, context)
    except InvalidArgumentError as exc:
        context["error"] = exc.message
        return render(request, template, context, twin=twin, status=400)
    return render(request, template, context, twin=twin)


#: History entries the version page shows (newest first); the JSON twin has them all.
HISTORY_SHOWN = 100


@router.get("/versions/{model_id}", response_class=HTMLResponse)
def version_page(request: Request, store: StoreDep, model_id: str, experiment: str = "0") -> Response:
    """A version by id, or by ``@alias`` in ``experiment`` (an id, else a name)."""
    client = client_for(store)
    if model_id.startswith("@"):
        model = client.get_logged_model_by_alias(experiment_id_of(store, experiment), model_id)
    else:
        model = client.get_logged_model(model_id)
    history = client.get_logged_model_history(
        model.model_id, newest_first=True, max_results=HISTORY_SHOWN + 1
    )
    stats = client.get_trace_stats(model_ids=[model.model_id])
    traces = client.search_traces(
        [model.experiment_id], model_id=model.model_id, max_results=20, include_spans=False
    )
    context = {
        "experiment": client.get_experiment(model.experiment_id),
        "model": model,
        "git": GitState.from_tags(model.tags),
        "stats": stats[0] if stats else None,
        "traces": list(traces),
        "runs": sorted({m.run_id for m in model.metrics or [] if m.run_id}),
        "history": history[:HISTORY_SHOWN],
        "history_more": len(history) > HISTORY_SHOWN,
    }
    return render(request, "version.html", context, twin=f"/api/v1/models/{model.model_id}")


@router.get("/traces", response_class=HTMLResponse)
def traces_page(
    request: Request,
    store: StoreDep,
    experiment: str = "0",
    filter: str = "",
    order_by: str = "",
    page_token: str = "",
    window: str = "",
    since: str = "",
) -> Response:
    """``window`` (1h, 24h, 7d, 30d; empty: all time) is fixed at the first load: the page
    redirects to itself with ``since=<epoch ms>``, so reload, a pasted link, the next page and
    the twin (whose filter is ``timestamp_ms >= <since>`` ANDed with the user's) all see the
    same traces. Searching again starts the window from the new now."""
    bad: InvalidArgumentError | None = None
    try:
        length = views.check_window(window)
        start = views.check_since(since)
        searched = views.windowed_filter(filter, start)
    except InvalidArgumentError as exc:
        length, start, searched, bad = None, None, filter, exc
    if length is not None and start is None:  # a new window: pin its start (a new list, page 1)
        query = {"experiment": experiment, "filter": filter, "order_by": order_by, "window": window}
        query["since"] = str(int(time.time() * 1000) - length)
        return RedirectResponse("/traces?" + urlencode({k: v for k, v in query.items() if v}), 303)

    def fill(client: GenverClient, context: dict[str, Any]) -> None:
        if bad is not None:
            raise bad
        page = client.search_traces(
            [experiment],
            searched or None,
            PAGE_SIZE,
            [order_by] if order_by else None,
            page_token or None,
            include_spans=False,
        )
        context.update(traces=list(page), next_token=page.token, names=version_names(client, page))

    params = {
        "filter": filter,
        "order_by": order_by,
        "window": window,
        "since": since,
        "page_token": page_token,
    }
    twin_params = {"filter": searched, "order_by": order_by, "page_token": page_token}
    return _list_page(
        request,
        store,
        experiment,
        params,
        "traces.html",
        "/api/v1/traces",
        fill,
        twin_params=twin_params,
        extra={"windows": views.WINDOWS, "since_ms": start},
    )


def version_names(client: GenverClient, traces: Any) -> dict[str, str]:
    """Version names for the traces' model ids (a person reads names; ids are the links)."""
    names: dict[str, str] = {}
    for model_id in {t.info.model_id for t in traces if t.info.model_id}:
        try:
            names[model_id] = client.get_logged_model(model_id).name
        except NotFoundError:  # a deleted version: the id is all there is
            names[model_id] = model_id
    return names


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    store: StoreDep,
    version: Annotated[list[str] | None, Query()] = None,
    experiment: str = "0",
    diff_only: bool = False,
    tab: str = "summary",
    metric: str = "",
    only: str = "",
    page_token: str = "",
) -> Response:
    """Versions side by side; the first ``version`` is the baseline. ``tab=examples`` lists one
    metric record by record (baseline against the first candidate), ``only=regressions`` those
    that got worse, each opening its two traces side by side, a page at a time."""
    refs = version or []
    twin = "/api/v1/compare?" + urlencode(
        [
            ("baseline", refs[0] if refs else ""),
            *[("candidate", r) for r in refs[1:]],
            ("experiment", experiment),
        ]
    )
    context: dict[str, Any] = {
        "refs": refs,
        "experiment": experiment,
        "diff_only": diff_only,
        "tab": "examples" if tab == "examples" else "summary",
        "metric": metric,
        "only": only,
        "examples": None,
        "error": None,
        "c": None,
    }
    client = client_for(store)
    try:
        c = context["c"] = core.compare_models(client, *refs, experiment_id=experiment, code_diffs=False)
        if context["tab"] == "examples":
            chosen = metric or next((r.key for r in c.metrics if r.run_ids and any(r.bootstrap)), "")
            chosen = chosen or next((r.key for r in c.metrics if r.run_ids), "")
            context["metric"] = chosen
            found = examples.only(examples.paired_examples(client, c, chosen), only)
            context["examples"] = examples.page(client, c, found, page_token=page_token or None)
    except (InvalidArgumentError, NotFoundError) as exc:
        context["error"] = exc.message
        return render(request, "compare.html", context, twin=twin, status=400)
    return render(request, "compare.html", context, twin=twin)
