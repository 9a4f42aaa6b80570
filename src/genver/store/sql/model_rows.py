"""Reading versions (LoggedModel) back with their params, tags and metrics.

The database aggregates params and tags to JSON (``json_group_object`` on SQLite,
``json_object_agg`` on PostgreSQL), so a version comes back in one row instead of one row per
param and tag:

* ``load_model`` (get by id, find by name, by alias): one prebuilt statement whose select list
  carries the version's params, tags and aliases as correlated subqueries.
* ``load_page`` (search): the page's rows, then one statement aggregating the params, tags and
  aliases of all its versions into a single JSON object each; per-row subqueries would cost
  SQLite a few microseconds a row, and Python a JSON decode per row.

Both also say whether a version has metrics; metrics (JSON would round their floats) are read
by one more statement, only for versions that have some. Statements that do not depend on user
input are built once, with bound parameters, so a call skips SQLAlchemy's statement construction
and cache-key work.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from genver.entities import LoggedModel, LoggedModelStatus, Metric
from genver.exceptions import NotFoundError
from genver.store.sql import tables as t
from genver.store.sql.base import DriverConnection, driver_rows
from genver.store.sql.functions import as_json, in_json_list, json_list, kv_object

_M = t.logged_models
_P = t.logged_model_params
_T = t.logged_model_tags
_X = t.logged_model_metrics
_A = t.model_aliases

_STATUSES = {s.value: s for s in LoggedModelStatus}
_ROW_COLUMNS = (
    "model_id",
    "experiment_id",
    "name",
    "artifact_location",
    "creation_timestamp",
    "last_updated_timestamp",
    "model_type",
    "source_run_id",
    "status",
    "status_message",
)
JsonObject = str | dict[str, Any] | None


_ROW = tuple(_M.c[name] for name in _ROW_COLUMNS)
#: The columns of ``select_page()``: a version's row and whether it has metrics.
PAGE_COLUMNS = (*_ROW_COLUMNS, "has_metrics")
# 0/1 on SQLite, a bool on PostgreSQL; Integer adds no result processor on either.
_HAS_METRICS = sa.type_coerce(sa.exists().where(_X.c.model_id == _M.c.model_id), sa.Integer).label(
    "has_metrics"
)


def _own_kv(table: sa.Table) -> sa.ScalarSelect[Any]:
    return (
        sa.select(kv_object(table.c.key, table.c.value))
        .where(table.c.model_id == _M.c.model_id)
        .scalar_subquery()
    )


_OWN_ALIASES = sa.select(json_list(_A.c.alias)).where(_A.c.model_id == _M.c.model_id).scalar_subquery()
_SINGLE = sa.select(
    *_ROW,
    _HAS_METRICS,
    _own_kv(_P).label("params"),
    _own_kv(_T).label("tags"),
    _OWN_ALIASES.label("aliases"),
)

#: One active version by id (``model_id``), for ``load_model``.
GET_MODEL = _SINGLE.where(_M.c.model_id == sa.bindparam("model_id"), _M.c.lifecycle_stage == "active")

#: The newest active version with a name in an experiment (``experiment_id``, ``name``).
FIND_MODEL = (
    _SINGLE.where(
        _M.c.experiment_id == sa.bindparam("experiment_id"),
        _M.c.name == sa.bindparam("name"),
        _M.c.lifecycle_stage == "active",
    )
    .order_by(_M.c.creation_timestamp.desc(), _M.c.model_id.asc())
    .limit(1)
)

#: The active version an alias points to (``experiment_id``, ``alias``).
BY_ALIAS = _SINGLE.where(
    _M.c.model_id
    == sa.select(_A.c.model_id)
    .where(_A.c.experiment_id == sa.bindparam("experiment_id"), _A.c.alias == sa.bindparam("alias"))
    .scalar_subquery(),
    _M.c.lifecycle_stage == "active",
)


def select_page(*, has_metrics: bool = True) -> sa.Select[Any]:
    """``SELECT <version columns>, <has metrics> FROM logged_models``, for ``load_page``
    (``has_metrics=False``: NULL there, for ``load_page_pg``, which reads the metrics
    themselves; PostgreSQL planned the EXISTS as a scan of every version's metrics)."""
    return sa.select(*_ROW, _HAS_METRICS if has_metrics else sa.null().label("has_metrics"))


def _page_kv(table: sa.Table) -> sa.ScalarSelect[Any]:
    """``{model_id: {key: value, ...}, ...}`` for the versions in ``:ids``."""
    per_model = (
        sa.select(table.c.model_id, kv_object(table.c.key, table.c.value).label("kv"))
        .where(in_json_list(table.c.model_id, "ids"))
        .group_by(table.c.model_id)
        .subquery()
    )
    return sa.select(kv_object(per_model.c.model_id, as_json(per_model.c.kv))).scalar_subquery()


def _page_aliases() -> sa.ScalarSelect[Any]:
    """``{model_id: [alias, ...], ...}`` for the versions in ``:ids`` that have aliases."""
    per_model = (
        sa.select(_A.c.model_id, json_list(_A.c.alias).label("aliases"))
        .where(in_json_list(_A.c.model_id, "ids"))
        .group_by(_A.c.model_id)
        .subquery()
    )
    return sa.select(kv_object(per_model.c.model_id, as_json(per_model.c.aliases))).scalar_subquery()


_PAGE_DETAILS = sa.select(_page_kv(_P), _page_kv(_T), _page_aliases())

_METRICS = (
    sa.select(
        _X.c.model_id,
        _X.c.key,
        _X.c.value,
        _X.c.timestamp,
        _X.c.step,
        _X.c.run_id,
        _X.c.dataset_name,
        _X.c.dataset_digest,
    )
    .where(in_json_list(_X.c.model_id, "ids"))
    .order_by(_X.c.key, _X.c.timestamp, _X.c.step, _X.c.id)
)


def load_model(
    conn: DriverConnection, query: sa.Select[Any], params: Mapping[str, Any]
) -> LoggedModel | None:
    """The version ``GET_MODEL``, ``FIND_MODEL`` or ``BY_ALIAS`` selects, or None. Read on the
    driver's cursor (no column needs SQLAlchemy's conversion): a third of the cost of a single
    read, which set_active_model(name=...) and alias lookups make on every call."""
    rows = driver_rows(conn, query, params)
    if not rows:
        return None
    row = rows[0]
    model_id = row[0]
    metrics = _load_metrics(conn, [model_id]) if row[10] else {}
    return _model(row, _decode(row[11]), _decode(row[12]), metrics.get(model_id), _aliases(row[13]))


def load_page(
    conn: Connection, query: sa.Select[Any], params: Mapping[str, Any] | None = None, *, keys: int = 0
) -> tuple[list[LoggedModel], list[tuple[Any, ...]]]:
    """The versions a query built on ``select_page()`` selects, in its order, and the last
    ``keys`` columns of each row (the search's sort keys, for a keyset token)."""
    rows = conn.execute(query, params).all()
    if not rows:
        return [], []
    ids = json.dumps([r[0] for r in rows])
    params_json, tags_json, aliases_json = driver_rows(conn, _PAGE_DETAILS, {"ids": ids})[0]
    params, tags, aliases = _decode(params_json), _decode(tags_json), _decode(aliases_json)
    with_metrics = [r[0] for r in rows if r[10]]
    metrics = _load_metrics(conn, with_metrics) if with_metrics else {}
    models = [
        _model(r, params.get(r[0], {}), tags.get(r[0], {}), metrics.get(r[0]), sorted(aliases.get(r[0], ())))
        for r in rows
    ]
    width = len(PAGE_COLUMNS)
    return models, [tuple(r[width : width + keys]) for r in rows]


def compile_once(conn: Connection, stmt: sa.Select[Any]) -> tuple[str, dict[str, Any]]:
    """``stmt``'s text for ``conn``'s dialect, list parameters (``IN``) rendered in place, and its
    parameters' values (a page's own are added per call), for ``load_page_pg``; a search's plan
    keeps it. Named parameters: PostgreSQL's drivers take a dict."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    if compiled.positional:
        raise TypeError(f"load_page_pg needs a driver with named parameters, not {conn.dialect.driver}")
    return compiled.string, dict(compiled.construct_params())


def load_page_pg(
    conn: Connection,
    compiled: tuple[str, dict[str, Any]],
    params: Mapping[str, Any] | None,
    keys: int,
    float_keys: Sequence[int] = (),
    *,
    prepare: bool = True,
) -> tuple[list[LoggedModel], list[tuple[Any, ...]]]:
    """PostgreSQL: a page in one statement on the driver's cursor, as one JSON text
    (``model_search._one_statement``): a list of rows, each the ``select_page()`` columns,
    ``keys`` sort columns (those at ``float_keys`` as text), then params and tags (objects),
    aliases (a list) and metrics (lists of [key, value as text, timestamp, step, run, dataset
    name, digest]). One round trip instead of three, one JSON decode, and no per-row
    processing by SQLAlchemy or the driver. ``prepare=False``: planned for its values each run."""
    text, fixed = compiled
    values = {**fixed, **params} if params else fixed
    cursor: Any = conn.connection.cursor()  # psycopg's: execute takes ``prepare``
    try:
        # prepare=False: never prepared, so planned for these values; else psycopg's default
        # (prepared from the statement's fifth run on this connection).
        cursor.execute(text, values, prepare=None if prepare else False)
        found = cursor.fetchone()
    except conn.dialect.loaded_dbapi.Error as e:
        raise DBAPIError.instance(text, values, e, conn.dialect.loaded_dbapi.Error) from e
    finally:
        cursor.close()
    rows: list[list[Any]] = json.loads(found[0]) if found and found[0] else []
    width = len(PAGE_COLUMNS)
    details = width + keys
    models = []
    sort_keys = []
    for r in rows:
        model_id = r[0]
        metrics = (
            [
                Metric(k, float(v), ts, step, model_id, run, name, digest)
                for k, v, ts, step, run, name, digest in r[details + 3]
            ]
            if r[details + 3]
            else None
        )
        models.append(_model(r, r[details] or {}, r[details + 1] or {}, metrics, _aliases(r[details + 2])))
        key = r[width:details]
        for i in float_keys:
            if key[i] is not None:
                key[i] = float(key[i])
        sort_keys.append(tuple(key))
    return models, sort_keys


def active_models(conn: Connection, model_ids: Collection[str]) -> set[str]:
    """The ids in ``model_ids`` that are active versions."""
    lm = t.logged_models
    found: set[str] = set()
    ids = list(model_ids)
    for i in range(0, len(ids), 500):  # bound parameters per statement stay few
        chunk = ids[i : i + 500]
        query = sa.select(lm.c.model_id).where(lm.c.model_id.in_(chunk), lm.c.lifecycle_stage == "active")
        found.update(conn.execute(query).scalars())
    return found


def require_models(conn: Connection, model_ids: set[str]) -> None:
    """Raise ``NotFoundError`` unless every id in ``model_ids`` is an active version (runs log to
    versions and link them as inputs, so run logging checks them too)."""
    found = active_models(conn, model_ids)
    missing = sorted(str(m) for m in model_ids - found)
    if missing:
        raise NotFoundError(f"Logged model with ID {missing[0]!r} not found.")


def _model(
    row: Sequence[Any],
    params: dict[str, str],
    tags: dict[str, str],
    metrics: list[Metric] | None,
    aliases: list[str],
) -> LoggedModel:
    return LoggedModel(
        model_id=row[0],
        experiment_id=str(row[1]),
        name=row[2],
        artifact_location=row[3],
        creation_timestamp=row[4],
        last_updated_timestamp=row[5],
        model_type=row[6],
        source_run_id=row[7],
        status=_STATUSES[row[8]],
        status_message=row[9],
        tags=tags,
        params=params,
        metrics=metrics,
        aliases=aliases,
    )


def _aliases(value: str | list[str] | None) -> list[str]:
    """The aliases ``json_list`` aggregated: JSON text on SQLite (``[null]`` without rows, as
    ``json_group_array`` of no match gives), a list or None on PostgreSQL."""
    found = json.loads(value) if isinstance(value, str) else value or []
    return sorted(a for a in found if a is not None)


def _decode(value: JsonObject) -> dict[str, Any]:
    if isinstance(value, str):
        decoded: dict[str, Any] = json.loads(value)
        return decoded
    return value or {}


def _load_metrics(conn: DriverConnection, model_ids: Sequence[str]) -> dict[str, list[Metric]]:
    # On the driver's cursor: SQLAlchemy's per-row fetch was a third of a 100-version page.
    # SQLite keeps NaN as the text 'NaN' (tables.MetricValue), which float() reads back.
    metrics: dict[str, list[Metric]] = {}
    for model_id, key, value, timestamp, step, run_id, name, digest in driver_rows(
        conn, _METRICS, {"ids": json.dumps(list(model_ids))}
    ):
        metrics.setdefault(model_id, []).append(
            Metric(key, float(value), timestamp, step, model_id, run_id, name, digest)
        )
    return metrics
