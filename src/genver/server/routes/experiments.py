"""``/api/v1/experiments``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from genver import wire as w
from genver.server.routes import StoreDep, ok, out

router = APIRouter(prefix="/experiments", tags=["experiments"])


@router.post("", response_model=w.ExperimentId, status_code=201)
def create_experiment(body: w.CreateExperiment, store: StoreDep) -> Response:
    exp_id = store.create_experiment(body.name, artifact_location=body.artifact_location, tags=body.tags)
    return out(w.ExperimentId(experiment_id=exp_id), 201)


@router.get("/by-name", response_model=w.MaybeExperiment)
def get_experiment_by_name(name: str, store: StoreDep) -> Response:
    exp = store.get_experiment_by_name(name)
    return out(w.MaybeExperiment(experiment=None if exp is None else w.ExperimentW.of(exp)))


@router.get("", response_model=w.ExperimentPage)
def list_experiments(
    store: StoreDep, filter: str | None = None, page_token: str | None = None, max_results: int = 100
) -> Response:
    """``search`` as a GET, newest first (the experiments page's JSON twin)."""
    page = store.search_experiments(
        filter_string=filter or None,
        max_results=max_results,
        order_by=["creation_time DESC"],
        page_token=page_token or None,
    )
    return out(w.ExperimentPage(experiments=[w.ExperimentW.of(e) for e in page], next_page_token=page.token))


@router.post("/search", response_model=w.ExperimentPage)
def search_experiments(body: w.SearchExperiments, store: StoreDep) -> Response:
    page = store.search_experiments(**body.model_dump())
    return out(w.ExperimentPage(experiments=[w.ExperimentW.of(e) for e in page], next_page_token=page.token))


@router.get("/{experiment_id}", response_model=w.ExperimentW)
def get_experiment(experiment_id: str, store: StoreDep) -> Response:
    return out(w.ExperimentW.of(store.get_experiment(experiment_id)))


@router.patch("/{experiment_id}", status_code=204)
def update_experiment(experiment_id: str, body: w.UpdateExperiment, store: StoreDep) -> Response:
    store.update_experiment(experiment_id, **body.model_dump())
    return ok()
