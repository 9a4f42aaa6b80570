"""Wire models for evaluation datasets and their records.

Record contents (``inputs``, ``expectations``) are arbitrary JSON values. The fields the store
validates itself (a dataset's name, a record's id, inputs, expectations, tags and source trace)
are carried as sent and checked once, by the store: a bad value gets the local store's
``InvalidArgumentError`` word for word, whether it came through ``RestStore`` or plain HTTP. Their
JSON schema still documents the expected type.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StrictInt, WithJsonSchema

from genver.entities import DatasetRecord, EvaluationDataset
from genver.wire.base import Int64, Page, Wire

__all__ = [
    "AddEvalDatasetRecords",
    "EvalDatasetTags",
    "CreateEvalDataset",
    "DatasetRecordW",
    "EvalDatasetPage",
    "EvalDatasetW",
    "SearchEvalDatasets",
]

# Checked by the store (see the module docstring); the schema says what it expects.
_Text = Annotated[Any, WithJsonSchema({"type": "string"})]
_MaybeText = Annotated[Any, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "null"}]})]
_Object = Annotated[Any, WithJsonSchema({"type": "object"})]
_TextMap = Annotated[Any, WithJsonSchema({"type": "object", "additionalProperties": {"type": "string"}})]


class DatasetRecordW(Wire):
    record_id: _Text
    inputs: _Object
    expectations: _Object = {}
    tags: _TextMap = {}
    source_trace_id: _MaybeText = None
    outputs: Any = None
    created_time: Int64 | None = None
    last_update_time: Int64 | None = None

    @classmethod
    def of(cls, r: DatasetRecord) -> DatasetRecordW:
        # values go as they are: JSON encoding normalizes them exactly as the local store does
        # (tuples become lists), and a value JSON cannot carry fails to send, naming the record
        return cls(
            record_id=r.record_id,
            inputs=r.inputs,
            expectations=r.expectations,
            tags=r.tags,
            source_trace_id=r.source_trace_id,
            outputs=r.outputs,
            created_time=r.created_time,
            last_update_time=r.last_update_time,
        )

    def entity(self) -> DatasetRecord:
        return DatasetRecord(
            record_id=self.record_id,
            inputs=self.inputs,
            expectations=self.expectations,
            tags=self.tags,
            source_trace_id=self.source_trace_id,
            outputs=self.outputs,
            created_time=self.created_time,
            last_update_time=self.last_update_time,
        )


class EvalDatasetW(Wire):
    dataset_id: str
    name: str
    digest: str
    experiment_id: str
    created_time: int
    last_update_time: int
    tags: dict[str, str] = {}
    records: list[DatasetRecordW] | None = None

    @classmethod
    def of(cls, d: EvaluationDataset) -> EvalDatasetW:
        return cls(
            dataset_id=d.dataset_id,
            name=d.name,
            digest=d.digest,
            experiment_id=d.experiment_id,
            created_time=d.created_time,
            last_update_time=d.last_update_time,
            tags=dict(d.tags),
            records=None if d.records is None else [DatasetRecordW.of(r) for r in d.records],
        )

    def entity(self) -> EvaluationDataset:
        return EvaluationDataset(
            **self.model_dump(exclude={"records"}),
            records=None if self.records is None else [r.entity() for r in self.records],
        )


class CreateEvalDataset(Wire):
    name: _Text
    experiment_id: str
    records: list[DatasetRecordW] = []
    tags: dict[str, str] | None = None


class SearchEvalDatasets(Wire):
    experiment_ids: list[str] | None = None
    filter_string: str | None = None
    max_results: StrictInt = 100
    order_by: list[str] | None = None
    page_token: str | None = None


class EvalDatasetPage(Page):
    datasets: list[EvalDatasetW]


class AddEvalDatasetRecords(Wire):
    records: list[DatasetRecordW]
    merge: bool = False


class EvalDatasetTags(Wire):
    """Tags to set on a dataset; a null value deletes that tag."""

    tags: dict[str, str | None]
