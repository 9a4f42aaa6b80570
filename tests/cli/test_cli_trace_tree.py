"""``genver traces show`` on a big trace: the first spans and a count of the rest, ``--depth``,
``--limit``, ``--span`` (a subtree, with the path to it), ``--format json`` narrowed the same
way, version names where a person reads them (issue 12, item 5)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from genver.cli import app
from genver.cli.trace_tree import DEFAULT_LIMIT
from genver.entities import Span, SpanStatus, SpanStatusCode, Trace, TraceData, TraceInfo
from genver.entities.trace import MODEL_ID_KEY
from genver.store.sql.store import SqlStore

runner = CliRunner()
TID = "tr-" + "12" * 16
T0 = 1_700_000_000_000_000_000


def _span(sid: str, parent: str | None, i: int, **kw: object) -> Span:
    return Span(
        trace_id=TID,
        span_id=sid,
        parent_id=parent,
        name=f"n-{sid}",
        start_time_ns=T0 + i,
        end_time_ns=T0 + i + 1_000_000,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def big(uri: str) -> str:
    """root -> 1,000 leaves ``l0..l999`` and a chain ``c0..c49``; ``c49`` failed; a version named
    ``bot-v1``."""
    store = SqlStore(uri)
    model = store.create_logged_model(experiment_id="0", name="bot-v1")
    spans = [_span("root", None, 0, inputs={"question": "why?"})]
    spans += [_span(f"l{i}", "root", 1 + i) for i in range(1000)]
    parent = "root"
    for d in range(50):
        status = SpanStatus(SpanStatusCode.ERROR, "it broke") if d == 49 else SpanStatus(SpanStatusCode.OK)
        spans.append(_span(f"c{d}", parent, 2000 + d, status=status, outputs=f"out {d}"))
        parent = f"c{d}"
    info = TraceInfo(
        trace_id=TID,
        experiment_id="0",
        request_time=T0 // 1_000_000,
        execution_duration=3,
        trace_metadata={MODEL_ID_KEY: model.model_id},
    )
    store.log_traces([Trace(info, TraceData(spans))])
    store.close()
    return uri


def show(uri: str, *args: str) -> str:
    result = runner.invoke(app, ["traces", "show", TID, *args, "--tracking-uri", uri], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_a_big_trace_shows_its_first_spans_and_counts_the_rest(big: str) -> None:
    out = show(big)
    assert "1,051 spans" in out and "version bot-v1" in out
    assert len(re.findall(r"n-l\d+ ", out)) == DEFAULT_LIMIT - 1  # the root, then leaves
    assert f"… {1051 - DEFAULT_LIMIT:,} more spans not shown" in out
    assert "n-c0" not in out

    every = show(big, "--limit", "2000")
    assert "more spans not shown" not in every and "it broke" in every
    # indentation stops at 12 levels; deeper spans say their depth
    assert re.search(r"^ {24}50▸ n-c49 ", every, re.M) and re.search(r"^ {2}n-c0 ", every, re.M)


def test_depth_cuts_the_tree_and_says_how_much_is_below(big: str) -> None:
    out = show(big, "--depth", "0")
    assert "n-root" in out and "n-l0" not in out
    assert "… 1,050 spans below (raise --depth, or --span root)" in out
    one = show(big, "--depth", "1", "--limit", "5000")
    assert "n-l999" in one and "n-c0" in one and "n-c1 " not in one
    assert "… 49 spans below" in one


def test_span_focuses_a_subtree_with_the_path_to_it(big: str) -> None:
    out = show(big, "--span", "c47")
    assert "in n-root / n-c0 / … 43 more … / n-c44 / n-c45 / n-c46\n" in out  # the path, shortened
    assert "n-c47" in out and "n-c48" in out and "n-c49" in out and "n-l0" not in out
    missing = runner.invoke(app, ["traces", "show", TID, "--span", "nope", "--tracking-uri", big])
    assert missing.exit_code == 1 and "No span 'nope'" in missing.output


def test_json_is_the_whole_trace_unless_narrowed(big: str) -> None:
    whole = json.loads(show(big, "--format", "json"))
    assert len(whole["spans"]) == 1051
    narrowed = json.loads(show(big, "--format", "json", "--span", "c48"))
    assert [(s["span_id"], s["depth"]) for s in narrowed["spans"]] == [("c48", 0), ("c49", 1)]
    assert narrowed["span_count"] == 1051 and narrowed["not_shown"] == 0
    assert narrowed["spans"][1]["status"]["description"] == "it broke"
    limited = json.loads(show(big, "--format", "json", "--limit", "10"))
    assert len(limited["spans"]) == 10 and limited["not_shown"] == 1041


def test_the_list_names_the_version(big: str) -> None:
    result = runner.invoke(app, ["traces", "list", "--format", "json", "--tracking-uri", big])
    assert result.exit_code == 0, result.output
    (listed,) = json.loads(result.output)
    assert listed["model_name"] == "bot-v1" and listed["model_id"].startswith("m-")
