"""The prompts half of ``RestStore`` (``/api/v1/prompts``). Arguments are checked here as the
local store checks them, so a bad value fails the same way before anything is sent. Reads,
tag and alias changes are idempotent and retried; registering and deleting are sent once."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from genver import wire as w
from genver.entities import HistoryEntry, PagedList
from genver.entities.prompt import (
    LATEST,
    LinkedPrompt,
    Prompt,
    PromptVersion,
    check_prompt_name,
    check_prompt_version,
    json_object,
    template_text,
)
from genver.exceptions import NotFoundError
from genver.store.paging import check_max_results
from genver.store.rest_transport import RestTransport, parse, path_id, request_model
from genver.validation import check_alias, check_key, check_tags, check_text


class RestPrompts(RestTransport):
    """Prompts over HTTP; mixed into ``RestStore``."""

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
        kind, text = template_text(template)
        body = request_model(
            w.CreatePromptVersion,
            template=text if kind == "text" else json.loads(text),
            commit_message=check_text(commit_message, "commit_message"),
            tags=check_tags(tags),
            model_settings=json_object(model_config, "model_config"),
            response_format=json_object(response_format, "response_format"),
        )
        data = self._call("POST", f"{_path(name)}/versions", body, idempotent=False)
        return parse(w.PromptVersionW, data).entity()

    def get_prompt_version(self, name: str, version: int, *, include_deleted: bool = False) -> PromptVersion:
        params = {"include_deleted": "true"} if include_deleted else None
        path = f"{_path(name)}/versions/{check_prompt_version(version)}"
        return parse(w.PromptVersionW, self._call("GET", path, params=params, idempotent=True)).entity()

    def get_prompt_version_by_alias(self, name: str, alias: str) -> PromptVersion:
        label = (
            LATEST if isinstance(alias, str) and alias.lstrip("@").lower() == LATEST else check_alias(alias)
        )
        path = f"{_path(name)}/aliases/{quote(label, safe='')}"
        return parse(w.PromptVersionW, self._call("GET", path, idempotent=True)).entity()

    def get_prompt_versions(self, name: str) -> list[PromptVersion]:
        data = self._call("GET", f"{_path(name)}/versions", idempotent=True)
        return [v.entity() for v in parse(w.PromptVersionList, data).versions]

    def delete_prompt_version(self, name: str, version: int) -> None:
        self._call("DELETE", f"{_path(name)}/versions/{check_prompt_version(version)}", idempotent=False)

    def get_prompt(self, name: str) -> Prompt | None:
        try:
            return parse(w.PromptW, self._call("GET", _path(name), idempotent=True)).entity()
        except NotFoundError:
            return None

    def search_prompts(
        self,
        *,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Prompt]:
        params: dict[str, str | Sequence[str]] = {"max_results": str(check_max_results(max_results))}
        if filter_string:
            params["filter"] = filter_string
        if page_token:
            params["page_token"] = page_token
        if order_by:
            params["order_by"] = list(order_by)
        page = parse(w.PromptPage, self._call("GET", "/prompts", params=params, idempotent=True))
        return PagedList([p.entity() for p in page.prompts], page.next_page_token)

    def set_prompt_tags(self, name: str, tags: Mapping[str, str], *, version: int | None = None) -> None:
        params = None if version is None else {"version": str(check_prompt_version(version))}
        body = request_model(w.PromptTags, tags=check_tags(tags))
        self._call("PATCH", f"{_path(name)}/tags", body, params=params, idempotent=True)

    def delete_prompt_tag(self, name: str, key: str, *, version: int | None = None) -> None:
        params = None if version is None else {"version": str(check_prompt_version(version))}
        path = f"{_path(name)}/tags/{quote(check_key(key, 'tag'), safe='')}"
        self._call("DELETE", path, params=params, idempotent=False)

    def set_prompt_alias(self, name: str, alias: str, version: int) -> None:
        params = {"version": str(check_prompt_version(version))}
        self._call(
            "PUT",
            f"{_path(name)}/aliases/{quote(check_alias(alias), safe='')}",
            params=params,
            idempotent=True,
        )

    def delete_prompt_alias(self, name: str, alias: str) -> None:
        self._call("DELETE", f"{_path(name)}/aliases/{quote(check_alias(alias), safe='')}", idempotent=False)

    def get_prompt_history(self, name: str) -> list[HistoryEntry]:
        data = self._call("GET", f"{_path(name)}/history", idempotent=True)
        return [e.entity() for e in parse(w.PromptHistory, data).entries]

    def link_prompts_to_model(self, model_id: str, prompts: Sequence[LinkedPrompt]) -> None:
        links = [
            w.LinkedPromptW(name=check_prompt_name(p.name), version=check_prompt_version(p.version))
            for p in prompts
        ]
        if links:
            path = f"/models/{path_id(model_id, 'model id')}/prompts"
            self._call("POST", path, w.LinkPrompts(prompts=links), idempotent=True)


def _path(name: str) -> str:
    return f"/prompts/{check_prompt_name(name)}"
