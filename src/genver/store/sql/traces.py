"""Traces and spans in the SQL store (filled in by the tracing work)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from genver.entities import PagedList, Trace, TraceStats
from genver.store.sql.base import SqlBase


class TracesMixin(SqlBase):
    def log_traces(self, traces: Sequence[Trace]) -> None:
        raise NotImplementedError

    def get_trace(self, trace_id: str) -> Trace:
        raise NotImplementedError

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
        raise NotImplementedError

    def delete_traces(
        self,
        *,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        raise NotImplementedError

    def set_trace_tags(self, trace_id: str, tags: Mapping[str, str]) -> None:
        raise NotImplementedError

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        raise NotImplementedError

    def trace_stats(
        self,
        *,
        experiment_ids: Sequence[str] | None = None,
        model_ids: Sequence[str] | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
    ) -> list[TraceStats]:
        raise NotImplementedError
