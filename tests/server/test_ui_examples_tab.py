"""The compare page's Examples tab (/compare?tab=examples) over evaluations written by the real
``genai.evaluate`` (SQLite and PostgreSQL): each row shows the question it asked (escaped, cut
with the whole question in its title) and its record id; the scores, their difference and the
verdict are right-aligned numeric columns with the verdict in words and ▲/▼; rows come a page at
a time, with one trace read per page."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from genver.compare.examples import PAGE_SIZE, REQUEST_CHARS
from genver.fluent import Genver
from genver.genai.evaluation import evaluate
from genver.genai.scorers import ExactMatch
from genver.store.sql.store import SqlStore
from tests.genai._compare_lab import evaluate as lab_evaluate

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

SCRIPT = '<script>alert("owned")</script> & more?'
LONG = "Why " + " ".join(f"word{i}" for i in range(120)) + " end?"  # ~800 characters
#: question → (answered right by v1, by v2): one regression, one improvement, the rest unchanged.
QUESTIONS = {
    "How do I reset my password?": (True, False),
    "Where is my invoice?": (False, True),
    SCRIPT: (True, True),
    LONG: (False, False),
    "Can I change my plan?": (True, True),
}


@pytest.fixture
def gv(sql_store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    monkeypatch.chdir(tmp_path)
    environ = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"}
    g = Genver(store=sql_store, environ=environ)  # the app's store: what the pages show
    yield g
    g.flush_trace_async_logging(terminate=True)


def seed(gv: Genver) -> str:
    """Two versions evaluated on QUESTIONS by ``genai.evaluate``; the examples tab's URL."""
    data = [{"inputs": {"question": q}, "expectations": {"expected_response": "yes"}} for q in QUESTIONS]
    ids = []
    for side in (0, 1):
        model = gv.create_external_model(name=f"faq-v{side + 1}")

        def predict(question: str, side: int = side) -> str:
            return "yes" if QUESTIONS[question][side] else "no"

        evaluate(data, [ExactMatch()], predict, model.model_id, genver=gv)
        ids.append(model.model_id)
    return f"/compare?version={ids[0]}&version={ids[1]}&tab=examples"


def table(page: str) -> str:
    found = re.search(r'<table[^>]*id="examples".*?</table>', page, re.S)
    assert found is not None, page[:500]
    return found.group(0)


def cells(page: str) -> list[dict[str, Any]]:
    """Each row of the examples table: record id, change, the request cell's text and title, and
    the text and class of each cell after it."""
    out = []
    for tr in re.findall(r'<tr data-id="[^"]*".*?</tr>', table(page), re.S):
        head = re.match(r'<tr data-id="([^"]*)" class="(\w+)">', tr)
        tds = re.findall(r"<td([^>]*)>(.*?)</td>", tr, re.S)
        assert head is not None and tds, tr
        title = re.search(r'title="([^"]*)"', tds[0][0])
        question = re.search(r'<span class="question">(.*?)</span>', tds[0][1], re.S)
        label = re.search(r'<small class="mono record-id">(.*?)</small>', tds[0][1])
        out.append(
            {
                "id": html.unescape(head.group(1)),
                "change": head.group(2),
                "question": None if question is None else html.unescape(question.group(1)),
                "title": None if title is None else html.unescape(title.group(1)),
                "label": None if label is None else html.unescape(label.group(1)),
                "raw_question": None if question is None else question.group(1),
                "values": [html.unescape(re.sub(r"<[^>]+>", "", t).strip()) for _, t in tds[1:5]],
                "classes": [re.search(r'class="([^"]*)"', a).group(1).split() for a, _ in tds[1:5]],  # type: ignore[union-attr]
            }
        )
    return out


def by_question(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["title"]: r for r in rows}


def test_each_row_shows_the_question_it_asked_beside_its_record_id(gv: Genver, client: TestClient) -> None:
    page = client.get(seed(gv))
    assert page.status_code == 200, page.text[:500]
    rows = cells(page.text)
    assert [r["change"] for r in rows] == ["regressed", "improved", "same", "same", "same"]
    assert [r["title"] for r in rows[:2]] == ["How do I reset my password?", "Where is my invoice?"]
    assert rows[0]["question"] == "How do I reset my password?"
    assert {r["title"] for r in rows} == set(QUESTIONS)
    for r in rows:
        assert r["label"] == r["id"] and len(r["id"]) >= 8  # the record id stays, as a label
        assert r["question"] != r["id"]


def test_a_script_question_is_shown_as_text_not_run(gv: Genver, client: TestClient) -> None:
    page = client.get(seed(gv)).text
    row = by_question(cells(page))[SCRIPT]
    assert row["question"] == SCRIPT
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt; &amp; more?" in row["raw_question"]
    assert "<script>alert" not in page


def test_a_long_question_is_cut_and_its_title_has_all_of_it(gv: Genver, client: TestClient) -> None:
    rows = by_question(cells(client.get(seed(gv)).text))
    row = rows[LONG]
    assert row["title"] == LONG
    assert REQUEST_CHARS - 30 <= len(row["question"]) <= REQUEST_CHARS and row["question"].endswith("…")
    assert LONG.startswith(row["question"][:-1]) and LONG[len(row["question"]) - 1] == " "  # after a word
    short = rows["Can I change my plan?"]
    assert short["question"] == short["title"]  # not cut, no ellipsis


def test_only_regressions_still_shows_questions(gv: Genver, client: TestClient) -> None:
    url = seed(gv)
    rows = cells(client.get(url + "&only=regressions").text)
    assert [(r["change"], r["question"]) for r in rows] == [("regressed", "How do I reset my password?")]
    rows = cells(client.get(url + "&only=improvements").text)
    assert [(r["change"], r["question"]) for r in rows] == [("improved", "Where is my invoice?")]


def test_scores_delta_and_verdict_are_numeric_columns_with_words_and_marks(
    gv: Genver, client: TestClient
) -> None:
    page = client.get(seed(gv)).text
    header = re.findall(r"<th([^>]*)>(.*?)</th>", table(page).split("</thead>")[0], re.S)
    assert [re.sub(r"<[^>]+>", "", h).strip() for _, h in header] == [
        "Example",
        "faq-v1",
        "faq-v2",
        "Δ",
        "Change",
        "Traces",
    ]
    assert ['class="num"' in attrs for attrs, _ in header] == [False, True, True, True, True, False]
    rows = by_question(cells(page))
    regressed, improved = rows["How do I reset my password?"], rows["Where is my invoice?"]
    assert regressed["values"] == ["1", "0", "−1", "▼ regressed"] and "worse" in regressed["classes"][3]
    assert improved["values"] == ["0", "1", "+1", "▲ improved"] and "better" in improved["classes"][3]
    assert rows[SCRIPT]["values"] == ["1", "1", "0", "= same"]
    for r in rows.values():
        assert all("num" in c for c in r["classes"])
        assert not {"worse", "better"} & set(r["classes"][3]) or r["change"] in ("regressed", "improved")


def test_scores_of_a_page_share_their_decimals(gv: Genver, client: TestClient) -> None:
    a = gv.create_external_model(name="graded-v1")
    b = gv.create_external_model(name="graded-v2")
    lab_evaluate(gv, a, {"grade": [1.0, 0.5, 0.25]})
    lab_evaluate(gv, b, {"grade": [1.0, 0.75, 0.5]})
    page = client.get(f"/compare?version={a.model_id}&version={b.model_id}&tab=examples").text
    values = {r["id"]: r["values"][:3] for r in cells(page)}
    assert values == {
        "r0": ["1.00", "1.00", "0.00"],
        "r1": ["0.50", "0.75", "+0.25"],
        "r2": ["0.25", "0.50", "+0.25"],
    }


def counting(store: SqlStore, monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    calls: list[int] = []
    real: Callable[..., Any] = getattr(store, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(store, name, wrapper)
    return calls


def test_rows_come_a_page_at_a_time_with_one_trace_read_per_page(
    gv: Genver, client: TestClient, sql_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = PAGE_SIZE + 12
    a = gv.create_external_model(name="many-v1")
    b = gv.create_external_model(name="many-v2")
    lab_evaluate(gv, a, {"exact": [i % 3 != 0 for i in range(n)]})
    lab_evaluate(gv, b, {"exact": [i % 2 == 0 for i in range(n)]})
    url: str | None = f"/compare?version={a.model_id}&version={b.model_id}&tab=examples"
    searches = counting(sql_store, monkeypatch, "search_traces")
    reads = counting(sql_store, monkeypatch, "get_trace")
    seen: list[str] = []
    sizes = []
    while url is not None:
        searches.clear()
        page = client.get(url)
        assert page.status_code == 200, page.text[:500]
        rows = cells(page.text)
        sizes.append(len(rows))
        seen += [r["id"] for r in rows]
        assert len(searches) == 1 and not reads  # the page's previews in one search, none per row
        assert all(r["question"] is None and r["label"] is None for r in rows)  # no preview: the id
        more = re.search(r'<a class="more" href="([^"]+)">Next page</a>', page.text)
        url = html.unescape(more.group(1)) if more else None
        if url is not None:
            assert "page_token=" in url and "tab=examples" in url
    assert sizes == [PAGE_SIZE, n - PAGE_SIZE]
    assert sorted(seen) == sorted(f"r{i}" for i in range(n)) and len(set(seen)) == n
    bad = client.get(f"/compare?version={a.model_id}&version={b.model_id}&tab=examples&page_token=nope")
    assert bad.status_code == 400 and "Invalid page_token" in html.unescape(bad.text)


def test_regressions_page_on_their_own(gv: Genver, client: TestClient) -> None:
    n = PAGE_SIZE * 2 + 5
    a = gv.create_external_model(name="reg-v1")
    b = gv.create_external_model(name="reg-v2")
    lab_evaluate(gv, a, {"exact": [True] * n})
    lab_evaluate(gv, b, {"exact": [i % 2 == 0 for i in range(n)]})  # odd rows regress: 52 of them
    first = client.get(f"/compare?version={a.model_id}&version={b.model_id}&tab=examples&only=regressions")
    rows = cells(first.text)
    assert len(rows) == PAGE_SIZE and {r["change"] for r in rows} == {"regressed"}
    assert "Rows 1–50 of 52." in first.text
    more = re.search(r'<a class="more" href="([^"]+)">Next page</a>', first.text)
    assert more is not None and "only=regressions" in more.group(1)
    second = client.get(html.unescape(more.group(1)))
    rest = cells(second.text)
    assert [r["change"] for r in rest] == ["regressed", "regressed"] and "Rows 51–52 of 52." in second.text
    assert not {r["id"] for r in rest} & {r["id"] for r in rows}
    assert 'class="more"' not in second.text and ">First page</a>" in second.text
