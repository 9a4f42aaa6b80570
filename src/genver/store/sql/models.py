"""Versions (LoggedModel) with params, tags and metrics in the SQL store."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities import LoggedModel, LoggedModelStatus, Metric, PagedList
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.ids import new_model_id, random_name
from genver.search import ast
from genver.search.parser import parse_filter, parse_order_by
from genver.store.paging import check_max_results, decode_token, encode_token
from genver.store.sql import tables as t
from genver.store.sql.filters import Target, compare, compile_filter, kv_exists
from genver.store.sql.runs import RunsMixin
from genver.validation import check_id, check_key, check_model_name, check_params, check_tags, check_text

_M = t.logged_models
_P = t.logged_model_params
_T = t.logged_model_tags
_X = t.logged_model_metrics


class ModelsMixin(RunsMixin):
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

        def create(conn: Connection) -> str:
            exp = self._active_experiment_row(conn, experiment_id)
            if reuse_latest_by_name:
                with self._lock(conn, f"model-name:{exp.experiment_id}:{final_name}"):
                    existing = self._find_id(conn, exp.experiment_id, final_name)
                    if existing is not None:
                        return existing
            model_id = new_model_id()
            now = self._clock()
            conn.execute(
                _M.insert().values(
                    model_id=model_id,
                    experiment_id=exp.experiment_id,
                    name=final_name,
                    artifact_location=os.path.join(exp.artifact_location, "models", model_id, "artifacts"),
                    creation_timestamp=now,
                    last_updated_timestamp=now,
                    model_type=model_type,
                    source_run_id=source_run_id,
                    status=status.value,
                    status_message=None,
                    lifecycle_stage="active",
                )
            )
            if clean_params:
                conn.execute(
                    _P.insert(),
                    [{"model_id": model_id, "key": k, "value": v} for k, v in clean_params.items()],
                )
            if clean_tags:
                conn.execute(
                    _T.insert(), [{"model_id": model_id, "key": k, "value": v} for k, v in clean_tags.items()]
                )
            return model_id

        model_id = self._write(create)
        return self.get_logged_model(model_id)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        check_id(model_id, "model id")

        def get(conn: Connection) -> LoggedModel:
            found = self._load_models(
                conn, sa.select(_M).where(_M.c.model_id == model_id, _M.c.lifecycle_stage == "active")
            )
            if not found:
                raise NotFoundError(f"Logged model with ID {model_id!r} not found.")
            return found[0]

        return self._read(get)

    def find_logged_model(self, *, experiment_id: str, name: str) -> LoggedModel | None:
        exp_int = self._experiment_int(experiment_id)
        if not isinstance(name, str):
            raise InvalidArgumentError(f"Invalid version name {name!r}: expected a string.")
        if "\x00" in name:  # no stored name has one (and PostgreSQL cannot even compare it)
            return None

        def find(conn: Connection) -> LoggedModel | None:
            model_id = self._find_id(conn, exp_int, name)
            if model_id is None:
                return None
            found = self._load_models(conn, sa.select(_M).where(_M.c.model_id == model_id))
            return found[0] if found else None

        return self._read(find)

    def _find_id(self, conn: Connection, exp_int: int, name: str) -> str | None:
        return conn.execute(
            sa.select(_M.c.model_id)
            .where(_M.c.experiment_id == exp_int, _M.c.name == name, _M.c.lifecycle_stage == "active")
            .order_by(_M.c.creation_timestamp.desc(), _M.c.model_id.asc())
            .limit(1)
        ).scalar()

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
            self._require_models(conn, {model_id})
            values["last_updated_timestamp"] = self._clock()
            conn.execute(_M.update().where(_M.c.model_id == model_id).values(**values))

        self._write(update)
        return None if deleted else self.get_logged_model(model_id)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        check_id(model_id, "model id")
        clean = check_tags(tags)

        def update(conn: Connection) -> None:
            self._require_models(conn, {model_id})
            self._upsert(
                conn,
                _T,
                [{"model_id": model_id, "key": k, "value": v} for k, v in clean.items()],
                ("model_id", "key"),
            )

        self._write(update)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        check_id(model_id, "model id")
        check_key(key, "tag")

        def delete(conn: Connection) -> None:
            self._require_models(conn, {model_id})
            if conn.execute(_T.delete().where(_T.c.model_id == model_id, _T.c.key == key)).rowcount == 0:
                raise NotFoundError(f"No tag with key {key!r} found for model with ID {model_id!r}.")

        self._write(delete)

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        check_id(model_id, "model id")
        clean = check_params(params)

        def log(conn: Connection) -> None:
            self._require_models(conn, {model_id})
            self._write_once(conn, _P, "model_id", model_id, clean, "version")

        self._write(log)

    def search_logged_models(
        self,
        *,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
        max_results: int = 100,
        order_by: Sequence[Mapping[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        check_max_results(max_results)
        offset = decode_token(page_token)
        exp_ints = self._experiment_ints(experiment_ids)
        dataset_clause = _dataset_clause(datasets)

        def metric_exists(c: ast.Comparison) -> sa.ColumnElement[bool]:
            conds = [_X.c.model_id == _M.c.model_id, _X.c.key == c.key, compare(_X.c.value, c.op, c.value)]
            if dataset_clause is not None:
                conds.append(dataset_clause)
            return sa.exists().where(*conds)

        columns: dict[str, sa.ColumnElement[Any]] = {
            n: _M.c[n] for n in ast.LOGGED_MODELS.attributes if n != "experiment_id"
        }
        columns["experiment_id"] = sa.cast(_M.c.experiment_id, sa.String)
        target = Target(
            columns=columns,
            kv={
                "param": kv_exists(_P, _M.c.model_id, "model_id"),
                "tag": kv_exists(_T, _M.c.model_id, "model_id"),
                "metric": metric_exists,
            },
            attribute_hook=_status_value,
        )
        node = parse_filter(filter_string, ast.LOGGED_MODELS)
        query = sa.select(_M).where(_M.c.experiment_id.in_(exp_ints), _M.c.lifecycle_stage == "active")
        where = compile_filter(node, target)
        if where is not None:
            query = query.where(where)
        if dataset_clause is not None and not _has_metric(node):
            query = query.where(sa.exists().where(_X.c.model_id == _M.c.model_id, dataset_clause))
        ordering: list[Any] = []
        ordered_by_creation = False
        for item in order_by or ():
            term = parse_order_by(item, ast.LOGGED_MODELS)
            if term.kind == "metric":
                conds = [_X.c.model_id == _M.c.model_id, _X.c.key == term.key]
                if term.dataset_name is not None:
                    conds.append(_X.c.dataset_name == term.dataset_name)
                if term.dataset_digest is not None:
                    conds.append(_X.c.dataset_digest == term.dataset_digest)
                col: Any = (
                    sa.select(_X.c.value)
                    .where(*conds)
                    .order_by(_X.c.timestamp.desc(), _X.c.step.desc(), _X.c.id.desc())
                    .limit(1)
                    .scalar_subquery()
                )
            else:
                col = columns[term.key]
                ordered_by_creation = ordered_by_creation or term.key == "creation_timestamp"
            ordering.append(col.is_(None))  # missing values last in both directions, on every backend
            ordering.append(col.asc() if term.ascending else col.desc())
        if not ordered_by_creation:
            ordering.append(_M.c.creation_timestamp.desc())
        ordering.append(_M.c.model_id.asc())
        query = query.order_by(*ordering).limit(max_results + 1).offset(offset)
        found = self._read(lambda conn: self._load_models(conn, query))
        token = encode_token(offset + max_results) if len(found) > max_results else None
        return PagedList(found[:max_results], token)

    def _load_models(self, conn: Connection, query: sa.Select[Any]) -> list[LoggedModel]:
        rows = conn.execute(query).all()
        if not rows:
            return []
        ids = [r.model_id for r in rows]
        params: dict[str, dict[str, str]] = {i: {} for i in ids}
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        metrics: dict[str, list[Metric]] = {}
        for r in conn.execute(sa.select(_P.c.model_id, _P.c.key, _P.c.value).where(_P.c.model_id.in_(ids))):
            params[r.model_id][r.key] = r.value
        for r in conn.execute(sa.select(_T.c.model_id, _T.c.key, _T.c.value).where(_T.c.model_id.in_(ids))):
            tags[r.model_id][r.key] = r.value
        for r in conn.execute(
            sa.select(_X).where(_X.c.model_id.in_(ids)).order_by(_X.c.key, _X.c.timestamp, _X.c.step, _X.c.id)
        ):
            metrics.setdefault(r.model_id, []).append(
                Metric(
                    r.key,
                    r.value,
                    r.timestamp,
                    r.step,
                    r.model_id,
                    r.run_id,
                    r.dataset_name,
                    r.dataset_digest,
                )
            )
        return [
            LoggedModel(
                model_id=r.model_id,
                experiment_id=str(r.experiment_id),
                name=r.name,
                artifact_location=r.artifact_location,
                creation_timestamp=r.creation_timestamp,
                last_updated_timestamp=r.last_updated_timestamp,
                model_type=r.model_type,
                source_run_id=r.source_run_id,
                status=LoggedModelStatus(r.status),
                status_message=r.status_message,
                tags=tags[r.model_id],
                params=params[r.model_id],
                metrics=metrics.get(r.model_id),
            )
            for r in rows
        ]


def _status_value(c: ast.Comparison) -> object:
    """``status = 'READY'`` also accepts MLflow's proto names (``LOGGED_MODEL_READY``)."""
    if c.key != "status":
        return c.value
    if isinstance(c.value, tuple):
        return tuple(_status_name(v) for v in c.value)
    return _status_name(c.value) if isinstance(c.value, str) else c.value


def _status_name(value: str) -> str:
    try:
        return LoggedModelStatus.from_value(value).value
    except InvalidArgumentError:
        return value


def _has_metric(node: ast.Node | None) -> bool:
    if node is None:
        return False
    if isinstance(node, ast.Comparison):
        return node.kind == "metric"
    return any(_has_metric(n) for n in node.items)


def _dataset_clause(datasets: object) -> sa.ColumnElement[bool] | None:
    if not datasets:
        return None
    if isinstance(datasets, (str, bytes)) or not isinstance(datasets, (list, tuple)):
        raise InvalidArgumentError(
            f"Invalid datasets {datasets!r}: expected a list of {{'dataset_name': ...}} dicts."
        )
    clauses = []
    for ds in datasets:
        if not isinstance(ds, Mapping) or not ds.get("dataset_name"):
            raise InvalidArgumentError(f"Invalid dataset filter {ds!r}: each entry needs a 'dataset_name'.")
        unknown = set(ds) - {"dataset_name", "dataset_digest"}
        if unknown:
            raise InvalidArgumentError(f"Invalid dataset filter {ds!r}: unknown keys {sorted(unknown)}.")
        for key in ("dataset_name", "dataset_digest"):
            check_text(ds.get(key), f"{key} in dataset filter {ds!r}")
        cond = _X.c.dataset_name == ds["dataset_name"]
        if ds.get("dataset_digest"):
            cond = sa.and_(cond, _X.c.dataset_digest == ds["dataset_digest"])
        clauses.append(cond)
    return sa.or_(*clauses)
