"""``/api/v1/eval-datasets``: evaluation datasets and their records."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from genver import wire as w
from genver.server.routes import StoreDep, ok, out

router = APIRouter(prefix="/eval-datasets", tags=["eval-datasets"])


@router.post("", response_model=w.EvalDatasetW, status_code=201)
def create_eval_dataset(body: w.CreateEvalDataset, store: StoreDep) -> Response:
    dataset = store.create_eval_dataset(
        name=body.name,
        experiment_id=body.experiment_id,
        records=[r.entity() for r in body.records],
        tags=body.tags,
    )
    return out(w.EvalDatasetW.of(dataset), 201)


@router.post("/search", response_model=w.EvalDatasetPage)
def search_eval_datasets(body: w.SearchEvalDatasets, store: StoreDep) -> Response:
    page = store.search_eval_datasets(**body.model_dump())
    return out(w.EvalDatasetPage(datasets=[w.EvalDatasetW.of(d) for d in page], next_page_token=page.token))


@router.get("/{dataset_id}", response_model=w.EvalDatasetW)
def get_eval_dataset(dataset_id: str, store: StoreDep) -> Response:
    return out(w.EvalDatasetW.of(store.get_eval_dataset(dataset_id)))


@router.put("/{dataset_id}/records", response_model=w.EvalDatasetW)
def add_eval_dataset_records(dataset_id: str, body: w.AddEvalDatasetRecords, store: StoreDep) -> Response:
    dataset = store.add_eval_dataset_records(dataset_id, [r.entity() for r in body.records], merge=body.merge)
    return out(w.EvalDatasetW.of(dataset))


@router.patch("/{dataset_id}/tags", status_code=204)
def set_eval_dataset_tags(dataset_id: str, body: w.EvalDatasetTags, store: StoreDep) -> Response:
    """Upsert tags; a null value deletes that tag."""
    store.set_eval_dataset_tags(dataset_id, body.tags)
    return ok()


@router.delete("/{dataset_id}/tags", status_code=204)
def delete_eval_dataset_tag(dataset_id: str, key: str, store: StoreDep) -> Response:
    """Remove one tag (a key the dataset does not have: nothing to do)."""
    store.delete_eval_dataset_tag(dataset_id, key)
    return ok()


@router.delete("/{dataset_id}", status_code=204)
def delete_eval_dataset(dataset_id: str, store: StoreDep) -> Response:
    store.delete_eval_dataset(dataset_id)
    return ok()
