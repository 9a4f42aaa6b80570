"""Versions (LoggedModel) with params, tags and metrics in the SQL store.

Every change is recorded in the version's history in its own transaction (``SqlBase._record``).
A change that replaces a value (status, tags, deletion) holds the history chain before reading
it, so the entry's "before" is exact even with concurrent writers; one that replaces nothing
(creation, new params) appends at the end.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities import LoggedModel, LoggedModelStatus
from genver.entities import history as h
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.ids import new_model_id, random_name
from genver.store.base import checked_model_ids
from genver.store.sql import tables as t
from genver.store.sql.base import SqlBase
from genver.store.sql.history_rows import Change
from genver.store.sql.model_rows import FIND_MODEL, GET_MODEL, active_models, load_model, require_models
from genver.validation import check_id, check_key, check_model_name, check_params, check_tags, check_text

_M = t.logged_models
_P = t.logged_model_params
_T = t.logged_model_tags
_X = t.logged_model_metrics
_A = t.model_aliases
_INSERT_MODEL = _M.insert()
_INSERT_PARAM = _P.insert()
_INSERT_TAG = _T.insert()


class ModelsMixin(SqlBase):
    def create_logged_model(
        self,
        *,
        experiment_id: str,
        name: str | None = None,
        model_type: str | None = None,
        source_run_id: str | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        status: LoggedModelStatus = LoggedModelStatus.PENDING,
        reuse_latest_by_name: bool = False,
    ) -> LoggedModel:
        check_model_name(name)
        clean_params = check_params(params)
        clean_tags = check_tags(tags)
        status = LoggedModelStatus.from_value(status)
        if model_type is not None and not isinstance(model_type, str):
            raise InvalidArgumentError(
                f"Invalid model_type {model_type!r}: expected a string such as 'rag-agent'."
            )
        check_text(model_type, "model_type", 500)  # the column sizes
        if source_run_id is not None:
            check_id(source_run_id, "source run id", 32)
        final_name = name or random_name()

        def create(conn: Connection) -> LoggedModel:
            exp = self._active_experiment_row(conn, experiment_id)
            if reuse_latest_by_name:
                with self._lock(conn, f"model-name:{exp.experiment_id}:{final_name}"):
                    found = load_model(
                        conn, FIND_MODEL, {"experiment_id": exp.experiment_id, "name": final_name}
                    )
                    if found is not None:
                        return found
            model_id = new_model_id()
            now = self._clock()
            model = LoggedModel(
                model_id=model_id,
                experiment_id=str(exp.experiment_id),
                name=final_name,
                artifact_location=os.path.join(exp.artifact_location, "models", model_id, "artifacts"),
                creation_timestamp=now,
                last_updated_timestamp=now,
                model_type=model_type,
                source_run_id=source_run_id,
                status=status,
                status_message=None,
                tags=clean_tags,
                params=clean_params,
                metrics=None,
            )
            conn.execute(
                _INSERT_MODEL,
                {
                    "model_id": model_id,
                    "experiment_id": exp.experiment_id,
                    "name": final_name,
                    "artifact_location": model.artifact_location,
                    "creation_timestamp": now,
                    "last_updated_timestamp": now,
                    "model_type": model_type,
                    "source_run_id": source_run_id,
                    "status": status.value,
                    "status_message": None,
                    "lifecycle_stage": "active",
                },
            )
            if clean_params:
                conn.execute(
                    _INSERT_PARAM,
                    [{"model_id": model_id, "key": k, "value": v} for k, v in clean_params.items()],
                )
            if clean_tags:
                conn.execute(
                    _INSERT_TAG, [{"model_id": model_id, "key": k, "value": v} for k, v in clean_tags.items()]
                )
            created = {
                "experiment_id": model.experiment_id,
                "name": final_name,
                "model_type": model_type,
                "source_run_id": source_run_id,
                "status": status.value,
                "params": clean_params,
                "tags": clean_tags,
            }
            self._record(conn, [Change(model_id, h.CREATED, None, created)], time_ms=now)
            return model

        # The version is built from the values just written, not read back: nothing else can
        # have changed it inside this transaction.
        return self._write(create)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        check_id(model_id, "model id")
        found = self._read_driver(lambda conn: load_model(conn, GET_MODEL, {"model_id": model_id}))
        if found is None:
            raise NotFoundError(f"Logged model with ID {model_id!r} not found.")
        return found

    def active_model_ids(self, model_ids: Sequence[str]) -> set[str]:
        wanted = checked_model_ids(model_ids)
        if not wanted:
            return set()
        return self._read(lambda conn: active_models(conn, wanted))

    def find_logged_model(self, *, experiment_id: str, name: str) -> LoggedModel | None:
        exp_int = self._experiment_int(experiment_id)
        if not isinstance(name, str):
            raise InvalidArgumentError(f"Invalid version name {name!r}: expected a string.")
        if "\x00" in name:  # no stored name has one (and PostgreSQL cannot even compare it)
            return None
        return self._read_driver(
            lambda conn: load_model(conn, FIND_MODEL, {"experiment_id": exp_int, "name": name})
        )

    def update_logged_model(
        self,
        model_id: str,
        *,
        status: LoggedModelStatus | None = None,
        status_message: str | None = None,
        deleted: bool = False,
    ) -> LoggedModel | None:
        check_id(model_id, "model id")
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = LoggedModelStatus.from_value(status).value
        if status_message is not None:
            values["status_message"] = check_text(status_message, "status_message")
        if deleted:
            values["lifecycle_stage"] = "deleted"

        def update(conn: Connection) -> None:
            self._lock_history(conn)
            row = conn.execute(
                sa.select(_M.c.status, _M.c.status_message, _M.c.experiment_id).where(
                    _M.c.model_id == model_id, _M.c.lifecycle_stage == "active"
                )
            ).first()
            if row is None:
                raise NotFoundError(f"Logged model with ID {model_id!r} not found.")
            now = values["last_updated_timestamp"] = self._clock()
            conn.execute(_M.update().where(_M.c.model_id == model_id).values(**values))
            changes = []
            was = {"status": row.status, "status_message": row.status_message}
            now_is = {
                "status": values.get("status", row.status),
                "status_message": values.get("status_message", row.status_message),
            }
            if now_is != was:
                changes.append(Change(model_id, h.STATUS_CHANGED, was, now_is))
            if deleted:
                changes += self._drop_aliases(conn, model_id, row.experiment_id)
                changes.append(
                    Change(model_id, h.DELETED, {"lifecycle_stage": "active"}, {"lifecycle_stage": "deleted"})
                )
            self._record(conn, changes, locked=True, time_ms=now)

        self._write(update)
        return None if deleted else self.get_logged_model(model_id)

    def _drop_aliases(self, conn: Connection, model_id: str, experiment_id: int) -> list[Change]:
        """Remove a version's aliases (it is being deleted): the changes to record."""
        held = conn.execute(
            sa.select(_A.c.alias).where(_A.c.model_id == model_id).order_by(_A.c.alias)
        ).scalars()
        changes = []
        for alias in held:
            move = {"alias": alias, "experiment_id": str(experiment_id)}
            changes.append(
                Change(model_id, h.ALIAS_REMOVED, {**move, "model_id": model_id}, {**move, "model_id": None})
            )
        if changes:
            conn.execute(_A.delete().where(_A.c.model_id == model_id))
        return changes

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        check_id(model_id, "model id")
        clean = check_tags(tags)

        def update(conn: Connection) -> None:
            self._lock_history(conn)
            require_models(conn, {model_id})
            old = _tag_values(conn, model_id, list(clean))
            changed = {k: v for k, v in clean.items() if old.get(k) != v}
            self._upsert(
                conn,
                _T,
                [{"model_id": model_id, "key": k, "value": v} for k, v in changed.items()],
                ("model_id", "key"),
            )
            before = {k: old.get(k) for k in changed}
            self._record(
                conn, [Change(model_id, h.TAGS_SET, before, changed)] if changed else [], locked=True
            )

        self._write(update)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        check_id(model_id, "model id")
        check_key(key, "tag")

        def delete(conn: Connection) -> None:
            self._lock_history(conn)
            require_models(conn, {model_id})
            old = _tag_values(conn, model_id, [key])
            if key not in old:
                raise NotFoundError(f"No tag with key {key!r} found for model with ID {model_id!r}.")
            conn.execute(_T.delete().where(_T.c.model_id == model_id, _T.c.key == key))
            self._record(conn, [Change(model_id, h.TAG_DELETED, {key: old[key]}, {key: None})], locked=True)

        self._write(delete)

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        check_id(model_id, "model id")
        clean = check_params(params)

        def log(conn: Connection) -> None:
            self._lock_history(conn)
            require_models(conn, {model_id})
            new = self._write_once(conn, _P, "model_id", model_id, clean, "version")
            if new:
                self._record(conn, [Change(model_id, h.PARAMS_LOGGED, dict.fromkeys(new), new)], locked=True)

        self._write(log)


def _tag_values(conn: Connection, model_id: str, keys: list[str]) -> dict[str, str]:
    """The stored values of a version's tags ``keys`` (those it has)."""
    rows = conn.execute(sa.select(_T.c.key, _T.c.value).where(_T.c.model_id == model_id, _T.c.key.in_(keys)))
    return {r.key: r.value for r in rows}
