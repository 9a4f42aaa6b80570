"""``SqlStore``: the Store interface on SQLAlchemy 2, for SQLite and PostgreSQL."""

from __future__ import annotations

from genver.store.base import Store
from genver.store.sql.assessments import AssessmentsMixin
from genver.store.sql.eval_datasets import EvalDatasetsMixin
from genver.store.sql.experiments import ExperimentsMixin
from genver.store.sql.models import ModelsMixin
from genver.store.sql.traces import TracesMixin


class SqlStore(AssessmentsMixin, EvalDatasetsMixin, TracesMixin, ModelsMixin, ExperimentsMixin, Store):
    """The embedded (SQLite) and team (PostgreSQL) store.

    >>> store = SqlStore("sqlite:///genver.db")  # doctest: +SKIP

    Opening it upgrades the schema to the newest revision (under a lock) and makes sure the
    ``Default`` experiment (id ``"0"``) exists.
    """

    def __repr__(self) -> str:
        from genver.store.sql.engine import safe_url

        return f"SqlStore({safe_url(self.uri)!r})"
