"""Judges of retrieval, under MLflow 3's names: ``RetrievalGroundedness``, ``RetrievalRelevance``,
``RetrievalSufficiency``. They read the documents that the trace's RETRIEVER spans returned.

A RETRIEVER span's outputs are a list of documents: ``genver.entities.Document`` (stored as
``{"page_content", "metadata", "id"}``), dicts with ``content`` or ``text``, or plain strings.
As in MLflow, only top-level RETRIEVER spans count (one nested in another RETRIEVER is its detail).

MLflow emits one feedback per retriever span (and, for relevance, one per document). genver
keeps one feedback per row and scorer, so that rows pair across versions: with several retriever
spans, groundedness and sufficiency are "yes" only when every span's documents pass, and the
rationale gives each span's verdict; relevance is the share of relevant documents (MLflow's
``retrieval_relevance/precision``), each document's verdict in the rationale.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from genver.entities import Document, Feedback, Span, SpanType, Trace
from genver.genai.scorers.builtin import EXPECTED_RESPONSE, MissingExpectationError, MissingTraceError
from genver.genai.scorers.builtin_judges import EXPECTED_FACTS
from genver.genai.scorers.judges import Judge, from_trace, reply_format, request_text, response_text, show

__all__ = [
    "MissingSpanError",
    "RetrievalGroundedness",
    "RetrievalRelevance",
    "RetrievalSufficiency",
    "retrieved_documents",
]

_CONTENT_KEYS = ("page_content", "content", "text")
_GRADER = "You are an impartial grader. Do not use knowledge beyond the documents."


class MissingSpanError(MissingTraceError):
    """The trace has no span of the type the scorer reads (a retrieval judge and no RETRIEVER
    span)."""

    default_error_code = "MISSING_SPAN"


class RetrievalGroundedness(Judge):
    """Is every statement of the response supported by the retrieved documents (no
    hallucination)?"""

    default_name = "retrieval_groundedness"

    def __call__(self, *, trace: Any = None) -> Feedback:  # type: ignore[override]
        spans = _retrievals(trace, self.name)
        request, response, _ = from_trace(trace)
        verdicts = [
            (
                span,
                self.judge(
                    f"{_GRADER} Decide whether every statement of the response is supported by the "
                    "documents. Answer no if any statement is not supported by them.\n\n"
                    f"Request:\n{request_text(request)}\n\nResponse:\n{response_text(response)}\n\n"
                    f"Documents:\n{_documents_text(docs)}\n\n{reply_format()}"
                ),
            )
            for span, docs in spans
        ]
        return _all_yes(self, verdicts)


class RetrievalSufficiency(Judge):
    """Do the retrieved documents hold everything needed to give the expected response
    (``expectations["expected_response"]`` or ``["expected_facts"]``)?"""

    default_name = "retrieval_sufficiency"

    def __call__(self, *, trace: Any = None, expectations: Any = None) -> Feedback:  # type: ignore[override]
        spans = _retrievals(trace, self.name)
        request, _, exp = from_trace(trace, expectations=expectations)
        if exp.get(EXPECTED_RESPONSE) is not None:
            expected = f"Expected response:\n{show(exp[EXPECTED_RESPONSE])}"
        elif exp.get(EXPECTED_FACTS) is not None:
            facts = exp[EXPECTED_FACTS]
            facts = facts if isinstance(facts, list) else [facts]
            expected = "Expected facts:\n" + "\n".join(f"- {show(f)}" for f in facts)
        else:
            raise MissingExpectationError(
                f"{self.name} needs expectations['{EXPECTED_RESPONSE}'] or ['{EXPECTED_FACTS}']; "
                f"the row has {sorted(exp)!r}"
            )
        verdicts = [
            (
                span,
                self.judge(
                    f"{_GRADER} Decide whether the documents contain all the information needed to "
                    "give the expected response to the request. Answer no if any part of it cannot "
                    "be supported by the documents.\n\n"
                    f"Request:\n{request_text(request)}\n\n{expected}\n\n"
                    f"Documents:\n{_documents_text(docs)}\n\n{reply_format()}"
                ),
            )
            for span, docs in spans
        ]
        return _all_yes(self, verdicts)


class RetrievalRelevance(Judge):
    """The share of retrieved documents relevant to the request (one judge call per document)."""

    default_name = "retrieval_relevance"

    def __call__(self, *, trace: Any = None) -> Feedback:  # type: ignore[override]
        spans = _retrievals(trace, self.name)
        request, _, _ = from_trace(trace)
        lines: list[str] = []
        relevant = total = 0
        for span, docs in spans:
            for i, doc in enumerate(docs):
                fb = self.judge(
                    f"{_GRADER} Decide whether the document holds information that is relevant, fully "
                    "or in part, to the request (whether it is correct or complete does not matter).\n\n"
                    f"Request:\n{request_text(request)}\n\nDocument:\n{doc.page_content}\n\n{reply_format()}"
                )
                total += 1
                relevant += fb.value == "yes"
                label = f"{span.name} document {i}" + (f" ({doc.id})" if doc.id else "")
                lines.append(f"{label}: {fb.value}" + (f" - {fb.rationale}" if fb.rationale else ""))
        span_id = spans[0][0].span_id if len(spans) == 1 else None
        if total == 0:
            return self.feedback(None, "the retriever returned no documents", span_id=span_id)
        return self.feedback(
            relevant / total,
            f"{relevant} of {total} documents are relevant.\n" + "\n".join(lines),
            span_id=span_id,
        )


def retrieved_documents(trace: Trace) -> list[tuple[Span, list[Document]]]:
    """The documents each top-level RETRIEVER span of ``trace`` returned, in start order."""
    by_id = {s.span_id: s for s in trace.data.spans}
    out: list[tuple[Span, list[Document]]] = []
    for span in sorted(trace.search_spans(span_type=SpanType.RETRIEVER), key=lambda s: s.start_time_ns):
        parent = by_id.get(span.parent_id) if span.parent_id else None
        seen: set[str] = set()
        while parent is not None and parent.span_type != SpanType.RETRIEVER and parent.span_id not in seen:
            seen.add(parent.span_id)
            parent = by_id.get(parent.parent_id) if parent.parent_id else None
        if parent is None or parent.span_type != SpanType.RETRIEVER:
            out.append((span, _documents(span.outputs)))
    return out


def _retrievals(trace: Any, scorer: str) -> list[tuple[Span, list[Document]]]:
    if not isinstance(trace, Trace):
        raise MissingTraceError(
            f"{scorer} reads the retrieved documents from the trace, and this row has none"
        )
    spans = retrieved_documents(trace)
    if not spans:
        raise MissingSpanError(
            f"{scorer} reads the retrieved documents from RETRIEVER spans, and trace "
            f"{trace.info.trace_id} has none (start_span(..., span_type='RETRIEVER') around retrieval)"
        )
    return spans


def _documents(outputs: Any) -> list[Document]:
    if isinstance(outputs, str):
        try:
            outputs = json.loads(outputs)
        except ValueError:
            return [Document(page_content=outputs)]
    if isinstance(outputs, (Document, Mapping)):
        outputs = [outputs]
    if not isinstance(outputs, list):
        return []
    docs: list[Document] = []
    for item in outputs:
        if isinstance(item, Document):
            docs.append(item)
        elif isinstance(item, str):
            docs.append(Document(page_content=item))
        elif isinstance(item, Mapping):
            key = next((k for k in _CONTENT_KEYS if isinstance(item.get(k), str)), None)
            if key is None:
                continue  # metadata only: nothing to judge
            metadata = item.get("metadata")
            doc_id = item.get("id")
            docs.append(
                Document(
                    page_content=item[key],
                    metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
                    id=str(doc_id) if doc_id is not None else None,
                )
            )
    return docs


def _documents_text(docs: list[Document]) -> str:
    if not docs:
        return "(no documents)"
    parts = []
    for i, doc in enumerate(docs):
        source = doc.metadata.get("doc_uri") or doc.metadata.get("source") or doc.id
        parts.append(f"[{i}]" + (f" ({source})" if source else "") + f" {doc.page_content}")
    return "\n".join(parts)


def _all_yes(judge: Judge, verdicts: list[tuple[Span, Feedback]]) -> Feedback:
    """One feedback for the row: "yes" when every span's verdict is."""
    if len(verdicts) == 1:
        span, fb = verdicts[0]
        return judge.feedback(fb.value, fb.rationale, span_id=span.span_id)
    value = "yes" if all(fb.value == "yes" for _, fb in verdicts) else "no"
    lines = [
        f"{span.name} ({span.span_id}): {fb.value}" + (f" - {fb.rationale}" if fb.rationale else "")
        for span, fb in verdicts
    ]
    return judge.feedback(value, "\n".join(lines))
