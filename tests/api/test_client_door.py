"""The client is complete and the only door to the store.

``MlflowClient()`` offers MLflow's client calls for GenAI (traces, assessments, evaluation
datasets), and genver's own layers reach the store only through it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import genver
from genver import GenverClient, MlflowClient
from genver.client.base import ClientBase
from genver.entities import Assessment, DatasetRecord
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.fluent import Genver
from genver.fluent.base import FluentBase

SRC = Path(genver.__file__).parent


def _traced_version() -> str:
    model = genver.set_active_model(name="door-v1")

    @genver.trace
    def answer(q: str) -> str:
        return q.upper()

    answer("a")
    answer("b")
    genver.clear_active_model()
    return model.model_id


def test_mlflow_client_reads_traces_without_the_fluent_api() -> None:
    model_id = _traced_version()
    client = MlflowClient()
    page = client.search_traces(model_id=model_id, flush=True)  # flush: the exporter's queue
    assert len(page) == 2 and {t.info.model_id for t in page} == {model_id}
    assert page.token is None
    one = client.search_traces(model_id=model_id, max_results=1)
    assert len(one) == 1 and one.token is not None
    trace = client.get_trace(page[0].info.trace_id)
    assert trace.data.spans and trace.info.trace_id == page[0].info.trace_id
    stats = client.get_trace_stats(model_ids=[model_id])
    assert [s.trace_count for s in stats] == [2]


def test_client_trace_tags_and_deletion() -> None:
    model_id = _traced_version()
    client = GenverClient()
    first, second = client.search_traces(model_id=model_id, flush=True)
    client.set_trace_tag(first.info.trace_id, "reviewed", True)
    assert client.get_trace(first.info.trace_id).info.tags["reviewed"] == "True"
    client.delete_trace_tag(first.info.trace_id, "reviewed")
    assert "reviewed" not in client.get_trace(first.info.trace_id).info.tags
    with pytest.raises(NotFoundError):
        client.delete_trace_tag(first.info.trace_id, "reviewed")
    assert client.delete_traces("0", trace_ids=[second.info.trace_id]) == 1
    with pytest.raises(NotFoundError):
        client.get_trace(second.info.trace_id)


def test_client_assessments() -> None:
    model_id = _traced_version()
    client = GenverClient()
    trace_id = client.search_traces(model_id=model_id, flush=True)[0].info.trace_id
    aid, other = "a-" + "1" * 32, "a-" + "2" * 32
    feedback = Assessment(assessment_id=aid, trace_id=trace_id, name="helpful", kind="feedback", value=True)
    assert client.log_assessment(trace_id, feedback) == feedback
    assert client.get_assessment(trace_id, aid).value is True
    assert [a.name for a in client.get_assessments(trace_ids=[trace_id])] == ["helpful"]
    with pytest.raises(NotFoundError, match=other):
        client.get_assessment(trace_id, other)
    with pytest.raises(InvalidArgumentError, match="belongs to trace"):
        client.log_assessment("tr-other", feedback)


def test_client_evaluation_datasets() -> None:
    client = MlflowClient()
    ds = client.create_dataset("capitals", experiment_id=["0"], tags={"team": "search"})
    assert ds.name == "capitals" and ds.tags == {"team": "search"}
    merged = client.merge_dataset_records(
        ds.dataset_id,
        [DatasetRecord(record_id="r1", inputs={"q": "France?"}, expectations={"a": "Paris"})],
    )
    assert [r.inputs for r in merged.records or []] == [{"q": "France?"}]
    assert client.get_dataset(ds.dataset_id).digest == merged.digest
    assert [d.dataset_id for d in client.search_datasets(filter_string="tags.team = 'search'")] == [
        ds.dataset_id
    ]
    with pytest.raises(InvalidArgumentError, match="one experiment"):
        client.create_dataset("two", experiment_id=["0", "1"])
    client.delete_dataset(ds.dataset_id)
    with pytest.raises(NotFoundError):
        client.get_dataset(ds.dataset_id)


def _store_reaches(path: Path) -> list[str]:
    """``<expr>.store`` attribute reads in one source file (``app.state.store`` is the server's
    handle on its store, not a client's)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr == "store":
            owner = node.value
            if isinstance(owner, ast.Attribute) and owner.attr == "state":
                continue
            found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_nothing_outside_client_and_store_reaches_into_client_store() -> None:
    offenders = [
        hit
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).parts[0] not in ("client", "store")
        for hit in _store_reaches(path)
    ]
    assert offenders == [], f"reach the store through GenverClient's methods instead: {offenders}"


@pytest.mark.parametrize(("cls", "base"), [(Genver, FluentBase), (GenverClient, ClientBase)])
def test_topic_classes_sit_directly_on_one_base(cls: type, base: type) -> None:
    """A method is found in the one file of its topic, not by walking a class chain."""
    assert cls.__bases__, cls
    for topic in cls.__bases__:
        assert topic.__bases__ == (base,), f"{topic.__qualname__} sits on {topic.__bases__}"
