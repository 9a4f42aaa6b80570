"""``SqlStore``: the Store interface on SQLAlchemy 2, for SQLite and PostgreSQL.

Flat by rule: each mixin sits directly on ``SqlBase`` and holds one topic in the file its name
says (runs.py, run_logging.py, models.py, model_search.py, ...); ``SqlStore`` lists them all, so
a store method is found in one file, not by walking a chain (``tests/store/test_layout.py``).
"""

from __future__ import annotations

from genver.store.base import Store
from genver.store.sql.aliases import AliasesMixin
from genver.store.sql.assessments import AssessmentsMixin
from genver.store.sql.eval_datasets import EvalDatasetsMixin
from genver.store.sql.experiments import ExperimentsMixin
from genver.store.sql.history import HistoryMixin
from genver.store.sql.model_search import ModelSearchMixin
from genver.store.sql.models import ModelsMixin
from genver.store.sql.prompts import PromptsMixin
from genver.store.sql.retention import RetentionMixin
from genver.store.sql.run_logging import RunLoggingMixin
from genver.store.sql.runs import RunsMixin
from genver.store.sql.traces import TracesMixin


class SqlStore(
    AssessmentsMixin,
    EvalDatasetsMixin,
    TracesMixin,
    RetentionMixin,
    ModelsMixin,
    AliasesMixin,
    HistoryMixin,
    PromptsMixin,
    ModelSearchMixin,
    RunsMixin,
    RunLoggingMixin,
    ExperimentsMixin,
    Store,
):
    """The embedded (SQLite) and team (PostgreSQL) store.

    >>> store = SqlStore("sqlite:///genver.db")  # doctest: +SKIP

    Opening it upgrades the schema to the newest revision (under a lock) and makes sure the
    ``Default`` experiment (id ``"0"``) exists.
    """

    def __repr__(self) -> str:
        from genver.store.sql.engine import safe_url

        return f"SqlStore({safe_url(self.uri)!r})"
