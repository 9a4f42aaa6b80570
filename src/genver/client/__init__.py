"""``GenverClient`` (alias ``MlflowClient``): every operation with explicit ids and no hidden state.

It is the one door to the store: the fluent API, evaluation, comparison, the CLI and the server's
computed endpoints call it, never the store behind it. Its methods are grouped by topic, one
file each, every group a direct subclass of ``ClientBase``:

- ``tracking.py``: experiments, runs, versions (``LoggedModel``);
- ``traces.py``: traces, trace tags and statistics, assessments;
- ``datasets.py``: evaluation datasets;
- ``prompts.py``: prompts (versions, aliases, tags, the load cache in ``prompt_cache.py``);
- ``history.py``: aliases (``@production``) and the versions' history (``audit.py`` verifies it);
- ``refs.py``: version references (``m-<id>``, a name, ``@alias``), parsed and resolved once.
"""

from __future__ import annotations

from genver.client.datasets import DatasetsClient
from genver.client.history import HistoryClient
from genver.client.prompts import PromptsClient
from genver.client.traces import TracesClient
from genver.client.tracking import TrackingClient


class GenverClient(TrackingClient, TracesClient, DatasetsClient, HistoryClient, PromptsClient):
    """Explicit-id access to a tracking store.

    >>> client = GenverClient("sqlite:///genver.db")          # doctest: +SKIP
    >>> model = client.create_logged_model("0", name="agent-v1")  # doctest: +SKIP
    >>> client.search_traces(model_id=model.model_id)          # doctest: +SKIP
    """


MlflowClient = GenverClient

__all__ = ["GenverClient", "MlflowClient"]
