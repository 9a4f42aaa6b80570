"""Merging a trace's spans into its stored copy, for ``merge_traces`` (OTLP ingest).

An OpenTelemetry SDK exports spans as they end, in batches: the children of one trace may arrive
in one request and the root in a later one, and a retried request sends the same spans again.
``merge_trace`` is pure: spans are upserted by span id, timing spans all of them, and what only
the root knows (state, previews) comes from the copy that holds the root span.
"""

from __future__ import annotations

from genver.entities import Span, Trace, TraceData, TraceInfo
from genver.entities.trace import COST_KEY, TOKEN_USAGE_KEY
from genver.trace_summary import summarize, usage_metadata


def has_root(trace: Trace) -> bool:
    """Whether the trace holds its root span (one without a parent)."""
    return any(s.parent_id is None for s in trace.data.spans)


def merge_trace(old: Trace, new: Trace) -> Trace:
    """``old`` (stored) with the spans and info of ``new`` (just received) added.

    - spans: by span id, ``new``'s copy wins (a resent span is not duplicated);
    - ``request_time`` / ``execution_duration``: from the earliest start to the latest end of all
      spans, in ms;
    - state, previews, client request id: from the copy holding the root span (``new`` when
      both or neither do);
    - metadata and tags: merged, the root's copy winning on a key both have; token usage and
      cost: added up over the merged spans (``trace_summary.summarize``), else kept;
    - the experiment stays the stored one: a trace does not move.
    """
    by_id: dict[str, Span] = {s.span_id: s for s in old.data.spans}
    by_id.update((s.span_id, s) for s in new.data.spans)
    spans = sorted(by_id.values(), key=lambda s: (s.start_time_ns, s.span_id))
    rooted, other = (old, new) if has_root(old) and not has_root(new) else (new, old)
    usage, cost = summarize(spans)
    usage = usage or rooted.info.token_usage or other.info.token_usage
    cost = cost if cost is not None else rooted.info.cost if rooted.info.cost is not None else other.info.cost
    metadata = {**other.info.trace_metadata, **rooted.info.trace_metadata}
    for key in (TOKEN_USAGE_KEY, COST_KEY):
        metadata.pop(key, None)
    metadata.update(usage_metadata(usage, cost))
    info = TraceInfo(
        trace_id=old.info.trace_id,
        experiment_id=old.info.experiment_id,
        request_time=_request_time(spans, old.info),
        execution_duration=_duration(spans),
        state=rooted.info.state,
        request_preview=rooted.info.request_preview,
        response_preview=rooted.info.response_preview,
        client_request_id=rooted.info.client_request_id or other.info.client_request_id,
        trace_metadata=metadata,
        tags={**other.info.tags, **rooted.info.tags},
        token_usage=usage,
        cost=cost,
    )
    return Trace(info, TraceData(spans))


def _request_time(spans: list[Span], fallback: TraceInfo) -> int:
    return spans[0].start_time_ns // 1_000_000 if spans else fallback.request_time


def _duration(spans: list[Span]) -> int | None:
    if not spans:
        return None
    start = spans[0].start_time_ns
    end = max(s.end_time_ns if s.end_time_ns is not None else s.start_time_ns for s in spans)
    return max(end - start, 0) // 1_000_000
