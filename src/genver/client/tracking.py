"""The client's experiments, runs and versions (``LoggedModel``), with MLflow's client names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from genver.client.base import ClientBase, check_filter, check_view_type, id_list, pairs, str_list, stringify
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
from genver.ids import now_ms
from genver.validation import check_int


class TrackingClient(ClientBase):
    """Experiments, runs and versions (``LoggedModel``)."""

    # -- experiments -----------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> str:
        """Create an experiment and return its id."""
        return self._store.create_experiment(name, artifact_location=artifact_location, tags=tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        return self._store.search_experiments(
            view_type=check_view_type(view_type),
            max_results=max_results,
            filter_string=check_filter(filter_string),
            order_by=str_list(order_by, "order_by"),
            page_token=page_token,
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self._store.update_experiment(str(experiment_id), lifecycle_stage="deleted")

    def restore_experiment(self, experiment_id: str) -> None:
        self._store.update_experiment(str(experiment_id), lifecycle_stage="active")

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._store.update_experiment(str(experiment_id), new_name=new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self._store.update_experiment(str(experiment_id), tags={key: value})

    # -- runs --------------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        user = (tags or {}).get("mlflow.user")
        return self._store.create_run(
            experiment_id=str(experiment_id),
            run_name=run_name,
            start_time=start_time,
            tags=tags,
            user_id=user,
        )

    def get_run(self, run_id: str) -> Run:
        return self._store.get_run(run_id)

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        return self._store.search_runs(
            experiment_ids=id_list(experiment_ids) or [],
            filter_string=check_filter(filter_string),
            view_type=check_view_type(run_view_type),
            max_results=max_results,
            order_by=str_list(order_by, "order_by"),
            page_token=page_token,
        )

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        """End a run (``FINISHED`` unless another status is given)."""
        self._store.update_run(
            run_id, status=status or RunStatus.FINISHED.value, end_time=end_time or now_ms()
        )

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        end_time = now_ms() if status and RunStatus.is_terminated(str(status).upper()) else None
        self._store.update_run(run_id, status=status, run_name=name, end_time=end_time)

    def delete_run(self, run_id: str) -> None:
        self._store.update_run(run_id, lifecycle_stage="deleted")

    def restore_run(self, run_id: str) -> None:
        self._store.update_run(run_id, lifecycle_stage="active")

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        """Log one run param (values are stringified, as MLflow does for runs)."""
        self._store.log_batch(run_id, params={key: stringify(value)})
        return value

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self._store.log_batch(run_id, tags={key: value})

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
        self._store.log_batch(run_id, metrics=[metric])

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | Iterable[Any] = (),
        tags: Mapping[str, Any] | Iterable[Any] = (),
    ) -> None:
        """Log metrics, params and tags at once. Params and tags may be dicts or lists of objects
        with ``key`` and ``value`` attributes (MLflow's ``Param`` / ``RunTag``)."""
        self._store.log_batch(
            run_id,
            metrics=list(metrics),
            params={k: stringify(v) for k, v in pairs(params, "params").items()},
            tags=pairs(tags, "tags"),
        )

    def log_inputs(
        self, run_id: str, datasets: Sequence[Dataset] | None = None, models: Sequence[Any] | None = None
    ) -> None:
        model_ids = [m if isinstance(m, str) else getattr(m, "model_id", m) for m in models or ()]
        self._store.log_inputs(run_id, datasets=list(datasets or ()), model_ids=model_ids)

    # -- versions ------------------------------------------------------------------------------------
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        model_type: str | None = None,
        *,
        status: LoggedModelStatus | str = LoggedModelStatus.PENDING,
        reuse_latest_by_name: bool = False,
    ) -> LoggedModel:
        """Create a version (``PENDING`` unless ``status`` says otherwise); params must be strings.

        With ``reuse_latest_by_name`` the latest active version of that name in the experiment is
        returned instead when there is one, atomically (racing processes create one version)."""
        return self._store.create_logged_model(
            experiment_id=str(experiment_id),
            name=name,
            model_type=model_type,
            source_run_id=source_run_id,
            params=params,
            tags=tags,
            status=LoggedModelStatus.from_value(status),
            reuse_latest_by_name=reuse_latest_by_name,
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self._store.get_logged_model(model_id)

    def served_comparison(self, kind: str, query: Mapping[str, Any]) -> dict[str, Any] | None:
        """A comparison or gate a genver server computed (``genver.compare`` asks first), as JSON;
        None when this client's store is local and the caller computes it."""
        return self._store.served_comparison(kind, query)

    def find_logged_model(self, experiment_id: str, name: str) -> LoggedModel | None:
        """The latest active version named ``name`` in the experiment, or None."""
        return self._store.find_logged_model(experiment_id=str(experiment_id), name=name)

    def finalize_logged_model(
        self, model_id: str, status: LoggedModelStatus | str, status_message: str | None = None
    ) -> LoggedModel:
        """Set a version's status (``READY``, ``FAILED``, ``FAILED_REGISTRATION``...)."""
        model = self._store.update_logged_model(
            model_id, status=LoggedModelStatus.from_value(status), status_message=status_message
        )
        assert model is not None
        return model

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a version: hidden from get and search from now on."""
        self._store.update_logged_model(model_id, deleted=True)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, Any]) -> None:
        self._store.set_logged_model_tags(model_id, tags)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self._store.delete_logged_model_tag(model_id, key)

    def log_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Add params to a version. Values must be strings; params are write-once."""
        self._store.log_logged_model_params(model_id, params)

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
        return self._store.search_logged_models(
            experiment_ids=id_list(experiment_ids) or [],
            filter_string=check_filter(filter_string),
            datasets=datasets,
            max_results=100 if max_results is None else max_results,
            order_by=order_by,
            page_token=page_token,
        )
