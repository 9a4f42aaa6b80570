"""Versions in the fluent API: ``set_active_model``, ``create_external_model`` and friends."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from genver.client.refs import find_model, parse_model_ref, warn_if_ambiguous
from genver.config import ACTIVE_MODEL_ENV_VARS, ACTIVE_MODEL_ID
from genver.context import ActiveModel, ModelFrame
from genver.entities import HistoryEntry, LoggedModel, LoggedModelStatus
from genver.entities.paged_list import collect_pages
from genver.entities.prompt import LINKED_PROMPTS_KEY, linked_prompts_value
from genver.exceptions import GenverError, InvalidArgumentError, NotFoundError
from genver.fluent.base import FluentBase, check_output_format
from genver.validation import check_model_name, check_params, check_tags

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("genver")
EXTERNAL_TAG = "mlflow.model.isExternal"
#: Seconds to wait before trying again to resolve an active-model env var that failed to resolve.
ENV_RETRY_SECONDS = 30.0
_MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(LoggedModel))


class ModelsAPI(FluentBase):
    """Versions: the active one (set in code or from the environment), creating, reading, searching."""

    # -- the active version -------------------------------------------------------------------
    def set_active_model(self, *, name: str | None = None, model_id: str | None = None) -> ActiveModel:
        """Make a version active: traces and metrics link to it.

        By name, the latest version with that name in the active experiment is used, and created
        if there is none. Called plainly it stays active process-wide; as a ``with`` block it is
        active inside the block only.

        >>> with genver.set_active_model(name="my-agent-v2.0") as model:  # doctest: +SKIP
        ...     print(model.model_id)
        """
        if name is None and model_id is None:
            raise InvalidArgumentError("Either name or model_id must be provided.")
        if model_id is not None:
            model = self.client.get_logged_model(model_id)
            if name is not None and model.name != name:
                raise InvalidArgumentError(
                    f"LoggedModel with model_id {model_id!r} has name {model.name!r}, which does not match "
                    f"the provided name {name!r}."
                )
        else:
            assert name is not None
            model = self._get_or_create_by_name(name)
        return self.activate_model(model, set_by_user=True)

    def activate_model(self, model: LoggedModel, *, set_by_user: bool = True) -> ActiveModel:
        """Make ``model`` active (``set_by_user=False`` for activations genver makes itself, as
        evaluation and git versioning do); use the result in a ``with`` block to scope it."""
        frame = ModelFrame(model.model_id, set_by_user)
        activation = self._models.activate(frame)
        fields = {name: getattr(model, name) for name in _MODEL_FIELDS}
        fields["tags"], fields["params"] = dict(model.tags), dict(model.params)  # as to_dictionary()
        fields["aliases"] = list(model.aliases)
        return ActiveModel(**fields, set_by_user=set_by_user, _context=self._models, _activation=activation)

    def _get_or_create_by_name(self, name: str) -> LoggedModel:
        exp_id = self.current_experiment_id()
        ref = parse_model_ref(name)
        if ref.kind == "alias":  # "@production": resolved (one read), never created
            found = find_model(self.client, ref, experiment_id=exp_id)
            assert found is not None  # an alias that matches nothing raises NotFoundError
            return found
        check_model_name(name)
        found = self.client.find_logged_model(exp_id, name)
        if found is not None:
            warn_if_ambiguous(self.client, found, experiment_id=exp_id)
            return found
        log.info("LoggedModel %r does not exist in experiment %s: creating it.", name, exp_id)
        return self.create_external_model(name=name, experiment_id=exp_id, _reuse_latest=True)

    def get_active_model_id(self) -> str | None:
        """The id of the active version in this context, or None.

        The environment variable is resolved once; one naming a model id or alias that does not
        exist raises ``NotFoundError`` here (tracing only logs it)."""
        frame = self._models.current()
        if frame is not None:
            return frame.model_id
        return self._env_model_id(strict=True)

    def active_model_id_for_tracing(self) -> str | None:
        """The version a trace starting now links to (with the worker-thread fallback)."""
        frame = self._models.for_tracing()
        if frame is not None:
            return frame.model_id
        return self._env_model_id()

    def clear_active_model(self) -> None:
        """No version is active afterwards, not even the one from the environment variables."""
        for var in ACTIVE_MODEL_ENV_VARS:
            self._environ.pop(var, None)
        self._models.clear()

    def _env_model_id(self, *, strict: bool = False) -> str | None:
        """Resolve ``GENVER_ACTIVE_MODEL_ID`` / ``MLFLOW_ACTIVE_MODEL_ID`` once (``genver.client.refs``):
        an existing id, an alias, else a version name (created if missing) in the active
        experiment. After a failure (store unreachable) it answers None at once and retries after a
        pause, so an app that starts traces while the store is down is not slowed by a reconnect
        on every call. It raises only with ``strict``, and only ``NotFoundError`` (an id or alias
        that matches no version), which is remembered like any failure."""
        value = ACTIVE_MODEL_ID.get(self._environ)
        if value is None:
            return None
        cache = self._env_models
        key = (self.get_tracking_uri(), value)
        if key in cache:
            return cache[key]
        if self._env_retry_pending(key, strict):
            return None
        with self._env_lock:
            if key in cache:
                return cache[key]
            if self._env_retry_pending(key, strict):
                return None
            try:
                resolved = self._resolve_model_ref(value)
            except GenverError as exc:
                self._env_errors[key] = exc
                if key not in self._env_failed:
                    log.warning(
                        "Could not resolve active model %r from the environment (will retry in %ss): %s",
                        value,
                        ENV_RETRY_SECONDS,
                        exc,
                    )
                self._env_failed[key] = time.monotonic()
                if strict and isinstance(exc, NotFoundError):
                    raise
                return None
            self._env_failed.pop(key, None)
            self._env_errors.pop(key, None)
            cache[key] = resolved
            return resolved

    def _env_retry_pending(self, key: tuple[str, str], strict: bool) -> bool:
        failed_at = self._env_failed.get(key)
        if failed_at is None or time.monotonic() - failed_at >= ENV_RETRY_SECONDS:
            return False
        error = self._env_errors.get(key)
        if strict and isinstance(error, NotFoundError):
            raise error
        return True

    def _resolve_model_ref(self, value: str) -> str:
        """An id or alias must exist; a name is the latest version of it, created if missing."""
        found = find_model(self.client, value, experiment_id=self.current_experiment_id())
        return found.model_id if found is not None else self._get_or_create_by_name(value).model_id

    # -- creating versions ---------------------------------------------------------------------
    def create_external_model(
        self,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        model_type: str | None = None,
        experiment_id: str | None = None,
        prompts: Sequence[Any] | None = None,
        *,
        _reuse_latest: bool = False,
    ) -> LoggedModel:
        """Create a ``READY`` version for an app whose code lives outside genver; ``prompts``
        (``PromptVersion``s or URIs such as ``"prompts:/qa/3"``) are the prompt versions it uses.

        >>> genver.create_external_model(name="agent-v1.0", params={"temperature": "0.7"})  # doctest: +SKIP
        """
        all_tags = dict(check_tags(tags))
        all_tags[EXTERNAL_TAG] = "true"
        if prompts:
            links = self.client.resolve_prompt_links(prompts)
            all_tags[LINKED_PROMPTS_KEY] = linked_prompts_value(all_tags.get(LINKED_PROMPTS_KEY), links)
        model = self._create(
            name,
            source_run_id,
            all_tags,
            params,
            model_type,
            experiment_id,
            LoggedModelStatus.READY,
            _reuse_latest,
        )
        return model

    def initialize_logged_model(
        self,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        model_type: str | None = None,
        experiment_id: str | None = None,
    ) -> LoggedModel:
        """Create a ``PENDING`` version, to be finalized with ``finalize_logged_model``."""
        return self._create(
            name, source_run_id, tags, params, model_type, experiment_id, LoggedModelStatus.PENDING, False
        )

    def _create(
        self,
        name: str | None,
        source_run_id: str | None,
        tags: Mapping[str, Any] | None,
        params: Mapping[str, str] | None,
        model_type: str | None,
        experiment_id: str | None,
        status: LoggedModelStatus,
        reuse: bool,
    ) -> LoggedModel:
        check_params(params)  # fail before resolving anything
        check_tags(tags)
        stack = self._runs.stack()
        if source_run_id is None and stack:
            source_run_id = stack[-1]
        if experiment_id is None:
            if stack:
                experiment_id = self._run_experiment_id(stack[-1])
            elif source_run_id is not None and self._experiment_id is None:
                experiment_id = self._run_experiment_id(source_run_id)
            else:
                experiment_id = self.current_experiment_id()
        all_tags = self._context_tags()
        all_tags.update(tags or {})
        model = self.client.create_logged_model(
            str(experiment_id),
            name,
            source_run_id,
            all_tags,
            params,
            model_type,
            status=status,
            reuse_latest_by_name=reuse,
        )
        self._last.model_id = model.model_id
        return model

    def finalize_logged_model(
        self, model_id: str, status: LoggedModelStatus | str, status_message: str | None = None
    ) -> LoggedModel:
        """Set a version's final status: ``READY``, ``FAILED`` or ``FAILED_REGISTRATION``."""
        return self.client.finalize_logged_model(model_id, status, status_message)

    # -- reading and changing versions ------------------------------------------------------------
    def get_logged_model(self, model_id: str) -> LoggedModel:
        """The version with its params, tags and metrics."""
        return self.client.get_logged_model(model_id)

    def last_logged_model(self) -> LoggedModel | None:
        """The version this thread created last, or None."""
        model_id = self._last.model_id
        return self.client.get_logged_model(model_id) if model_id else None

    def log_model_params(self, params: Mapping[str, str], model_id: str | None = None) -> None:
        """Add string params to a version (the active one by default)."""
        check_params(params)
        self.client.log_model_params(self._model_or_active(model_id), params)

    def set_logged_model_tags(self, model_id: str | None, tags: Mapping[str, Any]) -> None:
        """Set tags on a version (upsert)."""
        self.client.set_logged_model_tags(self._model_or_active(model_id), tags)

    def delete_logged_model_tag(self, model_id: str | None, key: str) -> None:
        self.client.delete_logged_model_tag(self._model_or_active(model_id), key)

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a version (module-level in genver; client-only in MLflow)."""
        self.client.delete_logged_model(model_id)

    # -- aliases and history (genver) -----------------------------------------------------------
    def set_logged_model_alias(self, model_id: str | None, alias: str) -> None:
        """Point ``alias`` at a version (the active one if ``model_id`` is None). An alias is
        unique in the version's experiment: it moves off the version that had it. Use it as
        ``@production`` wherever a version is named (``set_active_model(name="@production")``,
        ``GENVER_ACTIVE_MODEL_ID=@production``, compare, gate, the CLI).

        >>> genver.set_logged_model_alias(model.model_id, "production")  # doctest: +SKIP
        """
        self.client.set_logged_model_alias(self._model_or_active(model_id), alias)

    def delete_logged_model_alias(self, alias: str, experiment_id: str | None = None) -> None:
        """Remove an alias from the experiment (the active one by default)."""
        self.client.delete_logged_model_alias(experiment_id or self.current_experiment_id(), alias)

    def get_logged_model_by_alias(self, alias: str, experiment_id: str | None = None) -> LoggedModel:
        """The version ``alias`` points to in the experiment (the active one by default); an
        alias the experiment does not have is a ``NotFoundError`` naming it."""
        return self.client.get_logged_model_by_alias(experiment_id or self.current_experiment_id(), alias)

    def get_logged_model_history(self, model_id: str | None = None) -> list[HistoryEntry]:
        """Every change to a version (the active one by default), oldest first: what changed,
        the value before and after, who and when."""
        return self.client.get_logged_model_history(self._model_or_active(model_id))

    def _model_or_active(self, model_id: str | None) -> str:
        resolved = model_id if model_id is not None else self.get_active_model_id()
        if resolved is None:
            raise InvalidArgumentError(
                "No model_id given and no active model: call set_active_model() or pass model_id."
            )
        return resolved

    def search_logged_models(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[Mapping[str, Any]] | None = None,
        output_format: str = "pandas",
    ) -> list[LoggedModel] | pd.DataFrame:
        """Versions matching a filter, every page up to ``max_results``, as a DataFrame or list.

        >>> genver.search_logged_models(filter_string="params.llm = 'gpt-4' AND tags.env = 'prod'",
        ...                              output_format="list")  # doctest: +SKIP
        """
        check_output_format(output_format)
        if max_results is not None and (
            isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
        ):
            raise InvalidArgumentError(f"Invalid max_results {max_results!r}: expected a positive integer.")
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [str(experiment_ids)]  # one id, not a sequence of characters
        ids = [str(e) for e in experiment_ids] if experiment_ids else [self.current_experiment_id()]
        client = self.client
        models: list[LoggedModel] = collect_pages(
            lambda size, token: client.search_logged_models(
                ids, filter_string, datasets, size, order_by, token
            ),
            max_results,
        )
        if output_format == "list":
            return models
        from genver.fluent.frames import models_frame

        return models_frame(models)
