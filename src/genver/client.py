"""``GenverClient``: every operation with explicit ids and no hidden state (alias ``MlflowClient``).

The fluent API (``genver.set_active_model`` and friends) adds the active experiment, run and
version as defaults, then calls this client; the client calls the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from genver.entities import (
    Dataset,
    Experiment,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    PagedList,
    Run,
    RunStatus,
    ViewType,
)
from genver.exceptions import InvalidArgumentError
from genver.ids import now_ms
from genver.store.base import Store
from genver.validation import check_id, check_int

_MAX_SEARCH = 50_000


class GenverClient:
    """Explicit-id access to a tracking store.

    >>> client = GenverClient("sqlite:///genver.db")          # doctest: +SKIP
    >>> model = client.create_logged_model("0", name="agent-v1")  # doctest: +SKIP
    """

    def __init__(self, tracking_uri: str | None = None, *, store: Store | None = None) -> None:
        if store is None:
            from genver.context import resolve_tracking_uri
            from genver.store import store_for_uri

            store = store_for_uri(resolve_tracking_uri(tracking_uri))
        self.store = store

    # -- experiments -----------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> str:
        """Create an experiment and return its id."""
        return self.store.create_experiment(name, artifact_location=artifact_location, tags=tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        return self.store.search_experiments(
            view_type=_view_type(view_type),
            max_results=max_results,
            filter_string=_filter(filter_string),
            order_by=_str_list(order_by, "order_by"),
            page_token=page_token,
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self.store.update_experiment(str(experiment_id), lifecycle_stage="deleted")

    def restore_experiment(self, experiment_id: str) -> None:
        self.store.update_experiment(str(experiment_id), lifecycle_stage="active")

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.store.update_experiment(str(experiment_id), new_name=new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.store.update_experiment(str(experiment_id), tags={key: value})

    # -- runs --------------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        user = (tags or {}).get("mlflow.user")
        return self.store.create_run(
            experiment_id=str(experiment_id),
            run_name=run_name,
            start_time=start_time,
            tags=tags,
            user_id=user,
        )

    def get_run(self, run_id: str) -> Run:
        return self.store.get_run(run_id)

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        ids = [experiment_ids] if isinstance(experiment_ids, str) else [str(e) for e in experiment_ids]
        return self.store.search_runs(
            experiment_ids=ids,
            filter_string=_filter(filter_string),
            view_type=_view_type(run_view_type),
            max_results=max_results,
            order_by=_str_list(order_by, "order_by"),
            page_token=page_token,
        )

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        """End a run (``FINISHED`` unless another status is given)."""
        self.store.update_run(
            run_id, status=status or RunStatus.FINISHED.value, end_time=end_time or now_ms()
        )

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        end_time = now_ms() if status and RunStatus.is_terminated(str(status).upper()) else None
        self.store.update_run(run_id, status=status, run_name=name, end_time=end_time)

    def delete_run(self, run_id: str) -> None:
        self.store.update_run(run_id, lifecycle_stage="deleted")

    def restore_run(self, run_id: str) -> None:
        self.store.update_run(run_id, lifecycle_stage="active")

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        """Log one run param (values are stringified, as MLflow does for runs)."""
        self.store.log_batch(run_id, params={key: _stringify(value)})
        return value

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.store.log_batch(run_id, tags={key: value})

    def log_metric(
        self,
        run_id: str | None,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        model_id: str | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
    ) -> None:
        """Log one metric on a run and, with ``model_id``, on that version too."""
        metric = Metric(
            key,
            value,
            now_ms() if timestamp is None else check_int(timestamp, "timestamp"),
            0 if step is None else check_int(step, "step"),
            model_id,
            run_id,
            dataset_name,
            dataset_digest,
        )
        self.store.log_batch(run_id, metrics=[metric])

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | Iterable[Any] = (),
        tags: Mapping[str, Any] | Iterable[Any] = (),
    ) -> None:
        """Log metrics, params and tags at once. Params and tags may be dicts or lists of objects
        with ``key`` and ``value`` attributes (MLflow's ``Param`` / ``RunTag``)."""
        self.store.log_batch(
            run_id,
            metrics=list(metrics),
            params={k: _stringify(v) for k, v in _pairs(params, "params").items()},
            tags=_pairs(tags, "tags"),
        )

    def log_inputs(
        self, run_id: str, datasets: Sequence[Dataset] | None = None, models: Sequence[Any] | None = None
    ) -> None:
        model_ids = [m if isinstance(m, str) else getattr(m, "model_id", m) for m in models or ()]
        self.store.log_inputs(run_id, datasets=list(datasets or ()), model_ids=model_ids)

    # -- versions ------------------------------------------------------------------------------------
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """Create a ``PENDING`` version; params must be strings."""
        return self.store.create_logged_model(
            experiment_id=str(experiment_id),
            name=name,
            model_type=model_type,
            source_run_id=source_run_id,
            params=params,
            tags=tags,
            status=LoggedModelStatus.PENDING,
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self.store.get_logged_model(model_id)

    def finalize_logged_model(
        self, model_id: str, status: LoggedModelStatus | str, status_message: str | None = None
    ) -> LoggedModel:
        """Set a version's status (``READY``, ``FAILED``, ``FAILED_REGISTRATION``...)."""
        model = self.store.update_logged_model(
            model_id, status=LoggedModelStatus.from_value(status), status_message=status_message
        )
        assert model is not None
        return model

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a version: hidden from get and search from now on."""
        self.store.update_logged_model(model_id, deleted=True)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, Any]) -> None:
        self.store.set_logged_model_tags(model_id, tags)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.store.delete_logged_model_tag(model_id, key)

    def log_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Add params to a version. Values must be strings; params are write-once."""
        self.store.log_logged_model_params(model_id, params)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[Mapping[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """One page of versions (at most 100 unless ``max_results`` says otherwise)."""
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        return self.store.search_logged_models(
            experiment_ids=[str(e) for e in experiment_ids],
            filter_string=_filter(filter_string),
            datasets=datasets,
            max_results=100 if max_results is None else max_results,
            order_by=order_by,
            page_token=page_token,
        )

    def close(self) -> None:
        self.store.close()


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _pairs(items: Mapping[str, Any] | Iterable[Any], what: str) -> dict[str, Any]:
    if isinstance(items, Mapping):
        return dict(items)
    out: dict[str, Any] = {}
    for item in items:
        key, value = getattr(item, "key", None), getattr(item, "value", None)
        if key is None:
            raise InvalidArgumentError(
                f"Invalid entry {item!r} in {what}: expected objects with key and value."
            )
        out[key] = value
    return out


def _filter(filter_string: object) -> str | None:
    if filter_string is None or isinstance(filter_string, str):
        return filter_string
    raise InvalidArgumentError(
        f"Invalid filter_string {filter_string!r}: expected a string such as \"name = 'agent-v1'\"."
    )


def _view_type(view_type: object) -> ViewType:
    if isinstance(view_type, int) and not isinstance(view_type, bool):
        for member in ViewType:
            if member.value == view_type:
                return member
    if isinstance(view_type, str) and view_type.upper() in ViewType.__members__:
        return ViewType[view_type.upper()]
    allowed = ", ".join(f"ViewType.{v.name}" for v in ViewType)
    raise InvalidArgumentError(f"Invalid view_type {view_type!r}: expected one of {allowed}.")


def _str_list(items: Sequence[str] | None, what: str) -> list[str] | None:
    if items is None:
        return None
    if isinstance(items, str):
        return [items]
    return [check_id(i, what) for i in items]


MlflowClient = GenverClient
