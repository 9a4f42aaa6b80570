"""Reading prompts and prompt versions: statements built once, run on the driver's cursor (a
version is three small reads: the row, its tags, its aliases), rows turned into entities."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities.prompt import LATEST, Prompt, PromptVersion
from genver.store.sql import tables as t
from genver.store.sql.base import driver_rows

__all__ = ["driver_rows", "load_version", "prompts_of", "version_statement", "versions_of"]

_P = t.prompts
_V = t.prompt_versions
_VT = t.prompt_version_tags
_PA = t.prompt_aliases
_PT = t.prompt_tags

_VERSION_COLUMNS = (
    _P.c.prompt_id,
    _V.c.version,
    _V.c.prompt_type,
    _V.c.template,
    _V.c.commit_message,
    _V.c.model_config,
    _V.c.response_format,
    _V.c.creation_time,
    _V.c.last_update_time,
    _V.c.created_by,
)
_JOIN = _P.join(_V, _V.c.prompt_id == _P.c.prompt_id)
_LIVE = _V.c.deleted_time.is_(None)
BY_VERSION = (
    sa.select(*_VERSION_COLUMNS)
    .select_from(_JOIN)
    .where(_P.c.name == sa.bindparam("name"), _V.c.version == sa.bindparam("version"), _LIVE)
)
#: The same, deleted versions included (what a comparison of app versions shows).
BY_VERSION_ANY = (
    sa.select(*_VERSION_COLUMNS)
    .select_from(_JOIN)
    .where(_P.c.name == sa.bindparam("name"), _V.c.version == sa.bindparam("version"))
)
BY_ALIAS = (
    sa.select(*_VERSION_COLUMNS)
    .select_from(_JOIN.join(_PA, sa.and_(_PA.c.prompt_id == _P.c.prompt_id, _PA.c.version == _V.c.version)))
    .where(_P.c.name == sa.bindparam("name"), _PA.c.alias == sa.bindparam("alias"), _LIVE)
)
LATEST_VERSION = (
    sa.select(*_VERSION_COLUMNS)
    .select_from(_JOIN)
    .where(_P.c.name == sa.bindparam("name"), _LIVE)
    .order_by(_V.c.version.desc())
    .limit(1)
)
ALL_VERSIONS = (
    sa.select(*_VERSION_COLUMNS)
    .select_from(_JOIN)
    .where(_P.c.name == sa.bindparam("name"), _LIVE)
    .order_by(_V.c.version)
)
_VERSION_TAGS = sa.select(_VT.c.key, _VT.c.value).where(
    _VT.c.prompt_id == sa.bindparam("prompt_id"), _VT.c.version == sa.bindparam("version")
)
_VERSION_ALIASES = (
    sa.select(_PA.c.alias)
    .where(_PA.c.prompt_id == sa.bindparam("prompt_id"), _PA.c.version == sa.bindparam("version"))
    .order_by(_PA.c.alias)
)
PROMPT_BY_NAME = sa.select(_P.c.prompt_id, _P.c.last_version).where(_P.c.name == sa.bindparam("name"))


def load_version(
    conn: Connection, stmt: sa.Select[Any], params: dict[str, Any], name: str
) -> PromptVersion | None:
    """The one version ``stmt`` (``BY_VERSION``, ``BY_ALIAS``, ``LATEST_VERSION``...) selects."""
    rows = driver_rows(conn, stmt, params)
    return versions_of(conn, rows[:1], name)[0] if rows else None


def version_statement(alias: str | None) -> sa.Select[Any]:
    return LATEST_VERSION if alias == LATEST else BY_ALIAS


def versions_of(conn: Connection, rows: Sequence[Any], name: str) -> list[PromptVersion]:
    found = []
    for prompt_id, version, kind, template, message, config, fmt, created, updated, by in rows:
        key = {"prompt_id": prompt_id, "version": version}
        tags = dict(driver_rows(conn, _VERSION_TAGS, key))
        aliases = [r[0] for r in driver_rows(conn, _VERSION_ALIASES, key)]
        found.append(
            PromptVersion(
                name,
                int(version),
                json.loads(template) if kind == "chat" else template,
                commit_message=message,
                creation_timestamp=int(created),
                tags=tags,
                aliases=aliases,
                last_updated_timestamp=int(updated),
                user_id=by,
                model_config=None if config is None else json.loads(config),
                response_format=None if fmt is None else json.loads(fmt),
            )
        )
    return found


def prompts_of(conn: Connection, rows: Sequence[Any]) -> list[Prompt]:
    """``Prompt`` entities of ``prompts`` rows (with their tags, latest live version, aliases)."""
    ids = [r.prompt_id for r in rows]
    if not ids:
        return []
    tags: dict[str, dict[str, str]] = {}
    for r in conn.execute(sa.select(_PT.c.prompt_id, _PT.c.key, _PT.c.value).where(_PT.c.prompt_id.in_(ids))):
        tags.setdefault(r.prompt_id, {})[r.key] = r.value
    latest = dict(
        conn.execute(
            sa.select(_V.c.prompt_id, sa.func.max(_V.c.version))
            .where(_V.c.prompt_id.in_(ids), _LIVE)
            .group_by(_V.c.prompt_id)
        ).all()
    )
    aliases: dict[str, dict[str, int]] = {}
    for r in conn.execute(
        sa.select(_PA.c.prompt_id, _PA.c.alias, _PA.c.version).where(_PA.c.prompt_id.in_(ids))
    ):
        aliases.setdefault(r.prompt_id, {})[r.alias] = int(r.version)
    return [
        Prompt(
            name=r.name,
            description=r.description,
            creation_timestamp=int(r.creation_time),
            last_updated_timestamp=int(r.last_update_time),
            tags=tags.get(r.prompt_id, {}),
            latest_version=None if latest.get(r.prompt_id) is None else int(latest[r.prompt_id]),
            aliases=dict(sorted(aliases.get(r.prompt_id, {}).items())),
        )
        for r in rows
    ]
