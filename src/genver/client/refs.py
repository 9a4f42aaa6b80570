"""Version references, read in one place: a model id, a version name, or an alias.

Every door that takes a version from a person — ``set_active_model(name=...)``, the
``GENVER_ACTIVE_MODEL_ID`` / ``MLFLOW_ACTIVE_MODEL_ID`` variables, ``compare_models``, ``gate``,
the CLI, the server's compare endpoints and its OTLP ingest — parses it here:

- ``m-`` and 32 hex digits: a model id. One that matches no version is a ``NotFoundError`` naming
  it and the store; it is never read as a name (so it never creates a version named like an id);
- ``@production``: an alias, looked up in the experiment; one the experiment does not have is a
  ``NotFoundError`` naming it (never a new version);
- anything else: a version name, meaning the latest active version of that name in the
  experiment. When several versions share the name, the newest is used and a warning (the
  ``genver`` logger, as MLflow's ``set_active_model`` does) says which one, when it was created
  and how to be explicit; the server's own lookups pass ``warn=False`` (a log line per request
  helps no one).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from genver.entities import LoggedModel, PagedList
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.search.parser import quote
from genver.validation import check_alias

MODEL_ID = re.compile(r"m-[0-9a-f]{32}")
log = logging.getLogger("genver")


class ModelLookup(Protocol):
    """What resolving needs: a ``GenverClient`` has it."""

    @property
    def tracking_uri(self) -> str: ...
    def get_logged_model(self, model_id: str) -> LoggedModel: ...
    def find_logged_model(self, experiment_id: str, name: str) -> LoggedModel | None: ...
    def get_logged_model_by_alias(self, experiment_id: str, alias: str) -> LoggedModel: ...
    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[Mapping[str, object]] | None = None,
        max_results: int | None = None,
    ) -> PagedList[LoggedModel]: ...


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed version reference: ``kind`` says how ``value`` is looked up."""

    kind: Literal["id", "name", "alias"]
    value: str  # the id, the name, or the alias without its "@"

    def __str__(self) -> str:
        return "@" + self.value if self.kind == "alias" else self.value


def parse_model_ref(ref: object) -> ModelRef:
    """Read a version reference; anything but non-blank text is an ``InvalidArgumentError``."""
    if isinstance(ref, ModelRef):
        return ref
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidArgumentError(
            f"Invalid version {ref!r}: expected a model id (m-<32 hex>), a version name such as "
            "'my-agent-v1.0', or an alias such as '@production'."
        )
    if ref.startswith("@"):
        if not ref[1:].strip():
            raise InvalidArgumentError(
                f"Invalid alias {ref!r}: expected a name after '@', e.g. '@production'."
            )
        return ModelRef("alias", check_alias(ref))
    if MODEL_ID.fullmatch(ref):
        return ModelRef("id", ref)
    return ModelRef("name", ref)


def find_model(
    lookup: ModelLookup, ref: str | ModelRef, *, experiment_id: str, warn: bool = True
) -> LoggedModel | None:
    """The version ``ref`` names, or None for a name no version has yet (the caller may create
    it). An id or alias that matches nothing raises ``NotFoundError``. A name several versions
    share is the newest of them, with a warning unless ``warn`` is False."""
    parsed = parse_model_ref(ref)
    if parsed.kind == "id":
        try:
            return lookup.get_logged_model(parsed.value)
        except NotFoundError:
            raise NotFoundError(
                f"No version with model id {parsed.value!r} in the store at {lookup.tracking_uri}: "
                "check the id and the tracking URI (a value shaped like an id is never used as a name)."
            ) from None
    if parsed.kind == "alias":
        try:
            return lookup.get_logged_model_by_alias(experiment_id, parsed.value)
        except NotFoundError:
            raise NotFoundError(
                f"No version has alias {str(parsed)!r} in experiment {experiment_id!r} "
                f"(store {lookup.tracking_uri}): set it with `genver models alias set <version> "
                f"{parsed.value}` or set_logged_model_alias()."
            ) from None
    found = lookup.find_logged_model(experiment_id=experiment_id, name=parsed.value)
    if found is not None and warn:
        warn_if_ambiguous(lookup, found, experiment_id=experiment_id)
    return found


#: The versions already checked for a shared name, per store and experiment: a name resolves to
#: its newest version, so a version that is not the newest is never looked up here again, and a
#: newer version of the name is a new key. One check per version, not one search per
#: ``set_active_model`` call (that search was two thirds of the call).
_CHECKED: dict[tuple[str, str, str], None] = {}
_CHECKED_MAX = 10_000


def warn_if_ambiguous(lookup: ModelLookup, model: LoggedModel, *, experiment_id: str) -> None:
    """Log which version a name shared by several versions resolved to, and how to pick one
    (once per version and process)."""
    key = (lookup.tracking_uri, experiment_id, model.model_id)
    if key in _CHECKED:
        return
    same = lookup.search_logged_models([experiment_id], f"name = {quote(model.name)}", None, 2)
    if len(_CHECKED) >= _CHECKED_MAX:
        _CHECKED.clear()
    _CHECKED[key] = None
    if len(same) > 1:
        created = dt.datetime.fromtimestamp(model.creation_timestamp / 1000, dt.timezone.utc)
        log.warning(
            "More than one version is named %r in experiment %r: using the newest, %s (created %s). "
            'To pick one, pass its model id; `genver models list --filter "name = %s"` lists them.',
            model.name,
            experiment_id,
            model.model_id,
            created.strftime("%Y-%m-%d %H:%M:%S UTC"),
            quote(model.name),
        )


def resolve_model(
    lookup: ModelLookup, ref: str | ModelRef, *, experiment_id: str, warn: bool = True
) -> LoggedModel:
    """The version ``ref`` names; one that does not exist is a ``NotFoundError`` naming it."""
    return resolve_models(lookup, [ref], experiment_id=experiment_id, warn=warn)[0]


def resolve_models(
    lookup: ModelLookup, refs: Sequence[str | ModelRef], *, experiment_id: str, warn: bool = True
) -> list[LoggedModel]:
    """The versions ``refs`` name, in order; every name that matches nothing is listed in one
    ``NotFoundError`` (an unknown id or alias raises at once)."""
    parsed = [parse_model_ref(r) for r in refs]  # every bad value is refused before any lookup
    found: list[LoggedModel] = []
    missing: list[str] = []
    for ref in parsed:
        model = find_model(lookup, ref, experiment_id=experiment_id, warn=warn)
        if model is None:
            missing.append(repr(str(ref)))
        else:
            found.append(model)
    if missing:
        raise NotFoundError(
            f"No version {', '.join(missing)}: no version of that name in experiment "
            f"{experiment_id!r} (store {lookup.tracking_uri})."
        )
    return found
