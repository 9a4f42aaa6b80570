"""The evaluation run page (/runs/<id>/evaluation) and its JSON twin, over a run written by the
real ``genai.evaluate`` (SQLite and PostgreSQL): the same rows in the same order, paged; scorer
values, rationales and errors; failed/passed filters; user content escaped; bad input said
inline, unknown runs a 404 page, never a 500."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from genver.entities import Feedback
from genver.fluent import Genver
from genver.genai.evaluation import EvaluationResult, evaluate
from genver.genai.scorers import ExactMatch, scorer
from genver.server.ui.pages import CSP
from genver.store.sql.store import SqlStore
from tests.genai._compare_lab import evaluate as lab_evaluate

N = 60  # more than a page (50)


@pytest.fixture
def gv(sql_store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    monkeypatch.chdir(tmp_path)
    environ = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"}
    g = Genver(store=sql_store, environ=environ)  # the app's store: what the pages show
    yield g
    g.flush_trace_async_logging(terminate=True)


@scorer
def shaky(inputs: dict[str, Any]) -> Feedback:
    """Raises on every seventh question; otherwise says yes with a rationale."""
    if int(inputs["question"].split()[-1]) % 7 == 0:
        raise RuntimeError("judge unavailable")
    return Feedback(value="yes", rationale=f"looked at {inputs['question']}")


def run_eval(gv: Genver, n: int = N, question: str = "question") -> EvaluationResult:
    model = gv.create_external_model(name="bot")
    data = [
        {"inputs": {"question": f"{question} {i}"}, "expectations": {"expected_response": f"answer {i}"}}
        for i in range(n)
    ]

    def predict(question: str) -> str:
        i = int(question.split()[-1])
        return f"answer {i}" if i % 3 else "wrong"

    return evaluate(data, [ExactMatch(), shaky], predict, model.model_id, genver=gv)


def table_ids(page: str, table_id: str) -> list[str]:
    """The ``data-id`` of each row of the table with ``table_id``, in order."""
    found = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert found is not None, table_id
    return [html.unescape(x) for x in re.findall(r'<tr data-id="([^"]*)"', found.group(0))]


def twin_of(page: str) -> str:
    found = re.search(r'<link rel="alternate" type="application/json" href="([^"]+)"', page)
    assert found is not None
    return html.unescape(found.group(1))


def test_page_and_twin_list_the_same_rows_in_the_same_order_page_by_page(
    gv: Genver, client: TestClient
) -> None:
    result = run_eval(gv)
    path: str | None = f"/runs/{result.run_id}/evaluation"
    shown: list[str] = []
    while path is not None:
        page = client.get(path)
        assert page.status_code == 200, page.text[:500]
        assert page.headers["content-security-policy"] == CSP
        twin = client.get(twin_of(page.text)).json()
        ids = table_ids(page.text, "eval-rows")
        assert ids == [r["trace_id"] for r in twin["rows"]] and 0 < len(ids) <= 50
        shown += ids
        more = re.search(r'<a class="more" href="([^"]+)"', page.text)
        assert (more is None) == (twin["next_page_token"] is None)
        path = html.unescape(more.group(1)) if more else None
    traces = gv.client.search_traces(run_id=result.run_id, max_results=1000, include_spans=False)
    assert shown == sorted(t.info.trace_id for t in traces) and len(shown) == N


def test_the_page_shows_dataset_scorers_metrics_expectations_and_rationales(
    gv: Genver, client: TestClient
) -> None:
    result = run_eval(gv, n=6)
    page = client.get(f"/runs/{result.run_id}/evaluation").text
    twin = client.get(f"/api/v1/runs/{result.run_id}/evaluation").json()
    assert twin["scorers"] == ["exact_match", "shaky"] and table_ids(page, "scorers") == twin["scorers"]
    (dataset,) = twin["datasets"]
    assert dataset["digest"] in page and dataset["name"] in page
    assert twin["metrics"]["exact_match/mean"] == pytest.approx(result.metrics["exact_match/mean"])
    assert "exact_match/mean" in page and twin["model_ids"][0] in page
    row = next(r for r in twin["rows"] if r["inputs"] and "question 1" in r["inputs"])
    assert row["expectations"] == {"expected_response": "answer 1"}
    assert row["outputs"] == "answer 1" and row["record_id"]
    assert row["scores"]["shaky"] == {
        "value": "yes",
        "rationale": "looked at question 1",
        "error": None,
        "failed": False,
    }
    assert "answer 1" in page and "looked at question 1" in page
    assert f'href="/traces/{row["trace_id"]}"' in page


def test_a_failed_scorer_shows_its_error_and_failed_or_passed_rows_filter(
    gv: Genver, client: TestClient
) -> None:
    result = run_eval(gv, n=15)  # shaky raises on questions 0, 7, 14
    base = f"/runs/{result.run_id}/evaluation"
    page = client.get(base + "?scorer=shaky&only=failed")
    twin = client.get(twin_of(page.text)).json()
    assert parse_qs(urlsplit(twin_of(page.text)).query)["only"] == ["failed"]
    assert len(twin["rows"]) == 3 and twin["matching"] == 3 and twin["row_count"] == 15
    assert table_ids(page.text, "eval-rows") == [r["trace_id"] for r in twin["rows"]]
    for r in twin["rows"]:
        assert r["scores"]["shaky"]["error"] == "RuntimeError: judge unavailable"
    errors = re.findall(r'class="error scorer-error">([^<]*)<', page.text)
    assert errors == ["✗ error: RuntimeError: judge unavailable"] * 3
    passed = client.get(base + "?scorer=shaky&only=passed").text
    assert len(table_ids(passed, "eval-rows")) == 12 and "scorer-error" not in passed
    # exact_match fails on every third question (0, 3, ..., 12): 5 rows
    wrong = client.get(f"/api/v1/runs/{result.run_id}/evaluation?scorer=exact_match&only=failed").json()
    assert len(wrong["rows"]) == 5 and all(
        r["scores"]["exact_match"]["value"] is False for r in wrong["rows"]
    )
    assert twin["failures"] == {"exact_match": 5, "shaky": 3} and twin["errors"]["shaky"] == 3
    anything = client.get(f"/api/v1/runs/{result.run_id}/evaluation?only=failed").json()
    assert anything["matching"] == 7  # 0, 3, 6, 7, 9, 12, 14


def test_rows_come_from_the_run_s_assessments_also_for_traces_without_a_source_run(
    gv: Genver, client: TestClient
) -> None:
    model = gv.create_external_model(name="lab")
    run_id = lab_evaluate(gv, model, {"exact": [True, False, True]}, errored=[1])
    twin = client.get(f"/api/v1/runs/{run_id}/evaluation").json()
    assert len(twin["rows"]) == 3 and twin["scorers"] == ["exact"]
    assert [r["scores"]["exact"]["error"] for r in twin["rows"]].count("SCORER_ERROR: boom") == 1
    assert table_ids(client.get(f"/runs/{run_id}/evaluation").text, "eval-rows") == [
        r["trace_id"] for r in twin["rows"]
    ]


def test_user_content_is_escaped(gv: Genver, client: TestClient) -> None:
    result = run_eval(gv, n=2, question="<script>alert(1)</script>")
    page = client.get(f"/runs/{result.run_id}/evaluation")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_bad_filters_are_said_inline_with_the_api_s_words(gv: Genver, client: TestClient) -> None:
    result = run_eval(gv, n=2)
    for query in ("scorer=nope", "only=maybe"):
        page = client.get(f"/runs/{result.run_id}/evaluation?{query}")
        api = client.get(f"/api/v1/runs/{result.run_id}/evaluation?{query}")
        assert page.status_code == api.status_code == 400
        shown = re.search(r'id="filter-error">([^<]*)<', page.text)
        assert shown is not None and html.unescape(shown.group(1)) == api.json()["message"]
        assert query.split("=")[1] in api.json()["message"]
    assert client.get(f"/api/v1/runs/{result.run_id}/evaluation?max_results=0").status_code == 400


@pytest.mark.parametrize("run_id", ["0" * 32, "nope", "%3Cscript%3E"])
def test_unknown_runs_are_html_404_pages_and_json_404s(client: TestClient, run_id: str) -> None:
    page = client.get(f"/runs/{run_id}/evaluation")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in page.text and "<script>" not in page.text
    api = client.get(f"/api/v1/runs/{run_id}/evaluation")
    assert api.status_code == 404 and api.json()["error_type"] == "NotFoundError"
