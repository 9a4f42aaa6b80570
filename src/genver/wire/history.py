"""Wire models for aliases and the versions' history."""

from __future__ import annotations

from typing import Any

from genver.entities import HistoryEntry, HistoryHead, ModelAlias
from genver.wire.base import Page, Wire

__all__ = [
    "AliasList",
    "HistoryEntryW",
    "HistoryHeadW",
    "HistoryList",
    "HistoryPage",
    "ModelAliasW",
]


class HistoryEntryW(Wire):
    """One history entry; ``before`` and ``after`` are JSON values as the chain holds them (a
    metric's NaN is the string ``"NaN"`` there), so the hash can be checked on either side."""

    seq: int
    time: int
    actor: str
    model_id: str
    kind: str
    before: Any = None
    after: Any = None
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, e: HistoryEntry) -> HistoryEntryW:
        return cls(**e.to_dictionary())

    def entity(self) -> HistoryEntry:
        return HistoryEntry(**self.__dict__)


class HistoryPage(Page):
    entries: list[HistoryEntryW]


class HistoryList(Wire):
    entries: list[HistoryEntryW]


class HistoryHeadW(Wire):
    count: int
    hash: str

    @classmethod
    def of(cls, head: HistoryHead) -> HistoryHeadW:
        return cls(count=head.count, hash=head.hash)

    def entity(self) -> HistoryHead:
        return HistoryHead(self.count, self.hash)


class ModelAliasW(Wire):
    alias: str
    experiment_id: str
    model_id: str
    set_time: int
    set_by: str

    @classmethod
    def of(cls, a: ModelAlias) -> ModelAliasW:
        return cls(
            alias=a.alias,
            experiment_id=a.experiment_id,
            model_id=a.model_id,
            set_time=a.set_time,
            set_by=a.set_by,
        )

    def entity(self) -> ModelAlias:
        return ModelAlias(**self.__dict__)


class AliasList(Wire):
    aliases: list[ModelAliasW]
