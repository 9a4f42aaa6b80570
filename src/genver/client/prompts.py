"""The client's prompts (MLflow 3's prompt registry on ``MlflowClient``): registering versions,
loading them by number or alias through a TTL cache (``prompt_cache.py``), tags, aliases, and
links from app versions (the ``mlflow.linkedPrompts`` tag of a LoggedModel)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from genver.client.base import ClientBase
from genver.client.prompt_cache import PromptCache, check_ttl
from genver.entities import HistoryEntry, PagedList
from genver.entities.paged_list import collect_pages
from genver.entities.prompt import (
    LINKED_PROMPTS_KEY,
    LinkedPrompt,
    Prompt,
    PromptVersion,
    check_prompt_version,
    linked_prompts,
    parse_prompt_uri,
)
from genver.exceptions import InvalidArgumentError, NotFoundError


class PromptsClient(ClientBase):
    """Prompts: versions 1, 2, ... of a named template, with tags and aliases."""

    _prompt_cache: PromptCache

    @property
    def prompt_cache(self) -> PromptCache:
        """This client's cache of loaded prompts (created on first use, TTLs from the settings).
        Assign a ``PromptCache`` to change its TTLs or clock."""
        try:
            return self._prompt_cache
        except AttributeError:
            self._prompt_cache = PromptCache()
            return self._prompt_cache

    @prompt_cache.setter
    def prompt_cache(self, cache: PromptCache) -> None:
        self._prompt_cache = cache

    def register_prompt(
        self,
        name: str,
        template: str | list[dict[str, Any]],
        commit_message: str | None = None,
        tags: Mapping[str, str] | None = None,
        response_format: Any = None,
        model_config: Any = None,
    ) -> PromptVersion:
        """Register the next version of prompt ``name`` (version 1 creates the prompt).

        >>> client.register_prompt("qa", "Answer {{question}} briefly.", commit_message="first")  # doctest: +SKIP
        PromptVersion(name=qa, version=1, template=Answer {{question}} briefly.)
        """
        version = self._store.create_prompt_version(
            name,
            template=template,
            commit_message=commit_message,
            tags=tags,
            model_config=_as_dict(model_config, "model_config"),
            response_format=_as_dict(response_format, "response_format"),
        )
        self.prompt_cache.forget(name)  # "@latest" and a bare name now mean the new version
        return version

    def load_prompt(
        self,
        name_or_uri: str,
        version: str | int | None = None,
        allow_missing: bool = False,
        cache_ttl_seconds: float | None = None,
    ) -> PromptVersion | None:
        """A prompt version by URI (``prompts:/qa/3``, ``prompts:/qa@production``,
        ``prompts:/qa@latest``) or by name (with ``version=``; without: the latest version).
        Served from the cache while fresh (``cache_ttl_seconds``: this call's TTL, 0 skips the
        cache); ``allow_missing`` answers None instead of ``NotFoundError``."""
        try:
            cache = self._prompt_cache
        except AttributeError:
            cache = self.prompt_cache
        key = (name_or_uri, version)
        if cache_ttl_seconds is None:
            hit = cache.entries.get(key)
            if hit is not None and hit[1] > cache.clock():
                return hit[0]
        ref = parse_prompt_uri(name_or_uri, version)
        if cache_ttl_seconds is None:
            ttl = cache.alias_ttl if ref.alias is not None else cache.version_ttl
        else:
            ttl = check_ttl(cache_ttl_seconds)
        try:
            if ref.alias is not None:
                prompt = self._store.get_prompt_version_by_alias(ref.name, ref.alias)
            else:
                prompt = self._store.get_prompt_version(ref.name, ref.version or 0)
        except NotFoundError:
            if allow_missing:
                return None
            raise
        cache.put(key, prompt, ttl)
        return prompt

    def parse_prompt_uri(self, uri: str) -> tuple[str, str]:
        """``(name, version)`` of a prompt URI, an alias resolved to its version (as MLflow)."""
        ref = parse_prompt_uri(uri)
        if ref.alias is None:
            return ref.name, str(ref.version)
        return ref.name, str(self._store.get_prompt_version_by_alias(ref.name, ref.alias).version)

    def get_prompt(self, name: str) -> Prompt | None:
        """The prompt (tags, latest version, aliases), or None if there is none of that name."""
        return self._store.get_prompt(name)

    def get_prompt_version(
        self, name: str, version: str | int, *, include_deleted: bool = False
    ) -> PromptVersion:
        """One version (``include_deleted``: also a deleted one, as comparisons show it)."""
        return self._store.get_prompt_version(
            name, check_prompt_version(version), include_deleted=include_deleted
        )

    def get_prompt_version_by_alias(self, name: str, alias: str) -> PromptVersion:
        return self._store.get_prompt_version_by_alias(name, alias)

    def search_prompts(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Prompt]:
        """Prompts matching a filter (``name LIKE 'qa%'``, ``tags.team = 'search'``), by name.
        Without ``max_results``, every one."""
        if max_results is None and page_token is None:
            found = collect_pages(
                lambda n, token: self._store.search_prompts(
                    filter_string=filter_string, max_results=n, order_by=order_by, page_token=token
                ),
                None,
            )
            return PagedList(found, None)
        return self._store.search_prompts(
            filter_string=filter_string,
            max_results=100 if max_results is None else max_results,
            order_by=order_by,
            page_token=page_token,
        )

    def search_prompt_versions(self, name: str) -> PagedList[PromptVersion]:
        """Every version of prompt ``name`` that is not deleted, oldest first."""
        return PagedList(self._store.get_prompt_versions(name), None)

    def delete_prompt_version(self, name: str, version: str | int) -> None:
        """Delete a version: it can no longer be loaded (app versions that used it still show its
        text in comparisons), its aliases go, and its number is not given again."""
        self._store.delete_prompt_version(name, check_prompt_version(version))
        self.prompt_cache.forget(name)

    def set_prompt_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point ``alias`` of prompt ``name`` at ``version`` (recorded in the history chain)."""
        self._store.set_prompt_alias(name, alias, check_prompt_version(version))
        self.prompt_cache.forget(name)

    def delete_prompt_alias(self, name: str, alias: str) -> None:
        self._store.delete_prompt_alias(name, alias)
        self.prompt_cache.forget(name)

    def set_prompt_tag(self, name: str, key: str, value: str) -> None:
        self._store.set_prompt_tags(name, {key: value})

    def delete_prompt_tag(self, name: str, key: str) -> None:
        self._store.delete_prompt_tag(name, key)

    def set_prompt_version_tag(self, name: str, version: str | int, key: str, value: str) -> None:
        self._store.set_prompt_tags(name, {key: value}, version=check_prompt_version(version))
        self.prompt_cache.forget(name)

    def delete_prompt_version_tag(self, name: str, version: str | int, key: str) -> None:
        self._store.delete_prompt_tag(name, key, version=check_prompt_version(version))
        self.prompt_cache.forget(name)

    def get_prompt_history(self, name: str) -> list[HistoryEntry]:
        """The prompt's entries in the history chain: versions registered and deleted, alias moves."""
        return self._store.get_prompt_history(name)

    def link_prompt_version_to_model(self, name: str, version: str | int, model_id: str) -> None:
        """Record that app version ``model_id`` uses this prompt version (its
        ``mlflow.linkedPrompts`` tag, as MLflow)."""
        self.link_prompt_versions_to_model(
            model_id, [LinkedPrompt(name=name, version=check_prompt_version(version))]
        )

    def link_prompt_versions_to_model(
        self, model_id: str, prompts: Sequence[PromptVersion | LinkedPrompt | str]
    ) -> None:
        """Link several prompt versions at once: ``PromptVersion``s, or URIs (an alias is
        resolved to the version it points to now)."""
        self._store.link_prompts_to_model(model_id, self.resolve_prompt_links(prompts))

    def resolve_prompt_links(
        self, prompts: Sequence[PromptVersion | LinkedPrompt | str]
    ) -> list[LinkedPrompt]:
        """The prompt versions ``prompts`` name, each checked to exist (an alias or a name alone is
        resolved to the version it points to now)."""
        links = [self._linked(p) for p in prompts]
        for link in links:
            self._store.get_prompt_version(link.name, link.version)
        return links

    def get_linked_prompts(self, model_id: str) -> list[LinkedPrompt]:
        """The prompt versions app version ``model_id`` used, in the order they were linked."""
        return linked_prompts(self._store.get_logged_model(model_id).tags.get(LINKED_PROMPTS_KEY))

    def _linked(self, prompt: PromptVersion | LinkedPrompt | str) -> LinkedPrompt:
        if isinstance(prompt, LinkedPrompt):
            return prompt
        if isinstance(prompt, PromptVersion):
            return LinkedPrompt(name=prompt.name, version=prompt.version)
        if isinstance(prompt, str):
            ref = parse_prompt_uri(prompt)
            if ref.alias is None and ref.version is not None:
                return LinkedPrompt(name=ref.name, version=ref.version)
            found = self._store.get_prompt_version_by_alias(ref.name, ref.alias or "latest")
            return LinkedPrompt(name=found.name, version=found.version)
        raise InvalidArgumentError(
            f"Invalid prompt {prompt!r}: expected a PromptVersion (from register_prompt or load_prompt) "
            "or a URI such as 'prompts:/qa/3'."
        )


def _as_dict(value: Any, what: str) -> Mapping[str, Any] | None:
    """A dict, a pydantic model class (its JSON schema, for ``response_format``), or an object
    with ``to_dict()`` / ``model_dump()`` (MLflow's ``PromptModelConfig``)."""
    if value is None or isinstance(value, Mapping):
        return value
    if isinstance(value, type) and hasattr(value, "model_json_schema"):
        schema: dict[str, Any] = value.model_json_schema()
        return schema
    for method in ("to_dict", "model_dump"):
        if callable(getattr(value, method, None)):
            out = getattr(value, method)()
            if isinstance(out, Mapping):
                return {k: v for k, v in out.items() if v is not None}
    raise InvalidArgumentError(f"Invalid {what} {value!r}: expected a dict such as {{'temperature': 0.2}}.")
