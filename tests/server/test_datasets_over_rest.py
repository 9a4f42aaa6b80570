"""Evaluation datasets end to end through the server: ``genver.genai.datasets`` and
``genai.evaluate`` on ``Genver(store=RestStore(...))``, record values round-tripping exactly, and
the raw HTTP answers (status and error body) for bad input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genver.entities import DatasetRecord
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.fluent import Genver
from genver.genai.datasets import (
    add_records,
    create_dataset,
    dataset_from_traces,
    delete_dataset,
    get_dataset,
    search_datasets,
)
from genver.genai.evaluation import evaluate
from genver.genai.scorers import ExactMatch
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore
from tests.server.conftest import TestClient

QA = [
    {"inputs": {"question": "capital of France?"}, "expectations": {"expected_response": "Paris"}},
    {"inputs": {"question": "2+2?"}, "expectations": {"expected_response": "4"}},
    {"inputs": {"question": "¿color del cielo? 空"}, "expectations": {"expected_response": "blue"}},
    {"inputs": {"question": "largest planet?"}, "expectations": {"expected_response": "Jupiter"}},
]
ANSWERS = {
    "capital of France?": "Paris",
    "2+2?": "4",
    "¿color del cielo? 空": "green",
    "largest planet?": "Jupiter",
}


def answer(question: str) -> str:
    return ANSWERS[question]


@pytest.fixture
def gv(store: RestStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    monkeypatch.chdir(tmp_path)  # outside any git repository
    environ = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"}
    g = Genver(store=store, environ=environ)
    yield g
    g.flush_trace_async_logging(terminate=True)


def test_evaluate_on_a_dataset_through_the_server(gv: Genver, sql_store: SqlStore) -> None:
    gv.set_experiment("qa")
    model = gv.create_external_model(name="qa-v1")
    ds = create_dataset("capitals", records=QA, tags={"team": "search"}, genver=gv)
    assert sql_store.get_eval_dataset(ds.dataset_id) == ds  # stored on the server as returned

    result = evaluate(ds, [ExactMatch()], predict_fn=answer, model_id=model.model_id, genver=gv)
    assert result.metrics == {"exact_match/mean": 0.75}
    assert set(result.result_df["record_id"]) == {r.record_id for r in ds.records or []}  # type: ignore[index]
    metric = gv.get_logged_model(model.model_id).metrics[0]  # type: ignore[index]
    assert (metric.key, metric.dataset_name, metric.dataset_digest) == (
        "exact_match/mean",
        "capitals",
        ds.digest,
    )
    # by id, and from a search result (without records: evaluate loads them)
    again = evaluate(ds.dataset_id, [ExactMatch()], predict_fn=answer, model_id=model.model_id, genver=gv)
    assert again.metrics == result.metrics
    searched = search_datasets(filter_string="tags.team = 'search'", genver=gv)
    assert [d.dataset_id for d in searched] == [ds.dataset_id]
    assert evaluate(searched[0], [ExactMatch()], predict_fn=answer, genver=gv).metrics == result.metrics
    # every row's trace and its feedback went through the server too
    on_server = sql_store.get_assessments(run_id=result.run_id, name="exact_match")
    assert sorted(a.value for a in on_server) == [False, True, True, True]


def test_dataset_functions_through_the_server(gv: Genver) -> None:
    exp = gv.set_experiment("datasets").experiment_id
    ds = create_dataset("grow", records=QA[:1], genver=gv)
    assert ds.experiment_id == exp
    assert get_dataset(name="grow", genver=gv) == ds
    grown = add_records(ds.dataset_id, QA[1:], genver=gv)
    assert [r.inputs["question"] for r in grown.records or []] == [q["inputs"]["question"] for q in QA]
    assert grown.digest == create_dataset("full", records=QA, genver=gv).digest != ds.digest
    assert get_dataset(ds.dataset_id, genver=gv) == grown
    assert [d.name for d in search_datasets(order_by=["name DESC"], genver=gv)] == ["grow", "full"]

    @gv.trace
    def app(question: str) -> str:
        return question[::-1]

    app("hello")
    assert gv.flush_trace_async_logging(timeout=10)
    from_traces = dataset_from_traces(
        "prod", gv.search_traces(return_type="list"), expectations_from="outputs", genver=gv
    )
    assert [(dict(r.inputs), dict(r.expectations)) for r in from_traces.records or []] == [
        ({"question": "hello"}, {"expected_response": "olleh"})
    ]

    delete_dataset(ds.dataset_id, genver=gv)
    with pytest.raises(NotFoundError, match=ds.dataset_id):
        get_dataset(ds.dataset_id, genver=gv)
    with pytest.raises(NotFoundError, match="No evaluation dataset named 'grow'"):
        get_dataset(name="grow", genver=gv)


# Any JSON value, with what JSON-over-HTTP could lose: NaN and infinities, -0.0, big integers,
# lone surrogates, NUL and other control characters, deep nesting, key order.
_text = st.text(st.characters(exclude_categories=()), max_size=8)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=10,
)
_record_id = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=64).filter(
    str.strip
)


def _normalized(value: Any) -> str:
    """What the local store makes of a value (JSON text and back), shown exactly (repr tells NaN,
    -0.0 and 1.0 from 1)."""
    return repr(json.loads(json.dumps(value)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.dictionaries(
        _record_id,
        st.tuples(
            st.dictionaries(_text, _json, min_size=1, max_size=3), st.dictionaries(_text, _json, max_size=3)
        ),
        max_size=4,
    ),
    name=st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=20).filter(str.strip),
)
def test_record_values_round_trip_exactly(
    store: RestStore, sql_store: SqlStore, content: dict[str, Any], name: str
) -> None:
    records = [DatasetRecord(record_id=k, inputs=i, expectations=e) for k, (i, e) in content.items()]
    created = store.create_eval_dataset(name=name, experiment_id="0", records=records)
    local = sql_store.get_eval_dataset(created.dataset_id)
    for got in (created, store.get_eval_dataset(created.dataset_id)):
        assert got.name == name and got.digest == local.digest
        assert [r.record_id for r in got.records or []] == list(content)
        assert [_normalized([r.inputs, r.expectations]) for r in got.records or []] == [
            _normalized([i, e]) for i, e in content.values()
        ]
        assert repr(got.records) == repr(local.records)


def test_bad_input_over_http_gets_the_local_message(client: TestClient) -> None:
    base = "/api/v1/eval-datasets"
    record = {"record_id": 7, "inputs": {"q": 1}}
    resp = client.post(base, json={"name": "d", "experiment_id": "0", "records": [record]})
    assert resp.status_code == 400
    assert resp.json()["error_type"] == "InvalidArgumentError"
    assert resp.json()["message"].startswith("Invalid record_id 7: expected a non-empty string")
    resp = client.post(base, json={"name": "", "experiment_id": "0"})
    assert (resp.status_code, resp.json()["message"][:26]) == (400, "Invalid dataset name '': e")
    missing = "d-" + "0" * 32
    for method, path in (("GET", missing), ("DELETE", missing), ("PUT", f"{missing}/records")):
        resp = client.request(method, f"{base}/{path}", json={"records": []} if method == "PUT" else None)
        assert (resp.status_code, resp.json()["error_type"]) == (404, "NotFoundError"), (method, path)
    resp = client.post(f"{base}/search", json={"experiment_ids": ["0"], "filter_string": "nope = 1"})
    assert (resp.status_code, resp.json()["error_type"]) == (400, "InvalidFilterError")


def test_an_input_name_json_would_change_is_refused_before_sending(
    store: RestStore, sql_store: SqlStore
) -> None:
    for records in (
        [DatasetRecord(record_id="r", inputs={1: "q"})],
        [DatasetRecord(record_id="r", inputs={None: "q"})],
    ):
        with pytest.raises(InvalidArgumentError, match="Invalid input name (1|None) of record 'r'"):
            store.create_eval_dataset(name="d", experiment_id="0", records=records)
        with pytest.raises(InvalidArgumentError, match="Invalid input name (1|None) of record 'r'"):
            sql_store.create_eval_dataset(name="d", experiment_id="0", records=records)
    assert list(store.search_eval_datasets(experiment_ids=["0"])) == []
