"""``/api/v1/runs``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from genver import wire as w
from genver.server.routes import StoreDep, ok, out

router = APIRouter(prefix="/runs", tags=["runs"])


@router.post("", response_model=w.RunW, status_code=201)
def create_run(body: w.CreateRun, store: StoreDep) -> Response:
    return out(w.RunW.of(store.create_run(**body.model_dump())), 201)


@router.post("/search", response_model=w.RunPage)
def search_runs(body: w.SearchRuns, store: StoreDep) -> Response:
    page = store.search_runs(**body.model_dump())
    return out(w.RunPage(runs=[w.RunW.of(r) for r in page], next_page_token=page.token))


@router.post("/log-batch", status_code=204)
def log_batch(body: w.LogBatch, store: StoreDep) -> Response:
    metrics = [m.entity() for m in body.metrics]
    store.log_batch(body.run_id, metrics=metrics, params=body.params, tags=body.tags)
    return ok()


@router.get("/{run_id}", response_model=w.RunW)
def get_run(run_id: str, store: StoreDep) -> Response:
    return out(w.RunW.of(store.get_run(run_id)))


@router.patch("/{run_id}", response_model=w.RunW)
def update_run(run_id: str, body: w.UpdateRun, store: StoreDep) -> Response:
    return out(w.RunW.of(store.update_run(run_id, **body.model_dump())))


@router.put("/{run_id}/inputs", status_code=204)
def log_inputs(run_id: str, body: w.LogInputs, store: StoreDep) -> Response:
    store.log_inputs(run_id, datasets=[d.entity() for d in body.datasets], model_ids=body.model_ids)
    return ok()
