"""pandas output of searches (pandas is imported only here, on first use)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from genver.entities import LoggedModel, Run, Trace

if TYPE_CHECKING:
    import pandas as pd

MODEL_COLUMNS = [
    "artifact_location",
    "creation_timestamp",
    "experiment_id",
    "last_updated_timestamp",
    "metrics",
    "model_id",
    "model_type",
    "name",
    "params",
    "source_run_id",
    "status",
    "status_message",
    "tags",
]


def models_frame(models: Sequence[LoggedModel]) -> pd.DataFrame:
    """MLflow's columns; ``status`` as the enum name (``READY``)."""
    import pandas as pd

    rows = []
    for m in models:
        row = m.to_dictionary()
        row["status"] = m.status.value
        rows.append(row)
    frame: pd.DataFrame = pd.DataFrame(rows, columns=MODEL_COLUMNS)
    return frame


def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: info columns, then ``metrics.*``, ``params.*`` and ``tags.*``."""
    import pandas as pd

    rows = []
    for r in runs:
        row: dict[str, object] = {
            "run_id": r.info.run_id,
            "experiment_id": r.info.experiment_id,
            "status": r.info.status,
            "artifact_uri": r.info.artifact_uri,
            "start_time": pd.to_datetime(r.info.start_time, unit="ms", utc=True),
            "end_time": pd.to_datetime(r.info.end_time, unit="ms", utc=True) if r.info.end_time else None,
        }
        row.update({f"metrics.{k}": v for k, v in r.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in r.data.params.items()})
        row.update({f"tags.{k}": v for k, v in r.data.tags.items()})
        rows.append(row)
    columns = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    frame: pd.DataFrame = pd.DataFrame(rows, columns=columns if not rows else None)
    return frame


def traces_frame(traces: Sequence[Trace]) -> pd.DataFrame:
    """MLflow's columns: one row per trace."""
    import pandas as pd

    rows = []
    for t in traces:
        info = t.info
        rows.append(
            {
                "trace_id": info.trace_id,
                "trace": t,
                "client_request_id": info.client_request_id,
                "state": info.state.value,
                "request_time": info.request_time,
                "execution_duration": info.execution_duration,
                "request": t.data.request if t.data.spans else info.request_preview,
                "response": t.data.response if t.data.spans else info.response_preview,
                "trace_metadata": dict(info.trace_metadata),
                "tags": dict(info.tags),
                "spans": [s.to_dict() for s in t.data.spans],
                "assessments": list(info.assessments),
            }
        )
    frame: pd.DataFrame = pd.DataFrame(rows, columns=TRACE_COLUMNS)
    return frame


TRACE_COLUMNS = [
    "trace_id",
    "trace",
    "client_request_id",
    "state",
    "request_time",
    "execution_duration",
    "request",
    "response",
    "trace_metadata",
    "tags",
    "spans",
    "assessments",
]
