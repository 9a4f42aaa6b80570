"""Which version held an alias at an instant, and how it differs from the one holding it now:
what ``genver models history --alias production --at 2026-12-05T14:03`` answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genver.client import GenverClient
from genver.compare.core import VersionDiff, version_diff
from genver.entities import HistoryEntry, LoggedModel
from genver.exceptions import NotFoundError


@dataclass(frozen=True, slots=True, kw_only=True)
class AliasHolder:
    """The version an alias pointed to (``model_id`` None: none), since which history entry, and
    the version itself (None when it has been deleted since; its id and history remain)."""

    model_id: str | None
    since: HistoryEntry | None
    model: LoggedModel | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "name": None if self.model is None else self.model.name,
            "deleted": self.model_id is not None and self.model is None,
            "since": None if self.since is None else self.since.to_dictionary(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AliasReport:
    """An alias then (at ``at``) and now, with the difference between the two versions (None
    when one of them is missing, or they are the same version)."""

    alias: str
    experiment_id: str
    at: int
    then: AliasHolder
    now: AliasHolder
    diff: VersionDiff | None

    @property
    def same(self) -> bool:
        return self.then.model_id == self.now.model_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "experiment_id": self.experiment_id,
            "at": self.at,
            "then": self.then.to_dict(),
            "now": self.now.to_dict(),
            "same_version": self.same,
            "diff": None if self.diff is None else self.diff.to_dict(),
        }


def alias_at(
    client: GenverClient, experiment_id: str, alias: str, at: object, *, code_diffs: bool = True
) -> AliasReport:
    """Which version held ``alias`` at ``at`` (ISO-8601, naive is UTC; or epoch ms), which holds it
    now, and their params, tags and git differences."""
    then = client.get_alias_holder_at(experiment_id, alias, at)
    moves = client.get_alias_history(experiment_id, then.alias)
    now_id = moves[-1].after.get("model_id") if moves and isinstance(moves[-1].after, dict) else None
    then_holder = AliasHolder(model_id=then.model_id, since=then.since, model=_model(client, then.model_id))
    now_holder = AliasHolder(
        model_id=now_id, since=moves[-1] if moves else None, model=_model(client, now_id)
    )
    diff = None
    if then_holder.model is not None and now_holder.model is not None and then.model_id != now_id:
        diff = version_diff(then_holder.model, now_holder.model, code_diffs=code_diffs)
    return AliasReport(
        alias=then.alias,
        experiment_id=str(experiment_id),
        at=then.at,
        then=then_holder,
        now=now_holder,
        diff=diff,
    )


def _model(client: GenverClient, model_id: str | None) -> LoggedModel | None:
    if model_id is None:
        return None
    try:
        return client.get_logged_model(model_id)
    except NotFoundError:  # deleted since: its history still names it
        return None
