"""The dashboard page and its JSON twin, in-process on SQLite and PostgreSQL: the page's JSON island
is the twin's body; versions overlay (default: the two most recent with traces); window and bucket
live in the URL; a point's link finds exactly that bucket's traces; bad parameters are said inline
(400/404), never a 500; no inline script."""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from genver.client import GenverClient
from genver.entities import LoggedModel, Span, TokenUsage, Trace, TraceData, TraceInfo, TraceState
from genver.entities.trace import MODEL_ID_KEY, SOURCE_RUN_KEY
from genver.server.ui.dashboard_views import DAY_MS, HOUR_MS, MAX_BUCKETS, SERIES
from genver.server.ui.pages import CSP
from genver.store.sql.store import SqlStore

QA = {"dataset_name": "qa", "dataset_digest": "d" * 16}
END = 19_676 * DAY_MS  # 2023-11-15 00:00 UTC: a whole day, so buckets of 1h, 6h and 1d align
TEMPLATES = Path(__file__).parents[2] / "src/genver/server/ui/templates"


@pytest.fixture
def gc(sql_store: SqlStore) -> GenverClient:
    return GenverClient(store=sql_store)


def version(gc: GenverClient, name: str, commit: str | None = None, experiment_id: str = "0") -> LoggedModel:
    model = gc.create_logged_model(
        experiment_id, name=name, tags={"mlflow.source.git.commit": commit} if commit else None
    )
    time.sleep(0.002)  # distinct creation times: the creation order is what the tests check
    return model


def traces(
    gc: GenverClient,
    model_id: str,
    times: list[int],
    *,
    latency: int = 100,
    errors: int = 0,
    run_id: str | None = None,
) -> list[str]:
    """One trace per request time; the first ``errors`` fail."""
    made = []
    for i, t in enumerate(times):
        trace_id = "tr-" + uuid.uuid4().hex
        root = Span(
            trace_id=trace_id,
            span_id=uuid.uuid4().hex[:16],
            parent_id=None,
            name="app",
            start_time_ns=t * 1_000_000,
            end_time_ns=(t + latency + i) * 1_000_000,
        )
        metadata = {MODEL_ID_KEY: model_id, **({SOURCE_RUN_KEY: run_id} if run_id else {})}
        info = TraceInfo(
            trace_id=trace_id,
            experiment_id="0",
            request_time=t,
            execution_duration=latency + i,
            state=TraceState.ERROR if i < errors else TraceState.OK,
            trace_metadata=metadata,
            token_usage=TokenUsage(40, 60, 100),
            cost=0.002,
        )
        made.append(Trace(info, TraceData([root])))
    gc.log_traces(made)
    return [t.info.trace_id for t in made]


def seed(gc: GenverClient) -> dict[str, Any]:
    """a and b have traces in the last 24 h, c (the newest) only 3 days earlier."""
    a = version(gc, "bot-a", "a" * 40)
    b = version(gc, "bot-b", "b" * 40)
    c = version(gc, "bot-c")
    t1 = END - 2 * HOUR_MS  # the 23rd hourly bucket of the default window
    # on bucket edges too: t1 opens bucket 22, END - 1 h opens bucket 23 and closes bucket 22
    a_ids = traces(gc, a.model_id, [t1, t1 + 1, t1 + 2, END - 20 * HOUR_MS], errors=1)
    b_ids = traces(gc, b.model_id, [t1 + 10, END - HOUR_MS, END - 1], latency=300)
    traces(gc, c.model_id, [END - 3 * DAY_MS])
    return {"a": a, "b": b, "c": c, "a_t1": a_ids[:3], "b_ids": b_ids}


class Tables(HTMLParser):
    """Rows of every table by id: (data-id, [cell text], [cell link or None])."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[str, list[str], list[str | None]]]] = {}
        self.table: str | None = None
        self.cell: list[str] | None = None
        self.link: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("id"):
            self.table = str(a["id"])
            self.tables[self.table] = []
        elif tag == "tr" and self.table and a.get("data-id"):
            self.tables[self.table].append((str(a["data-id"]), [], []))
        elif tag == "td" and self.table and self.tables[self.table]:
            self.cell, self.link = [], None
        elif tag == "a" and self.cell is not None:
            self.link = a.get("href")

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None and self.table:
            _, texts, links = self.tables[self.table][-1]
            texts.append("".join(self.cell).strip())
            links.append(self.link)
            self.cell = None
        elif tag == "table":
            self.table = None


def tables(page: str) -> dict[str, list[tuple[str, list[str], list[str | None]]]]:
    parser = Tables()
    parser.feed(page)
    return parser.tables


def island(page: str) -> Any:
    found = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def twin_of(page: str) -> str:
    found = re.search(r'<link rel="alternate" type="application/json" href="([^"]+)">', page)
    assert found is not None
    return html.unescape(found.group(1))


def get_page(client: TestClient, query: str, status: int = 200) -> str:
    page = client.get("/dashboards?" + query)
    assert page.status_code == status, page.text[:2000]
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    return page.text


def test_page_and_twin_agree_and_default_to_the_two_newest_versions_with_traces(
    gc: GenverClient, client: TestClient
) -> None:
    ids = seed(gc)
    page = get_page(client, f"experiment=0&end={END}")
    data = island(page)
    twin = twin_of(page)
    assert urlsplit(twin).path == "/api/v1/dashboards"
    assert client.get(twin).json() == data  # the island is the twin's body
    # c is the newest version but has no trace in the window: a (oldest first), then b
    assert [v["model_id"] for v in data["versions"]] == [ids["a"].model_id, ids["b"].model_id]
    assert [v["label"] for v in data["versions"]] == ["bot-a (aaaaaaaa)", "bot-b (bbbbbbbb)"]
    assert parse_qs(urlsplit(twin).query)["version"] == [ids["a"].model_id, ids["b"].model_id]
    assert data["buckets"] == list(range(END - DAY_MS, END, HOUR_MS))
    assert (data["start_time"], data["end_time"], data["bucket_ms"]) == (END - DAY_MS, END, HOUR_MS)
    a, b = data["versions"]
    assert a["values"]["trace_count"][22] == 3 and a["values"]["trace_count"][4] == 1
    assert sum(a["values"]["trace_count"]) == 4 and sum(b["values"]["trace_count"]) == 3
    assert a["values"]["error_rate"][22] == pytest.approx(1 / 3)
    assert (a["values"]["latency_p50_ms"][22], a["values"]["latency_p99_ms"][22]) == (101, 102)
    assert a["values"]["tokens_per_request"][22] == 100
    assert a["values"]["cost_per_request"][22] == pytest.approx(0.002)
    assert a["values"]["latency_p95_ms"][0] is None and a["values"]["trace_count"][0] == 0
    # every chart's table shows the twin's numbers, a row per bucket
    shown = tables(page)
    for s in SERIES:
        rows = shown[f"table-{s.key}"]
        assert [int(r[0]) for r in rows] == data["buckets"], s.key
        assert len(rows[22][1]) == 2
    counts = [[int(x.replace(",", "")) for x in texts] for _, texts, _ in shown["table-trace_count"]]
    assert counts == [
        list(t) for t in zip(a["values"]["trace_count"], b["values"]["trace_count"], strict=True)
    ]
    assert shown["table-error_rate"][22][1][0] == "33.3%"
    assert shown["table-latency_p95_ms"][0][1] == ["—", "—"]
    # the version picker and the metric form keep the view; the page links itself with end pinned
    assert f'<option value="{ids["c"].model_id}"' in page
    permalink = re.search(r'<a href="([^"]+)" id="permalink">', page)
    assert permalink is not None and f"end={END}" in html.unescape(permalink.group(1))


def test_up_to_four_versions_overlay_by_id_or_name_in_the_order_given(
    gc: GenverClient, client: TestClient
) -> None:
    ids = seed(gc)
    d = version(gc, "bot-d")
    query = (
        f"experiment=0&end={END}&version=bot-b&version={ids['c'].model_id}&version=bot-a&version={d.model_id}"
    )
    page = get_page(client, query)
    data = island(page)
    assert [v["model_id"] for v in data["versions"]] == [
        ids["b"].model_id,
        ids["c"].model_id,
        ids["a"].model_id,
        d.model_id,
    ]
    assert [v["label"] for v in data["versions"]] == [
        "bot-b (bbbbbbbb)",
        "bot-c",
        "bot-a (aaaaaaaa)",
        "bot-d",
    ]
    assert sum(data["versions"][1]["values"]["trace_count"]) == 0  # c: nothing in this window
    assert client.get(twin_of(page)).json() == data
    assert client.get("/api/v1/dashboards?" + query).json() == data  # names work in the twin too
    header = re.search(r'<table class="list" id="table-trace_count">\s*<thead>(.*?)</thead>', page, re.S)
    assert header is not None
    assert re.findall(r'<th scope="col">([^<]*)</th>', header.group(1))[1:] == [
        "bot-b (bbbbbbbb)",
        "bot-c",
        "bot-a (aaaaaaaa)",
        "bot-d",
    ]
    legend = re.findall(r'<li data-id="([^"]+)">', page)
    assert legend == [v["model_id"] for v in data["versions"]]
    # the same version twice is overlaid once
    twice = island(get_page(client, f"experiment=0&end={END}&version=bot-a&version={ids['a'].model_id}"))
    assert [v["model_id"] for v in twice["versions"]] == [ids["a"].model_id]


def test_window_and_bucket_in_the_url_change_the_twin(gc: GenverClient, client: TestClient) -> None:
    ids = seed(gc)
    for window, bucket, n, size in (
        ("24h", "6h", 4, 6 * HOUR_MS),
        ("7d", "1h", 168, HOUR_MS),
        ("7d", "6h", 28, 6 * HOUR_MS),
        ("30d", "1d", 30, DAY_MS),
    ):
        page = get_page(client, f"experiment=0&end={END}&window={window}&bucket={bucket}")
        data = island(page)
        twin = twin_of(page)
        assert parse_qs(urlsplit(twin).query)["window"] == [window]
        assert parse_qs(urlsplit(twin).query)["bucket"] == [bucket]
        assert client.get(twin).json() == data
        assert (len(data["buckets"]), data["bucket_ms"]) == (n, size)
        assert data["buckets"][-1] + size == END and len(tables(page)["table-trace_count"]) == n
        # over 7 and 30 days, c's trace 3 days ago counts: c (newest) and b are the defaults
        expected = ["a", "b"] if window == "24h" else ["b", "c"]
        assert [v["model_id"] for v in data["versions"]] == [ids[k].model_id for k in expected], window
        for v in data["versions"]:
            assert len(v["values"]["latency_p95_ms"]) == n
    week = island(get_page(client, f"experiment=0&end={END}&window=7d&bucket=1d&version=bot-a"))
    assert week["versions"][0]["values"]["trace_count"] == [0] * 6 + [4]
    # without end: the window ends at the next whole bucket after now
    live = island(get_page(client, "experiment=0&window=24h&bucket=6h"))
    now = int(time.time() * 1000)
    assert live["end_time"] % (6 * HOUR_MS) == 0 and 0 <= live["end_time"] - now <= 6 * HOUR_MS + 60_000


def test_a_point_link_opens_exactly_that_bucket_s_traces(gc: GenverClient, client: TestClient) -> None:
    ids = seed(gc)
    page = get_page(client, f"experiment=0&end={END}")
    rows = tables(page)["table-trace_count"]
    linked = {(r[0], j): link for r in rows for j, link in enumerate(r[2]) if link}
    # only buckets with traces have a link: a's 2 buckets and b's 2
    assert len(linked) == 4
    for (bucket, j), link in linked.items():
        assert f'data-point="{j}-{data_index(rows, bucket)}"' in page
        target = urlsplit(html.unescape(link))
        assert target.path == "/traces"
        query = parse_qs(target.query)
        assert query["experiment"] == ["0"]
        found = client.get("/api/v1/traces", params={"experiment_id": "0", "filter": query["filter"][0]})
        assert found.status_code == 200
        got = {t["info"]["trace_id"] for t in found.json()["traces"]}
        count = int({r[0]: r[1] for r in rows}[bucket][j])
        assert len(got) == count
        if (int(bucket), j) == (END - 2 * HOUR_MS, 0):
            assert got == set(ids["a_t1"])
        if (int(bucket), j) == (END - 2 * HOUR_MS, 1):
            assert got == {ids["b_ids"][0]}  # not the trace at END - 1 h: that opens the next bucket
        if (int(bucket), j) == (END - HOUR_MS, 1):
            assert got == set(ids["b_ids"][1:])  # END - 1 ms: inside the last bucket
        page_of_traces = client.get(link.replace("&amp;", "&"))
        assert page_of_traces.status_code == 200


def data_index(rows: list[tuple[str, list[str], list[str | None]]], bucket: str) -> int:
    return [r[0] for r in rows].index(bucket)


@pytest.mark.parametrize(
    ("query", "status", "said"),
    [
        ("window=3d", 400, "Invalid window '3d': expected one of '24h', '7d', '30d'."),
        ("bucket=2h", 400, "Invalid bucket '2h': expected one of '1h', '6h', '1d'."),
        ("window=30d&bucket=1h", 400, f"720 buckets, at most {MAX_BUCKETS}"),
        ("end=yesterday", 400, "Invalid end 'yesterday'"),
        ("end=999999999999999", 400, "at most 253402300799999 (the end of year 9999)"),
        ("version=nope", 404, "No version 'nope'"),
        ("version=m-" + "0" * 32, 404, "m-" + "0" * 32),
        ("version=%40production", 404, "'@production'"),
        ("version=a&version=b&version=c&version=d&version=e", 400, "at most 4 versions"),
    ],
)
def test_bad_parameters_are_said_inline_as_the_twin_says_them(
    gc: GenverClient, client: TestClient, query: str, status: int, said: str
) -> None:
    seed(gc)
    page = get_page(client, "experiment=0&" + query, status)
    shown = re.search(r'id="dashboard-error">([^<]*)<', page)
    assert shown is not None and said in html.unescape(shown.group(1))
    api = client.get("/api/v1/dashboards?experiment=0&" + query)
    assert api.status_code == status and api.json()["message"] == html.unescape(shown.group(1))
    assert island(page) is None


def test_a_version_of_another_experiment_and_an_unknown_experiment(
    gc: GenverClient, client: TestClient
) -> None:
    other = gc.create_experiment("other")
    elsewhere = version(gc, "elsewhere", experiment_id=other)
    page = get_page(client, f"experiment=0&version={elsewhere.model_id}", 400)
    assert f"belongs to experiment {other!r}" in html.unescape(page)
    missing = client.get("/dashboards?experiment=424242")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert client.get("/api/v1/dashboards?experiment=424242").status_code == 404
    empty = get_page(client, f"experiment={other}&end={END}")
    assert 'id="no-versions"' in empty and island(empty)["versions"] == []


def test_one_metric_across_versions_in_creation_order_labelled_by_commit(
    gc: GenverClient, client: TestClient
) -> None:
    run = gc.create_run("0").info.run_id
    made = []
    for i, commit in enumerate(["1" * 40, None, "3" * 40]):
        m = version(gc, f"v{i}", commit)
        made.append(m)
        gc.log_metric(run, "exact/mean", 0.5 + i / 10, 1_000, model_id=m.model_id, **QA)
    gc.log_metric(run, "exact/mean", 0.9, 2_000, model_id=made[0].model_id, **QA)  # v0's latest
    gc.log_metric(None, "other", 1.0, model_id=made[1].model_id)
    version(gc, "no-metric")
    evaluated = traces(gc, made[2].model_id, [END - HOUR_MS, END - 2 * HOUR_MS], run_id=run)
    traces(gc, made[2].model_id, [END - 3 * HOUR_MS])  # the version's trace outside the evaluation

    page = get_page(client, f"experiment=0&end={END}&metric=exact/mean")
    data = island(page)
    assert client.get(twin_of(page)).json() == data
    points = data["metric"]["points"]
    assert [p["model_id"] for p in points] == [m.model_id for m in made]  # oldest first
    assert [p["label"] for p in points] == ["v0 (11111111)", "v1", "v2 (33333333)"]
    assert [p["value"] for p in points] == [0.9, 0.6, pytest.approx(0.7)]
    assert data["metric_keys"] == ["exact/mean", "other"]
    rows = tables(page)["metric-table"]
    assert [r[0] for r in rows] == [p["model_id"] for p in points]
    assert [r[1][-1] for r in rows] == ["0.9", "0.6", "0.7"]
    link = rows[2][2][-1]
    assert link is not None
    flt = parse_qs(urlsplit(html.unescape(link)).query)["filter"][0]
    got = client.get("/api/v1/traces", params={"experiment_id": "0", "filter": flt}).json()["traces"]
    assert {t["info"]["trace_id"] for t in got} == set(evaluated)
    assert [
        p["model_id"] for p in island(get_page(client, "experiment=0&metric=other"))["metric"]["points"]
    ] == [made[1].model_id]
    none = get_page(client, "experiment=0&metric=exact/mean&dataset=elsewhere")
    assert 'id="no-points"' in none and island(none)["metric"]["points"] == []
    assert island(get_page(client, "experiment=0&metric=exact/mean&dataset=qa"))["metric"]["points"] == points


def test_no_inline_script_and_user_text_stays_data(gc: GenverClient, client: TestClient) -> None:
    evil = "</script><script>alert(1)</script>"
    m = version(gc, evil, "c" * 40)
    traces(gc, m.model_id, [END - HOUR_MS])
    page = get_page(client, f"experiment=0&end={END}")
    assert "<script>alert(1)" not in page
    assert island(page)["versions"][0]["name"] == evil  # escaped in the island, intact once parsed
    scripts = re.findall(r"<script\b([^>]*)>", page)
    inline = [s for s in scripts if "src=" not in s]
    assert inline == [' type="application/json" id="dashboard-data"']
    srcs = [re.search(r'src="([^"]+)"', s).group(1) for s in scripts if "src=" in s]  # type: ignore[union-attr]
    assert "/static/vendor/uPlot.iife.min.js" in srcs and "/static/dashboard.js" in srcs
    for src in srcs:
        assert client.get(src).status_code == 200, src
    template = (TEMPLATES / "dashboard.html").read_text()
    assert re.findall(r"<script\b(?![^>]*\bsrc=)[^>]*>", template) == [
        '<script type="application/json" id="dashboard-data">'
    ]
    assert not re.findall(r"<script\b(?![^>]*\bsrc=)[^>]*>", (TEMPLATES / "base.html").read_text())
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP.split("script-src")[1].split(";")[0]
