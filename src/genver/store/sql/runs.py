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
    Metric,
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
from genver.store.sql.filters import Target, compile_filter, kv_exists
from genver.validation import check_id, check_key, check_metric_value, check_params, check_tags, check_text

_R = t.runs
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
                "param": kv_exists(t.run_params, _R.c.run_id, "run_id"),
                "tag": kv_exists(t.run_tags, _R.c.run_id, "run_id"),
                "metric": kv_exists(t.latest_metrics, _R.c.run_id, "run_id"),
            },
        )
        where = compile_filter(parse_filter(filter_string, ast.RUNS), target)
        query = sa.select(_R).where(
            _R.c.experiment_id.in_(exp_ints), lifecycle_clause(_R.c.lifecycle_stage, ViewType(view_type))
        )
        if where is not None:
            query = query.where(where)
        ordering: list[Any] = []
        for item in order_by or ():
            term = parse_order_by(item, ast.RUNS)
            if term.kind == "attribute":
                col: Any = columns[term.key]
            else:
                table = {"metric": t.latest_metrics, "param": t.run_params, "tag": t.run_tags}[term.kind]
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
        query = query.order_by(*ordering).limit(max_results + 1).offset(offset)
        found = self._read(lambda conn: self._load_runs(conn, query))
        token = encode_token(offset + max_results) if len(found) > max_results else None
        return PagedList(found[:max_results], token)

    def log_batch(
        self,
        run_id: str | None,
        *,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        clean_params = check_params(params)
        clean_tags = check_tags(tags)
        if run_id is not None:
            check_id(run_id, "run id")
        clean_metrics = [self._check_metric(m, run_id) for m in metrics]
        if run_id is None and (clean_params or clean_tags or any(m.model_id is None for m in clean_metrics)):
            raise InvalidArgumentError("log_batch needs a run id unless every metric carries a model_id.")

        def log(conn: Connection) -> None:
            if run_id is not None:
                self._require_active_run(conn, run_id)
            model_ids = {m.model_id for m in clean_metrics if m.model_id is not None}
            if model_ids:
                self._require_models(conn, model_ids)
            if run_id is not None and clean_metrics:
                conn.execute(
                    t.run_metrics.insert(),
                    [
                        {
                            "run_id": run_id,
                            "key": m.key,
                            "value": m.value,
                            "timestamp": m.timestamp,
                            "step": m.step,
                            "model_id": m.model_id,
                            "dataset_name": m.dataset_name,
                            "dataset_digest": m.dataset_digest,
                        }
                        for m in clean_metrics
                    ],
                )
                self._update_latest(conn, run_id, clean_metrics)
            model_rows = [
                {
                    "model_id": m.model_id,
                    "key": m.key,
                    "value": m.value,
                    "timestamp": m.timestamp,
                    "step": m.step,
                    "run_id": run_id,
                    "dataset_name": m.dataset_name,
                    "dataset_digest": m.dataset_digest,
                }
                for m in clean_metrics
                if m.model_id
            ]
            if model_rows:
                conn.execute(t.logged_model_metrics.insert(), model_rows)
                if run_id is not None:
                    self._insert_ignore(
                        conn,
                        t.run_inputs,
                        [
                            {"run_id": run_id, "input_type": "model", "ref_id": mid}
                            for mid in sorted(model_ids)
                        ],
                    )
            if run_id is not None and clean_params:
                self._write_once(conn, t.run_params, "run_id", run_id, clean_params, "run")
            if run_id is not None and clean_tags:
                self._upsert(
                    conn,
                    t.run_tags,
                    [{"run_id": run_id, "key": k, "value": v} for k, v in clean_tags.items()],
                    ("run_id", "key"),
                )

        self._write(log)

    def log_inputs(
        self, run_id: str, *, datasets: Sequence[Dataset] = (), model_ids: Sequence[str] = ()
    ) -> None:
        check_id(run_id, "run id")
        for ds in datasets:
            if not isinstance(ds, Dataset):
                raise InvalidArgumentError(
                    f"Invalid dataset {ds!r}: expected a genver Dataset (genver.data.from_dict)."
                )
            check_text(ds.name, "dataset name", 500)  # the column sizes
            check_text(ds.digest, "dataset digest", 64)
            check_text(ds.source_type, "dataset source type", 36)

        def log(conn: Connection) -> None:
            self._require_active_run(conn, run_id)
            if model_ids:
                self._require_models(conn, set(model_ids))
            refs: list[dict[str, str]] = []
            for ds in datasets:
                dataset_id = self._dataset_id(conn, ds)
                refs.append({"run_id": run_id, "input_type": "dataset", "ref_id": str(dataset_id)})
            refs += [{"run_id": run_id, "input_type": "model", "ref_id": m} for m in model_ids]
            self._insert_ignore(conn, t.run_inputs, refs)

        self._write(log)

    # -- helpers -------------------------------------------------------------------------------
    def _check_metric(self, m: Metric, run_id: str | None) -> Metric:
        if not isinstance(m, Metric):
            raise InvalidArgumentError(f"Invalid metric {m!r}: expected a genver Metric.")
        check_key(m.key, "metric")
        value = check_metric_value(m.key, m.value)
        if isinstance(m.timestamp, bool) or not isinstance(m.timestamp, int):
            raise InvalidArgumentError(
                f"Invalid timestamp {m.timestamp!r} for metric {m.key!r}: expected integer milliseconds."
            )
        if isinstance(m.step, bool) or not isinstance(m.step, int):
            raise InvalidArgumentError(f"Invalid step {m.step!r} for metric {m.key!r}: expected an integer.")
        if m.model_id is not None:
            check_id(m.model_id, "model id")
        check_text(m.dataset_name, f"dataset name of metric {m.key!r}", 500)  # the column sizes
        check_text(m.dataset_digest, f"dataset digest of metric {m.key!r}", 64)
        return Metric(m.key, value, m.timestamp, m.step, m.model_id, run_id, m.dataset_name, m.dataset_digest)

    def _require_active_run(self, conn: Connection, run_id: str) -> None:
        row = conn.execute(sa.select(_R.c.lifecycle_stage).where(_R.c.run_id == run_id)).first()
        if row is None:
            raise NotFoundError(f"No run with id {run_id!r}.")
        if row.lifecycle_stage != "active":
            raise InvalidArgumentError(f"Run {run_id!r} is deleted: restore it before logging to it.")

    def _require_models(self, conn: Connection, model_ids: set[str]) -> None:
        lm = t.logged_models
        found = set(
            conn.execute(
                sa.select(lm.c.model_id).where(lm.c.model_id.in_(model_ids), lm.c.lifecycle_stage == "active")
            ).scalars()
        )
        missing = sorted(str(m) for m in model_ids - found)
        if missing:
            raise NotFoundError(f"Logged model with ID {missing[0]!r} not found.")

    def _update_latest(self, conn: Connection, run_id: str, metrics: Sequence[Metric]) -> None:
        latest: dict[str, Metric] = {}
        for m in metrics:
            cur = latest.get(m.key)
            if cur is None or (m.step, m.timestamp) >= (cur.step, cur.timestamp):
                latest[m.key] = m
        existing = {
            r.key: r
            for r in conn.execute(
                sa.select(t.latest_metrics).where(
                    t.latest_metrics.c.run_id == run_id, t.latest_metrics.c.key.in_(list(latest))
                )
            )
        }
        rows = []
        for key, m in latest.items():
            old = existing.get(key)
            if old is None or (m.step, m.timestamp) >= (old.step, old.timestamp):
                rows.append(
                    {"run_id": run_id, "key": key, "value": m.value, "timestamp": m.timestamp, "step": m.step}
                )
        self._upsert(conn, t.latest_metrics, rows, ("run_id", "key"))

    def _write_once(
        self,
        conn: Connection,
        table: sa.Table,
        owner_col: str,
        owner: str,
        params: Mapping[str, str],
        what: str,
    ) -> None:
        existing = {
            r.key: r.value
            for r in conn.execute(
                sa.select(table.c.key, table.c.value).where(
                    table.c[owner_col] == owner, table.c.key.in_(list(params))
                )
            )
        }
        clashes = {k: (existing[k], v) for k, v in params.items() if k in existing and existing[k] != v}
        if clashes:
            listing = "; ".join(f"{k!r} is {old!r}, not {new!r}" for k, (old, new) in clashes.items())
            raise InvalidArgumentError(
                f"Params are write-once and {what} {owner!r} already has different values: {listing}. "
                + (
                    "Create a new version for new parameter values."
                    if what == "version"
                    else "Start a new run."
                )
            )
        new = [{owner_col: owner, "key": k, "value": v} for k, v in params.items() if k not in existing]
        self._insert_ignore(conn, table, new)

    def _dataset_id(self, conn: Connection, ds: Dataset) -> int:
        d = t.datasets
        self._insert_ignore(
            conn,
            d,
            [
                {
                    "name": ds.name,
                    "digest": ds.digest,
                    "source_type": ds.source_type,
                    "source": ds.source,
                    "schema": ds.schema,
                    "profile": ds.profile,
                    "created_time": self._clock(),
                }
            ],
        )
        return int(
            conn.execute(
                sa.select(d.c.dataset_id).where(d.c.name == ds.name, d.c.digest == ds.digest)
            ).scalar_one()
        )

    def _load_runs(self, conn: Connection, query: sa.Select[Any]) -> list[Run]:
        rows = conn.execute(query).all()
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
