"""Experiments in the SQL store."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from genver.entities import Experiment, PagedList, ViewType
from genver.exceptions import AlreadyExistsError, InvalidArgumentError, NotFoundError
from genver.search import ast
from genver.search.parser import parse_filter, parse_order_by
from genver.store.paging import check_max_results, decode_token, encode_token
from genver.store.sql import tables as t
from genver.store.sql.base import SqlBase
from genver.store.sql.filters import Target, compile_filter, kv_in
from genver.validation import check_experiment_name, check_tags, check_text

_E = t.experiments


def lifecycle_clause(column: sa.ColumnElement[Any], view_type: ViewType) -> sa.ColumnElement[bool]:
    if view_type == ViewType.ACTIVE_ONLY:
        return column == "active"
    if view_type == ViewType.DELETED_ONLY:
        return column == "deleted"
    return sa.true()


class ExperimentsMixin(SqlBase):
    def create_experiment(
        self, name: str, *, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        check_experiment_name(name)
        clean_tags = check_tags(tags)
        check_text(artifact_location, "artifact location", 1000)  # the column size

        def create(conn: Connection) -> str:
            now = self._clock()
            try:
                with conn.begin_nested():
                    exp_int = conn.execute(
                        _E.insert()
                        .values(
                            name=name,
                            artifact_location=artifact_location or "",
                            lifecycle_stage="active",
                            creation_time=now,
                            last_update_time=now,
                        )
                        .returning(_E.c.experiment_id)
                    ).scalar_one()
            except IntegrityError:
                raise AlreadyExistsError(f"Experiment {name!r} already exists.") from None
            if not artifact_location:
                location = os.path.join(self._artifact_root, str(exp_int))
                conn.execute(
                    _E.update().where(_E.c.experiment_id == exp_int).values(artifact_location=location)
                )
            if clean_tags:
                conn.execute(
                    t.experiment_tags.insert(),
                    [{"experiment_id": exp_int, "key": k, "value": v} for k, v in clean_tags.items()],
                )
            return str(exp_int)

        return self._write(create)

    def get_experiment(self, experiment_id: str) -> Experiment:
        exp_int = self._experiment_int(experiment_id)

        def get(conn: Connection) -> Experiment:
            found = self._load_experiments(conn, sa.select(_E).where(_E.c.experiment_id == exp_int))
            if not found:
                raise NotFoundError(f"No experiment with id {experiment_id!r}.")
            return found[0]

        return self._read(get)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        if not isinstance(name, str):
            raise InvalidArgumentError(f"Invalid experiment name {name!r}: expected a string.")
        if "\x00" in name:  # no stored name has one (and PostgreSQL cannot even compare it)
            return None
        found = self._read(lambda conn: self._load_experiments(conn, sa.select(_E).where(_E.c.name == name)))
        return found[0] if found else None

    def search_experiments(
        self,
        *,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        check_max_results(max_results)
        offset = decode_token(page_token)
        target = Target(
            columns={
                "experiment_id": sa.cast(_E.c.experiment_id, sa.String),
                "name": _E.c.name,
                "lifecycle_stage": _E.c.lifecycle_stage,
                "creation_time": _E.c.creation_time,
                "last_update_time": _E.c.last_update_time,
            },
            kv={"tag": kv_in(t.experiment_tags, _E.c.experiment_id, "experiment_id")},
        )
        where = compile_filter(parse_filter(filter_string, ast.EXPERIMENTS), target)
        query = sa.select(_E).where(lifecycle_clause(_E.c.lifecycle_stage, ViewType(view_type)))
        if where is not None:
            query = query.where(where)
        ordering: list[Any] = []
        for item in order_by or ():
            term = parse_order_by(item, ast.EXPERIMENTS)
            col = target.columns[term.key]
            ordering.append(col.asc() if term.ascending else col.desc())
        if not any(term for term in order_by or ()):
            ordering.append(_E.c.creation_time.desc())
        ordering.append(_E.c.experiment_id.asc())
        query = query.order_by(*ordering).limit(max_results + 1).offset(offset)
        found = self._read(lambda conn: self._load_experiments(conn, query))
        token = encode_token(offset + max_results) if len(found) > max_results else None
        return PagedList(found[:max_results], token)

    def update_experiment(
        self,
        experiment_id: str,
        *,
        new_name: str | None = None,
        lifecycle_stage: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        exp_int = self._experiment_int(experiment_id)
        if new_name is not None:
            check_experiment_name(new_name)
        if lifecycle_stage not in (None, "active", "deleted"):
            raise InvalidArgumentError(
                f"Invalid lifecycle stage {lifecycle_stage!r}: expected 'active' or 'deleted'."
            )
        if lifecycle_stage == "deleted" and exp_int == 0:
            raise InvalidArgumentError("The Default experiment (id '0') cannot be deleted.")
        clean_tags = check_tags(tags)

        def update(conn: Connection) -> None:
            if (
                conn.execute(sa.select(_E.c.experiment_id).where(_E.c.experiment_id == exp_int)).first()
                is None
            ):
                raise NotFoundError(f"No experiment with id {experiment_id!r}.")
            values: dict[str, Any] = {"last_update_time": self._clock()}
            if new_name is not None:
                values["name"] = new_name
            if lifecycle_stage is not None:
                values["lifecycle_stage"] = lifecycle_stage
            try:
                with conn.begin_nested():
                    conn.execute(_E.update().where(_E.c.experiment_id == exp_int).values(**values))
            except IntegrityError:
                raise AlreadyExistsError(f"Experiment {new_name!r} already exists.") from None
            self._upsert(
                conn,
                t.experiment_tags,
                [{"experiment_id": exp_int, "key": k, "value": v} for k, v in clean_tags.items()],
                ("experiment_id", "key"),
            )

        self._write(update)

    def _load_experiments(self, conn: Connection, query: sa.Select[Any]) -> list[Experiment]:
        rows = conn.execute(query).all()
        if not rows:
            return []
        ids = [r.experiment_id for r in rows]
        tags: dict[int, dict[str, str]] = {i: {} for i in ids}
        for tr in conn.execute(
            sa.select(t.experiment_tags).where(t.experiment_tags.c.experiment_id.in_(ids))
        ):
            tags[tr.experiment_id][tr.key] = tr.value
        return [
            Experiment(
                experiment_id=str(r.experiment_id),
                name=r.name,
                artifact_location=r.artifact_location,
                lifecycle_stage=r.lifecycle_stage,
                tags=tags[r.experiment_id],
                creation_time=r.creation_time,
                last_update_time=r.last_update_time,
            )
            for r in rows
        ]
