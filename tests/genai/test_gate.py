"""``genai.gate``: thresholds, significance, trace statistics and failing closed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from genver.compare.gating import GateResult, Threshold, parse_threshold
from genver.entities import LoggedModel
from genver.exceptions import InvalidArgumentError
from genver.fluent import Genver
from genver.genai import gate
from tests.genai._compare_lab import dataset, evaluate, log_traces, make_genver


@pytest.fixture
def gv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    monkeypatch.chdir(tmp_path)
    instance = make_genver(tmp_path)
    yield instance
    instance.client.close()


@pytest.fixture
def pair(gv: Genver) -> tuple[LoggedModel, LoggedModel]:
    return gv.create_external_model(name="base"), gv.create_external_model(name="cand")


# -- thresholds ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (0.02, Threshold(0.02, False, "0.02")),
        (1, Threshold(1.0, False, "1")),
        ("0.02", Threshold(0.02, False, "0.02")),
        (" 10% ", Threshold(0.10, True, "10%")),
        ("2.5%", Threshold(0.025, True, "2.5%")),
        ("0", Threshold(0.0, False, "0")),
        (0.123456789, Threshold(0.123456789, False, "0.123456789")),  # every digit, e.g. to a server
    ],
)
def test_thresholds_parse(given: object, expected: Threshold) -> None:
    got = parse_threshold(given, "exact")
    assert got.relative == expected.relative and got.text == expected.text
    assert got.value == pytest.approx(expected.value)


@pytest.mark.parametrize(
    "bad", [-0.1, "-5%", "abc", "10%%", "", "%", True, None, float("nan"), float("inf"), "1e999"]
)
def test_bad_thresholds_name_the_value(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match=r"Invalid threshold .* for 'exact'") as info:
        parse_threshold(bad, "exact")
    assert repr(bad) in str(info.value)


def test_relative_limits_scale_with_the_baseline() -> None:
    assert parse_threshold("10%").limit(200.0) == pytest.approx(20.0)
    assert parse_threshold("10%").limit(-0.5) == pytest.approx(0.05)
    assert parse_threshold(0.3).limit(200.0) == 0.3


def test_a_gate_needs_thresholds(gv: Genver, pair: tuple[LoggedModel, LoggedModel]) -> None:
    with pytest.raises(InvalidArgumentError, match="at least one threshold"):
        gate("base", "cand", genver=gv)
    with pytest.raises(InvalidArgumentError, match="max_drop"):
        gate("base", "cand", max_drop=["exact"], genver=gv)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="'ten'"):
        gate("base", "cand", max_increase={"p95_latency": "ten"}, genver=gv)


# -- metrics with per-row scores: significance decides -------------------------------------------------
def test_a_significant_drop_beyond_the_threshold_fails(
    gv: Genver, pair: tuple[LoggedModel, LoggedModel]
) -> None:
    base, cand = pair
    evaluate(gv, base, {"exact": [1] * 40})
    evaluate(gv, cand, {"exact": [i >= 10 for i in range(40)]})  # 10 rows regress

    result = gate("base", "cand", max_drop={"exact": 0.02}, genver=gv)

    assert not result.passed and not result
    (check,) = result.failures
    assert check.metric == "exact/mean" and check.requested == "exact" and check.direction == "drop"
    assert check.baseline == 1.0 and check.candidate == 0.75 and check.delta == pytest.approx(-0.25)
    assert check.ci is not None and check.ci[1] < -0.02 and check.significant is True
    assert check.n_pairs == 40 and check.limit == 0.02
    assert "significantly more than the allowed drop of 0.02" in check.reason


def test_a_drop_within_the_threshold_passes(gv: Genver, pair: tuple[LoggedModel, LoggedModel]) -> None:
    base, cand = pair
    evaluate(gv, base, {"exact": [1] * 100})
    evaluate(gv, cand, {"exact": [i != 0 for i in range(100)]})
    result = gate("base", "cand", max_drop={"exact/mean": 0.02}, genver=gv)
    assert result.passed and result.checks[0].significant is False
    assert "within the allowed drop of 0.02" in result.checks[0].reason


def test_a_drop_beyond_the_threshold_that_is_not_significant_passes(
    gv: Genver, pair: tuple[LoggedModel, LoggedModel]
) -> None:
    base, cand = pair
    evaluate(gv, base, {"exact": [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]})
    evaluate(gv, cand, {"exact": [0, 1, 0, 1, 0, 1, 0, 1, 0, 0]})  # -0.1 on average, but noisy
    (check,) = gate("base", "cand", max_drop={"exact": 0.02}, genver=gv).checks
    assert check.passed and check.delta == pytest.approx(-0.1)
    assert check.ci is not None and check.ci[0] < -0.02 < check.ci[1]
    assert "but not significantly" in check.reason


def test_a_relative_drop_threshold_and_a_lower_is_better_scorer(
    gv: Genver, pair: tuple[LoggedModel, LoggedModel]
) -> None:
    base, cand = pair
    evaluate(gv, base, {"exact": [1] * 40, "latency": [100 + i % 3 for i in range(40)]})
    evaluate(gv, cand, {"exact": [i >= 2 for i in range(40)], "latency": [130 + i % 3 for i in range(40)]})
    result = gate("base", "cand", max_drop={"exact": "10%"}, max_increase={"latency": "10%"}, genver=gv)
    drop, latency = result.checks
    assert drop.passed and drop.limit == pytest.approx(0.1)  # 5% drop, 10% allowed
    assert not latency.passed and latency.significant and latency.ci is not None and latency.ci[0] > 10.1
    assert latency.metric == "latency/mean"
    row = result.comparison.metric("latency/mean") if result.comparison else None
    assert row is not None and not row.higher_is_better
    boot = row.bootstrap[1]
    assert boot is not None and boot.verdict == "worse"


# -- no per-row data: the point estimate decides --------------------------------------------------------
def test_without_per_row_scores_the_point_estimate_decides(
    gv: Genver, pair: tuple[LoggedModel, LoggedModel]
) -> None:
    base, cand = pair
    evaluate(gv, base, {"exact": [1] * 9 + [0]}, per_row=False)  # 0.9
    evaluate(gv, cand, {"exact": [1] * 8 + [0] * 2}, per_row=False)  # 0.8
    failed = gate("base", "cand", max_drop={"exact": 0.05}, genver=gv)
    (check,) = failed.checks
    assert not check.passed and check.significant is None and check.ci is None
    assert "more than the allowed drop of 0.05" in check.reason
    assert gate("base", "cand", max_drop={"exact": 0.1}, genver=gv).passed  # 0.9 - 0.8 is not > 0.1


def test_trace_statistics_with_absolute_and_relative_thresholds(
    gv: Genver, pair: tuple[LoggedModel, LoggedModel]
) -> None:
    base, cand = pair
    log_traces(gv, base.model_id, 20, latency_ms=100, tokens=200, cost=0.001)
    log_traces(gv, cand.model_id, 20, latency_ms=115, tokens=210, cost=0.00104, errors=2)

    result = gate(
        "base",
        "cand",
        max_increase={
            "p95_latency": "10%",
            "p50_latency": "20%",
            "p99_latency": 20,
            "cost_per_request": "5%",
            "tokens_per_request": 5,
            "error_rate": 0.05,
        },
        genver=gv,
    )

    checks = {c.metric: c for c in result.checks}
    assert not result.passed
    assert {c.metric for c in result.failures} == {"p95_latency", "tokens_per_request", "error_rate"}
    p95 = checks["p95_latency"]
    assert (p95.baseline, p95.candidate, p95.delta, p95.limit) == (100.0, 115.0, 15.0, pytest.approx(10.0))
    assert "more than the allowed increase of 10% (10)" in p95.reason and p95.significant is None
    assert checks["cost_per_request"].passed  # +4% of 5% allowed
    assert checks["error_rate"].candidate == pytest.approx(0.1)


def test_improvements_never_fail_a_max_increase(gv: Genver, pair: tuple[LoggedModel, LoggedModel]) -> None:
    base, cand = pair
    log_traces(gv, base.model_id, 10, latency_ms=100)
    log_traces(gv, cand.model_id, 10, latency_ms=50)
    assert gate("base", "cand", max_increase={"p95_latency": 0}, genver=gv).passed


def test_a_threshold_at_exactly_the_change_passes_despite_float_rounding(
    gv: Genver, pair: tuple[LoggedModel, LoggedModel]
) -> None:
    base, cand = pair
    gv.log_metric("acc", 0.90, model_id=base.model_id, dataset=dataset(3))
    gv.log_metric("acc", 0.88, model_id=cand.model_id, dataset=dataset(3))  # 0.90 - 0.88 > 0.02 in floats
    assert gate("base", "cand", max_drop={"acc": 0.02}, genver=gv).passed
    assert not gate("base", "cand", max_drop={"acc": 0.0199}, genver=gv).passed


# -- failing closed --------------------------------------------------------------------------------------
def test_a_metric_missing_on_one_version_fails_closed(
    gv: Genver, pair: tuple[LoggedModel, LoggedModel]
) -> None:
    base, cand = pair
    evaluate(gv, base, {"exact": [1, 1], "judge": [1, 0]})
    evaluate(gv, cand, {"exact": [1, 1]})
    (check,) = gate("base", "cand", max_drop={"judge": 0.1}, genver=gv).checks
    assert not check.passed and check.candidate is None
    assert check.reason.startswith(f"candidate cand ({cand.model_id}) has no 'judge/mean' on dataset qa (")


def test_a_version_without_traces_fails_trace_checks(
    gv: Genver, pair: tuple[LoggedModel, LoggedModel]
) -> None:
    base, _ = pair
    log_traces(gv, base.model_id, 5)
    (check,) = gate("base", "cand", max_increase={"p95_latency": "10%"}, genver=gv).checks
    assert not check.passed and "has no traces" in check.reason


def test_metrics_from_different_datasets_fail_closed(
    gv: Genver, pair: tuple[LoggedModel, LoggedModel]
) -> None:
    base, cand = pair
    evaluate(gv, base, {"exact": [1, 1]}, ds=dataset(2, "qa"))
    evaluate(gv, cand, {"exact": [1, 1]}, ds=dataset(2, "qa", variant="v2"))
    result = gate("base", "cand", max_drop={"exact": 0.5}, genver=gv)
    assert not result.passed and "evaluated on different datasets" in result.checks[0].reason
    assert any("not evaluated on a common dataset" in n for n in result.notes)


def test_an_unknown_metric_lists_the_names_available(
    gv: Genver, pair: tuple[LoggedModel, LoggedModel]
) -> None:
    base, cand = pair
    evaluate(gv, base, {"exact": [1, 1]})
    evaluate(gv, cand, {"exact": [1, 1]})
    with pytest.raises(InvalidArgumentError) as info:
        gate("base", "cand", max_drop={"exactt": 0.02}, genver=gv)
    message = str(info.value)
    assert "Unknown metric 'exactt'" in message
    for name in ("exact", "exact/mean", "p95_latency", "cost_per_request", "error_rate"):
        assert name in message


# -- output ------------------------------------------------------------------------------------------------
def test_gate_result_as_json_and_markdown(gv: Genver, pair: tuple[LoggedModel, LoggedModel]) -> None:
    base, cand = pair
    evaluate(gv, base, {"exact": [1] * 20}, latency_ms=10)
    evaluate(gv, cand, {"exact": [i > 4 for i in range(20)]}, latency_ms=10)
    result = gate("base", "cand", max_drop={"exact": 0.02}, max_increase={"p95_latency": "10%"}, genver=gv)

    d = json.loads(json.dumps(result.to_dict()))
    assert d["passed"] is False and d["baseline"]["name"] == "base" and d["candidate"]["name"] == "cand"
    assert [c["metric"] for c in d["checks"]] == ["exact/mean", "p95_latency"]
    assert [c["passed"] for c in d["checks"]] == [False, True]
    assert d["checks"][0]["ci"][1] < 0 and d["checks"][1]["ci"] is None

    again = GateResult.from_dict(d)  # what a client rebuilds from GET /api/v1/gate
    assert again == result and again.to_dict() == result.to_dict()

    md = result.to_markdown()
    assert md.startswith("### genver gate ❌ failed (1 of 2 checks)")
    assert "| ❌ | `exact/mean` | 1 | 0.75 | -0.25 | max drop 0.02 |" in md
    assert "| ✅ | `p95_latency` |" in md
