"""Runs in the fluent API: ``start_run``, ``log_metric`` and friends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from genver.entities import Dataset, Run, RunStatus, ViewType
from genver.entities.paged_list import collect_pages
from genver.exceptions import InvalidArgumentError
from genver.fluent.base import FluentBase, check_output_format
from genver.ids import now_ms
from genver.validation import check_int

if TYPE_CHECKING:
    from types import TracebackType

    import pandas as pd


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveRun(Run):
    """The run ``start_run`` started; as a context manager it ends the run on exit
    (``FINISHED``, or ``FAILED`` when the block raised)."""

    _owner: RunsAPI | None = field(default=None, compare=False, repr=False)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._owner is not None:
            status = RunStatus.FINISHED if exc_type is None else RunStatus.FAILED
            self._owner.end_run(status.value, run_id=self.info.run_id)


class RunsAPI(FluentBase):
    def start_run(
        self,
        run_id: str | None = None,
        experiment_id: str | None = None,
        run_name: str | None = None,
        nested: bool = False,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> ActiveRun:
        """Start a run (or resume ``run_id``) and make it active; use it in a ``with`` block.

        >>> with genver.start_run() as run:  # doctest: +SKIP
        ...     genver.log_metric("accuracy", 0.9)
        """
        stack = self._runs.stack()
        if stack and not nested and run_id not in stack:
            raise InvalidArgumentError(
                f"Run {stack[-1]!r} is already active. End it with end_run(), or pass nested=True to start a child run."
            )
        client = self.client
        if run_id is not None:
            run = client.get_run(run_id)
            if RunStatus.is_terminated(run.info.status):
                client.update_run(run_id, status=RunStatus.RUNNING.value)
                run = client.get_run(run_id)
        else:
            exp_id = str(experiment_id) if experiment_id is not None else self.current_experiment_id()
            if tags is not None and not isinstance(tags, Mapping):
                raise InvalidArgumentError(f"Invalid tags {tags!r}: expected a dict of tag name to value.")
            run_tags = self._context_tags()
            run_tags.update({k: str(v) for k, v in (tags or {}).items()})
            if stack:
                run_tags["mlflow.parentRunId"] = stack[-1]
            if description is not None:
                run_tags["mlflow.note.content"] = description
            run = client.create_run(exp_id, tags=run_tags, run_name=run_name)
        self._remember_run(run.info.run_id, run.info.experiment_id)
        self._runs.push(run.info.run_id)
        return ActiveRun(info=run.info, data=run.data, inputs=run.inputs, _owner=self)

    def end_run(self, status: str = "FINISHED", run_id: str | None = None) -> None:
        """End the active run (no-op when there is none)."""
        if not isinstance(status, str) or status.upper() not in RunStatus.__members__:
            allowed = ", ".join(repr(s.value) for s in RunStatus)
            raise InvalidArgumentError(f"Invalid run status {status!r}: expected one of {allowed}.")
        ended = self._runs.pop(run_id)
        if ended is not None:
            self.client.set_terminated(ended, status=status)

    def active_run(self) -> Run | None:
        """The active run of this thread/task, or None."""
        stack = self._runs.stack()
        return self.client.get_run(stack[-1]) if stack else None

    def last_active_run_id(self) -> str | None:
        stack = self._runs.stack()
        return stack[-1] if stack else None

    def get_run(self, run_id: str) -> Run:
        return self.client.get_run(run_id)

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 100_000,
        order_by: Sequence[str] | None = None,
        output_format: str = "pandas",
        search_all_experiments: bool = False,
        experiment_names: Sequence[str] | None = None,
    ) -> list[Run] | pd.DataFrame:
        """Runs matching the filter, as a DataFrame (default) or a list."""
        check_output_format(output_format)
        check_int(max_results, "max_results", minimum=1)
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [str(experiment_ids)]  # one id, not a sequence of characters
        if experiment_ids and experiment_names:
            raise InvalidArgumentError(
                f"Pass experiment_ids ({experiment_ids!r}) or experiment_names ({experiment_names!r}), not both."
            )
        if experiment_names:  # names that do not exist match nothing (not the active experiment)
            found = [self.client.get_experiment_by_name(n) for n in experiment_names]
            ids = [e.experiment_id for e in found if e is not None]
        elif experiment_ids:
            ids = [str(e) for e in experiment_ids]
        elif search_all_experiments:
            ids = [e.experiment_id for e in self.search_experiments(view_type=ViewType.ALL)]
        else:
            ids = [self.current_experiment_id()]
        client = self.client
        runs: list[Run] = (
            collect_pages(
                lambda size, token: client.search_runs(
                    ids, filter_string, run_view_type, size, order_by, token
                ),
                max_results,
            )
            if ids
            else []
        )
        if output_format == "list":
            return runs
        from genver.fluent.frames import runs_frame

        return runs_frame(runs)

    def _run_for_logging(self, run_id: str | None) -> str:
        if run_id is not None:
            return run_id
        stack = self._runs.stack()
        if stack:
            return stack[-1]
        return self.start_run().info.run_id  # MLflow starts a run; it stays active

    def log_param(self, key: str, value: Any, synchronous: bool | None = None) -> Any:
        return self.client.log_param(self._run_for_logging(None), key, value)

    def log_params(
        self, params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None
    ) -> None:
        self.client.log_batch(self._run_for_logging(run_id), params=params)

    def set_tag(self, key: str, value: Any, synchronous: bool | None = None) -> None:
        self.client.set_tag(self._run_for_logging(None), key, value)

    def set_tags(self, tags: Mapping[str, Any], synchronous: bool | None = None) -> None:
        self.client.log_batch(self._run_for_logging(None), tags=tags)

    def log_input(
        self,
        dataset: Dataset,
        context: str | None = None,
        tags: Mapping[str, str] | None = None,
        model: Any = None,
    ) -> None:
        models = [model] if model is not None else None
        self.client.log_inputs(self._run_for_logging(None), datasets=[dataset], models=models)

    def log_metric(
        self,
        key: str,
        value: float,
        step: int | None = None,
        synchronous: bool | None = None,
        timestamp: int | None = None,
        run_id: str | None = None,
        model_id: str | None = None,
        dataset: Dataset | None = None,
    ) -> None:
        """Log a metric on the active run and, by default, on the active version too."""
        self.log_metrics({key: value}, step, synchronous, run_id, timestamp, model_id, dataset)

    def log_metrics(
        self,
        metrics: Mapping[str, float],
        step: int | None = None,
        synchronous: bool | None = None,
        run_id: str | None = None,
        timestamp: int | None = None,
        model_id: str | None = None,
        dataset: Dataset | None = None,
    ) -> None:
        """Log several metrics at once (on the run, and on the active or given version)."""
        from genver.entities import Metric

        if not isinstance(metrics, Mapping):
            raise InvalidArgumentError(f"Invalid metrics {metrics!r}: expected a dict of name to number.")
        if dataset is not None and not isinstance(dataset, Dataset):
            raise InvalidArgumentError(
                f"Invalid dataset {dataset!r}: expected genver.data.from_pandas(...) or from_dict(...)."
            )
        run = self._run_for_logging(run_id)
        mid = model_id if model_id is not None else self.get_active_model_id()
        ts = now_ms() if timestamp is None else timestamp
        name = dataset.name if dataset else None
        digest = dataset.digest if dataset else None
        batch = [Metric(k, v, ts, step or 0, mid, run, name, digest) for k, v in metrics.items()]
        self.client.log_batch(run, metrics=batch)
        if dataset is not None:
            self._log_dataset_once(run, dataset)

    def _log_dataset_once(self, run_id: str, dataset: Dataset) -> None:
        key = (run_id, dataset.name, dataset.digest)
        if key not in self._datasets_logged:
            self.client.log_inputs(run_id, datasets=[dataset])
            self._datasets_logged.add(key)
