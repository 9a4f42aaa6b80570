"""Wire models for prompts. ``model_config`` is a reserved name in pydantic, so a version's model
configuration travels as ``model_settings``."""

from __future__ import annotations

from typing import Any

from genver.entities.history import HistoryEntry
from genver.entities.prompt import LinkedPrompt, Prompt, PromptVersion
from genver.wire.base import Page, Wire
from genver.wire.history import HistoryEntryW

__all__ = [
    "CreatePromptVersion",
    "LinkPrompts",
    "LinkedPromptW",
    "PromptHistory",
    "PromptPage",
    "PromptTags",
    "PromptVersionList",
    "PromptVersionW",
    "PromptW",
]


class PromptVersionW(Wire):
    name: str
    version: int
    template: str | list[dict[str, Any]]
    commit_message: str | None = None
    creation_timestamp: int
    last_updated_timestamp: int | None = None
    user_id: str | None = None
    tags: dict[str, str] = {}
    aliases: list[str] = []
    model_settings: dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None

    @classmethod
    def of(cls, p: PromptVersion) -> PromptVersionW:
        return cls(
            name=p.name,
            version=p.version,
            template=p.template,
            commit_message=p.commit_message,
            creation_timestamp=p.creation_timestamp,
            last_updated_timestamp=p.last_updated_timestamp,
            user_id=p.user_id,
            tags=p.tags,
            aliases=p.aliases,
            model_settings=p.model_config,
            response_format=p.response_format,
        )

    def entity(self) -> PromptVersion:
        return PromptVersion(
            self.name,
            self.version,
            self.template,
            commit_message=self.commit_message,
            creation_timestamp=self.creation_timestamp,
            tags=self.tags,
            aliases=self.aliases,
            last_updated_timestamp=self.last_updated_timestamp,
            user_id=self.user_id,
            response_format=self.response_format,
            model_config=self.model_settings,
        )


class PromptVersionList(Wire):
    versions: list[PromptVersionW]


class PromptW(Wire):
    name: str
    description: str | None = None
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    tags: dict[str, str] = {}
    latest_version: int | None = None
    aliases: dict[str, int] = {}

    @classmethod
    def of(cls, p: Prompt) -> PromptW:
        return cls(
            name=p.name,
            description=p.description,
            creation_timestamp=p.creation_timestamp,
            last_updated_timestamp=p.last_updated_timestamp,
            tags=p.tags,
            latest_version=p.latest_version,
            aliases=p.aliases,
        )

    def entity(self) -> Prompt:
        return Prompt(**self.__dict__)


class PromptPage(Page):
    prompts: list[PromptW]


class CreatePromptVersion(Wire):
    template: str | list[dict[str, Any]]
    commit_message: str | None = None
    tags: dict[str, str] | None = None
    model_settings: dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None


class PromptTags(Wire):
    tags: dict[str, str]


class LinkedPromptW(Wire):
    name: str
    version: int

    def entity(self) -> LinkedPrompt:
        return LinkedPrompt(name=self.name, version=self.version)


class LinkPrompts(Wire):
    prompts: list[LinkedPromptW]


class PromptHistory(Wire):
    entries: list[HistoryEntryW]

    @classmethod
    def of(cls, found: list[HistoryEntry]) -> PromptHistory:
        return cls(entries=[HistoryEntryW.of(e) for e in found])
