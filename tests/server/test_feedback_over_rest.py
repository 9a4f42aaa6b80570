"""MLflow's feedback, expectation and trace-tag snippets through a genver server
(``Genver(store=RestStore(...))``), on SQLite and PostgreSQL: the same calls, the same results,
the same errors as on a local store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from genver.entities import Feedback
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.fluent import Genver
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore
from tests.api.feedback_snippets import (
    log_feedback_and_expectations,
    trace_tags,
    traced_answer,
    update_override_and_delete,
)


@pytest.fixture
def gv(store: RestStore, tmp_path: Path) -> Iterator[Genver]:
    environ = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"}
    g = Genver(store=store, environ=environ)
    yield g
    g.flush_trace_async_logging(terminate=True)


def test_feedback_snippets(gv: Genver) -> None:
    log_feedback_and_expectations(gv)


def test_update_override_delete_snippets(gv: Genver, sql_store: SqlStore) -> None:
    update_override_and_delete(gv)
    # what the server stored is what the client saw
    (trace,) = sql_store.search_traces(experiment_ids=["0"])
    assert sorted((a.name, a.valid) for a in trace.info.assessments) == [
        ("expected_answer", True),
        ("relevance", True),
    ]


def test_trace_tag_snippets(gv: Genver) -> None:
    trace_tags(gv)


def test_errors_are_the_local_stores(gv: Genver) -> None:
    trace_id = traced_answer(gv)
    fb = gv.log_feedback(trace_id=trace_id, name="x", value=1)
    with pytest.raises(InvalidArgumentError, match="Cannot update feedback"):
        gv.update_assessment(
            trace_id, fb.assessment_id, gv.get_assessment(trace_id, fb.assessment_id).expectation or _exp()
        )
    with pytest.raises(InvalidArgumentError, match=r"Invalid name '' of assessment"):
        gv.update_assessment(trace_id, fb.assessment_id, Feedback(name="", value=2))
    with pytest.raises(NotFoundError, match="not found on trace"):
        gv.update_assessment(trace_id, "a-" + "0" * 32, Feedback(value=2))
    with pytest.raises(InvalidArgumentError, match="assessment id"):
        gv.delete_assessment(trace_id, "a-1")
    assert gv.get_assessment(trace_id, fb.assessment_id).value == 1


def _exp() -> object:
    from genver.entities import Expectation

    return Expectation(name="x", value=1)
