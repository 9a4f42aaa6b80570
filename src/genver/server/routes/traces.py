"""``/api/v1/traces`` (batched ingest, search, tags, statistics) and ``/api/v1/assessments``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from genver import wire as w
from genver.server.routes import StoreDep, ok, out

router = APIRouter(prefix="/traces", tags=["traces"])
assessments = APIRouter(prefix="/assessments", tags=["assessments"])


@router.put("", status_code=204)
def log_traces(body: w.LogTraces, store: StoreDep) -> Response:
    store.log_traces([t.entity() for t in body.traces])
    return ok()


@router.get("", response_model=w.TracePage)
def list_traces(
    store: StoreDep,
    experiment_id: str = "0",
    filter: str | None = None,
    order_by: str | None = None,
    page_token: str | None = None,
    max_results: int = 100,
) -> Response:
    """``search`` as a GET, without spans, with the web UI's parameters (the traces page's JSON
    twin)."""
    page = store.search_traces(
        experiment_ids=[experiment_id],
        filter_string=filter or None,
        max_results=max_results,
        order_by=[order_by] if order_by else None,
        page_token=page_token or None,
        include_spans=False,
    )
    return out(w.TracePage(traces=[w.TraceW.of(t) for t in page], next_page_token=page.token))


@router.post("/search", response_model=w.TracePage)
def search_traces(body: w.SearchTraces, store: StoreDep) -> Response:
    page = store.search_traces(**body.model_dump())
    return out(w.TracePage(traces=[w.TraceW.of(t) for t in page], next_page_token=page.token))


@router.post("/delete", response_model=w.Deleted)
def delete_traces(body: w.DeleteTraces, store: StoreDep) -> Response:
    return out(w.Deleted(deleted=store.delete_traces(**body.model_dump())))


@router.post("/stats", response_model=w.TraceStatsList)
def trace_stats(body: w.TraceStatsQuery, store: StoreDep) -> Response:
    return out(w.TraceStatsList(stats=[w.TraceStatsW.of(s) for s in store.trace_stats(**body.model_dump())]))


@router.get("/{trace_id}", response_model=w.TraceW)
def get_trace(trace_id: str, store: StoreDep) -> Response:
    return out(w.TraceW.of(store.get_trace(trace_id)))


@router.get("/{trace_id}/outline", response_model=w.TraceOutlineW)
def get_trace_outline(trace_id: str, store: StoreDep) -> Response:
    """The trace's info and every span's outline (place, timing, status, tokens, cost) without
    inputs, outputs, attributes or events: a 30,000-span trace's tree in one light read."""
    return out(w.TraceOutlineW.of(store.get_trace_outline(trace_id)))


@router.get("/{trace_id}/spans", response_model=w.SpanList)
def get_spans(
    trace_id: str, store: StoreDep, span_id: Annotated[list[str] | None, Query()] = None
) -> Response:
    """The full spans ``span_id`` (repeated) of the trace, in the order asked."""
    return out(w.SpanList(spans=[s.to_dict() for s in store.get_spans(trace_id, span_id or [])]))


@router.put("/{trace_id}/tags", status_code=204)
def set_trace_tags(trace_id: str, body: w.Tags, store: StoreDep) -> Response:
    store.set_trace_tags(trace_id, body.tags)
    return ok()


@router.delete("/{trace_id}/tags", status_code=204)
def delete_trace_tag(trace_id: str, key: str, store: StoreDep) -> Response:
    store.delete_trace_tag(trace_id, key)
    return ok()


@assessments.put("", status_code=204)
def log_assessments(body: w.LogAssessments, store: StoreDep) -> Response:
    store.log_assessments([a.entity() for a in body.assessments])
    return ok()


@assessments.post("/query", response_model=w.AssessmentList)
def get_assessments(body: w.GetAssessments, store: StoreDep) -> Response:
    found = store.get_assessments(**body.model_dump())
    return out(w.AssessmentList(assessments=[w.AssessmentW.of(a) for a in found]))


@assessments.patch("/{trace_id}/{assessment_id}", response_model=w.AssessmentW)
def update_assessment(
    trace_id: str, assessment_id: str, body: w.UpdateAssessment, store: StoreDep
) -> Response:
    """Change an assessment in place (name, value, error, rationale; metadata merged)."""
    return out(w.AssessmentW.of(store.update_assessment(trace_id, assessment_id, body.entity())))


@assessments.delete("/{trace_id}/{assessment_id}", status_code=204)
def delete_assessment(trace_id: str, assessment_id: str, store: StoreDep) -> Response:
    """Delete an assessment (a no-op when it is already gone); one it overrode is valid again."""
    store.delete_assessment(trace_id, assessment_id)
    return ok()
