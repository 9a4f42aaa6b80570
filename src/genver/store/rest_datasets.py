"""The evaluation-dataset half of ``RestStore`` (``/api/v1/eval-datasets``), kept apart to keep
``rest.py`` small. Records go as sent: the server's store validates them, so a bad record gets the
local store's message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from genver import wire as w
from genver.entities import DatasetRecord, EvaluationDataset, PagedList
from genver.exceptions import InvalidArgumentError
from genver.store.rest_transport import (
    RestTransport,
    items_of,
    parse,
    path_id,
    request_model,
    sent,
    tag_map,
)


class RestEvalDatasets(RestTransport):
    """Evaluation datasets over HTTP; mixed into ``RestStore``."""

    def create_eval_dataset(
        self,
        *,
        name: str,
        experiment_id: str,
        records: Sequence[DatasetRecord] = (),
        tags: Mapping[str, str] | None = None,
    ) -> EvaluationDataset:
        wires = _record_wires(records)
        body = request_model(
            w.CreateEvalDataset, name=name, experiment_id=experiment_id, records=wires, tags=tag_map(tags)
        )
        data = sent(
            records, wires, "records", lambda: self._call("POST", "/eval-datasets", body, idempotent=False)
        )
        return parse(w.EvalDatasetW, data).entity()

    def get_eval_dataset(self, dataset_id: str) -> EvaluationDataset:
        data = self._call("GET", f"/eval-datasets/{path_id(dataset_id, 'dataset id')}", idempotent=True)
        return parse(w.EvalDatasetW, data).entity()

    def search_eval_datasets(
        self,
        *,
        experiment_ids: Sequence[str] | None,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[EvaluationDataset]:
        body = request_model(
            w.SearchEvalDatasets,
            experiment_ids=experiment_ids,
            filter_string=filter_string,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )
        data = self._call("POST", "/eval-datasets/search", body, idempotent=True)
        page = parse(w.EvalDatasetPage, data)
        return PagedList([d.entity() for d in page.datasets], page.next_page_token)

    def add_eval_dataset_records(
        self, dataset_id: str, records: Sequence[DatasetRecord], *, merge: bool = False
    ) -> EvaluationDataset:
        path = f"/eval-datasets/{path_id(dataset_id, 'dataset id')}/records"
        wires = _record_wires(records)
        body = request_model(w.AddEvalDatasetRecords, records=wires, merge=merge)
        # a record replaces (or merges into) the one with its id, keyed by value: sending the same
        # records twice changes nothing more
        data = sent(records, wires, "records", lambda: self._call("PUT", path, body, idempotent=True))
        return parse(w.EvalDatasetW, data).entity()

    def set_eval_dataset_tags(self, dataset_id: str, tags: Mapping[str, str | None]) -> None:
        path = f"/eval-datasets/{path_id(dataset_id, 'dataset id')}/tags"
        if not isinstance(tags, Mapping):
            raise InvalidArgumentError(
                f"Invalid tags {tags!r}: expected a dict of tag name to value (None deletes)."
            )
        kept = tag_map({k: v for k, v in tags.items() if v is not None}) or {}
        body = request_model(w.EvalDatasetTags, tags={k: kept.get(k) for k in tags})
        self._call("PATCH", path, body, idempotent=True)

    def delete_eval_dataset_tag(self, dataset_id: str, key: str) -> None:
        path = f"/eval-datasets/{path_id(dataset_id, 'dataset id')}/tags"
        if not isinstance(key, str):
            raise InvalidArgumentError(f"Invalid tag key {key!r}: expected a string.")
        self._call("DELETE", path, params={"key": key}, idempotent=True)

    def delete_eval_dataset(self, dataset_id: str) -> None:
        path = f"/eval-datasets/{path_id(dataset_id, 'dataset id')}"
        self._call("DELETE", path, idempotent=False)


def _record_wires(records: Sequence[DatasetRecord]) -> list[w.DatasetRecordW]:
    """Records as wire models. The store validates them; only what JSON would silently change is
    refused here: an input name that is not a string (JSON would make it one)."""
    wires = items_of(records, DatasetRecord, "records", w.DatasetRecordW.of)
    for record in records:
        for key in record.inputs if isinstance(record.inputs, Mapping) else ():
            if not isinstance(key, str):
                raise InvalidArgumentError(
                    f"Invalid input name {key!r} of record {record.record_id!r}: expected a string."
                )
    return wires
