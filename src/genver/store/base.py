"""The one interface every store implements: ``SqlStore`` (SQLite, PostgreSQL) and, later,
``RestStore`` (a genver server).

Methods are keyword-only past the id they act on, take and return entities only, and raise
``GenverError`` subclasses: ``NotFoundError`` for unknown or deleted ids, ``InvalidArgumentError``
for bad values (validated before anything is written), ``AlreadyExistsError`` for conflicts,
``StoreUnavailableError`` when the backend cannot be reached.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

from genver.entities import (
    Assessment,
    Dataset,
    DatasetRecord,
    EvaluationDataset,
    Expectation,
    Experiment,
    Feedback,
    HistoryEntry,
    HistoryHead,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelAlias,
    PagedList,
    Run,
    Span,
    Trace,
    TraceOutline,
    TraceStats,
    ViewType,
)
from genver.entities.prompt import LinkedPrompt, Prompt, PromptVersion
from genver.exceptions import InvalidArgumentError, NotFoundError, StoreError
from genver.validation import check_id


class Store(abc.ABC):
    """Persistence for experiments, runs and versions (``LoggedModel``)."""

    # -- experiments -----------------------------------------------------------------------
    @abc.abstractmethod
    def create_experiment(
        self, name: str, *, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        """Create an experiment and return its id; a taken name raises ``AlreadyExistsError``."""

    @abc.abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id (deleted ones included, as MLflow does)."""

    @abc.abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this name, or None."""

    @abc.abstractmethod
    def search_experiments(
        self,
        *,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """One page of experiments matching the filter."""

    @abc.abstractmethod
    def update_experiment(
        self,
        experiment_id: str,
        *,
        new_name: str | None = None,
        lifecycle_stage: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Rename, delete/restore (``lifecycle_stage``) or tag an experiment."""

    # -- runs --------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_run(
        self,
        *,
        experiment_id: str,
        run_name: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        user_id: str | None = None,
    ) -> Run:
        """Start a run (status ``RUNNING``)."""

    @abc.abstractmethod
    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> Run:
        """Change a run's status, end time, name or lifecycle stage."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run:
        """The run with its latest metrics, params, tags and inputs."""

    @abc.abstractmethod
    def search_runs(
        self,
        *,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """One page of runs matching the filter."""

    @abc.abstractmethod
    def log_batch(
        self,
        run_id: str | None,
        *,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Log metrics, params and tags on a run, atomically.

        A metric with a ``model_id`` is also recorded on that version (with its dataset), and the
        version is recorded as an input of the run. ``run_id`` may be None only when every metric
        carries a ``model_id``. Re-logging a param with a different value raises
        ``InvalidArgumentError``.
        """

    @abc.abstractmethod
    def log_inputs(
        self, run_id: str, *, datasets: Sequence[Dataset] = (), model_ids: Sequence[str] = ()
    ) -> None:
        """Record datasets and versions a run used (idempotent)."""

    # -- versions (LoggedModel) ----------------------------------------------------------------
    @abc.abstractmethod
    def create_logged_model(
        self,
        *,
        experiment_id: str,
        name: str | None = None,
        model_type: str | None = None,
        source_run_id: str | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        status: LoggedModelStatus = LoggedModelStatus.PENDING,
        reuse_latest_by_name: bool = False,
    ) -> LoggedModel:
        """Create a version. With ``reuse_latest_by_name`` the latest active version of that name
        in the experiment is returned instead when one exists, atomically (no duplicate when two
        processes race)."""

    @abc.abstractmethod
    def get_logged_model(self, model_id: str) -> LoggedModel:
        """The version with params, tags and metrics; unknown or deleted → ``NotFoundError``."""

    def active_model_ids(self, model_ids: Sequence[str]) -> set[str]:
        """Which of ``model_ids`` name active versions (a link check for many traces at once:
        SQL stores answer in one query; this default asks for each)."""
        found = set()
        for model_id in checked_model_ids(model_ids):
            try:
                self.get_logged_model(model_id)
            except NotFoundError:
                continue
            found.add(model_id)
        return found

    @abc.abstractmethod
    def find_logged_model(self, *, experiment_id: str, name: str) -> LoggedModel | None:
        """The latest active version with this exact name in the experiment, or None."""

    @abc.abstractmethod
    def update_logged_model(
        self,
        model_id: str,
        *,
        status: LoggedModelStatus | None = None,
        status_message: str | None = None,
        deleted: bool = False,
    ) -> LoggedModel | None:
        """Finalize (status, message) or soft-delete a version; returns it unless deleted."""

    @abc.abstractmethod
    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        """Upsert tags on a version."""

    @abc.abstractmethod
    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove one tag; a missing key raises ``NotFoundError``."""

    @abc.abstractmethod
    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Add params to a version; params are write-once (same value again is a no-op)."""

    @abc.abstractmethod
    def search_logged_models(
        self,
        *,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
        max_results: int = 100,
        order_by: Sequence[Mapping[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """One page of versions matching the filter (MLflow's grammar plus OR and parentheses)."""

    # -- aliases and history (genver) -----------------------------------------------------------
    @abc.abstractmethod
    def set_logged_model_alias(self, model_id: str, alias: str) -> None:
        """Point ``alias`` (unique in the version's experiment) at this version, moving it off
        the version holding it; setting it where it already is changes nothing. The move is
        recorded in both versions' history."""

    @abc.abstractmethod
    def delete_logged_model_alias(self, *, experiment_id: str, alias: str) -> None:
        """Remove an alias (recorded in its version's history); one the experiment does not
        have is a ``NotFoundError`` naming it."""

    @abc.abstractmethod
    def get_logged_model_by_alias(self, *, experiment_id: str, alias: str) -> LoggedModel:
        """The version ``alias`` points to in the experiment; none is a ``NotFoundError``
        naming the alias."""

    @abc.abstractmethod
    def get_logged_model_aliases(self, *, experiment_id: str) -> list[ModelAlias]:
        """The experiment's aliases, by name."""

    @abc.abstractmethod
    def get_logged_model_history(
        self,
        model_id: str,
        *,
        max_results: int = 1000,
        page_token: str | None = None,
        newest_first: bool = False,
    ) -> PagedList[HistoryEntry]:
        """One page of a version's history, oldest first (or newest first); deleted versions too
        (their history is kept). An id no version ever had is a ``NotFoundError``."""

    @abc.abstractmethod
    def get_alias_history(self, *, experiment_id: str, alias: str) -> list[HistoryEntry]:
        """Every move of ``alias`` in the experiment (``alias_set`` / ``alias_removed``
        entries), oldest first: which version held it when."""

    @abc.abstractmethod
    def read_history(self, *, after_seq: int = 0, max_results: int = 1000) -> list[HistoryEntry]:
        """The chain's entries with ``seq`` above ``after_seq``, in order, at most
        ``max_results``: what ``genver audit verify`` reads, stored values as they are."""

    @abc.abstractmethod
    def history_head(self) -> HistoryHead:
        """How many entries the chain has and the hash of its last one."""

    # -- prompts (optional: a store without them raises StoreError naming itself) ---------------
    def create_prompt_version(
        self,
        name: str,
        *,
        template: str | list[dict[str, Any]],
        commit_message: str | None = None,
        tags: Mapping[str, str] | None = None,
        model_config: Mapping[str, Any] | None = None,
        response_format: Mapping[str, Any] | None = None,
    ) -> PromptVersion:
        """Register the next version (1, 2, ...) of prompt ``name``, creating the prompt on its
        first version; recorded in the history chain under the prompt's id."""
        raise self._no_prompts()

    def get_prompt_version(self, name: str, version: int, *, include_deleted: bool = False) -> PromptVersion:
        """One version (``NotFoundError`` naming it if missing or deleted, unless
        ``include_deleted``: what comparisons of app versions that used it read)."""
        raise self._no_prompts()

    def get_prompt_version_by_alias(self, name: str, alias: str) -> PromptVersion:
        """The version ``alias`` points to; ``latest``: the newest version not deleted."""
        raise self._no_prompts()

    def get_prompt_versions(self, name: str) -> list[PromptVersion]:
        """Every version not deleted, oldest first (none: an empty list)."""
        raise self._no_prompts()

    def delete_prompt_version(self, name: str, version: int) -> None:
        """Delete a version (its aliases go with it; its number is never given again)."""
        raise self._no_prompts()

    def get_prompt(self, name: str) -> Prompt | None:
        raise self._no_prompts()

    def search_prompts(
        self,
        *,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Prompt]:
        """One page of prompts (``name``, ``creation_timestamp``, ``tags.<key>`` filters), by name."""
        raise self._no_prompts()

    def set_prompt_tags(self, name: str, tags: Mapping[str, str], *, version: int | None = None) -> None:
        """Set tags on the prompt, or on one of its versions."""
        raise self._no_prompts()

    def delete_prompt_tag(self, name: str, key: str, *, version: int | None = None) -> None:
        raise self._no_prompts()

    def set_prompt_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at a version (recorded in the history chain)."""
        raise self._no_prompts()

    def delete_prompt_alias(self, name: str, alias: str) -> None:
        raise self._no_prompts()

    def get_prompt_history(self, name: str) -> list[HistoryEntry]:
        """The prompt's entries in the history chain, oldest first."""
        raise self._no_prompts()

    def link_prompts_to_model(self, model_id: str, prompts: Sequence[LinkedPrompt]) -> None:
        """Add prompt versions to a version's ``mlflow.linkedPrompts`` tag (recorded as a tag change)."""
        raise self._no_prompts()

    def _no_prompts(self) -> StoreError:
        return StoreError(f"{type(self).__name__} keeps no prompts: use a SQL store or a genver server.")

    # -- traces ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def log_traces(self, traces: Sequence[Trace]) -> None:
        """Store complete traces (info and spans) in one batch. Idempotent: a trace id stored
        again replaces the earlier copy, so a retried or re-spooled batch never duplicates."""

    def merge_traces(self, traces: Sequence[Trace]) -> None:
        """Add the spans of ``traces`` to the stored traces of the same ids, creating those not
        stored yet (OTLP ingest, where one trace's spans arrive over several requests). Spans are
        upserted by span id, so a resent span is not duplicated; timing covers every span; state
        and previews come from the copy holding the root span. Concurrent merges into one trace
        keep every span. Only the SQL store implements it."""
        raise StoreError(
            f"{type(self).__name__} cannot merge spans into stored traces: send OTLP spans to a "
            "genver server's /v1/traces, or open a sqlite:// or postgresql:// store."
        )

    @abc.abstractmethod
    def get_trace(self, trace_id: str) -> Trace:
        """The trace with its spans; unknown or deleted → ``NotFoundError``."""

    def get_trace_outline(self, trace_id: str) -> TraceOutline:
        """The trace's info and every span's outline (no inputs, outputs, attributes or events),
        in start order: what a span tree needs. Stores override it with a read that never decodes
        the payloads; this default reads the whole trace."""
        from genver.store.outlines import outline_of

        trace = self.get_trace(trace_id)
        spans = sorted(trace.data.spans, key=lambda s: (s.start_time_ns, s.span_id))
        return TraceOutline(trace.info, tuple(outline_of(s) for s in spans))

    def get_spans(self, trace_id: str, span_ids: Sequence[str]) -> list[Span]:
        """The full spans ``span_ids`` of a trace, in the order asked; ids the trace does not
        have are left out. An unknown trace is a ``NotFoundError``."""
        by_id = {s.span_id: s for s in self.get_trace(trace_id).data.spans}
        return [by_id[i] for i in dict.fromkeys(span_ids) if i in by_id]

    @abc.abstractmethod
    def search_traces(
        self,
        *,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        include_spans: bool = True,
    ) -> PagedList[Trace]:
        """One page of traces matching the trace filter language (see ``search.ast.TRACES``);
        newest first unless ``order_by`` says otherwise."""

    @abc.abstractmethod
    def delete_traces(
        self,
        *,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        """Delete traces by ids, or older than a timestamp (at most ``max_traces``, oldest first);
        returns how many were deleted."""

    @abc.abstractmethod
    def set_trace_tags(self, trace_id: str, tags: Mapping[str, str]) -> None:
        """Upsert tags on a stored trace."""

    @abc.abstractmethod
    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        """Remove a tag from a stored trace; a missing key raises ``NotFoundError``."""

    @abc.abstractmethod
    def trace_stats(
        self,
        *,
        experiment_ids: Sequence[str] | None = None,
        model_ids: Sequence[str] | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        bucket_ms: int | None = None,
    ) -> list[TraceStats]:
        """Statistics per version (``model_id``; None groups unlinked traces) over traces whose
        ``request_time`` is in ``[start_time, end_time)`` ms. With ``bucket_ms`` (both times then
        required): per version and time bucket ``[start_time + k * bucket_ms, ... + bucket_ms)``,
        each with its ``bucket_start``, only buckets with traces, ordered by version then time."""

    # -- assessments and evaluation datasets ----------------------------------------------------
    @abc.abstractmethod
    def log_assessments(self, assessments: Sequence[Assessment]) -> None:
        """Store feedback and expectations on traces, in one transaction. Idempotent per
        ``assessment_id``; every trace must exist (``NotFoundError`` names the first missing).
        An assessment with ``overrides`` marks that assessment (of the same trace; else
        ``NotFoundError``) ``valid=False``."""

    @abc.abstractmethod
    def get_assessments(
        self, *, trace_ids: Sequence[str] | None = None, run_id: str | None = None, name: str | None = None
    ) -> list[Assessment]:
        """Assessments of these traces, or produced by this evaluation run, optionally of one
        name; ordered by trace, then name, then creation time."""

    @abc.abstractmethod
    def update_assessment(
        self, trace_id: str, assessment_id: str, update: Feedback | Expectation
    ) -> Assessment:
        """Change an assessment in place, as MLflow does: name and value (and a feedback's error)
        from ``update``, its rationale when it has one, metadata merged (``update``'s keys win);
        source, span, run, creation time, ``valid`` and ``overrides`` kept; ``last_update_time_ms``
        stamped. A Feedback cannot update an expectation nor the reverse (``InvalidArgumentError``);
        an unknown trace or assessment is a ``NotFoundError``. Returns the updated assessment."""

    @abc.abstractmethod
    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        """Delete an assessment; one that is not there is a no-op (an unknown trace is a
        ``NotFoundError``). If it overrode another, that one is valid again."""

    @abc.abstractmethod
    def create_eval_dataset(
        self,
        *,
        name: str,
        experiment_id: str,
        records: Sequence[DatasetRecord] = (),
        tags: Mapping[str, str] | None = None,
    ) -> EvaluationDataset:
        """Create an evaluation dataset (``d-<32 hex>`` id) holding ``records``."""

    @abc.abstractmethod
    def get_eval_dataset(self, dataset_id: str) -> EvaluationDataset:
        """The dataset with its records; unknown → ``NotFoundError``."""

    @abc.abstractmethod
    def search_eval_datasets(
        self,
        *,
        experiment_ids: Sequence[str] | None,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[EvaluationDataset]:
        """One page of datasets (without records) in these experiments (None: every experiment),
        newest first; filters on ``name``, ``digest``, ``created_time``, ``tags.<k>``."""

    @abc.abstractmethod
    def add_eval_dataset_records(
        self, dataset_id: str, records: Sequence[DatasetRecord], *, merge: bool = False
    ) -> EvaluationDataset:
        """Add records. A record whose ``record_id`` is stored replaces it, or with ``merge``
        merges into it (expectations and tags by key, outputs when it has some), keeping its
        place and creation time. The digest is recomputed from the full content. Returns the
        dataset with its records."""

    @abc.abstractmethod
    def set_eval_dataset_tags(self, dataset_id: str, tags: Mapping[str, str | None]) -> None:
        """Upsert a dataset's tags; a None value deletes that tag. Unknown dataset →
        ``NotFoundError``."""

    @abc.abstractmethod
    def delete_eval_dataset_tag(self, dataset_id: str, key: str) -> None:
        """Remove one tag (a key the dataset does not have is a no-op, as in MLflow); unknown
        dataset → ``NotFoundError``."""

    @abc.abstractmethod
    def delete_eval_dataset(self, dataset_id: str) -> None:
        """Delete a dataset and its records."""

    # -- computed by the backend ----------------------------------------------------------------
    def served_comparison(self, kind: str, query: Mapping[str, Any]) -> dict[str, Any] | None:
        """A comparison (``kind`` ``"compare"``) or gate (``"gate"``) computed by the backend, as
        the JSON of ``GET /api/v1/<kind>?<query>``; None when the backend computes none and the
        caller computes it over this store (every store but a genver server's)."""
        return None

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def display_uri(self) -> str:
        """Where this store keeps its data, with any password hidden: for messages."""
        return redact_uri(str(getattr(self, "uri", "") or type(self).__name__))


def redact_uri(uri: str) -> str:
    """``uri`` with the password of its ``user:password@`` part replaced by ``***``."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if parts.password is None:
        return uri
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def checked_model_ids(model_ids: object) -> list[str]:
    """``model_ids`` without repeats, each a usable id (``active_model_ids``), else an
    ``InvalidArgumentError`` naming the bad value."""
    if isinstance(model_ids, str) or not isinstance(model_ids, Sequence):
        raise InvalidArgumentError(f"Invalid model_ids {model_ids!r}: expected a list of model ids.")
    wanted = list(dict.fromkeys(model_ids))
    for model_id in wanted:
        check_id(model_id, "model id")
    return wanted
