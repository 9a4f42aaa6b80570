"""``/api/v1/models``: versions (``LoggedModel``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from genver import wire as w
from genver.client import GenverClient
from genver.entities import LoggedModelStatus
from genver.server import SERVER_NAME
from genver.server.routes import StoreDep, experiment_id_of, ok, out
from genver.server.routes.model_stats_order import (
    STAT_ORDER_KEYS,
    search_by_trace_stat,
    split_order,
    stat_order,
)

router = APIRouter(prefix="/models", tags=["versions"])
ORDER_BY_HELP = (
    "One '<field> [ASC|DESC]': name, creation_time, metrics.<key> ..., or a trace statistic "
    f"(genver extension): {', '.join(STAT_ORDER_KEYS)}. Versions without a value come last."
)


@router.post("", response_model=w.LoggedModelW, status_code=201)
def create_logged_model(body: w.CreateLoggedModel, store: StoreDep) -> Response:
    args = body.model_dump()
    args["status"] = LoggedModelStatus.from_value(body.status)
    return out(w.LoggedModelW.of(store.create_logged_model(**args)), 201)


@router.get("/find", response_model=w.MaybeLoggedModel)
def find_logged_model(experiment_id: str, name: str, store: StoreDep) -> Response:
    model = store.find_logged_model(experiment_id=experiment_id, name=name)
    return out(w.MaybeLoggedModel(model=None if model is None else w.LoggedModelW.of(model)))


@router.get("", response_model=w.LoggedModelPage)
def list_logged_models(
    store: StoreDep,
    experiment_id: str = "0",
    filter: str | None = None,
    order_by: Annotated[str | None, Query(description=ORDER_BY_HELP)] = None,
    page_token: str | None = None,
    max_results: int = 100,
) -> Response:
    """``search`` as a GET with the web UI's parameters (each versions page's JSON twin):
    ``order_by`` is one ``"<field> [ASC|DESC]"``, e.g. ``metrics.exact/mean DESC``, or a trace
    statistic such as ``traces.p95_latency_ms DESC`` (a genver extension, ``model_stats_order``)."""
    order = stat_order(order_by)
    if order is not None:
        client = GenverClient(store=store, shown_as=SERVER_NAME)
        page = search_by_trace_stat(
            client,
            experiment_id,
            filter_string=filter,
            order=order,
            max_results=max_results,
            page_token=page_token or None,
        ).models
    else:
        page = store.search_logged_models(
            experiment_ids=[experiment_id],
            filter_string=filter or None,
            max_results=max_results,
            order_by=order_by_param(order_by),
            page_token=page_token or None,
        )
    return out(w.LoggedModelPage(models=[w.LoggedModelW.of(m) for m in page], next_page_token=page.token))


def order_by_param(text: str | None) -> list[dict[str, Any]] | None:
    """``"metrics.exact/mean DESC"`` → ``[{"field_name": "metrics.exact/mean", "ascending": False}]``."""
    split = split_order(text)
    return None if split is None else [{"field_name": split[0], "ascending": split[1]}]


@router.post("/search", response_model=w.LoggedModelPage)
def search_logged_models(body: w.SearchLoggedModels, store: StoreDep) -> Response:
    page = store.search_logged_models(**body.model_dump())
    return out(w.LoggedModelPage(models=[w.LoggedModelW.of(m) for m in page], next_page_token=page.token))


@router.get("/{model_id}", response_model=w.LoggedModelW)
def get_logged_model(
    model_id: str,
    store: StoreDep,
    experiment: Annotated[str, Query(description="For an @alias: its experiment (id, else name).")] = "0",
) -> Response:
    """A version by id, or by ``@alias`` in ``experiment``."""
    if model_id.startswith("@"):
        exp_id = experiment_id_of(store, experiment)
        return out(w.LoggedModelW.of(store.get_logged_model_by_alias(experiment_id=exp_id, alias=model_id)))
    return out(w.LoggedModelW.of(store.get_logged_model(model_id)))


@router.patch("/{model_id}", response_model=w.MaybeLoggedModel)
def update_logged_model(model_id: str, body: w.UpdateLoggedModel, store: StoreDep) -> Response:
    status = None if body.status is None else LoggedModelStatus.from_value(body.status)
    model = store.update_logged_model(
        model_id, status=status, status_message=body.status_message, deleted=body.deleted
    )
    return out(w.MaybeLoggedModel(model=None if model is None else w.LoggedModelW.of(model)))


@router.put("/{model_id}/tags", status_code=204)
def set_logged_model_tags(model_id: str, body: w.Tags, store: StoreDep) -> Response:
    store.set_logged_model_tags(model_id, body.tags)
    return ok()


@router.delete("/{model_id}/tags", status_code=204)
def delete_logged_model_tag(model_id: str, key: str, store: StoreDep) -> Response:
    store.delete_logged_model_tag(model_id, key)
    return ok()


@router.put("/{model_id}/params", status_code=204)
def log_logged_model_params(model_id: str, body: w.Params, store: StoreDep) -> Response:
    store.log_logged_model_params(model_id, body.params)
    return ok()
