"""MLflow 3's prompt registry at module level (``mlflow.genai.register_prompt``, ``load_prompt``
...), and the links from what uses a prompt to the prompt version it used.

``load_prompt`` goes to the client, whose cache answers a repeated call; then, as MLflow does, the
version is linked to the active app version (its ``mlflow.linkedPrompts`` tag: written once per
app version and prompt version per process, so the hot path only checks a set) and, inside a
traced call, recorded on the current span (attribute ``mlflow.linkedPrompts``) and its trace
(tag ``mlflow.linkedPrompts``). Linking never breaks the app: a failure is logged (raised under
pytest).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from genver.entities import PagedList
from genver.entities.prompt import (
    LINKED_PROMPTS_KEY,
    LinkedPrompt,
    Prompt,
    PromptVersion,
    linked_prompts_value,
)
from genver.exceptions import GenverError
from genver.fluent.base import FluentBase
from genver.tracing.errors import under_pytest

log = logging.getLogger("genver.prompts")
#: Traces whose linked prompts are remembered (for the trace tag, merged as prompts load).
_TRACES_KEPT = 1000


class PromptsAPI(FluentBase):
    """Prompts: ``register_prompt``, ``load_prompt``, ``search_prompts``, aliases and tags."""

    def register_prompt(
        self,
        name: str,
        template: str | list[dict[str, Any]],
        commit_message: str | None = None,
        tags: Mapping[str, str] | None = None,
        response_format: Any = None,
        model_config: Any = None,
    ) -> PromptVersion:
        """Register a new version of prompt ``name`` (the first creates it).

        >>> mlflow.genai.register_prompt("qa", "Answer {{question}}.", commit_message="first")  # doctest: +SKIP
        """
        return self.client.register_prompt(
            name,
            template,
            commit_message=commit_message,
            tags=tags,
            response_format=response_format,
            model_config=model_config,
        )

    def load_prompt(
        self,
        name_or_uri: str,
        version: str | int | None = None,
        allow_missing: bool = False,
        link_to_model: bool = True,
        model_id: str | None = None,
        cache_ttl_seconds: float | None = None,
    ) -> PromptVersion | None:
        """A prompt version: ``load_prompt("prompts:/qa/3")``, ``load_prompt("prompts:/qa@production")``,
        ``load_prompt("qa", version=3)``; a name alone is its latest version. Cached (see
        ``GenverClient.load_prompt``); linked to the active app version (or ``model_id``) and, in
        a traced call, recorded on the span and trace."""
        client = self.client
        prompt = client.load_prompt(
            name_or_uri, version, allow_missing=allow_missing, cache_ttl_seconds=cache_ttl_seconds
        )
        if prompt is None:
            return None
        span = self.get_current_active_span()
        if link_to_model:
            target = model_id if model_id is not None else self._linked_model(traced=span is not None)
            if (
                target is not None
                and (id(client), target, prompt.name, prompt.version) not in self._prompt_state().models
            ):
                self._link_to_model(client, prompt, target)
        if span is not None:
            self._link_to_span(span, prompt)
        return prompt

    def search_prompts(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
    ) -> PagedList[Prompt]:
        """Prompts matching the filter (``name LIKE 'qa%'``, ``tags.team = 'search'``), by name."""
        return self.client.search_prompts(
            filter_string=filter_string, max_results=max_results, order_by=order_by
        )

    def set_prompt_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` (``load_prompt("prompts:/<name>@<alias>")``)."""
        self.client.set_prompt_alias(name, alias, version)

    def delete_prompt_alias(self, name: str, alias: str) -> None:
        self.client.delete_prompt_alias(name, alias)

    def get_prompt_tags(self, name: str) -> dict[str, str]:
        """The prompt's tags (``NotFoundError`` if there is no prompt of that name)."""
        from genver.exceptions import NotFoundError

        prompt = self.client.get_prompt(name)
        if prompt is None:
            raise NotFoundError(f"Prompt {name!r} not found.")
        return dict(prompt.tags)

    def set_prompt_tag(self, name: str, key: str, value: str) -> None:
        self.client.set_prompt_tag(name, key, value)

    def delete_prompt_tag(self, name: str, key: str) -> None:
        self.client.delete_prompt_tag(name, key)

    def set_prompt_version_tag(self, name: str, version: str | int, key: str, value: str) -> None:
        self.client.set_prompt_version_tag(name, version, key, value)

    def delete_prompt_version_tag(self, name: str, version: str | int, key: str) -> None:
        self.client.delete_prompt_version_tag(name, version, key)

    def delete_prompt_version(self, name: str, version: str | int) -> None:
        self.client.delete_prompt_version(name, version)

    # -- links -----------------------------------------------------------------------------------
    def _prompt_state(self) -> _LinkState:
        state = self._prompt_links
        if state is None:
            with self._client_lock:
                if self._prompt_links is None:
                    self._prompt_links = _LinkState()
                state = self._prompt_links
        return state  # type: ignore[no-any-return]

    def _linked_model(self, *, traced: bool) -> str | None:
        """The app version a prompt loaded now links to: the context's (with tracing's
        worker-thread fallback inside a traced call), else the environment's. The environment's
        answer is kept for a second: reading three environment variables was most of a cached
        load_prompt (2.5 of 4 us)."""
        frame = self._models.for_tracing() if traced else self._models.current()
        if frame is not None:
            return frame.model_id
        state = self._prompt_state()
        now = time.monotonic()
        if now < state.env_until:
            return state.env_model
        try:
            found = self.get_active_model_id()
        except GenverError as exc:
            if under_pytest():
                raise
            log.warning("Could not link a prompt to the active model: %s", exc)
            found = None
        state.env_model, state.env_until = found, now + 1.0
        return found

    def _link_to_model(self, client: Any, prompt: PromptVersion, model_id: str) -> None:
        try:
            client.link_prompt_version_to_model(prompt.name, prompt.version, model_id)
            self._prompt_state().models.add((id(client), model_id, prompt.name, prompt.version))
        except GenverError as exc:
            if under_pytest():
                raise
            log.warning("Could not link prompt %s to version %s: %s", prompt.uri, model_id, exc)

    def _link_to_span(self, span: Any, prompt: PromptVersion) -> None:
        link = [LinkedPrompt(name=prompt.name, version=prompt.version)]
        try:
            span.set_attribute(
                LINKED_PROMPTS_KEY, linked_prompts_value(span.attributes.get(LINKED_PROMPTS_KEY), link)
            )
            state = self._prompt_state()
            with state.lock:
                merged = linked_prompts_value(state.traces.get(span.trace_id), link)
                state.traces[span.trace_id] = merged
                state.traces.move_to_end(span.trace_id)
                while len(state.traces) > _TRACES_KEPT:
                    state.traces.popitem(last=False)
            self.set_trace_tag(span.trace_id, LINKED_PROMPTS_KEY, merged)
        except GenverError as exc:
            if under_pytest():
                raise
            log.warning("Could not record prompt %s on trace %s: %s", prompt.uri, span.trace_id, exc)


class _LinkState:
    """What this instance already linked: (client, app version, prompt, version) written to the
    store, and each recent trace's linked prompts (for its tag)."""

    def __init__(self) -> None:
        self.models: set[tuple[int, str, str, int]] = set()
        self.env_model: str | None = None
        self.env_until = 0.0
        self.traces: OrderedDict[str, str] = OrderedDict()
        self.lock = threading.Lock()
