"""The client's evaluation datasets, with MLflow's client names (``create_dataset`` and friends)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from genver.client.base import ClientBase, check_filter, id_list, str_list
from genver.entities import DatasetRecord, EvaluationDataset, PagedList
from genver.exceptions import InvalidArgumentError
from genver.validation import check_id


class DatasetsClient(ClientBase):
    """Evaluation datasets: named sets of records (inputs, expectations) with a content digest."""

    def create_dataset(
        self,
        name: str,
        experiment_id: str | Sequence[str] | None = None,
        tags: Mapping[str, Any] | None = None,
        *,
        records: Sequence[DatasetRecord] = (),
    ) -> EvaluationDataset:
        """Create a dataset (``d-<32 hex>`` id) in ``experiment_id`` (default ``"0"``).

        genver links a dataset to one experiment: a list of one id is accepted, as MLflow takes
        lists; a list of several is refused by name."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(f"Invalid dataset name {name!r}: expected a non-empty string.")
        if tags is not None and not isinstance(tags, Mapping):
            raise InvalidArgumentError(f"Invalid tags {tags!r}: expected a dict of tag name to value.")
        ids = id_list(experiment_id) or ["0"]
        if len(ids) != 1:
            raise InvalidArgumentError(
                f"Invalid experiment_id {experiment_id!r}: a genver dataset belongs to one experiment; "
                "pass one id."
            )
        return self._store.create_eval_dataset(
            name=name,
            experiment_id=ids[0],
            records=list(records),
            tags={str(k): str(v) for k, v in (tags or {}).items()},
        )

    def get_dataset(self, dataset_id: str) -> EvaluationDataset:
        """The dataset with its records; unknown → ``NotFoundError``."""
        return self._store.get_eval_dataset(check_dataset_id(dataset_id))

    def search_datasets(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int = 50,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[EvaluationDataset]:
        """One page of datasets (without records), newest first; filters on ``name``, ``digest``,
        ``created_time`` and ``tags.<key>``. Without ``experiment_ids``: the Default experiment."""
        return self._store.search_eval_datasets(
            experiment_ids=id_list(experiment_ids) or ["0"],
            filter_string=check_filter(filter_string),
            max_results=max_results,
            order_by=str_list(order_by, "order_by"),
            page_token=page_token,
        )

    def merge_dataset_records(self, dataset_id: str, records: Sequence[DatasetRecord]) -> EvaluationDataset:
        """Add records (one whose ``record_id`` exists replaces it); returns the dataset with its
        new digest and every record."""
        return self._store.add_eval_dataset_records(check_dataset_id(dataset_id), list(records))

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset and its records."""
        self._store.delete_eval_dataset(check_dataset_id(dataset_id))


def check_dataset_id(dataset_id: object) -> str:
    if not isinstance(dataset_id, str) or not dataset_id.strip():
        raise InvalidArgumentError(f"Invalid dataset id {dataset_id!r}: expected an id such as 'd-<32 hex>'.")
    return check_id(dataset_id, "dataset id")
