"""Searching versions: filter, datasets, order_by and paging compiled to SELECTs, once per
distinct search (``_PlanCache``: a UI or a paging loop repeats them).

A filter on params or tags is ``model_id IN (SELECT model_id FROM <table> WHERE key = ? AND
value <op> ?)`` (``filters.kv_in``), read from the (key, value, model_id) indexes of migration
0004; PostgreSQL plans it from its statistics. SQLite has none, so there ``search_sqlite``
chooses between walking the experiments and starting from the matching ids.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities import LoggedModel, LoggedModelStatus, PagedList
from genver.exceptions import InvalidArgumentError
from genver.search import ast
from genver.search.parser import parse_filter, parse_order_by
from genver.store.paging import check_max_results, decode_token, encode_token
from genver.store.sql import tables as t
from genver.store.sql.base import SqlBase
from genver.store.sql.filters import Target, compare, compile_filter, conjuncts, kv_in
from genver.store.sql.functions import unindexed
from genver.store.sql.model_rows import load_page, select_page
from genver.store.sql.search_sqlite import KvPlanner
from genver.validation import check_text

_M = t.logged_models
_P = t.logged_model_params
_T = t.logged_model_tags
_X = t.logged_model_metrics
_KV_TABLES = {"param": _P, "tag": _T}
#: The attributes a version may lack (``order_by`` puts those versions last).
_NULLABLE = frozenset(n for n, c in _M.c.items() if c.nullable)


@dataclass(frozen=True, slots=True)
class _Plan:
    """The statements of one search, built once per distinct set of arguments."""

    scan: sa.Select[Any]  # the whole search in one statement (PostgreSQL; SQLite without kv terms)
    sqlite: KvPlanner | None = None  # SQLite with param/tag terms: chooses the statement per call


class _PlanCache:
    """The plans of the last few distinct searches (a UI or a paging loop repeats them)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._plans: OrderedDict[Hashable, _Plan] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> _Plan | None:
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
            return plan

    def put(self, key: Hashable, plan: _Plan) -> None:
        with self._lock:
            self._plans[key] = plan
            if len(self._plans) > self._size:
                self._plans.popitem(last=False)


class ModelSearchMixin(SqlBase):
    @functools.cached_property
    def _search_plans(self) -> _PlanCache:
        return _PlanCache(256)

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
        key = _frozen((exp_ints, filter_string, datasets, max_results, order_by, offset))
        plan = self._search_plans.get(key) if key is not None else None
        if plan is None:
            plan = _plan(self.dialect, exp_ints, filter_string, datasets, max_results, order_by, offset)
            if key is not None:
                self._search_plans.put(key, plan)

        def search(conn: Connection) -> list[LoggedModel]:
            if plan.sqlite is None:
                return load_page(conn, plan.scan)
            chosen = plan.sqlite.choose(conn)
            return [] if chosen is None else load_page(conn, *chosen)

        found = self._read(search)
        token = encode_token(offset + max_results) if len(found) > max_results else None
        return PagedList(found[:max_results], token)


def _plan(
    dialect: str,
    exp_ints: list[int],
    filter_string: str | None,
    datasets: Sequence[Mapping[str, Any]] | None,
    max_results: int,
    order_by: Sequence[Mapping[str, Any]] | None,
    offset: int,
) -> _Plan:
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
            "param": kv_in(_P, _M.c.model_id, "model_id"),
            "tag": kv_in(_T, _M.c.model_id, "model_id"),
            "metric": metric_exists,
        },
        attribute_hook=_status_value,
    )
    node = parse_filter(filter_string, ast.LOGGED_MODELS)
    terms = conjuncts(node)
    # Without datasets a metric comparison is a key/value term like a param's: the versions
    # having a value of the metric that matches, read from the (key, value, model_id) index of
    # revision 0009 (a correlated EXISTS probed every version in scope: 1 % matching took as
    # long as reading them all). With datasets it stays an EXISTS that also checks the dataset.
    kv_tables = _KV_TABLES if dataset_clause is not None else {**_KV_TABLES, "metric": _X}
    kv_terms = [c for c in terms if isinstance(c, ast.Comparison) and c.kind in kv_tables]
    other_terms = [c for c in terms if not (isinstance(c, ast.Comparison) and c.kind in kv_tables)]
    if dataset_clause is None:
        target = replace(target, kv={**target.kv, "metric": kv_in(_X, _M.c.model_id, "model_id")})
    kv_where = [c for c in (compile_filter(n, target) for n in kv_terms) if c is not None]
    where = [c for c in (compile_filter(n, target) for n in other_terms) if c is not None]
    if dataset_clause is not None and not _has_metric(node):
        where.append(sa.exists().where(_X.c.model_id == _M.c.model_id, dataset_clause))
    ordering = _ordering(order_by, columns)

    def query(*first: sa.ColumnElement[bool]) -> sa.Select[Any]:
        if not offset:
            return select_page().where(*first, *where).order_by(*ordering).limit(max_results + 1)
        # A later page skips ``offset`` versions on ids alone (the experiment index holds the
        # id, the creation time and what the key/value terms test), then reads the page's rows:
        # skipping whole rows read every skipped version from the table.
        ids = sa.select(_M.c.model_id).where(*first, *where).order_by(*ordering)
        page = ids.limit(max_results + 1).offset(offset)
        return select_page().where(_M.c.model_id.in_(page)).order_by(*ordering)

    by_name = any(
        isinstance(c, ast.Comparison) and c.kind == "attribute" and c.key == "name" and c.op in ("=", "IN")
        for c in terms
    )
    # A name (or a few) is found from (experiment, name): the lifecycle is kept off the
    # experiment index, which SQLite would otherwise walk (it sorts by creation time) checking
    # every version's name.
    lifecycle = unindexed(_M.c.lifecycle_stage) if by_name else _M.c.lifecycle_stage
    scope = (_M.c.experiment_id.in_(exp_ints), lifecycle == "active")
    scan = query(*scope, *kv_where)  # also checks every term
    if not kv_terms or dialect != "sqlite":
        return _Plan(scan=scan)
    planner = KvPlanner(
        terms=[(kv_tables[c.kind], c) for c in kv_terms],
        owner=_M.c.model_id,
        scope=scope,
        unindexed_scope=(
            unindexed(_M.c.experiment_id).in_(exp_ints),
            unindexed(_M.c.lifecycle_stage) == "active",
        ),
        query=query,
        window=offset + max_results + 1,
    )
    return _Plan(scan=scan, sqlite=planner)


def _frozen(value: object) -> Hashable | None:
    """A hashable copy of plain arguments (None when they are not plain data)."""
    if value is None or isinstance(value, (str, int, float)):
        return (type(value).__name__, value)  # True and 1 hash alike: keep the type
    if isinstance(value, Mapping):
        items = [(k, _frozen(v)) for k, v in value.items()]
        if all(isinstance(k, str) and v is not None for k, v in items):
            return ("map", tuple(sorted(items)))
        return None
    if isinstance(value, (list, tuple)):
        frozen = tuple(_frozen(v) for v in value)
        return None if any(v is None for v in frozen) else ("seq", frozen)
    return None


def _ordering(order_by: Sequence[Mapping[str, Any]] | None, columns: Mapping[str, Any]) -> list[Any]:
    if order_by is not None and (
        isinstance(order_by, (str, bytes, Mapping)) or not isinstance(order_by, Sequence)
    ):
        raise InvalidArgumentError(
            f"Invalid order_by {order_by!r}: expected a list of {{'field_name': ...}} dicts."
        )
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
        if term.kind == "metric" or term.key in _NULLABLE:
            # Missing values last in both directions, on every backend. Only where a value can be
            # missing: the term is an expression no index is sorted by, so on a NOT NULL column
            # (creation time, name) it made SQLite sort every version in scope for one page.
            ordering.append(col.is_(None))
        ordering.append(col.asc() if term.ascending else col.desc())
    if not ordered_by_creation:
        ordering.append(_M.c.creation_timestamp.desc())
    ordering.append(_M.c.model_id.asc())
    return ordering


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
