#!/usr/bin/env python
"""Search shapes: ``search_logged_models`` and ``search_traces`` on genver vs MLflow 3.17.2.

Run it with genver's venv::

    .venv/bin/python bench/bench_search.py           # 10,000 versions and traces, ~2-3 min
    .venv/bin/python bench/bench_search.py --full    # also 100,000 (seeding is cached)
    .venv/bin/python bench/bench_search.py --quick   # 1,000, a smoke run

Every shape (filter, order, page) runs through ``MlflowClient`` on each backend: genver on
SQLite and on PostgreSQL, MLflow on SQLite (its default). Each backend runs in a subprocess of
its own venv executing this file in worker mode, as in ``bench_core.py``.

Seeding: a worker creates one *template* version (4 params, 3 tags, a metric, in a run) and one
template trace (6 spans, two tags, the active version's id in its metadata) through its backend's
API, then copies the template's rows with plain SQL (``executemany`` on SQLite, ``COPY`` on
PostgreSQL), giving copy ``i`` its own ids, times and values. Versions and traces get the same
ids on both backends, so the results of each shape are compared id by id. SQLite stores are
cached in ``bench/.cache/`` (gitignored); the PostgreSQL database is created next to the given
one, seeded and dropped on every run.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from _harness import (
    RunLog,
    call_worker,
    chdir,
    fmt,
    import_backend,
    new_parser,
    print_table,
    resolve_mlflow_python,
    write_json,
)
from bench_core import LLMS, TEAMS  # the same vocabulary as the core benchmark's versions

GOAL = 20.0
SEED_VERSION = 3  # bump when the seeded data changes: cached stores are rebuilt
CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
PG_DB = "genver_bench_search"
VERSIONS_EXP = "bench-search-versions"
TRACES_EXP = "bench-search-traces"
PAGE = 100
BASE_MS = 1_700_000_000_000  # copy i was created at BASE_MS + 10 * i


def mix(i: int, salt: int) -> int:
    """A well-spread 64-bit hash of (i, salt): each field of copy i is drawn independently."""
    x = (i * 0x9E3779B97F4A7C15 + salt * 0xD1B54A32D192ED03) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def version_values(i: int) -> dict[str, Any]:
    return {
        "params": {"llm": LLMS[mix(i, 1) % 10], "tier": "ab"[mix(i, 2) % 2], "rare": f"r{mix(i, 3) % 100}"},
        "tags": {
            "team": TEAMS[mix(i, 4) % 10],
            "env": ("prod", "dev")[mix(i, 5) % 2],
            "bucket": f"b{mix(i, 6) % 100}",
        },
        "accuracy": (mix(i, 7) % 10000) / 10000,
    }


def trace_values(i: int) -> dict[str, Any]:
    return {
        "model": f"m-{10**6 + mix(i, 11) % 100:032x}",
        "tags": {"env": ("prod", "dev")[mix(i, 12) % 2], "bucket": f"b{mix(i, 13) % 100}"},
        "state": "ERROR" if mix(i, 14) % 10 == 0 else "OK",
        "execution_ms": mix(i, 15) % 1000,
    }


# ---------------------------------------------------------------------------------------------
# Shapes: (key, label, what, kwargs). ``n`` is the store's size.
# ---------------------------------------------------------------------------------------------
CREATED_DESC = [{"field_name": "creation_timestamp", "ascending": False}]
ACCURACY_DESC = [{"field_name": "metrics.accuracy", "ascending": False}]


@dataclass(frozen=True)
class Shape:
    key: str
    what: str  # "models" or "traces"
    label: str
    filter_string: str | None = None
    order_by: Any = None
    model_id: str | None = None
    last_page_of: int | None = None  # matches: start at the last page's offset, via a page token


def shapes(n: int) -> list[Shape]:
    def last(matches: int) -> int:
        return max(0, (matches - 1) // PAGE * PAGE)

    tier_a = sum(1 for i in range(n) if version_values(i)["params"]["tier"] == "a")
    env_prod = sum(1 for i in range(n) if trace_values(i)["tags"]["env"] == "prod")
    newest = BASE_MS + 10 * (n - n // 100) - 1
    model7 = f"m-{10**6 + 7:032x}"
    m = "models"
    tr = "traces"
    return [
        Shape("m.param1", m, "param = (1 %)", "params.rare = 'r7'"),
        Shape("m.param1.created", m, "param = (1 %), by creation", "params.rare = 'r7'", CREATED_DESC),
        Shape("m.param10.created", m, "param = (10 %), by creation", "params.llm = 'gpt-4'", CREATED_DESC),
        Shape("m.param50", m, "param = (50 %)", "params.tier = 'a'"),
        Shape("m.param50.metric", m, "param = (50 %), by metric", "params.tier = 'a'", ACCURACY_DESC),
        Shape("m.tag1", m, "tag = (1 %)", "tags.bucket = 'b7'"),
        Shape("m.tag50.created", m, "tag = (50 %), by creation", "tags.env = 'prod'", CREATED_DESC),
        Shape(
            "m.param_tag5.created",
            m,
            "param AND tag (5 %), by creation",
            "params.llm = 'gpt-4' AND tags.env = 'prod'",
            CREATED_DESC,
        ),
        Shape("m.param_tag05", m, "param AND tag (0.5 %)", "params.tier = 'a' AND tags.bucket = 'b7'"),
        Shape("m.metric1", m, "metric > (1 %)", "metrics.accuracy > 0.99"),
        Shape(
            "m.metric50.created", m, "metric > (50 %), by creation", "metrics.accuracy > 0.5", CREATED_DESC
        ),
        Shape("m.name", m, "name = (1 row)", f"name = 'bench-{n // 2}'"),
        Shape("m.all.created", m, "no filter, by creation", None, CREATED_DESC),
        Shape("m.all.metric", m, "no filter, by metric", None, ACCURACY_DESC),
        Shape(
            "m.param50.last",
            m,
            "param = (50 %), last page",
            "params.tier = 'a'",
            CREATED_DESC,
            last_page_of=last(tier_a),
        ),
        Shape("m.all.last", m, "no filter, last page", None, CREATED_DESC, last_page_of=last(n)),
        Shape("t.model1", tr, "model_id= (1 %)", model_id=model7),
        Shape("t.tag1", tr, "tag = (1 %)", "tags.bucket = 'b7'"),
        Shape("t.tag50", tr, "tag = (50 %)", "tags.env = 'prod'"),
        Shape("t.state10", tr, "status = ERROR (10 %)", "attributes.status = 'ERROR'"),
        Shape("t.exec1", tr, "execution_time > (1 %)", "attributes.execution_time_ms > 989"),
        Shape(
            "t.exec50.exec",
            tr,
            "execution_time > (50 %), by it",
            "attributes.execution_time_ms > 499",
            ["execution_time_ms DESC"],
        ),
        Shape("t.time1", tr, "timestamp > (newest 1 %)", f"attributes.timestamp_ms > {newest}"),
        Shape(
            "t.model_tag",
            tr,
            "metadata model AND tag (0.5 %)",
            f"metadata.`mlflow.modelId` = '{model7}' AND tags.env = 'prod'",
        ),
        Shape("t.all", tr, "no filter (newest first)", None),
        Shape("t.all.asc", tr, "no filter, oldest first", None, ["timestamp_ms ASC"]),
        Shape(
            "t.tag50.last", tr, "tag = (50 %), last page", "tags.env = 'prod'", last_page_of=last(env_prod)
        ),
        Shape("t.all.last", tr, "no filter, last page", None, last_page_of=last(n)),
    ]


# ---------------------------------------------------------------------------------------------
# Worker side: templates through the API, copies with SQL, then the shapes.
# ---------------------------------------------------------------------------------------------
class Db:
    """SQLite (sqlite3) or PostgreSQL (psycopg) behind the few calls the copier needs."""

    def __init__(self, uri: str) -> None:
        self.pg = uri.startswith("postgresql")
        if self.pg:
            import psycopg

            self.conn: Any = psycopg.connect(uri.replace("postgresql+psycopg://", "postgresql://"))
        else:
            self.conn = sqlite3.connect(uri.removeprefix("sqlite:///"), timeout=60)

    def query(self, sql: str, args: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self.conn.cursor()
        cur.execute(sql.replace("?", "%s") if self.pg else sql, tuple(args))
        return [d[0] for d in cur.description], list(cur.fetchall())

    def columns(self, table: str) -> list[str]:
        """Insertable columns (SQLite's generated columns are left out)."""
        if self.pg:
            _, rows = self.query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "AND is_generated = 'NEVER' ORDER BY ordinal_position",
                (table,),
            )
            cols = [r[0] for r in rows]
        else:
            cols = [r[1] for r in self.conn.execute(f'PRAGMA table_xinfo("{table}")') if r[6] == 0]
        # genver's logged_model_metrics.id is an autoincrement key: copies get their own
        return [c for c in cols if not (table == "logged_model_metrics" and c == "id")]

    def insert(self, table: str, cols: list[str], rows: list[tuple[Any, ...]]) -> None:
        names = ", ".join(f'"{c}"' for c in cols)
        if self.pg:
            with self.conn.cursor() as cur, cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for r in rows:
                    copy.write_row(r)
        else:
            marks = ", ".join("?" for _ in cols)
            self.conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


Edit = Callable[[dict[str, Any], int], None]


def copy_rows(
    db: Db, table: str, id_col: str, template: str, n: int, new_id: Callable[[int], str], edit: Edit
) -> None:
    """Copies 1..n-1 of the template's rows of ``table`` (copy 0 is the template's own, whose
    values ``edit`` rewrites in place), replacing the template id in every text value."""
    cols = db.columns(table)
    names = ", ".join(f'"{c}"' for c in cols)
    _, found = db.query(f'SELECT {names} FROM "{table}" WHERE "{id_col}" = ?', (template,))
    templates = [dict(zip(cols, r, strict=True)) for r in found]
    rewrite = _id_rewriter(template)
    batch: list[tuple[Any, ...]] = []
    for i in range(1, n):
        nid = new_id(i)
        for t in templates:
            row = {k: rewrite(v, nid) for k, v in t.items()}
            edit(row, i)
            batch.append(tuple(row[c] for c in cols))
        if len(batch) >= 20_000:
            db.insert(table, cols, batch)
            batch = []
    if batch:
        db.insert(table, cols, batch)


def _id_rewriter(template: str) -> Callable[[Any, str], Any]:
    """Replaces the template's id (and, for a trace id, its OpenTelemetry id in hex and base64,
    as MLflow's span JSON carries it) with the copy's."""
    hex_id = template[3:] if template.startswith("tr-") else None
    b64 = base64.b64encode(bytes.fromhex(hex_id)).decode() if hex_id else None

    def rewrite(value: Any, nid: str) -> Any:
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        if not isinstance(value, str):
            return value
        value = value.replace(template, nid)
        if hex_id and b64:
            new_hex = nid[3:]
            value = value.replace(hex_id, new_hex).replace(
                b64, base64.b64encode(bytes.fromhex(new_hex)).decode()
            )
        return value

    return rewrite


def version_id(i: int) -> str:
    return f"m-{uuid.UUID(int=i + 1).hex}"


def trace_id(i: int) -> str:
    return f"tr-{uuid.UUID(int=10**12 + i).hex}"


def seed(mlflow: ModuleType, backend: str, uri: str, n: int) -> dict[str, Any]:
    """Templates through the API, then n - 1 copies of each with SQL."""
    client = mlflow.MlflowClient()
    v_exp = mlflow.set_experiment(VERSIONS_EXP).experiment_id
    v0 = version_values(0)
    model = mlflow.create_external_model(name="bench-0", params=v0["params"], tags=v0["tags"])
    with mlflow.start_run():
        mlflow.log_metric("accuracy", v0["accuracy"], model_id=model.model_id)
    t_exp = mlflow.set_experiment(TRACES_EXP).experiment_id
    t0 = trace_values(0)
    mlflow.set_active_model(model_id=mlflow.create_external_model(name="bench-traced").model_id)

    @mlflow.trace(span_type="LLM")
    def child(k: int) -> int:
        return k * 2

    @mlflow.trace(name="bench-root")
    def root(x: int) -> int:
        for k in range(5):
            child(k)
        mlflow.update_current_trace(tags=t0["tags"])
        return x

    root(1)
    mlflow.flush_trace_async_logging()
    template_trace = mlflow.get_last_active_trace_id()
    mlflow.clear_active_model()
    template_model_of_trace = client.get_trace(template_trace).info.trace_metadata["mlflow.modelId"]

    g = backend == "genver"
    db = Db(uri)
    try:
        # The template's own rows become copy 0: ids are fixed, so both backends hold the same.
        old_v, old_t = model.model_id, template_trace
        n_v = version_id(0)
        n_t = trace_id(0)
        created = "creation_timestamp" if g else "creation_timestamp_ms"
        updated = "last_updated_timestamp" if g else "last_updated_timestamp_ms"
        pkey, pval = ("key", "value") if g else ("param_key", "param_value")
        tkey, tval = ("key", "value") if g else ("tag_key", "tag_value")
        mval = "value" if g else "metric_value"

        def model_row(row: dict[str, Any], i: int) -> None:
            row[created] = row[updated] = BASE_MS + 10 * i
            row["name"] = f"bench-{i}"

        def param_row(row: dict[str, Any], i: int) -> None:
            row[pval] = version_values(i)["params"].get(row[pkey], row[pval])

        def tag_row(row: dict[str, Any], i: int) -> None:
            row[tval] = version_values(i)["tags"].get(row[tkey], row[tval])

        def metric_row(row: dict[str, Any], i: int) -> None:
            row[mval] = version_values(i)["accuracy"]

        def trace_row(row: dict[str, Any], i: int) -> None:
            v = trace_values(i)
            row["request_time" if g else "timestamp_ms"] = BASE_MS + 10 * i
            row["execution_duration" if g else "execution_time_ms"] = v["execution_ms"]
            row["state" if g else "status"] = v["state"]
            if g:
                row["model_id"] = v["model"]

        def meta_row(row: dict[str, Any], i: int) -> None:
            if row["key"] == "mlflow.modelId":
                row["value"] = trace_values(i)["model"]

        def trace_tag_row(row: dict[str, Any], i: int) -> None:
            row["value"] = trace_values(i)["tags"].get(row["key"], row["value"])

        def noop(row: dict[str, Any], i: int) -> None:
            pass

        plan: list[tuple[str, str, Edit]] = [
            ("logged_models", "model_id", model_row),
            ("logged_model_params", "model_id", param_row),
            ("logged_model_tags", "model_id", tag_row),
            ("logged_model_metrics", "model_id", metric_row),
        ]
        if g:  # revision 0010: each version's latest metric values
            plan.append(("logged_model_latest_metrics", "model_id", metric_row))
        tr_id_col = "trace_id" if g else "request_id"
        trace_plan: list[tuple[str, str, Edit]] = [
            ("traces" if g else "trace_info", tr_id_col, trace_row),
            ("trace_metadata" if g else "trace_request_metadata", tr_id_col, meta_row),
            ("trace_tags", tr_id_col, trace_tag_row),
            ("spans", "trace_id", noop),
        ]
        for table, col, edit in plan:
            copy_rows(db, table, col, old_v, n, version_id, edit)
        for table, col, edit in trace_plan:
            copy_rows(db, table, col, old_t, n, trace_id, edit)
        # Copy 0: rewrite the templates in place (ids, values), children before parents' ids.
        _rewrite_template(db, g, old_v, n_v, old_t, n_t, plan, trace_plan)
        db.commit()
        if db.pg:
            db.conn.autocommit = True
            # What autovacuum gives a store that has been running: planner statistics and the
            # visibility map (index-only scans); a store fresh from COPY has neither.
            db.conn.execute("VACUUM ANALYZE")
    finally:
        db.close()
    return {"versions_experiment": v_exp, "traces_experiment": t_exp, "trace_model": template_model_of_trace}


def _rewrite_template(
    db: Db,
    g: bool,
    old_v: str,
    new_v: str,
    old_t: str,
    new_t: str,
    plan: list[tuple[str, str, Edit]],
    trace_plan: list[tuple[str, str, Edit]],
) -> None:
    """Copy 0 is the template: insert it again as copy 0 under its fixed id, delete the original."""
    for old, new, steps, make in ((old_v, new_v, plan, version_id), (old_t, new_t, trace_plan, trace_id)):
        for table, col, edit in steps:
            cols = db.columns(table)
            names = ", ".join(f'"{c}"' for c in cols)
            _, found = db.query(f'SELECT {names} FROM "{table}" WHERE "{col}" = ?', (old,))
            rewrite = _id_rewriter(old)
            rows = []
            for r in found:
                row = {k: rewrite(v, make(0)) for k, v in zip(cols, r, strict=True)}
                edit(row, 0)
                rows.append(tuple(row[c] for c in cols))
            db.insert(table, cols, rows)
        for table, col, _ in reversed(steps):
            db.query(f'DELETE FROM "{table}" WHERE "{col}" = ? RETURNING 1', (old,))
        del new
    # Other rows naming the template version (MLflow: run inputs/outputs; genver: history) keep it.


def token(backend: str, shape: Shape, exp: str, offset: int, client: Any = None) -> str:
    """The page token each backend hands out for the page at ``offset``. genver's version search
    hands out keysets (the last row's sort key): the token of one search of ``offset`` rows; its
    trace search and MLflow hand out offsets (base64 JSON), made here directly."""
    if backend == "genver" and shape.what == "models":
        got, page_token = 0, None
        while got < offset:  # in searches of at most 50,000 (the max_results limit)
            page = client.search_logged_models(
                experiment_ids=[exp],
                filter_string=shape.filter_string,
                max_results=min(offset - got, 50_000),
                order_by=shape.order_by,
                page_token=page_token,
            )
            got += len(page)
            page_token = page.token
            assert page_token, shape.key
        return str(page_token)
    if backend == "genver":
        from genver.store.paging import encode_token

        return encode_token(offset)
    if shape.what == "models":
        from mlflow.utils.search_utils import SearchLoggedModelsPaginationToken

        return SearchLoggedModelsPaginationToken(
            experiment_ids=[exp], filter_string=shape.filter_string, order_by=shape.order_by, offset=offset
        ).encode()
    from mlflow.utils.search_utils import SearchTraceUtils

    return SearchTraceUtils.create_page_token(offset).decode()


def time_shape(fn: Callable[[], Any], budget: float, max_reps: int) -> tuple[float, list[float], Any]:
    """Median ms of at least 3 calls (more while within ``budget`` seconds), after one warm-up."""
    result = fn()
    timings: list[float] = []
    started = time.perf_counter()
    while len(timings) < 3 or (len(timings) < max_reps and time.perf_counter() - started < budget):
        t0 = time.perf_counter()
        fn()
        timings.append(1000 * (time.perf_counter() - t0))
    return statistics.median(timings), timings, result


def run_shapes(mlflow: ModuleType, backend: str, n: int, budget: float, max_reps: int) -> dict[str, Any]:
    client = mlflow.MlflowClient()
    v_exp = client.get_experiment_by_name(VERSIONS_EXP).experiment_id
    t_exp = client.get_experiment_by_name(TRACES_EXP).experiment_id
    out: dict[str, Any] = {}
    for s in shapes(n):
        page_token = None
        exp = v_exp if s.what == "models" else t_exp
        if s.last_page_of is not None:
            page_token = token(backend, s, exp, s.last_page_of, client)
        if s.what == "models":

            def call(s: Shape = s, page_token: str | None = page_token) -> Any:
                return client.search_logged_models(
                    experiment_ids=[v_exp],
                    filter_string=s.filter_string,
                    max_results=PAGE,
                    order_by=s.order_by,
                    page_token=page_token,
                )

        else:

            def call(s: Shape = s, page_token: str | None = page_token) -> Any:
                kwargs: dict[str, Any] = {"locations": [t_exp], "max_results": PAGE, "page_token": page_token}
                if s.filter_string is not None:
                    kwargs["filter_string"] = s.filter_string
                if s.order_by is not None:
                    kwargs["order_by"] = s.order_by
                if s.model_id is not None:
                    kwargs["model_id"] = s.model_id
                return client.search_traces(**kwargs)

        ms, timings, found = time_shape(call, budget, max_reps)
        if s.what == "models":
            ids = [m.model_id for m in found]
        else:
            ids = [t.info.trace_id for t in found]
            spans = sorted({len(t.data.spans) for t in found})
            if found and spans != [6]:
                raise SystemExit(f"{backend}: {s.key} returned traces with {spans} spans, expected 6")
        out[s.key] = {"ms": ms, "timings": timings, "count": len(ids), "ids": ids}
        print(f"  {backend} {s.key}: {ms:.2f} ms, {len(ids)} rows", file=sys.stderr, flush=True)
    return out


def worker(backend: str, args: dict[str, Any]) -> dict[str, Any]:
    mlflow = import_backend(backend, ("mlflow", "genver", "alembic", "sqlalchemy"), logging.ERROR)
    uri = args["uri"]
    with tempfile.TemporaryDirectory(prefix=f"bench-search-{backend}-") as tmp, chdir(tmp):
        mlflow.set_tracking_uri(uri)
        result: dict[str, Any] = {"backend": backend, "version": getattr(mlflow, "__version__", "?")}
        if args["mode"] == "seed":
            t0 = time.perf_counter()
            result.update(seed(mlflow, backend, uri, args["n"]))
            result["seed_s"] = time.perf_counter() - t0
        else:
            mlflow.search_logged_models(max_results=1, output_format="list")  # open (and migrate)
            result["shapes"] = run_shapes(mlflow, backend, args["n"], args["budget"], args["max_reps"])
        if backend == "genver":
            mlflow.set_tracking_uri(f"sqlite:///{os.path.join(tmp, 'closed.db')}")
    return result


# ---------------------------------------------------------------------------------------------
# Parent side
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Backend:
    key: str  # genver-sqlite, genver-pg, mlflow-sqlite
    backend: str  # genver / mlflow
    python: str


def cached_sqlite(b: Backend, n: int) -> tuple[str, float | None]:
    """The seeded SQLite store for (backend, n), seeding it first if it is not cached."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"search-v{SEED_VERSION}-{b.backend}-{n}.db")
    if os.path.exists(path):
        return path, None
    tmp = path + ".seeding"
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp + suffix)
    out = call_worker(
        b.python,
        __file__,
        ["--worker", b.backend],
        ["--sizes", json.dumps({"mode": "seed", "uri": f"sqlite:///{tmp}", "n": n})],
    )
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    shutil.move(tmp, path)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp + suffix)
    return path, float(out["seed_s"])


@contextlib.contextmanager
def postgres_db(base: str) -> Iterator[str]:
    """A fresh database next to ``base``'s, dropped afterwards."""
    import psycopg

    admin = psycopg.connect(base, autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {PG_DB}")
    try:
        yield base.rsplit("/", 1)[0] + "/" + PG_DB
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        admin.close()


def run_size(backends: list[Backend], n: int, args: Any) -> dict[str, Any]:
    results: dict[str, Any] = {}
    budget = {"budget": args.budget, "max_reps": args.max_reps, "n": n, "mode": "run"}
    for b in backends:
        t0 = time.perf_counter()
        if b.key.endswith("-pg"):
            with postgres_db(args.postgres) as uri:
                seeded = call_worker(
                    b.python,
                    __file__,
                    ["--worker", b.backend],
                    ["--sizes", json.dumps({"mode": "seed", "uri": uri, "n": n})],
                )
                print(f"{b.key} n={n:,}: seeded in {seeded['seed_s']:.1f} s", flush=True)
                out = call_worker(
                    b.python,
                    __file__,
                    ["--worker", b.backend],
                    ["--sizes", json.dumps(budget | {"uri": uri})],
                )
        else:
            path, seeded_s = cached_sqlite(b, n)
            if seeded_s is not None:
                print(f"{b.key} n={n:,}: seeded in {seeded_s:.1f} s ({path})", flush=True)
            out = call_worker(
                b.python,
                __file__,
                ["--worker", b.backend],
                ["--sizes", json.dumps(budget | {"uri": f"sqlite:///{path}"})],
            )
        results[b.key] = out
        print(f"{b.key} n={n:,}: shapes in {time.perf_counter() - t0:.1f} s", flush=True)
    return results


def table(n: int, results: dict[str, Any], keys: list[str]) -> tuple[list[list[str]], list[dict[str, Any]]]:
    ref = "mlflow-sqlite"
    ours = [k for k in keys if k.startswith("genver")]
    header = (
        ["shape", "n"]
        + [f"{k} ms" for k in ours]
        + ["mlflow ms"]
        + [f"× {k.split('-')[1]}" for k in ours]
        + ["rows", "same ids"]
    )
    rows = [header]
    summary = []
    for s in shapes(n):
        m = results[ref]["shapes"][s.key]
        cells = [f"{s.what[0]}: {s.label}", f"{n:,}"]
        ratios = []
        for k in ours:
            cells.append(fmt(results[k]["shapes"][s.key]["ms"]))
        cells.append(fmt(m["ms"]))
        entry: dict[str, Any] = {
            "shape": s.key,
            "label": s.label,
            "n": n,
            "mlflow_ms": m["ms"],
            "rows": m["count"],
        }
        same = True
        for k in ours:
            g = results[k]["shapes"][s.key]
            ratio = m["ms"] / g["ms"]
            ratios.append(f"{ratio:.1f}×" + ("" if ratio >= GOAL else " ✗"))
            entry[f"{k}_ms"] = g["ms"]
            entry[f"{k}_ratio"] = ratio
            same = same and g["ids"] == m["ids"]
        cells += ratios + [str(m["count"]), "yes" if same else "NO"]
        entry["same_ids"] = same
        rows.append(cells)
        summary.append(entry)
    return rows, summary


def main(argv: list[str] | None = None) -> int:
    p = new_parser(__doc__, quick="1,000 versions and traces", rounds="1")
    p.add_argument("--full", action="store_true", help="also 100,000 versions and traces")
    p.add_argument("--sizes-list", help="comma-separated sizes (default 10000; --full adds 100000)")
    p.add_argument("--budget", type=float, default=0.6, help="seconds of repeats per shape (min 3 calls)")
    p.add_argument("--max-reps", type=int, default=15)
    p.add_argument("--postgres", default=os.environ.get("GENVER_TEST_POSTGRES_URI", DEFAULT_PG))
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--mlflow-python")
    p.add_argument("--worker", choices=("genver", "mlflow"), help="==SUPPRESS==")
    p.add_argument("--sizes", help="==SUPPRESS==")
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, json.loads(args.sizes))))
        return 0
    sizes = [1000] if args.quick else [10_000] + ([100_000] if args.full else [])
    if args.sizes_list:
        sizes = [int(x) for x in args.sizes_list.split(",")]
    mlflow_python = resolve_mlflow_python(args.mlflow_python)
    backends = [Backend("genver-sqlite", "genver", sys.executable)]
    if not args.no_postgres:
        backends.append(Backend("genver-pg", "genver", sys.executable))
    backends.append(Backend("mlflow-sqlite", "mlflow", mlflow_python))
    log = RunLog({"sizes": sizes}, 1, "median")
    all_rows: list[list[str]] = []
    summary: list[dict[str, Any]] = []
    versions: dict[str, str] = {}
    for n in sizes:
        results = run_size(backends, n, args)
        for k, out in results.items():
            versions[k] = str(out.get("version"))
        rows, entries = table(n, results, [b.key for b in backends])
        all_rows = all_rows + (rows if not all_rows else rows[1:])
        summary += entries
    print()
    print_table(all_rows)
    keys = [k for k in summary[0] if k.endswith("_ratio")]
    for k in keys:
        met = sum(1 for e in summary if e[k] >= GOAL)
        print(f"{k.removesuffix('_ratio')}: {met}/{len(summary)} shapes ≥ {GOAL:.0f}× MLflow on SQLite")
    log.finish()
    if args.json:
        write_json(args.json, log.json_head(versions) | {"results": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
