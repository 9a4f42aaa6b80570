"""Prompts (MLflow 3's prompt registry): versions 1, 2, ... of a named template, immutable once
registered; tags on the prompt and on each version; aliases; links from app versions.

Registering a version and moving or removing an alias are recorded in the history chain
(``SqlBase._record``) under the prompt's id, in the change's own transaction. Registering holds
the prompt's name (an advisory lock on PostgreSQL; SQLite's write lock does it there) so two
writers never give out the same number, and takes the chain last; alias changes hold the chain
from their start, as version aliases do, so each move's "before" is what the previous one left.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities import HistoryEntry, PagedList
from genver.entities import history as h
from genver.entities.prompt import (
    LATEST,
    LINKED_PROMPTS_KEY,
    LinkedPrompt,
    Prompt,
    PromptVersion,
    check_prompt_name,
    check_prompt_version,
    json_object,
    linked_prompts_value,
    template_text,
)
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.search import ast
from genver.search.parser import parse_filter, parse_order_by
from genver.store.paging import check_max_results, decode_token, encode_token
from genver.store.sql import prompt_rows as pr
from genver.store.sql import tables as t
from genver.store.sql.base import SqlBase, driver_rows
from genver.store.sql.filters import Target, compile_filter, kv_in
from genver.store.sql.history_rows import Change, entries, select_entries
from genver.validation import check_alias, check_id, check_key, check_tags, check_text

_P = t.prompts
_V = t.prompt_versions
_PT = t.prompt_tags
_VT = t.prompt_version_tags
_PA = t.prompt_aliases
_MT = t.logged_model_tags
_M = t.logged_models
_TARGET = Target(
    columns={
        "name": _P.c.name,
        "creation_timestamp": _P.c.creation_time,
        "last_updated_timestamp": _P.c.last_update_time,
    },
    kv={"tag": kv_in(_PT, _P.c.prompt_id, "prompt_id")},
)
_HOLDER = sa.select(_PA.c.version).where(
    _PA.c.prompt_id == sa.bindparam("prompt_id"), _PA.c.alias == sa.bindparam("alias")
)
_LIVE_VERSION = sa.select(_V.c.version).where(
    _V.c.prompt_id == sa.bindparam("prompt_id"),
    _V.c.version == sa.bindparam("version"),
    _V.c.deleted_time.is_(None),
)


class PromptsMixin(SqlBase):
    # -- versions ---------------------------------------------------------------------------------
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
        check_prompt_name(name)
        kind, text = template_text(template)
        message = check_text(commit_message, "commit_message")
        clean_tags = check_tags(tags)
        config = json_object(model_config, "model_config")
        fmt = json_object(response_format, "response_format")

        def register(conn: Connection) -> PromptVersion:
            with self._lock(conn, f"prompt:{name}"):
                now = self._clock()
                row = conn.execute(pr.PROMPT_BY_NAME, {"name": name}).first()
                if row is None:
                    prompt_id, version = "p-" + uuid.uuid4().hex, 1
                    conn.execute(
                        _P.insert(),
                        {
                            "prompt_id": prompt_id,
                            "name": name,
                            "creation_time": now,
                            "last_update_time": now,
                            "last_version": 1,
                        },
                    )
                else:
                    prompt_id, version = row.prompt_id, int(row.last_version) + 1
                    conn.execute(
                        _P.update()
                        .where(_P.c.prompt_id == prompt_id)
                        .values(last_version=version, last_update_time=now)
                    )
                actor = self._actor()
                conn.execute(
                    _V.insert(),
                    {
                        "prompt_id": prompt_id,
                        "version": version,
                        "prompt_type": kind,
                        "template": text,
                        "commit_message": message,
                        "model_config": None if config is None else json.dumps(config),
                        "response_format": None if fmt is None else json.dumps(fmt),
                        "creation_time": now,
                        "last_update_time": now,
                        "created_by": actor,
                    },
                )
                if clean_tags:
                    conn.execute(
                        _VT.insert(),
                        [
                            {"prompt_id": prompt_id, "version": version, "key": k, "value": v}
                            for k, v in clean_tags.items()
                        ],
                    )
                after = {
                    "prompt": name,
                    "version": version,
                    "template_sha256": hashlib.sha256(text.encode()).hexdigest(),
                    "commit_message": message,
                }
                self._record(conn, [Change(prompt_id, h.PROMPT_REGISTERED, None, after)], time_ms=now)
                return PromptVersion(
                    name,
                    version,
                    template,
                    commit_message=message,
                    creation_timestamp=now,
                    tags=clean_tags,
                    last_updated_timestamp=now,
                    user_id=actor,
                    model_config=config,
                    response_format=fmt,
                )

        return self._write(register)

    def get_prompt_version(self, name: str, version: int, *, include_deleted: bool = False) -> PromptVersion:
        check_prompt_name(name)
        number = check_prompt_version(version)
        stmt = pr.BY_VERSION_ANY if include_deleted else pr.BY_VERSION
        found = self._read(lambda conn: pr.load_version(conn, stmt, {"name": name, "version": number}, name))
        if found is None:
            raise NotFoundError(f"Prompt {name!r} has no version {number} (prompts:/{name}/{number}).")
        return found

    def get_prompt_version_by_alias(self, name: str, alias: str) -> PromptVersion:
        check_prompt_name(name)
        label = (
            LATEST if isinstance(alias, str) and alias.lstrip("@").lower() == LATEST else check_alias(alias)
        )
        stmt = pr.version_statement(label)
        found = self._read(lambda conn: pr.load_version(conn, stmt, {"name": name, "alias": label}, name))
        if found is None:
            if label == LATEST:
                raise NotFoundError(f"Prompt {name!r} not found (it has no version).")
            raise NotFoundError(f"Prompt {name!r} has no alias {'@' + label!r} (prompts:/{name}@{label}).")
        return found

    def get_prompt_versions(self, name: str) -> list[PromptVersion]:
        check_prompt_name(name)
        return self._read(
            lambda conn: pr.versions_of(conn, driver_rows(conn, pr.ALL_VERSIONS, {"name": name}), name)
        )

    def delete_prompt_version(self, name: str, version: int) -> None:
        check_prompt_name(name)
        number = check_prompt_version(version)

        def delete(conn: Connection) -> None:
            self._lock_history(conn)
            prompt_id = _live_version(conn, name, number)
            now = self._clock()
            conn.execute(
                _V.update()
                .where(_V.c.prompt_id == prompt_id, _V.c.version == number)
                .values(deleted_time=now, last_update_time=now)
            )
            held = [
                r.alias
                for r in conn.execute(
                    sa.select(_PA.c.alias).where(_PA.c.prompt_id == prompt_id, _PA.c.version == number)
                )
            ]
            conn.execute(_PA.delete().where(_PA.c.prompt_id == prompt_id, _PA.c.version == number))
            changes = [
                Change(prompt_id, h.PROMPT_ALIAS_REMOVED, _side(name, a, number), _side(name, a, None))
                for a in sorted(held)
            ]
            changes.append(
                Change(prompt_id, h.PROMPT_VERSION_DELETED, {"prompt": name, "version": number}, None)
            )
            self._record(conn, changes, locked=True, time_ms=now)

        self._write(delete)

    # -- prompts ------------------------------------------------------------------------------------
    def get_prompt(self, name: str) -> Prompt | None:
        check_prompt_name(name)
        found = self._read(
            lambda conn: pr.prompts_of(conn, list(conn.execute(sa.select(_P).where(_P.c.name == name))))
        )
        return found[0] if found else None

    def search_prompts(
        self,
        *,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Prompt]:
        check_max_results(max_results)
        offset = decode_token(page_token)
        if isinstance(order_by, str):
            raise InvalidArgumentError(
                f"Invalid order_by {order_by!r}: expected a list such as [{order_by!r}]."
            )
        where = compile_filter(parse_filter(filter_string, ast.PROMPTS), _TARGET)
        query = sa.select(_P)
        if where is not None:
            query = query.where(where)
        ordering: list[Any] = []
        for item in order_by or ():
            term = parse_order_by(item, ast.PROMPTS)
            column = _TARGET.columns[term.key]
            ordering.append(column.asc() if term.ascending else column.desc())
        ordering.append(_P.c.name.asc())
        query = query.order_by(*ordering).limit(max_results + 1).offset(offset)
        found = self._read(lambda conn: pr.prompts_of(conn, list(conn.execute(query))))
        token = encode_token(offset + max_results) if len(found) > max_results else None
        return PagedList(found[:max_results], token)

    def set_prompt_tags(self, name: str, tags: Mapping[str, str], *, version: int | None = None) -> None:
        check_prompt_name(name)
        clean = check_tags(tags)
        number = None if version is None else check_prompt_version(version)

        def update(conn: Connection) -> None:
            if number is None:
                prompt_id = _prompt_id(conn, name)
                self._upsert(
                    conn,
                    _PT,
                    [{"prompt_id": prompt_id, "key": k, "value": v} for k, v in clean.items()],
                    ("prompt_id", "key"),
                )
            else:
                prompt_id = _live_version(conn, name, number)
                rows = [
                    {"prompt_id": prompt_id, "version": number, "key": k, "value": v}
                    for k, v in clean.items()
                ]
                self._upsert(conn, _VT, rows, ("prompt_id", "version", "key"))

        self._write(update)

    def delete_prompt_tag(self, name: str, key: str, *, version: int | None = None) -> None:
        check_prompt_name(name)
        check_key(key, "tag")
        number = None if version is None else check_prompt_version(version)

        def delete(conn: Connection) -> None:
            if number is None:
                prompt_id = _prompt_id(conn, name)
                done = conn.execute(_PT.delete().where(_PT.c.prompt_id == prompt_id, _PT.c.key == key))
            else:
                prompt_id = _live_version(conn, name, number)
                done = conn.execute(
                    _VT.delete().where(
                        _VT.c.prompt_id == prompt_id, _VT.c.version == number, _VT.c.key == key
                    )
                )
            if done.rowcount == 0:
                where = f"prompt {name!r}" + ("" if number is None else f" version {number}")
                raise NotFoundError(f"No tag {key!r} on {where}.")

        self._write(delete)

    # -- aliases --------------------------------------------------------------------------------------
    def set_prompt_alias(self, name: str, alias: str, version: int) -> None:
        check_prompt_name(name)
        label = check_alias(alias)
        number = check_prompt_version(version)

        def move(conn: Connection) -> None:
            self._lock_history(conn)
            prompt_id = _live_version(conn, name, number)
            holder = conn.execute(_HOLDER, {"prompt_id": prompt_id, "alias": label}).scalar()
            if holder == number:
                return
            when = self._record(
                conn,
                [
                    Change(
                        prompt_id, h.PROMPT_ALIAS_SET, _side(name, label, holder), _side(name, label, number)
                    )
                ],
                locked=True,
            )
            row = {
                "prompt_id": prompt_id,
                "alias": label,
                "version": number,
                "set_time": when,
                "set_by": self._actor(),
            }
            self._upsert(conn, _PA, [row], ("prompt_id", "alias"))

        self._write(move)

    def delete_prompt_alias(self, name: str, alias: str) -> None:
        check_prompt_name(name)
        label = check_alias(alias)

        def delete(conn: Connection) -> None:
            self._lock_history(conn)
            prompt_id = _prompt_id(conn, name)
            holder = conn.execute(_HOLDER, {"prompt_id": prompt_id, "alias": label}).scalar()
            if holder is None:
                raise NotFoundError(f"Prompt {name!r} has no alias {'@' + label!r}.")
            conn.execute(_PA.delete().where(_PA.c.prompt_id == prompt_id, _PA.c.alias == label))
            change = Change(
                prompt_id, h.PROMPT_ALIAS_REMOVED, _side(name, label, holder), _side(name, label, None)
            )
            self._record(conn, [change], locked=True)

        self._write(delete)

    def get_prompt_history(self, name: str) -> list[HistoryEntry]:
        check_prompt_name(name)

        def read(conn: Connection) -> list[HistoryEntry]:
            prompt_id = _prompt_id(conn, name)
            query = (
                select_entries()
                .where(t.model_history.c.model_id == prompt_id)
                .order_by(t.model_history.c.seq)
            )
            return entries(conn, query)

        return self._read(read)

    # -- links from app versions ------------------------------------------------------------------
    def link_prompts_to_model(self, model_id: str, prompts: Sequence[LinkedPrompt]) -> None:
        check_id(model_id, "model id")
        links = list(prompts)
        if not links:
            return

        def link(conn: Connection) -> None:
            self._lock_history(conn)
            live = conn.execute(
                sa.select(_M.c.model_id).where(_M.c.model_id == model_id, _M.c.lifecycle_stage == "active")
            ).first()
            if live is None:
                raise NotFoundError(f"Logged model with ID {model_id!r} not found.")
            for p in links:
                _live_version(conn, p.name, p.version)
            old = conn.execute(
                sa.select(_MT.c.value).where(_MT.c.model_id == model_id, _MT.c.key == LINKED_PROMPTS_KEY)
            ).scalar()
            new = linked_prompts_value(old, links)
            if new == old:
                return
            self._upsert(
                conn,
                _MT,
                [{"model_id": model_id, "key": LINKED_PROMPTS_KEY, "value": new}],
                ("model_id", "key"),
            )
            change = Change(model_id, h.TAGS_SET, {LINKED_PROMPTS_KEY: old}, {LINKED_PROMPTS_KEY: new})
            self._record(conn, [change], locked=True)

        self._write(link)


def _side(name: str, alias: str, version: int | None) -> dict[str, Any]:
    return {"prompt": name, "alias": alias, "version": version}


def _prompt_id(conn: Connection, name: str) -> str:
    row = conn.execute(pr.PROMPT_BY_NAME, {"name": name}).first()
    if row is None:
        raise NotFoundError(f"Prompt {name!r} not found.")
    return str(row.prompt_id)


def _live_version(conn: Connection, name: str, version: int) -> str:
    """The prompt's id, if it has this version (not deleted); else a ``NotFoundError``."""
    prompt_id = _prompt_id(conn, name)
    if conn.execute(_LIVE_VERSION, {"prompt_id": prompt_id, "version": version}).first() is None:
        raise NotFoundError(f"Prompt {name!r} has no version {version} (prompts:/{name}/{version}).")
    return prompt_id
