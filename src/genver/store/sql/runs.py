"""Runs, their params/metrics/tags and inputs in the SQL store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities import (
    Dataset,
    DatasetInput,
    LoggedModelInput,
    PagedList,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    ViewType,
)
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.ids import new_run_id, random_name
from genver.search import ast
from genver.search.parser import parse_filter, parse_order_by
from genver.store.paging import check_max_results, decode_token, encode_token
from genver.store.sql import tables as t
from genver.store.sql.base import SqlBase
from genver.store.sql.experiments import lifecycle_clause
from genver.store.sql.filters import Target, compile_filter, conjuncts, kv_in
from genver.store.sql.functions import unindexed
from genver.store.sql.search_sqlite import KvPlanner
from genver.validation import check_id, check_tags, check_text

_R = t.runs
_KV_TABLES = {"param": t.run_params, "tag": t.run_tags, "metric": t.latest_metrics}
_STATUSES = {s.value for s in RunStatus}


class RunsMixin(SqlBase):
    def create_run(
        self,
        *,
        experiment_id: str,
        run_name: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        user_id: str | None = None,
    ) -> Run:
        clean_tags = check_tags(tags)
        name = _check_run_name(run_name or clean_tags.get("mlflow.runName")) or random_name()
        clean_tags["mlflow.runName"] = name
        check_text(user_id, "user id", 256)
        run_id = new_run_id()

        def create(conn: Connection) -> None:
            exp = self._active_experiment_row(conn, experiment_id)
            conn.execute(
                _R.insert().values(
                    run_id=run_id,
                    experiment_id=exp.experiment_id,
                    run_name=name,
                    user_id=user_id,
                    status="RUNNING",
                    start_time=start_time if start_time is not None else self._clock(),
                    end_time=None,
                    artifact_uri=f"{exp.artifact_location}/{run_id}/artifacts",
                    lifecycle_stage="active",
                )
            )
            conn.execute(
                t.run_tags.insert(), [{"run_id": run_id, "key": k, "value": v} for k, v in clean_tags.items()]
            )

        self._write(create)
        return self.get_run(run_id)

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> Run:
        check_id(run_id, "run id")
        values: dict[str, Any] = {}
        if status is not None:
            status = str(status).upper()
            if status not in _STATUSES:
                raise InvalidArgumentError(
                    f"Invalid run status {status!r}: expected one of {sorted(_STATUSES)}."
                )
            values["status"] = status
        if end_time is not None:
            values["end_time"] = end_time
        if run_name is not None:
            values["run_name"] = _check_run_name(run_name)
        if lifecycle_stage is not None:
            if lifecycle_stage not in ("active", "deleted"):
                raise InvalidArgumentError(
                    f"Invalid lifecycle stage {lifecycle_stage!r}: expected 'active' or 'deleted'."
                )
            values["lifecycle_stage"] = lifecycle_stage

        def update(conn: Connection) -> None:
            if conn.execute(sa.select(_R.c.run_id).where(_R.c.run_id == run_id)).first() is None:
                raise NotFoundError(f"No run with id {run_id!r}.")
            if values:
                conn.execute(_R.update().where(_R.c.run_id == run_id).values(**values))
            if run_name is not None:
                self._upsert(
                    conn,
                    t.run_tags,
                    [{"run_id": run_id, "key": "mlflow.runName", "value": run_name}],
                    ("run_id", "key"),
                )

        self._write(update)
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> Run:
        check_id(run_id, "run id")

        def get(conn: Connection) -> Run:
            found = self._load_runs(conn, sa.select(_R).where(_R.c.run_id == run_id))
            if not found:
                raise NotFoundError(f"No run with id {run_id!r}.")
            return found[0]

        return self._read(get)

    def search_runs(
        self,
        *,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        check_max_results(max_results)
        offset = decode_token(page_token)
        exp_ints = self._experiment_ints(experiment_ids)
        columns: dict[str, sa.ColumnElement[Any]] = {
            name: _R.c[name] for name in ast.RUNS.attributes if name != "experiment_id"
        }
        columns["experiment_id"] = sa.cast(_R.c.experiment_id, sa.String)
        target = Target(
            columns=columns,
            kv={
                "param": kv_in(t.run_params, _R.c.run_id, "run_id", partial_index=True),
                "tag": kv_in(t.run_tags, _R.c.run_id, "run_id", partial_index=True),
                "metric": kv_in(t.latest_metrics, _R.c.run_id, "run_id"),
            },
        )
        terms = conjuncts(parse_filter(filter_string, ast.RUNS))
        kv_terms = [c for c in terms if isinstance(c, ast.Comparison) and c.kind in _KV_TABLES]
        kv_where = [e for e in (compile_filter(c, target) for c in kv_terms) if e is not None]
        where = [e for e in (compile_filter(c, target) for c in terms if c not in kv_terms) if e is not None]
        ordering: list[Any] = []
        for item in order_by or ():
            term = parse_order_by(item, ast.RUNS)
            if term.kind == "attribute":
                col: Any = columns[term.key]
            else:
                table = _KV_TABLES[term.kind]
                col = (
                    sa.select(table.c.value)
                    .where(table.c.run_id == _R.c.run_id, table.c.key == term.key)
                    .scalar_subquery()
                )
            ordering.append(col.is_(None))  # missing values last, in both directions
            ordering.append(col.asc() if term.ascending else col.desc())
        if not order_by:
            ordering.append(_R.c.start_time.desc())
        ordering.append(_R.c.run_id.asc())
        view = ViewType(view_type)

        def query(*first: Any) -> sa.Select[Any]:
            return (
                sa.select(_R).where(*first, *where).order_by(*ordering).limit(max_results + 1).offset(offset)
            )

        scope = (_R.c.experiment_id.in_(exp_ints), lifecycle_clause(_R.c.lifecycle_stage, view))
        planner = None
        if kv_terms and self.dialect == "sqlite":  # see search_sqlite
            planner = KvPlanner(
                terms=[(_KV_TABLES[c.kind], c) for c in kv_terms],
                owner=_R.c.run_id,
                scope=scope,
                unindexed_scope=(
                    unindexed(_R.c.experiment_id).in_(exp_ints),
                    lifecycle_clause(unindexed(_R.c.lifecycle_stage), view),
                ),
                query=query,
                window=offset + max_results + 1,
            )

        def search(conn: Connection) -> list[Run]:
            if planner is None:
                return self._load_runs(conn, query(*scope, *kv_where))
            chosen = planner.choose(conn)
            return [] if chosen is None else self._load_runs(conn, *chosen)

        found = self._read(search)
        token = encode_token(offset + max_results) if len(found) > max_results else None
        return PagedList(found[:max_results], token)

    def _load_runs(
        self, conn: Connection, query: sa.Select[Any], bound: Mapping[str, Any] | None = None
    ) -> list[Run]:
        rows = conn.execute(query, bound).all()
        if not rows:
            return []
        ids = [r.run_id for r in rows]
        params: dict[str, dict[str, str]] = {i: {} for i in ids}
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        metrics: dict[str, dict[str, float]] = {i: {} for i in ids}
        datasets: dict[str, list[DatasetInput]] = {i: [] for i in ids}
        models: dict[str, list[LoggedModelInput]] = {i: [] for i in ids}
        for r in conn.execute(sa.select(t.run_params).where(t.run_params.c.run_id.in_(ids))):
            params[r.run_id][r.key] = r.value
        for r in conn.execute(sa.select(t.run_tags).where(t.run_tags.c.run_id.in_(ids))):
            tags[r.run_id][r.key] = r.value
        for r in conn.execute(sa.select(t.latest_metrics).where(t.latest_metrics.c.run_id.in_(ids))):
            metrics[r.run_id][r.key] = r.value
        ri, d = t.run_inputs, t.datasets
        for r in conn.execute(
            sa.select(ri.c.run_id, ri.c.input_type, ri.c.ref_id, d)
            .select_from(
                ri.outerjoin(
                    d,
                    sa.and_(ri.c.input_type == "dataset", sa.cast(d.c.dataset_id, sa.String) == ri.c.ref_id),
                )
            )
            .where(ri.c.run_id.in_(ids))
            .order_by(ri.c.ref_id)
        ):
            if r.input_type == "model":
                models[r.run_id].append(LoggedModelInput(r.ref_id))
            elif r.name is not None:
                ds = Dataset(
                    name=r.name,
                    digest=r.digest,
                    source_type=r.source_type,
                    source=r.source,
                    schema=r.schema,
                    profile=r.profile,
                )
                datasets[r.run_id].append(DatasetInput(ds))
        return [
            Run(
                info=RunInfo(
                    run_id=r.run_id,
                    experiment_id=str(r.experiment_id),
                    run_name=r.run_name,
                    user_id=r.user_id,
                    status=r.status,
                    start_time=r.start_time,
                    end_time=r.end_time,
                    artifact_uri=r.artifact_uri,
                    lifecycle_stage=r.lifecycle_stage,
                ),
                data=RunData(metrics=metrics[r.run_id], params=params[r.run_id], tags=tags[r.run_id]),
                inputs=RunInputs(dataset_inputs=datasets[r.run_id], model_inputs=models[r.run_id]),
            )
            for r in rows
        ]


def _check_run_name(name: object) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or len(name) > 256 or "\x00" in name:
        raise InvalidArgumentError(
            f"Invalid run name {name!r}: expected a string of at most 256 characters, without NUL."
        )
    return name
