"""Logging to runs: metrics (on the run and on versions), params, tags and inputs.

``log_metric`` is a hot path, so the common call (one run, at most one version) costs five
statements, each built once: one SELECT checking the run, the version and whether the run
already lists the version as an input; the run's metric history; the run's latest value, as a
single conditional upsert; the version's metric and its latest value (another conditional
upsert, which ``order_by`` a metric reads). A metric on a version is a change to it, so
the version's history gets one entry per call (all its metrics of the batch): two more
statements (the chain's head, the entry; three with PostgreSQL's lock), appended last.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities import Dataset, Metric
from genver.entities.history import METRICS_LOGGED, json_safe
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql import tables as t
from genver.store.sql.base import SqlBase
from genver.store.sql.history_rows import Change
from genver.store.sql.model_rows import require_models
from genver.validation import check_id, check_key, check_metric_value, check_params, check_tags, check_text

_R = t.runs
_LM = t.logged_models
_RI = t.run_inputs
_LATEST = t.latest_metrics

_RUN_STAGE = sa.select(_R.c.lifecycle_stage).where(_R.c.run_id == sa.bindparam("run_id"))
#: (run's lifecycle stage, version's lifecycle stage, whether the run lists the version as an
#: input) for ``:run_id`` and ``:model_id``, which may be NULL: one round trip, no table scans.
_RUN_AND_MODEL = sa.select(
    _RUN_STAGE.scalar_subquery(),
    sa.select(_LM.c.lifecycle_stage).where(_LM.c.model_id == sa.bindparam("model_id")).scalar_subquery(),
    sa.exists().where(
        _RI.c.run_id == sa.bindparam("run_id"),
        _RI.c.input_type == "model",
        _RI.c.ref_id == sa.bindparam("model_id"),
    ),
)
_INSERT_RUN_METRIC = t.run_metrics.insert()
_INSERT_MODEL_METRIC = t.logged_model_metrics.insert()


@functools.cache
def _latest_upsert(dialect: str) -> Any:
    """Insert a run's latest value of a metric, or replace it unless the stored one is later by
    (step, timestamp): a single statement, so concurrent writers cannot interleave a read and a
    write (``ON CONFLICT ... DO UPDATE ... WHERE``: SQLite 3.24+ and PostgreSQL)."""
    from sqlalchemy.dialects import postgresql, sqlite

    stmt: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_LATEST)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[_LATEST.c.run_id, _LATEST.c.key],
        set_={"value": new.value, "timestamp": new.timestamp, "step": new.step},
        where=sa.tuple_(new.step, new.timestamp) >= sa.tuple_(_LATEST.c.step, _LATEST.c.timestamp),
    )


@functools.cache
def _model_latest_upsert(dialect: str) -> Any:
    """Insert a version's latest value of a metric (its experiment read from the version), or
    replace it unless the stored one is later by (timestamp, step); on a tie the later log wins,
    as ``order_by`` has always ranked them (timestamp, step, id). One statement, so concurrent
    writers cannot interleave a read and a write."""
    from sqlalchemy.dialects import postgresql, sqlite

    latest = t.logged_model_latest_metrics
    source = sa.select(
        _LM.c.model_id,
        sa.bindparam("key", type_=latest.c.key.type),
        _LM.c.experiment_id,
        sa.bindparam("value", type_=latest.c.value.type),
        sa.bindparam("timestamp", type_=latest.c.timestamp.type),
        sa.bindparam("step", type_=latest.c.step.type),
    ).where(_LM.c.model_id == sa.bindparam("model_id"))
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt: Any = insert(latest).from_select(
        ["model_id", "key", "experiment_id", "value", "timestamp", "step"], source
    )
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[latest.c.model_id, latest.c.key],
        set_={"value": new.value, "timestamp": new.timestamp, "step": new.step},
        where=sa.tuple_(new.timestamp, new.step) >= sa.tuple_(latest.c.timestamp, latest.c.step),
    )


class RunLoggingMixin(SqlBase):
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
        model_ids = {m.model_id for m in clean_metrics if m.model_id is not None}
        run_rows = [
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
        ]
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

        def log(conn: Connection) -> None:
            linked: set[str] = set()
            if run_id is not None and len(model_ids) <= 1:
                model_id = next(iter(model_ids), None)
                run_stage, model_stage, is_linked = conn.execute(
                    _RUN_AND_MODEL, {"run_id": run_id, "model_id": model_id}
                ).one()
                _check_run_stage(run_id, run_stage)
                if model_id is not None:
                    if model_stage != "active":
                        raise NotFoundError(f"Logged model with ID {model_id!r} not found.")
                    if is_linked:
                        linked.add(model_id)
            else:
                if run_id is not None:
                    self._require_active_run(conn, run_id)
                if model_ids:
                    require_models(conn, model_ids)
            if run_id is not None and run_rows:
                conn.execute(_INSERT_RUN_METRIC, run_rows)
                conn.execute(_latest_upsert(self.dialect), _latest_rows(run_id, clean_metrics))
            if model_rows:
                conn.execute(_INSERT_MODEL_METRIC, model_rows)
                conn.execute(_model_latest_upsert(self.dialect), _model_latest_rows(model_rows))
                new_links = sorted(model_ids - linked)
                if run_id is not None and new_links:
                    self._insert_ignore(
                        conn, _RI, [{"run_id": run_id, "input_type": "model", "ref_id": m} for m in new_links]
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
            if model_rows:
                self._record(conn, _metric_changes(model_rows))

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
                require_models(conn, set(model_ids))
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
        _check_run_stage(run_id, conn.execute(_RUN_STAGE, {"run_id": run_id}).scalar())

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


def _check_run_stage(run_id: str, stage: str | None) -> None:
    if stage is None:
        raise NotFoundError(f"No run with id {run_id!r}.")
    if stage != "active":
        raise InvalidArgumentError(f"Run {run_id!r} is deleted: restore it before logging to it.")


def _latest_rows(run_id: str, metrics: Sequence[Metric]) -> list[dict[str, Any]]:
    """One row per key: the batch's latest value by (step, timestamp), the later one on a tie
    (the upsert then keeps whichever of it and the stored value is later, by the same rule)."""
    latest: dict[str, Metric] = {}
    for m in metrics:
        cur = latest.get(m.key)
        if cur is None or (m.step, m.timestamp) >= (cur.step, cur.timestamp):
            latest[m.key] = m
    return [
        {"run_id": run_id, "key": key, "value": m.value, "timestamp": m.timestamp, "step": m.step}
        for key, m in latest.items()
    ]


def _model_latest_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (version, key): the batch's latest by (timestamp, step), the later in the batch
    on a tie (it gets the larger id). PostgreSQL refuses an upsert touching a row twice."""
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for r in rows:
        k = (r["model_id"], r["key"])
        cur = latest.get(k)
        if cur is None or (r["timestamp"], r["step"]) >= (cur["timestamp"], cur["step"]):
            latest[k] = r
    return [
        {"model_id": m, "key": k, "value": r["value"], "timestamp": r["timestamp"], "step": r["step"]}
        for (m, k), r in latest.items()
    ]


def _metric_changes(rows: Sequence[Mapping[str, Any]]) -> list[Change]:
    """One history entry per version: the metrics logged on it (values JSON can hold)."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        entry = {
            "key": r["key"],
            "value": json_safe(r["value"]),
            "timestamp": r["timestamp"],
            "step": r["step"],
            "run_id": r["run_id"],
        }
        if r["dataset_name"] is not None or r["dataset_digest"] is not None:
            entry["dataset_name"], entry["dataset_digest"] = r["dataset_name"], r["dataset_digest"]
        by_model.setdefault(r["model_id"], []).append(entry)
    return [Change(model_id, METRICS_LOGGED, None, metrics) for model_id, metrics in sorted(by_model.items())]
