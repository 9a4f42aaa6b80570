"""The client's evaluation datasets, with MLflow's client names (``create_dataset`` and friends).

Datasets come back as ``genver.client.eval_dataset.EvaluationDataset``: the entity bound to this
client, so ``dataset.merge_records(...)`` and ``dataset.to_df()`` work as on MLflow's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from genver.client.base import ClientBase, check_filter, id_list, str_list
from genver.client.eval_dataset import DatasetsClient as _Bound
from genver.client.eval_dataset import EvaluationDataset, records_of
from genver.entities import DatasetRecord, PagedList, Trace
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
        records: Any = (),
    ) -> EvaluationDataset:
        """Create a dataset (``d-<32 hex>`` id) in ``experiment_id`` (default ``"0"``).

        genver links a dataset to one experiment: a list of one id is accepted, as MLflow takes
        lists; a list of several is refused by name. ``records`` (a genver extension) takes what
        ``merge_records`` takes.

        >>> MlflowClient().create_dataset("qa", experiment_id=["0"], tags={"team": "search"})  # doctest: +SKIP
        """
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(f"Invalid dataset name {name!r}: expected a non-empty string.")
        if tags is not None and not isinstance(tags, Mapping):
            raise InvalidArgumentError(f"Invalid tags {tags!r}: expected a dict of tag name to value.")
        ids = id_list(experiment_id) or ["0"]
        if len(ids) != 1:
            raise InvalidArgumentError(
                f"Invalid experiment_id {experiment_id!r}: a genver dataset belongs to one experiment; "
                "pass one id (create one dataset per experiment to use it in several)."
            )
        created = self._store.create_eval_dataset(
            name=name,
            experiment_id=ids[0],
            records=self._records(records),
            tags={str(k): str(v) for k, v in (tags or {}).items()},
        )
        return EvaluationDataset.bound(created, self._bound())

    def get_dataset(self, dataset_id: str) -> EvaluationDataset:
        """The dataset with its records; unknown → ``NotFoundError``."""
        return EvaluationDataset.bound(
            self._store.get_eval_dataset(check_dataset_id(dataset_id)), self._bound()
        )

    def search_datasets(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int = 50,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[EvaluationDataset]:
        """One page of datasets (records load on first use), newest first; filters on ``name``,
        ``digest``, ``created_time`` and ``tags.<key>``. Without ``experiment_ids``: every
        experiment, as in MLflow."""
        page = self._store.search_eval_datasets(
            experiment_ids=id_list(experiment_ids),
            filter_string=check_filter(filter_string),
            max_results=max_results,
            order_by=str_list(order_by, "order_by"),
            page_token=page_token,
        )
        bound = self._bound()
        return PagedList([EvaluationDataset.bound(d, bound) for d in page], page.token)

    def merge_dataset_records(
        self, dataset_id: str, records: Any, *, merge: bool = False
    ) -> EvaluationDataset:
        """Add records (``DatasetRecord``s, or what ``merge_records`` takes) and return the
        dataset with its new digest and every record. A record whose id is stored replaces it,
        or with ``merge=True`` is merged into it (expectations and tags by key, outputs when
        given), as ``EvaluationDataset.merge_records`` does."""
        added = self._store.add_eval_dataset_records(
            check_dataset_id(dataset_id), self._records(records), merge=merge
        )
        return EvaluationDataset.bound(added, self._bound())

    def set_dataset_tags(self, dataset_id: str, tags: Mapping[str, Any]) -> None:
        """Set tags on a dataset (values as text); a None value deletes that tag, as in MLflow.

        >>> client.set_dataset_tags(ds.dataset_id, {"status": "validated", "draft": None})  # doctest: +SKIP
        """
        if not isinstance(tags, Mapping):
            raise InvalidArgumentError(
                f"Invalid tags {tags!r}: expected a dict of tag name to value (None deletes)."
            )
        self._store.set_eval_dataset_tags(
            check_dataset_id(dataset_id),
            {k: v if v is None or isinstance(v, str) else str(v) for k, v in tags.items()},
        )

    def delete_dataset_tag(self, dataset_id: str, key: str) -> None:
        """Remove a tag from a dataset (a key it does not have: nothing happens, as in MLflow)."""
        self._store.delete_eval_dataset_tag(check_dataset_id(dataset_id), key)

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset and its records."""
        self._store.delete_eval_dataset(check_dataset_id(dataset_id))

    def _records(self, records: Any) -> list[DatasetRecord]:
        if isinstance(records, Sequence) and all(isinstance(r, DatasetRecord) for r in records):
            return list(records)  # as given: the store checks them (and keeps the last of an id)
        return records_of(records, self._trace)

    def _trace(self, trace_id: str) -> Trace:
        return self._bound().get_trace(trace_id)

    def _bound(self) -> _Bound:
        """This client, as the datasets it returns use it (a ``GenverClient`` has every method)."""
        bound: _Bound = self  # type: ignore[assignment]  # GenverClient adds get_trace
        return bound


def check_dataset_id(dataset_id: object) -> str:
    if not isinstance(dataset_id, str) or not dataset_id.strip():
        raise InvalidArgumentError(f"Invalid dataset id {dataset_id!r}: expected an id such as 'd-<32 hex>'.")
    return check_id(dataset_id, "dataset id")
