"""Wire models for experiments, runs and versions (``LoggedModel``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, StrictInt

from genver.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    LoggedModel,
    LoggedModelInput,
    LoggedModelStatus,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    ViewType,
)
from genver.wire.base import Int64, Page, Wire

__all__ = [
    "CreateExperiment",
    "CreateLoggedModel",
    "CreateRun",
    "DatasetInputW",
    "DatasetW",
    "ByName",
    "ExperimentId",
    "ExperimentPage",
    "ExperimentW",
    "FindLoggedModel",
    "LogBatch",
    "LogInputs",
    "LoggedModelPage",
    "LoggedModelW",
    "MaybeExperiment",
    "MaybeLoggedModel",
    "MetricW",
    "Params",
    "RunPage",
    "RunW",
    "SearchExperiments",
    "SearchLoggedModels",
    "SearchRuns",
    "Tags",
    "UpdateExperiment",
    "UpdateLoggedModel",
    "UpdateRun",
]


# -- experiments -------------------------------------------------------------------------------
class ExperimentW(Wire):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = {}
    creation_time: int | None = None
    last_update_time: int | None = None

    @classmethod
    def of(cls, e: Experiment) -> ExperimentW:
        return cls(
            experiment_id=e.experiment_id,
            name=e.name,
            artifact_location=e.artifact_location,
            lifecycle_stage=e.lifecycle_stage,
            tags=dict(e.tags),
            creation_time=e.creation_time,
            last_update_time=e.last_update_time,
        )

    def entity(self) -> Experiment:
        return Experiment(**self.model_dump())


class CreateExperiment(Wire):
    name: str
    artifact_location: str | None = None
    tags: dict[str, str] | None = None


class ExperimentId(Wire):
    experiment_id: str


class ByName(Wire):
    """Query parameters of ``GET /experiments/by-name``."""

    name: str


class MaybeExperiment(Wire):
    experiment: ExperimentW | None


class SearchExperiments(Wire):
    view_type: Literal[1, 2, 3] = ViewType.ACTIVE_ONLY.value
    max_results: StrictInt = 1000
    filter_string: str | None = None
    order_by: list[str] | None = None
    page_token: str | None = None


class ExperimentPage(Page):
    experiments: list[ExperimentW]


class UpdateExperiment(Wire):
    new_name: str | None = None
    lifecycle_stage: str | None = None
    tags: dict[str, str] | None = None


# -- runs ----------------------------------------------------------------------------------------
class MetricW(Wire):
    key: str
    value: float
    timestamp: Int64
    step: Int64 = 0
    model_id: str | None = None
    run_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None

    @classmethod
    def of(cls, m: Metric) -> MetricW:
        return cls(**m.to_dictionary())

    def entity(self) -> Metric:
        return Metric(**self.model_dump())


class DatasetW(Wire):
    name: str
    digest: str
    source_type: str = "code"
    source: str = ""
    schema_: str | None = Field(default=None, alias="schema")
    profile: str | None = None

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    @classmethod
    def of(cls, d: Dataset) -> DatasetW:
        return cls(
            name=d.name,
            digest=d.digest,
            source_type=d.source_type,
            source=d.source,
            schema=d.schema,
            profile=d.profile,
        )

    def entity(self) -> Dataset:
        return Dataset(**self.model_dump(by_alias=True))


class DatasetInputW(Wire):
    dataset: DatasetW
    tags: dict[str, str] = {}


class RunW(Wire):
    info: dict[str, Any]
    metrics: dict[str, float] = {}
    params: dict[str, str] = {}
    tags: dict[str, str] = {}
    dataset_inputs: list[DatasetInputW] = []
    model_inputs: list[str] = []

    @classmethod
    def of(cls, r: Run) -> RunW:
        i = r.info
        return cls(
            info={
                "run_id": i.run_id,
                "experiment_id": i.experiment_id,
                "run_name": i.run_name,
                "user_id": i.user_id,
                "status": i.status,
                "start_time": i.start_time,
                "end_time": i.end_time,
                "artifact_uri": i.artifact_uri,
                "lifecycle_stage": i.lifecycle_stage,
            },
            metrics=dict(r.data.metrics),
            params=dict(r.data.params),
            tags=dict(r.data.tags),
            dataset_inputs=[
                DatasetInputW(dataset=DatasetW.of(d.dataset), tags=dict(d.tags))
                for d in r.inputs.dataset_inputs
            ],
            model_inputs=[m.model_id for m in r.inputs.model_inputs],
        )

    def entity(self) -> Run:
        return Run(
            info=RunInfo(**self.info),
            data=RunData(metrics=self.metrics, params=self.params, tags=self.tags),
            inputs=RunInputs(
                dataset_inputs=[DatasetInput(d.dataset.entity(), d.tags) for d in self.dataset_inputs],
                model_inputs=[LoggedModelInput(m) for m in self.model_inputs],
            ),
        )


class CreateRun(Wire):
    experiment_id: str
    run_name: str | None = None
    start_time: Int64 | None = None
    tags: dict[str, str] | None = None
    user_id: str | None = None


class UpdateRun(Wire):
    status: str | None = None
    end_time: Int64 | None = None
    run_name: str | None = None
    lifecycle_stage: str | None = None


class SearchRuns(Wire):
    experiment_ids: list[str]
    filter_string: str | None = None
    view_type: Literal[1, 2, 3] = ViewType.ACTIVE_ONLY.value
    max_results: StrictInt = 1000
    order_by: list[str] | None = None
    page_token: str | None = None


class RunPage(Page):
    runs: list[RunW]


class LogBatch(Wire):
    run_id: str | None = None
    metrics: list[MetricW] = []
    params: dict[str, str] | None = None
    tags: dict[str, str] | None = None


class LogInputs(Wire):
    datasets: list[DatasetW] = []
    model_ids: list[str] = []


# -- versions (LoggedModel) ----------------------------------------------------------------------
class LoggedModelW(Wire):
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    model_type: str | None = None
    source_run_id: str | None = None
    status: str = LoggedModelStatus.READY.value
    status_message: str | None = None
    tags: dict[str, str] = {}
    params: dict[str, str] = {}
    metrics: list[MetricW] | None = None
    aliases: list[str] = []

    @classmethod
    def of(cls, m: LoggedModel) -> LoggedModelW:
        # Read straight from the entity's attributes (twice as fast as building a dict on a page
        # of versions); lax, because a LoggedModel's values are already checked and its status is
        # a str enum.
        return cls.model_validate(m, from_attributes=True, strict=False)

    def entity(self) -> LoggedModel:
        d = dict(self.__dict__)  # the fields' values (a page of versions: 10x faster than getattr)
        d["status"] = LoggedModelStatus.from_value(self.status)
        d["metrics"] = None if self.metrics is None else [x.entity() for x in self.metrics]
        d["aliases"] = list(self.aliases)
        return LoggedModel(**d)


class CreateLoggedModel(Wire):
    experiment_id: str
    name: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    params: dict[str, str] | None = None
    tags: dict[str, str] | None = None
    status: str = LoggedModelStatus.PENDING.value
    reuse_latest_by_name: bool = False


class FindLoggedModel(Wire):
    """Query parameters of ``GET /models/find``."""

    experiment_id: str
    name: str


class MaybeLoggedModel(Wire):
    model: LoggedModelW | None


class UpdateLoggedModel(Wire):
    status: str | None = None
    status_message: str | None = None
    deleted: bool = False


class Tags(Wire):
    tags: dict[str, str]


class Params(Wire):
    params: dict[str, str]


class SearchLoggedModels(Wire):
    experiment_ids: list[str]
    filter_string: str | None = None
    datasets: Any = Field(default=None, description="A list of {dataset_name, dataset_digest?}.")
    max_results: StrictInt = 100
    order_by: Any = Field(default=None, description="A list of {field_name, ascending?, dataset_name?...}.")
    page_token: str | None = None


class LoggedModelPage(Page):
    models: list[LoggedModelW]
