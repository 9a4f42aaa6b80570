"""One metric record by record (genver.compare.examples): each row's request from its trace's
request preview (a single input's value, else the JSON), read with one trace search per page;
pages follow one another by token without repeating or skipping a row; a page's scores share
their decimals."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest

from genver.compare import core
from genver.compare.examples import (
    REQUEST_CHARS,
    Example,
    ExamplePage,
    only,
    page,
    paired_examples,
    request_text,
)
from genver.entities import Trace, TraceData, TraceInfo, TraceState
from genver.entities.trace import MODEL_ID_KEY
from genver.exceptions import InvalidArgumentError
from genver.fluent import Genver
from tests.genai._compare_lab import T0, make_genver
from tests.genai._compare_lab import evaluate as lab_evaluate


def example(record_id: str = "r0", **kw: object) -> Example:
    fields: dict[str, object] = {
        "record_id": record_id,
        "baseline": 1.0,
        "candidate": 0.0,
        "baseline_trace": None,
        "candidate_trace": None,
        "baseline_rationale": None,
        "candidate_rationale": None,
        "higher_is_better": True,
    }
    return Example(**{**fields, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("preview", "expected"),
    [
        ('{"question": "How do I reset my password?"}', "How do I reset my password?"),
        ('{"messages": [{"role": "user", "content": "hi"}]}', '[{"role": "user", "content": "hi"}]'),
        ('{"question": "Why?", "lang": "en"}', '{"question": "Why?", "lang": "en"}'),
        ('{"question": "cut at a thousand chara...', '{"question": "cut at a thousand chara...'),
        ("a plain string input", "a plain string input"),
        ('{"q": "naïve café"}', "naïve café"),
        ("", None),
        (None, None),
    ],
)
def test_request_text_is_the_single_input_else_the_preview(preview: str | None, expected: str | None) -> None:
    assert request_text(preview) == expected


def test_request_short_is_one_line_cut_after_a_word() -> None:
    assert example(request="What\n  is   this?").request_short == "What is this?"
    assert example().request_short is None
    long = " ".join(["word"] * 100)  # 499 characters
    short = example(request=long).request_short
    assert short is not None and short.endswith("…") and len(short) <= REQUEST_CHARS
    assert long.startswith(short[:-1]) and long[len(short) - 1] == " "
    unbroken = "x" * 500
    assert example(request=unbroken).request_short == "x" * (REQUEST_CHARS - 1) + "…"


def test_a_page_formats_scores_with_its_decimals_and_signed_deltas() -> None:
    p = ExamplePage(rows=(), start=0, matching=0, next_page_token=None, decimals=2)
    assert [p.score(v) for v in (1.0, 0.5, -0.25, None, float("nan"))] == [
        "1.00",
        "0.50",
        "−0.25",
        "—",
        "nan",
    ]
    assert [p.delta(v) for v in (0.25, -0.5, 0.0, None)] == ["+0.25", "−0.50", "0.00", "—"]


@pytest.fixture
def gv(tmp_path: Path) -> Genver:
    return make_genver(tmp_path)


def asked(gv: Genver, model_id: str, previews: Sequence[str | None], experiment_id: str = "0") -> list[str]:
    """One trace per row whose request preview is ``previews[i]``; the trace ids."""
    made = []
    for preview in previews:
        info = TraceInfo(
            trace_id="tr-" + uuid.uuid4().hex,
            experiment_id=experiment_id,
            request_time=T0,
            execution_duration=5,
            state=TraceState.OK,
            request_preview=preview,
            trace_metadata={MODEL_ID_KEY: model_id},
        )
        made.append(Trace(info, TraceData([])))
    gv.client.store.log_traces(made)
    return [t.info.trace_id for t in made]


def test_a_page_reads_each_row_s_request_in_one_search(gv: Genver, monkeypatch: pytest.MonkeyPatch) -> None:
    a = gv.create_external_model(name="v1")
    b = gv.create_external_model(name="v2")
    questions = [f'{{"question": "q{i}"}}' for i in range(4)]
    lab_evaluate(gv, a, {"exact": [1, 1, 0, 1]}, trace_ids=asked(gv, a.model_id, [*questions[:3], None]))
    lab_evaluate(gv, b, {"exact": [0, 1, 1, 1]}, trace_ids=asked(gv, b.model_id, questions))
    client = gv.client
    c = core.compare_models(client, a.model_id, b.model_id, code_diffs=False)
    calls: list[str] = []
    search = client.search_traces

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(str(kwargs.get("filter_string", args[1] if len(args) > 1 else None)))
        return search(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(client, "search_traces", counted)
    found = page(client, c, paired_examples(client, c, "exact/mean"))
    assert len(calls) == 1 and calls[0].startswith("trace_id IN (")
    assert [(e.record_id, e.change, e.request) for e in found.rows] == [
        ("r0", "regressed", "q0"),
        ("r2", "improved", "q2"),
        ("r1", "same", "q1"),
        ("r3", "same", "q3"),  # the baseline's trace has no preview: the candidate's says it
    ]
    assert (found.start, found.matching, found.next_page_token, found.decimals) == (0, 4, None, 0)


def test_pages_follow_their_tokens_without_repeats_or_gaps(gv: Genver) -> None:
    a = gv.create_external_model(name="v1")
    b = gv.create_external_model(name="v2")
    lab_evaluate(gv, a, {"exact": [i % 2 for i in range(7)]})
    lab_evaluate(gv, b, {"exact": [i % 3 == 0 for i in range(7)]})
    c = core.compare_models(gv.client, a.model_id, b.model_id, code_diffs=False)
    every = paired_examples(gv.client, c, "exact/mean")
    shown: list[Example] = []
    token: str | None = None
    starts = []
    while True:
        p = page(gv.client, c, every, page_token=token, max_results=3)
        starts.append(p.start)
        shown += p.rows
        assert p.matching == 7
        token = p.next_page_token
        if token is None:
            break
    assert starts == [0, 3, 6]
    assert [e.record_id for e in shown] == [e.record_id for e in every]
    assert all(e.request is None for e in shown)  # the lab's traces have no request preview
    regressions = only(every, "regressions")
    first = page(gv.client, c, regressions, max_results=1)
    assert first.next_page_token is not None and first.next_page_token.startswith("regressed:")
    rest = page(gv.client, c, regressions, page_token=first.next_page_token, max_results=10)
    assert [e.record_id for e in (*first.rows, *rest.rows)] == [e.record_id for e in regressions]
    assert page(gv.client, c, every, page_token="same:zzz").rows == ()  # past the end: empty
    for bad in ("nope", "worse:r1", "regressed:"):
        with pytest.raises(InvalidArgumentError, match="Invalid page_token"):
            page(gv.client, c, every, page_token=bad)


def test_a_trace_in_another_experiment_leaves_its_row_with_the_record_id(gv: Genver) -> None:
    a = gv.create_external_model(name="v1")
    b = gv.create_external_model(name="v2")
    elsewhere = gv.create_experiment("elsewhere")
    q = ['{"question": "hidden"}']
    lab_evaluate(gv, a, {"exact": [1]}, trace_ids=asked(gv, a.model_id, q, experiment_id=elsewhere))
    lab_evaluate(gv, b, {"exact": [0]}, trace_ids=asked(gv, b.model_id, q, experiment_id=elsewhere))
    c = core.compare_models(gv.client, a.model_id, b.model_id, code_diffs=False)
    (row,) = page(gv.client, c, paired_examples(gv.client, c, "exact/mean")).rows
    assert (row.record_id, row.request) == ("r0", None)
    assert dataclasses.replace(row, request="x").request_short == "x"
