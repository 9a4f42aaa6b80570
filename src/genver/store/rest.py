"""``RestStore``: the Store interface over HTTP, against a genver server.

The same wire models as the server (``genver.wire``) go both ways, and error bodies map
back to the exception classes the local store raises (``genver.wire.errors``), so code behaves
the same on ``sqlite:///...`` and ``http://host:port``. Comparisons and gates are computed by
the server (``served_comparison``, in ``rest_compare.py``; datasets are in ``rest_datasets.py``,
aliases and history in ``rest_history.py``, prompts in ``rest_prompts.py``).

Idempotent calls (reads, searches, and upserts such as ``log_traces`` or ``set_*_tags``) are
retried with exponential backoff when the server cannot be reached or answers 502/503/504;
other calls are sent once. A server that cannot be reached raises ``StoreUnavailableError``.
The HTTP client is an injectable seam: tests pass ``fastapi.testclient.TestClient(app)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from genver import wire as w
from genver.entities import (
    Assessment,
    Dataset,
    Expectation,
    Experiment,
    Feedback,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    PagedList,
    Run,
    Span,
    Trace,
    TraceOutline,
    TraceStats,
    ViewType,
)
from genver.exceptions import InvalidArgumentError
from genver.store.base import Store
from genver.store.rest_compare import RestComparisons
from genver.store.rest_datasets import RestEvalDatasets
from genver.store.rest_history import RestHistory
from genver.store.rest_prompts import RestPrompts
from genver.store.rest_transport import (
    items_of,
    parse,
    path_id,
    plain,
    request_model,
    sent,
    tag_map,
)
from genver.validation import check_experiment_name, check_params, check_tags


class RestStore(RestEvalDatasets, RestHistory, RestPrompts, RestComparisons, Store):
    """A store served by ``genver server`` at ``base_url`` (or through ``http_client``).

    >>> store = RestStore("http://127.0.0.1:5000")  # doctest: +SKIP
    """

    # -- experiments -----------------------------------------------------------------------------
    def create_experiment(
        self, name: str, *, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        check_experiment_name(name)
        body = request_model(
            w.CreateExperiment, name=name, artifact_location=artifact_location, tags=tag_map(tags)
        )
        return parse(w.ExperimentId, self._call("POST", "/experiments", body, idempotent=False)).experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        data = self._call("GET", f"/experiments/{path_id(experiment_id, 'experiment id')}", idempotent=True)
        return parse(w.ExperimentW, data).entity()

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        params = request_model(w.ByName, name=name).model_dump()
        data = self._call(
            "GET",
            "/experiments/by-name",
            params=params if params is None else check_params(params),
            idempotent=True,
        )
        exp = parse(w.MaybeExperiment, data).experiment
        return None if exp is None else exp.entity()

    def search_experiments(
        self,
        *,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        body = request_model(
            w.SearchExperiments,
            view_type=view_type,
            max_results=max_results,
            filter_string=filter_string,
            order_by=order_by,
            page_token=page_token,
        )
        page = parse(w.ExperimentPage, self._call("POST", "/experiments/search", body, idempotent=True))
        return PagedList([e.entity() for e in page.experiments], page.next_page_token)

    def update_experiment(
        self,
        experiment_id: str,
        *,
        new_name: str | None = None,
        lifecycle_stage: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        if new_name is not None:
            check_experiment_name(new_name)
        body = request_model(
            w.UpdateExperiment, new_name=new_name, lifecycle_stage=lifecycle_stage, tags=tag_map(tags)
        )
        self._call("PATCH", f"/experiments/{path_id(experiment_id, 'experiment id')}", body, idempotent=True)

    # -- runs ------------------------------------------------------------------------------------
    def create_run(
        self,
        *,
        experiment_id: str,
        run_name: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        user_id: str | None = None,
    ) -> Run:
        body = request_model(
            w.CreateRun,
            experiment_id=experiment_id,
            run_name=run_name,
            start_time=start_time,
            tags=tag_map(tags),
            user_id=user_id,
        )
        return parse(w.RunW, self._call("POST", "/runs", body, idempotent=False)).entity()

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> Run:
        body = request_model(
            w.UpdateRun, status=status, end_time=end_time, run_name=run_name, lifecycle_stage=lifecycle_stage
        )
        data = self._call("PATCH", f"/runs/{path_id(run_id, 'run id')}", body, idempotent=True)
        return parse(w.RunW, data).entity()

    def get_run(self, run_id: str) -> Run:
        return parse(
            w.RunW, self._call("GET", f"/runs/{path_id(run_id, 'run id')}", idempotent=True)
        ).entity()

    def search_runs(
        self,
        *,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        body = request_model(
            w.SearchRuns,
            experiment_ids=experiment_ids,
            filter_string=filter_string,
            view_type=view_type,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )
        page = parse(w.RunPage, self._call("POST", "/runs/search", body, idempotent=True))
        return PagedList([r.entity() for r in page.runs], page.next_page_token)

    def log_batch(
        self,
        run_id: str | None,
        *,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        body = request_model(
            w.LogBatch,
            run_id=run_id,
            metrics=items_of(metrics, Metric, "metrics", w.MetricW.of),
            params=params if params is None else check_params(params),
            tags=tag_map(tags),
        )
        self._call("POST", "/runs/log-batch", body, idempotent=False)

    def log_inputs(
        self, run_id: str, *, datasets: Sequence[Dataset] = (), model_ids: Sequence[str] = ()
    ) -> None:
        body = request_model(
            w.LogInputs,
            datasets=items_of(datasets, Dataset, "datasets", w.DatasetW.of),
            model_ids=model_ids,
        )
        self._call("PUT", f"/runs/{path_id(run_id, 'run id')}/inputs", body, idempotent=True)

    # -- versions (LoggedModel) --------------------------------------------------------------------
    def create_logged_model(
        self,
        *,
        experiment_id: str,
        name: str | None = None,
        model_type: str | None = None,
        source_run_id: str | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        status: LoggedModelStatus = LoggedModelStatus.PENDING,
        reuse_latest_by_name: bool = False,
    ) -> LoggedModel:
        body = request_model(
            w.CreateLoggedModel,
            experiment_id=experiment_id,
            name=name,
            model_type=model_type,
            source_run_id=source_run_id,
            params=params if params is None else check_params(params),
            tags=tag_map(tags),
            status=LoggedModelStatus.from_value(status).value,
            reuse_latest_by_name=reuse_latest_by_name,
        )
        return parse(w.LoggedModelW, self._call("POST", "/models", body, idempotent=False)).entity()

    def get_logged_model(self, model_id: str) -> LoggedModel:
        data = self._call("GET", f"/models/{path_id(model_id, 'model id')}", idempotent=True)
        return parse(w.LoggedModelW, data).entity()

    def find_logged_model(self, *, experiment_id: str, name: str) -> LoggedModel | None:
        params = request_model(w.FindLoggedModel, experiment_id=experiment_id, name=name).model_dump()
        data = self._call(
            "GET", "/models/find", params=params if params is None else check_params(params), idempotent=True
        )
        model = parse(w.MaybeLoggedModel, data).model
        return None if model is None else model.entity()

    def update_logged_model(
        self,
        model_id: str,
        *,
        status: LoggedModelStatus | None = None,
        status_message: str | None = None,
        deleted: bool = False,
    ) -> LoggedModel | None:
        wire_status = None if status is None else LoggedModelStatus.from_value(status).value
        body = request_model(
            w.UpdateLoggedModel, status=wire_status, status_message=status_message, deleted=deleted
        )
        data = self._call("PATCH", f"/models/{path_id(model_id, 'model id')}", body, idempotent=True)
        model = parse(w.MaybeLoggedModel, data).model
        return None if model is None else model.entity()

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        self._call(
            "PUT",
            f"/models/{path_id(model_id, 'model id')}/tags",
            request_model(w.Tags, tags=check_tags(tags)),
            idempotent=True,
        )

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self._call(
            "DELETE", f"/models/{path_id(model_id, 'model id')}/tags", params={"key": key}, idempotent=False
        )

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        body = request_model(w.Params, params=check_params(params))
        self._call("PUT", f"/models/{path_id(model_id, 'model id')}/params", body, idempotent=True)

    def search_logged_models(
        self,
        *,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
        max_results: int = 100,
        order_by: Sequence[Mapping[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        body = request_model(
            w.SearchLoggedModels,
            experiment_ids=experiment_ids,
            filter_string=filter_string,
            datasets=plain(datasets),
            max_results=max_results,
            order_by=plain(order_by),
            page_token=page_token,
        )
        page = parse(w.LoggedModelPage, self._call("POST", "/models/search", body, idempotent=True))
        return PagedList([m.entity() for m in page.models], page.next_page_token)

    # -- traces and assessments --------------------------------------------------------------------
    def log_traces(self, traces: Sequence[Trace]) -> None:
        wires = items_of(traces, Trace, "traces", w.TraceW.of)
        sent(
            traces,
            wires,
            "traces",
            lambda: self._call("PUT", "/traces", w.LogTraces(traces=wires), idempotent=True),
        )

    def get_trace(self, trace_id: str) -> Trace:
        data = self._call("GET", f"/traces/{path_id(trace_id, 'trace id')}", idempotent=True)
        return parse(w.TraceW, data).entity()

    def get_trace_outline(self, trace_id: str) -> TraceOutline:
        data = self._call("GET", f"/traces/{path_id(trace_id, 'trace id')}/outline", idempotent=True)
        return parse(w.TraceOutlineW, data).entity()

    def get_spans(self, trace_id: str, span_ids: Sequence[str]) -> list[Span]:
        if isinstance(span_ids, str) or not all(isinstance(i, str) for i in span_ids):
            raise InvalidArgumentError(f"Invalid span_ids {span_ids!r}: expected a list of span id strings.")
        path = f"/traces/{path_id(trace_id, 'trace id')}/spans"
        wanted, spans = list(dict.fromkeys(span_ids)), []
        for i in range(0, max(len(wanted), 1), 100):  # 100 ids per request keep the URL short
            data = self._call("GET", path, params={"span_id": wanted[i : i + 100]}, idempotent=True)
            spans += parse(w.SpanList, data).entities(trace_id)
        return spans

    def search_traces(
        self,
        *,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        include_spans: bool = True,
    ) -> PagedList[Trace]:
        body = request_model(
            w.SearchTraces,
            experiment_ids=experiment_ids,
            filter_string=filter_string,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
            include_spans=include_spans,
        )
        page = parse(w.TracePage, self._call("POST", "/traces/search", body, idempotent=True))
        return PagedList([t.entity() for t in page.traces], page.next_page_token)

    def delete_traces(
        self,
        *,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        body = request_model(
            w.DeleteTraces,
            experiment_id=experiment_id,
            max_timestamp_millis=max_timestamp_millis,
            max_traces=max_traces,
            trace_ids=trace_ids,
        )
        return parse(w.Deleted, self._call("POST", "/traces/delete", body, idempotent=False)).deleted

    def set_trace_tags(self, trace_id: str, tags: Mapping[str, str]) -> None:
        self._call(
            "PUT",
            f"/traces/{path_id(trace_id, 'trace id')}/tags",
            request_model(w.Tags, tags=check_tags(tags)),
            idempotent=True,
        )

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        self._call(
            "DELETE", f"/traces/{path_id(trace_id, 'trace id')}/tags", params={"key": key}, idempotent=False
        )

    def trace_stats(
        self,
        *,
        experiment_ids: Sequence[str] | None = None,
        model_ids: Sequence[str] | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        bucket_ms: int | None = None,
    ) -> list[TraceStats]:
        body = request_model(
            w.TraceStatsQuery,
            experiment_ids=experiment_ids,
            model_ids=model_ids,
            start_time=start_time,
            end_time=end_time,
            bucket_ms=bucket_ms,
        )
        data = self._call("POST", "/traces/stats", body, idempotent=True)
        return [s.entity() for s in parse(w.TraceStatsList, data).stats]

    def log_assessments(self, assessments: Sequence[Assessment]) -> None:
        wires = items_of(assessments, Assessment, "assessments", w.AssessmentW.of)
        body = w.LogAssessments(assessments=wires)
        sent(
            assessments,
            wires,
            "assessments",
            lambda: self._call("PUT", "/assessments", body, idempotent=True),
        )

    def get_assessments(
        self, *, trace_ids: Sequence[str] | None = None, run_id: str | None = None, name: str | None = None
    ) -> list[Assessment]:
        body = request_model(w.GetAssessments, trace_ids=trace_ids, run_id=run_id, name=name)
        data = self._call("POST", "/assessments/query", body, idempotent=True)
        return [a.entity() for a in parse(w.AssessmentList, data).assessments]

    def update_assessment(
        self, trace_id: str, assessment_id: str, update: Feedback | Expectation
    ) -> Assessment:
        path = f"/assessments/{path_id(trace_id, 'trace id')}/{path_id(assessment_id, 'assessment id')}"
        if not isinstance(update, (Feedback, Expectation)):
            raise InvalidArgumentError(
                f"Invalid assessment {update!r}: expected a Feedback or an Expectation with the new values."
            )
        body = request_model(w.UpdateAssessment, **w.UpdateAssessment.of(update).model_dump())
        # the same values twice leave the same assessment (only its update time moves): retried
        data = sent([update], [body], "update", lambda: self._call("PATCH", path, body, idempotent=True))
        return parse(w.AssessmentW, data).entity()

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        path = f"/assessments/{path_id(trace_id, 'trace id')}/{path_id(assessment_id, 'assessment id')}"
        self._call("DELETE", path, idempotent=True)  # deleting what is gone is a no-op
