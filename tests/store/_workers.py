"""Work done by each thread or process in test_concurrency (a module, so spawned children can
import it)."""

from __future__ import annotations

import traceback
from typing import Any

from genver.entities import Metric
from genver.store.sql.store import SqlStore

VERSIONS = 25


def workload(store: SqlStore, worker: int) -> None:
    """One run, then ``VERSIONS`` versions (2 params, 2 tags) each with one metric on the run."""
    run_id = store.create_run(experiment_id="0", run_name=f"worker-{worker}").info.run_id
    for j in range(VERSIONS):
        model = store.create_logged_model(
            experiment_id="0",
            name=f"w{worker}-v{j}",
            params={"worker": str(worker), "j": str(j)},
            tags={"team": "ml", "worker": str(worker)},
        )
        store.log_batch(
            run_id,
            metrics=[Metric("score", float(j), 1_000 + j, j, model_id=model.model_id, dataset_name="eval")],
        )


def run_in_process(kind: str, uri: str, worker: int, barrier: Any, results: Any) -> None:
    """Entry point of a spawned process: wait for the others, then work; report any error."""
    try:
        barrier.wait(timeout=120)
        if kind == "store":
            store = SqlStore(uri)  # the first opener of a fresh file also creates the schema
            try:
                workload(store, worker)
            finally:
                store.close()
            results.put((worker, None))
        else:
            from genver.fluent import Genver

            g = Genver(tracking_uri=uri, environ={})
            try:
                model = g.set_active_model(name="same")
                results.put((worker, model.model_id))
            finally:
                g.client.close()
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put((worker, f"ERROR {type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
