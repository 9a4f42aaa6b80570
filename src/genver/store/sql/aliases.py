"""Aliases on versions (``@production``): unique in an experiment, moved atomically, each move
recorded in the history of the version it leaves and the one it reaches.

An alias operation holds the history chain from its start (``SqlBase._lock_history``): reading
the current holder, moving the alias and recording the move are one serialized step, so two
replicas moving the same alias at once leave a history in which each move starts where the
previous one ended.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities import LoggedModel, ModelAlias
from genver.entities import history as h
from genver.exceptions import NotFoundError
from genver.store.sql import tables as t
from genver.store.sql.base import SqlBase
from genver.store.sql.history_rows import Change
from genver.store.sql.model_rows import BY_ALIAS, load_model
from genver.validation import check_alias, check_id

_M = t.logged_models
_A = t.model_aliases
_MODEL_SCOPE = sa.select(_M.c.experiment_id).where(
    _M.c.model_id == sa.bindparam("model_id"), _M.c.lifecycle_stage == "active"
)
_HOLDER = sa.select(_A.c.model_id).where(
    _A.c.experiment_id == sa.bindparam("experiment_id"), _A.c.alias == sa.bindparam("alias")
)


class AliasesMixin(SqlBase):
    def set_logged_model_alias(self, model_id: str, alias: str) -> None:
        check_id(model_id, "model id")
        name = check_alias(alias)

        def move(conn: Connection) -> None:
            self._lock_history(conn)
            experiment_id = conn.execute(_MODEL_SCOPE, {"model_id": model_id}).scalar()
            if experiment_id is None:
                raise NotFoundError(f"Logged model with ID {model_id!r} not found.")
            key = {"experiment_id": experiment_id, "alias": name}
            holder = conn.execute(_HOLDER, key).scalar()
            if holder == model_id:
                return  # already there: nothing changes, nothing is recorded
            scope = {"alias": name, "experiment_id": str(experiment_id)}
            before, after = {**scope, "model_id": holder}, {**scope, "model_id": model_id}
            changes = [Change(model_id, h.ALIAS_SET, before, after)]
            if holder is not None:
                changes.insert(0, Change(holder, h.ALIAS_REMOVED, before, after))
            actor = self._actor()
            when = self._record(conn, changes, locked=True)
            row = {**key, "model_id": model_id, "set_time": when, "set_by": actor}
            self._upsert(conn, _A, [row], ("experiment_id", "alias"))

        self._write(move)

    def delete_logged_model_alias(self, *, experiment_id: str, alias: str) -> None:
        exp_int = self._experiment_int(experiment_id)
        name = check_alias(alias)

        def delete(conn: Connection) -> None:
            self._lock_history(conn)
            key = {"experiment_id": exp_int, "alias": name}
            holder = conn.execute(_HOLDER, key).scalar()
            if holder is None:
                raise NotFoundError(_no_alias(name, experiment_id))
            conn.execute(_A.delete().where(_A.c.experiment_id == exp_int, _A.c.alias == name))
            scope = {"alias": name, "experiment_id": str(exp_int)}
            before, after = {**scope, "model_id": holder}, {**scope, "model_id": None}
            self._record(conn, [Change(holder, h.ALIAS_REMOVED, before, after)], locked=True)

        self._write(delete)

    def get_logged_model_by_alias(self, *, experiment_id: str, alias: str) -> LoggedModel:
        name = check_alias(alias)
        params = {"experiment_id": self._experiment_int(experiment_id), "alias": name}
        found = self._read_driver(lambda conn: load_model(conn, BY_ALIAS, params))
        if found is None:
            raise NotFoundError(_no_alias(name, experiment_id))
        return found

    def get_logged_model_aliases(self, *, experiment_id: str) -> list[ModelAlias]:
        exp_int = self._experiment_int(experiment_id)
        query = sa.select(_A).where(_A.c.experiment_id == exp_int).order_by(_A.c.alias)

        def read(conn: Connection) -> list[Any]:
            return list(conn.execute(query))

        return [
            ModelAlias(
                alias=r.alias,
                experiment_id=str(r.experiment_id),
                model_id=r.model_id,
                set_time=int(r.set_time),
                set_by=r.set_by,
            )
            for r in self._read(read)
        ]


def _no_alias(alias: str, experiment_id: object) -> str:
    return f"No version has alias {'@' + alias!r} in experiment {str(experiment_id)!r}."
