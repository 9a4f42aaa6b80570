"""Searching versions: filter, datasets, order_by and paging compiled to SELECTs, once per
distinct search (``_PlanCache``: a UI or a paging loop repeats them).

A filter on params or tags is ``model_id IN (SELECT model_id FROM <table> WHERE key = ? AND
value <op> ?)`` (``filters.kv_in``), read from the (key, value, model_id) indexes of migration
0004; PostgreSQL plans it from its statistics. SQLite has none, so there ``search_sqlite``
chooses between walking the experiments and starting from the matching ids.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

from genver.entities import LoggedModel, LoggedModelStatus, PagedList
from genver.exceptions import InvalidArgumentError
from genver.search import ast
from genver.search.parser import parse_filter, parse_order_by
from genver.store.paging import check_max_results, decode_page, encode_keyset
from genver.store.sql import tables as t
from genver.store.sql.base import SqlBase
from genver.store.sql.filters import Target, compare, compile_filter, conjuncts, kv_in
from genver.store.sql.functions import json_list, kv_object, unindexed
from genver.store.sql.model_rows import PAGE_COLUMNS, compile_once, load_page, load_page_pg, select_page
from genver.store.sql.search_sqlite import KvPlanner
from genver.store.sql.tables import MetricValue
from genver.validation import check_text

_M = t.logged_models
_P = t.logged_model_params
_T = t.logged_model_tags
_X = t.logged_model_metrics
_L = t.logged_model_latest_metrics
_A = t.model_aliases
_KV_TABLES = {"param": _P, "tag": _T}
#: The attributes a version may lack (``order_by`` puts those versions last).
_NULLABLE = frozenset(n for n, c in _M.c.items() if c.nullable)


@dataclass(frozen=True, slots=True)
class _Key:
    """One sort key of a search: the page selects it (``_k<i>``) so a keyset token can name the
    last row's values."""

    expr: sa.ColumnElement[Any]
    ascending: bool
    nullable: bool  # missing values sort last in both directions

    def clauses(self, expr: sa.ColumnElement[Any] | None = None) -> list[Any]:
        e = self.expr if expr is None else expr
        first = [e.is_(None)] if self.nullable else []
        return [*first, e.asc() if self.ascending else e.desc()]


@dataclass(slots=True)
class _Part:
    """One statement of a search (a metric order is two: versions with the metric, by its value
    from the latest-values index, then those without)."""

    scan: sa.Select[Any]  # the whole part in one statement (PostgreSQL; SQLite without kv terms)
    keys: int  # sort key columns at the end of each row
    lacks_first: bool = False  # the versions without the first (metric) key
    sqlite: KvPlanner | None = None  # SQLite with param/tag terms: chooses the statement per call
    pg: sa.Select[Any] | None = None  # PostgreSQL: the page with its details, one statement
    compiled: Any = None  # ``pg`` compiled once (on first use), run on the driver's cursor
    float_keys: tuple[int, ...] = ()  # PostgreSQL: sort keys that come back as text
    # PostgreSQL: planned for its values on every run, never prepared (a filter on params, tags
    # or metrics matches 0.1 % or 50 % of versions by its values, and the best plans differ).
    custom_plan: bool = False


@dataclass(frozen=True, slots=True)
class _Plan:
    """The statements of one search, built once per distinct set of arguments."""

    parts: tuple[_Part, ...]
    keys: int  # the search's sort keys (what a keyset token holds)
    metric_first: bool  # ordered first by a metric's latest value

    @property
    def scan(self) -> sa.Select[Any]:
        return self.parts[0].scan

    @property
    def sqlite(self) -> KvPlanner | None:
        return self.parts[0].sqlite


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
        exp_ints = self._experiment_ints(experiment_ids)
        search = _fingerprint(exp_ints, filter_string, datasets, order_by)
        cursor = decode_page(page_token, search)
        offset = cursor if isinstance(cursor, int) else 0
        after = None if isinstance(cursor, int) else cursor
        nulls = None if after is None else tuple(v is None for v in after)
        key = _frozen((exp_ints, filter_string, datasets, max_results, order_by, offset, nulls))
        plan = self._search_plans.get(key) if key is not None else None
        if plan is None:
            plan = _plan(
                self.dialect, exp_ints, filter_string, datasets, max_results, order_by, offset, nulls
            )
            if key is not None:
                self._search_plans.put(key, plan)
        params = _keyset_params(plan, after, page_token)
        window = max_results + 1

        def search_rows(conn: Connection) -> tuple[list[LoggedModel], list[Sequence[Any]]]:
            found: list[LoggedModel] = []
            rows: list[Sequence[Any]] = []
            for i, part in enumerate(plan.parts):
                # A part after the cursor's starts from its beginning (no keyset).
                given = params if i == 0 else None
                if part.pg is not None:
                    if part.compiled is None:
                        part.compiled = compile_once(conn, part.pg)
                    models, sort = load_page_pg(
                        conn, part.compiled, given, part.keys, part.float_keys, prepare=not part.custom_plan
                    )
                elif part.sqlite is None:
                    models, sort = load_page(conn, part.scan, given, keys=part.keys)
                else:
                    chosen = part.sqlite.choose(conn, given)
                    models, sort = ([], []) if chosen is None else load_page(conn, *chosen, keys=part.keys)
                found += models
                rows += [(None, *r) for r in sort] if part.lacks_first else sort
                if len(found) >= window:
                    break
            if plan.parts[0].pg is not None:
                # End the read with COMMIT: psycopg forgets its prepared statements on ROLLBACK
                # (what returning the connection to the pool sends), so a search repeated on a
                # connection was planned by PostgreSQL every time (~1 ms); after a COMMIT
                # psycopg prepares it from its fifth run. On the driver's connection: the page
                # went through its cursor, so SQLAlchemy has no transaction to commit. A search
                # with key/value terms is never prepared (``_Part.custom_plan``): once prepared,
                # PostgreSQL may switch to one generic plan for every value, and the plan it kept
                # after a term matching 1 % took 95 ms for a term matching half of 100,000
                # versions (5 ms when planned for it); planning each run costs ~1.5-2 ms.
                conn.connection.commit()
            return found, rows

        found, rows = self._read(search_rows)
        token = encode_keyset(rows[max_results - 1], search) if len(found) > max_results else None
        return PagedList(found[:max_results], token)


def _fingerprint(
    exp_ints: list[int],
    filter_string: str | None,
    datasets: object,
    order_by: object,
) -> str:
    """What a keyset token belongs to: its values mean nothing to another search."""
    text = json.dumps([exp_ints, filter_string, datasets, order_by], sort_keys=True, default=repr)
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _keyset_params(plan: _Plan, after: list[Any] | None, token: str | None) -> dict[str, Any] | None:
    """``k<i>`` for each non-null value of a keyset token, checked against the plan's keys."""
    if after is None:
        return None
    if len(after) != plan.keys or not all(
        v is None or (isinstance(v, (str, int, float)) and not isinstance(v, bool)) for v in after
    ):
        raise InvalidArgumentError(
            f"Invalid page token {token!r}: pass the token a previous page of this search returned."
        )
    if plan.metric_first and after[0] is None:
        after = after[1:]  # resumes among the versions without the metric
    return {f"k{i}": v for i, v in enumerate(after) if v is not None}


def _plan(
    dialect: str,
    exp_ints: list[int],
    filter_string: str | None,
    datasets: Sequence[Mapping[str, Any]] | None,
    max_results: int,
    order_by: Sequence[Mapping[str, Any]] | None,
    offset: int,
    nulls: tuple[bool, ...] | None = None,
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
            "param": kv_in(_P, _M.c.model_id, "model_id", partial_index=True),
            "tag": kv_in(_T, _M.c.model_id, "model_id", partial_index=True),
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
    keys, first_metric = _sort_keys(order_by, columns)

    by_name = any(
        isinstance(c, ast.Comparison) and c.kind == "attribute" and c.key == "name" and c.op in ("=", "IN")
        for c in terms
    )
    # A name (or a few) is found from (experiment, name): the lifecycle is kept off the
    # experiment index, which SQLite would otherwise walk (it sorts by creation time) checking
    # every version's name.
    lifecycle = unindexed(_M.c.lifecycle_stage) if by_name else _M.c.lifecycle_stage
    scope = (_M.c.experiment_id.in_(exp_ints), lifecycle == "active")
    unindexed_scope = (
        unindexed(_M.c.experiment_id).in_(exp_ints),
        unindexed(_M.c.lifecycle_stage) == "active",
    )

    def part(
        part_keys: Sequence[_Key],
        part_scope: Sequence[sa.ColumnElement[bool]],
        part_unindexed: Sequence[sa.ColumnElement[bool]],
        keyset: tuple[bool, ...] | None,
        join_latest: str | None = None,
        lacks_first: bool = False,
    ) -> _Part:
        ordering = [c for k in part_keys for c in k.clauses()]
        sort_columns = [k.expr.label(f"_k{i}") for i, k in enumerate(part_keys)]
        after = [] if keyset is None else [_after(part_keys, keyset)]

        def base(*cols: sa.ColumnElement[Any]) -> sa.Select[Any]:
            stmt = sa.select(*cols)
            if join_latest is not None:
                stmt = stmt.select_from(
                    _L.join(_M, sa.and_(_M.c.model_id == _L.c.model_id, _L.c.key == join_latest))
                )
            return stmt

        def query(*first: sa.ColumnElement[bool]) -> sa.Select[Any]:
            if not offset:
                return (
                    base(*select_page(has_metrics=dialect != "postgresql").selected_columns, *sort_columns)
                    .where(*first, *where, *after)
                    .order_by(*ordering)
                    .limit(max_results + 1)
                )
            # A later page (an offset token) skips ``offset`` versions on ids alone (the
            # experiment index holds the id, the creation time and what the key/value terms
            # test), then reads the page's rows: skipping whole rows read every skipped version.
            ids = base(_M.c.model_id).where(*first, *where).order_by(*ordering)
            page = ids.limit(max_results + 1).offset(offset)
            return (
                sa.select(*select_page(has_metrics=dialect != "postgresql").selected_columns, *sort_columns)
                .where(_M.c.model_id.in_(page))
                .order_by(*ordering)
            )

        scan = query(*part_scope, *kv_where)  # also checks every term
        if dialect == "postgresql":
            # The page's ids and sort keys first (from indexes alone where they cover the
            # search), then the rows of those ids: given the whole rows to sort, PostgreSQL
            # read every version of the scope (wide rows) to hash-join a 10 % filter.
            ids = base(_M.c.model_id, *sort_columns).where(*part_scope, *kv_where, *where, *after)
            ids = ids.order_by(*ordering).limit(max_results + 1).offset(offset or None)
            pg = _one_statement(ids, part_keys)
            floats = _float_keys(part_keys)
            return _Part(
                scan=scan,
                keys=len(part_keys),
                lacks_first=lacks_first,
                pg=pg,
                float_keys=floats,
                custom_plan=bool(kv_terms),
            )
        if not kv_terms or dialect != "sqlite":
            return _Part(scan=scan, keys=len(part_keys), lacks_first=lacks_first)
        planner = KvPlanner(
            terms=[(kv_tables[c.kind], c) for c in kv_terms],
            owner=_M.c.model_id,
            scope=part_scope,
            unindexed_scope=part_unindexed,
            query=query,
            window=offset + max_results + 1,
        )
        return _Part(scan=scan, keys=len(part_keys), lacks_first=lacks_first, sqlite=planner)

    if first_metric is None or offset:
        only = part(keys, scope, unindexed_scope, nulls)
        return _Plan(parts=(only,), keys=len(keys), metric_first=False)
    # Ordered by a metric first: the versions having it, walked in value order on revision 0010's
    # (experiment, key, value) index, then the versions without it (missing values last).
    rest = keys[1:]
    with_metric = [replace(keys[0], expr=_L.c.value, nullable=False), *rest]
    has = _L.alias("has_metric")  # not the joined table: its own row per version
    without = sa.not_(sa.exists().where(has.c.model_id == _M.c.model_id, has.c.key == first_metric))
    a_scope = (
        _L.c.experiment_id.in_(exp_ints),
        _L.c.key == first_metric,
        unindexed(_M.c.lifecycle_stage) == "active",
    )
    # On the version alone: SQLite's candidate count selects from logged_models only.
    a_unindexed = (*unindexed_scope, sa.not_(without))

    def part_b(keyset: tuple[bool, ...] | None) -> _Part:
        return part(rest, (*scope, without), (*unindexed_scope, without), keyset, lacks_first=True)

    if nulls is not None and nulls[0]:
        parts: tuple[_Part, ...] = (part_b(nulls[1:]),)
    else:
        parts = (part(with_metric, a_scope, a_unindexed, nulls, join_latest=first_metric), part_b(None))
    return _Plan(parts=parts, keys=len(keys), metric_first=True)


def _after(keys: Sequence[_Key], nulls: tuple[bool, ...]) -> sa.ColumnElement[bool]:
    """The rows after the cursor's row in ``keys`` order; its values are bound as ``k<i>``
    (``nulls[i]``: the row lacks key i, and only rows lacking it too can tie or follow on it)."""
    binds = [sa.bindparam(f"k{i}", type_=k.expr.type, required=False) for i, k in enumerate(keys)]
    alternatives: list[sa.ColumnElement[bool]] = []
    equal: list[sa.ColumnElement[bool]] = []
    for k, value, is_null in zip(keys, binds, nulls, strict=True):
        if is_null:
            equal.append(k.expr.is_(None))
            continue
        later = k.expr > value if k.ascending else k.expr < value
        if k.nullable:
            later = sa.or_(later, k.expr.is_(None))
        alternatives.append(sa.and_(*equal, later))
        equal.append(k.expr == value)
    after = sa.or_(*alternatives) if alternatives else sa.false()
    first = keys[0]
    if not nulls[0] and not first.nullable:
        # The same, bounded on the first key alone: an index range the walk starts from.
        bound = first.expr >= binds[0] if first.ascending else first.expr <= binds[0]
        after = sa.and_(bound, after)
    return after


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


def _sort_keys(
    order_by: Sequence[Mapping[str, Any]] | None, columns: Mapping[str, Any]
) -> tuple[list[_Key], str | None]:
    """The search's sort keys (creation time and id added last, so the order is total), and the
    metric's key when the first one is a metric without a dataset (read from the latest values)."""
    if order_by is not None and (
        isinstance(order_by, (str, bytes, Mapping)) or not isinstance(order_by, Sequence)
    ):
        raise InvalidArgumentError(
            f"Invalid order_by {order_by!r}: expected a list of {{'field_name': ...}} dicts."
        )
    keys: list[_Key] = []
    first_metric: str | None = None
    ordered_by_creation = False
    for i, item in enumerate(order_by or ()):
        term = parse_order_by(item, ast.LOGGED_MODELS)
        if term.kind == "metric":
            col: Any
            if term.dataset_name is None and term.dataset_digest is None:
                # The latest value, kept by log_batch in revision 0010's table (by timestamp,
                # step, then the later log, as this subquery ranked logged_model_metrics before).
                col = (
                    sa.select(_L.c.value)
                    .where(_L.c.model_id == _M.c.model_id, _L.c.key == term.key)
                    .scalar_subquery()
                )
                if i == 0:
                    first_metric = term.key
            else:
                conds = [_X.c.model_id == _M.c.model_id, _X.c.key == term.key]
                if term.dataset_name is not None:
                    conds.append(_X.c.dataset_name == term.dataset_name)
                if term.dataset_digest is not None:
                    conds.append(_X.c.dataset_digest == term.dataset_digest)
                col = (
                    sa.select(_X.c.value)
                    .where(*conds)
                    .order_by(_X.c.timestamp.desc(), _X.c.step.desc(), _X.c.id.desc())
                    .limit(1)
                    .scalar_subquery()
                )
        else:
            col = columns[term.key]
            ordered_by_creation = ordered_by_creation or term.key == "creation_timestamp"
        # Missing values last in both directions, on every backend. Only where a value can be
        # missing: the term is an expression no index is sorted by, so on a NOT NULL column
        # (creation time, name) it made SQLite sort every version in scope for one page.
        keys.append(_Key(col, term.ascending, term.kind == "metric" or term.key in _NULLABLE))
    if not ordered_by_creation:
        keys.append(_Key(_M.c.creation_timestamp, False, False))
    keys.append(_Key(_M.c.model_id, True, False))
    return keys, first_metric


def _one_statement(ids: sa.Select[Any], keys: Sequence[_Key]) -> sa.Select[Any]:
    """PostgreSQL: the page (``ids``: its model ids and sort columns, ordered and limited) with
    its versions' rows, params, tags, aliases and metrics in one statement (a round trip each
    was most of a search there), re-sorted outside by the page's sort columns."""
    p = ids.subquery("page")
    mid = p.c.model_id
    metrics = (
        sa.select(
            sa.func.json_agg(
                aggregate_order_by(
                    sa.func.json_build_array(
                        _X.c.key,
                        sa.cast(_X.c.value, sa.Text),  # exact: float8 text is shortest round-trip
                        _X.c.timestamp,
                        _X.c.step,
                        _X.c.run_id,
                        _X.c.dataset_name,
                        _X.c.dataset_digest,
                    ),
                    _X.c.key,
                    _X.c.timestamp,
                    _X.c.step,
                    _X.c.id,
                )
            )
        )
        .where(_X.c.model_id == mid)
        .scalar_subquery()
    )

    def kv(table: sa.Table) -> sa.ScalarSelect[Any]:
        return (
            sa.select(kv_object(table.c.key, table.c.value)).where(table.c.model_id == mid).scalar_subquery()
        )

    aliases = sa.select(json_list(_A.c.alias)).where(_A.c.model_id == mid).scalar_subquery()
    sort = [p.c[f"_k{i}"] for i in range(len(keys))]
    # Each row by its primary key (LATERAL ... LIMIT 1, which PostgreSQL cannot flatten: a nested
    # loop of 101 lookups; given a join,
    # PostgreSQL hashed a scan of every version).
    row = select_page(has_metrics=False).where(_M.c.model_id == mid).limit(1).lateral("version")
    rows = (
        sa.select(
            *(row.c[n] for n in PAGE_COLUMNS),
            *sort,
            kv(_P).label("params"),
            kv(_T).label("tags"),
            aliases.label("aliases"),
            metrics.label("metrics"),
        )
        .select_from(p.join(row, sa.true()))
        .subquery("found")
    )
    # The page as one JSON text, decoded by one json.loads: psycopg decoded each row's JSON
    # columns one by one (three decoders a row: ~1.8 ms of a 100-version page). Metric sort
    # keys travel as text (float8's text is exact; NaN is no JSON number).
    out = [rows.c[c.name] for c in rows.columns]
    width = len(PAGE_COLUMNS)
    for i, k in enumerate(keys):
        if isinstance(k.expr.type, MetricValue):
            out[width + i] = sa.cast(out[width + i], sa.Text)
    order = [c for i, k in enumerate(keys) for c in k.clauses(rows.c[f"_k{i}"])]
    return sa.select(
        sa.cast(sa.func.json_agg(aggregate_order_by(sa.func.json_build_array(*out), *order)), sa.Text)
    )


def _float_keys(keys: Sequence[_Key]) -> tuple[int, ...]:
    """The positions of metric values among ``keys`` (sent as text by ``_one_statement``)."""
    return tuple(i for i, k in enumerate(keys) if isinstance(k.expr.type, MetricValue))


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
