"""Immutable value objects shared by every layer. They carry no store handle and do no I/O."""

from genver.entities.assessment import (
    Assessment,
    AssessmentError,
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
)
from genver.entities.dataset import Dataset
from genver.entities.document import Document
from genver.entities.eval_dataset import DatasetRecord, EvaluationDataset
from genver.entities.experiment import Experiment, LifecycleStage, ViewType
from genver.entities.history import HistoryEntry, HistoryHead, ModelAlias
from genver.entities.logged_model import LoggedModel, LoggedModelStatus
from genver.entities.metric import Metric
from genver.entities.paged_list import PagedList
from genver.entities.run import DatasetInput, LoggedModelInput, Run, RunData, RunInfo, RunInputs, RunStatus
from genver.entities.trace import (
    Span,
    SpanEvent,
    SpanOutline,
    SpanStatus,
    SpanStatusCode,
    SpanType,
    TokenUsage,
    Trace,
    TraceData,
    TraceInfo,
    TraceOutline,
    TraceState,
    TraceStats,
)

__all__ = [
    "Assessment",
    "AssessmentError",
    "AssessmentSource",
    "AssessmentSourceType",
    "DatasetRecord",
    "EvaluationDataset",
    "Expectation",
    "Feedback",
    "Dataset",
    "DatasetInput",
    "Document",
    "Experiment",
    "HistoryEntry",
    "HistoryHead",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelInput",
    "LoggedModelStatus",
    "Metric",
    "ModelAlias",
    "PagedList",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunStatus",
    "Span",
    "SpanEvent",
    "SpanOutline",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "TokenUsage",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceOutline",
    "TraceState",
    "TraceStats",
    "ViewType",
]
