"""The fluent API's core: the store behind it, the tracking URI and experiments."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from genver import context as ctx
from genver.client import GenverClient
from genver.config import DEFAULT_TRACKING_URI, EXPERIMENT_ID, EXPERIMENT_NAME, TRACKING_USER
from genver.entities import Experiment, ViewType
from genver.entities.paged_list import collect_pages
from genver.exceptions import AlreadyExistsError, GenverError, InvalidArgumentError, NotFoundError
from genver.gitinfo import cached_git_info
from genver.store.base import Store
from genver.validation import check_int

log = logging.getLogger("genver")
_MAX_REMEMBERED_RUNS = 10_000


class FluentBase:
    """State shared by the fluent mixins: the client (opened lazily) and the context.

    Each topic mixin (``runs.py``, ``models.py``, ``tracing.py``) sits directly on this class, and
    ``Genver`` lists them all; the few methods one topic needs from another are declared here.
    """

    def __init__(
        self,
        *,
        store: Store | None = None,
        tracking_uri: str | None = None,
        environ: MutableMapping[str, str] | None = None,
    ) -> None:
        self._environ: MutableMapping[str, str] = os.environ if environ is None else environ
        self._explicit_store = store
        self._tracking_uri = tracking_uri
        self._client: GenverClient | None = None
        self._client_uri: str | None = None
        self._client_lock = threading.Lock()
        self._experiment_id: str | None = None
        self._models = ctx.ModelContext()
        self._runs = ctx.RunContext()
        self._last = ctx.ThreadLast()
        self._context_tags_cache: dict[str, str] | None = None
        self._env_models: dict[tuple[str, str], str] = {}
        self._env_lock = threading.Lock()
        self._env_failed: dict[tuple[str, str], float] = {}  # (uri, value) -> monotonic time
        self._env_errors: dict[tuple[str, str], GenverError] = {}  # (uri, value) -> last failure
        self._datasets_logged: set[tuple[str, str, str]] = set()
        # (tracking URI, run id) -> the run's experiment id, which never changes: asking the
        # store for the whole run (five statements) just for it made every call in a run slow.
        self._run_experiments: dict[tuple[str, str], str] = {}
        self._prompt_links: Any = None  # fluent/prompts.py: what this instance linked (made on first use)

    # -- store / tracking URI -------------------------------------------------------------------
    @property
    def client(self) -> GenverClient:
        """The client on the current tracking URI (opened on first use, reopened if it changed)."""
        if self._explicit_store is not None:
            if self._client is None:
                self._client = GenverClient(store=self._explicit_store)
            return self._client
        uri = self.get_tracking_uri()
        client = self._client
        if client is not None and self._client_uri == uri:
            return client
        with self._client_lock:
            if self._client is None or self._client_uri != uri:
                from genver.store import store_for_uri

                old = self._client
                self._client = GenverClient(store=store_for_uri(uri, environ=self._environ))
                self._client_uri = uri
                if old is not None:
                    old.close()
            return self._client

    def set_tracking_uri(self, uri: str | os.PathLike[str]) -> None:
        """Where data goes: ``sqlite:///path``, ``postgresql://...`` or a plain folder/file path."""
        text = os.fspath(uri) if isinstance(uri, (str, os.PathLike)) else None
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgumentError(f"Invalid tracking URI {uri!r}: expected e.g. 'sqlite:///genver.db'.")
        if "://" not in text:  # a path: a SQLite file there
            text = "sqlite:///" + os.path.abspath(
                text if text.endswith(".db") else os.path.join(text, "genver.db")
            )
        self._tracking_uri = text
        if self is _default_holder[0]:
            ctx.set_process_tracking_uri(text)
        self._experiment_id = None

    def get_tracking_uri(self) -> str:
        """The tracking URI in effect (``sqlite:///genver.db`` when nothing is set)."""
        if self._tracking_uri:
            return self._tracking_uri
        return ctx.resolve_tracking_uri(None, self._environ)

    def is_tracking_uri_set(self) -> bool:
        return (
            bool(self._tracking_uri) or ctx.resolve_tracking_uri(None, self._environ) != DEFAULT_TRACKING_URI
        )

    # -- experiments -------------------------------------------------------------------------------
    def set_experiment(
        self, experiment_name: str | None = None, experiment_id: str | None = None
    ) -> Experiment:
        """Make an experiment active, creating it by name if it does not exist."""
        if (experiment_name is None) == (experiment_id is None):
            raise InvalidArgumentError("Pass exactly one of experiment_name or experiment_id.")
        client = self.client
        if experiment_id is not None:
            exp = client.get_experiment(str(experiment_id))
        else:
            assert experiment_name is not None
            found = client.get_experiment_by_name(experiment_name)
            if found is None:
                with contextlib.suppress(AlreadyExistsError):  # another process may win the race
                    client.create_experiment(experiment_name)
                found = client.get_experiment_by_name(experiment_name)
                assert found is not None
            exp = found
        if exp.lifecycle_stage != "active":
            raise InvalidArgumentError(
                f"Experiment {exp.name!r} (id {exp.experiment_id!r}) is deleted: restore it first "
                "(GenverClient().restore_experiment) or pick another name."
            )
        self._experiment_id = exp.experiment_id
        return exp

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> str:
        return self.client.create_experiment(name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.client.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.client.get_experiment_by_name(name)

    def delete_experiment(self, experiment_id: str) -> None:
        self.client.delete_experiment(experiment_id)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
    ) -> list[Experiment]:
        """All experiments matching the filter (every page, up to ``max_results``)."""
        if max_results is not None:
            check_int(max_results, "max_results", minimum=1)
        client = self.client
        return collect_pages(
            lambda size, token: client.search_experiments(view_type, size, filter_string, order_by, token),
            max_results,
        )

    @property
    def environ(self) -> MutableMapping[str, str]:
        """The environment this instance reads its settings from."""
        return self._environ

    def current_experiment_id(self) -> str:
        """Active run's experiment > ``set_experiment`` > env id > env name > ``"0"``."""
        stack = self._runs.stack()
        if stack:
            return self._run_experiment_id(stack[-1])
        if self._experiment_id is not None:
            return self._experiment_id
        env_id = EXPERIMENT_ID.get(self._environ)
        if env_id is not None:
            return env_id
        env_name = EXPERIMENT_NAME.get(self._environ)
        if env_name is not None:
            return self.set_experiment(experiment_name=env_name).experiment_id
        return "0"

    def _run_experiment_id(self, run_id: str) -> str:
        """The experiment of a run, asked of the store once per run."""
        key = (self.get_tracking_uri(), run_id)
        experiment_id = self._run_experiments.get(key)
        if experiment_id is None:
            experiment_id = self.client.get_run(run_id).info.experiment_id
            self._remember_run(run_id, experiment_id)
        return experiment_id

    def _remember_run(self, run_id: str, experiment_id: str) -> None:
        if len(self._run_experiments) >= _MAX_REMEMBERED_RUNS:
            self._run_experiments.clear()  # a bound, not an LRU: runs are asked for again cheaply
        self._run_experiments[(self.get_tracking_uri(), run_id)] = experiment_id

    # -- declared for the other topics; implemented in fluent/tracing.py --------------------------
    def get_current_active_span(self) -> Any:
        """The span the calling code runs in, or None."""
        raise NotImplementedError

    def flush_trace_async_logging(self, terminate: bool = False, timeout: float | None = 30.0) -> bool:
        """Wait until every trace this instance finished is exported."""
        raise NotImplementedError

    def set_trace_tag(self, trace_id: str, key: str, value: Any) -> None:
        """Tag the trace in progress (or a stored one)."""
        raise NotImplementedError

    # -- declared for the other topics; implemented in fluent/models.py ---------------------------
    def get_active_model_id(self) -> str | None:
        """The id of the active version in this context, or None."""
        raise NotImplementedError

    def active_model_id_for_tracing(self) -> str | None:
        """The version a trace starting now links to (with the worker-thread fallback)."""
        raise NotImplementedError

    def _env_model_id(self, *, strict: bool = False) -> str | None:
        """The version ``GENVER_ACTIVE_MODEL_ID`` / ``MLFLOW_ACTIVE_MODEL_ID`` names, resolved once."""
        raise NotImplementedError

    def _context_tags(self) -> dict[str, str]:
        """``mlflow.user``, ``mlflow.source.*`` and git tags, computed once per process."""
        if self._context_tags_cache is None:
            tags = {"mlflow.source.type": "LOCAL"}
            user = TRACKING_USER.get(self._environ)
            if user:
                tags["mlflow.user"] = user
            script = sys.argv[0] if sys.argv and sys.argv[0] else ""
            if script:
                tags["mlflow.source.name"] = script
            git = cached_git_info(os.getcwd())
            if git is not None:
                tags["mlflow.source.git.commit"] = git.commit
                if git.branch:
                    tags["mlflow.source.git.branch"] = git.branch
            self._context_tags_cache = tags
        return dict(self._context_tags_cache)


def check_output_format(output_format: str) -> None:
    if output_format not in ("list", "pandas"):
        raise InvalidArgumentError(f"Invalid output_format {output_format!r}: expected 'list' or 'pandas'.")


def not_found(exc: NotFoundError) -> bool:
    return isinstance(exc, NotFoundError)


#: Holds the default instance once genver/__init__ creates it (set_tracking_uri is process-wide).
_default_holder: list[object] = [None]
