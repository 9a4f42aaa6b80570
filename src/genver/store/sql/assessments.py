"""Assessments and evaluation datasets in the SQL store (stub: being implemented)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from genver.entities import Assessment, DatasetRecord, EvaluationDataset, PagedList
from genver.store.sql.base import SqlBase


class AssessmentsMixin(SqlBase):
    def log_assessments(self, assessments: Sequence[Assessment]) -> None:
        raise NotImplementedError

    def get_assessments(
        self, *, trace_ids: Sequence[str] | None = None, run_id: str | None = None, name: str | None = None
    ) -> list[Assessment]:
        raise NotImplementedError

    def create_eval_dataset(
        self,
        *,
        name: str,
        experiment_id: str,
        records: Sequence[DatasetRecord] = (),
        tags: Mapping[str, str] | None = None,
    ) -> EvaluationDataset:
        raise NotImplementedError

    def get_eval_dataset(self, dataset_id: str) -> EvaluationDataset:
        raise NotImplementedError

    def search_eval_datasets(
        self,
        *,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[EvaluationDataset]:
        raise NotImplementedError

    def add_eval_dataset_records(
        self, dataset_id: str, records: Sequence[DatasetRecord]
    ) -> EvaluationDataset:
        raise NotImplementedError

    def delete_eval_dataset(self, dataset_id: str) -> None:
        raise NotImplementedError
