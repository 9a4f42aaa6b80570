"""``genai.compare_models`` and the paired bootstrap behind it, on a real SQLite store."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from genver.compare.result import Comparison, DiffSize, GitState
from genver.compare.stats import lower_is_better, paired_bootstrap, score_value, verdict
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.fluent import Genver
from genver.genai import compare_models
from tests.genai._compare_lab import dataset, evaluate, log_traces, make_genver, traced_rows


@pytest.fixture
def gv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    monkeypatch.chdir(tmp_path)  # outside any git repository
    instance = make_genver(tmp_path)
    yield instance
    instance.flush_trace_async_logging(terminate=True)
    instance.client.close()


# -- the bootstrap ---------------------------------------------------------------------------------
def test_bootstrap_identical_rows_gives_a_ci_around_zero() -> None:
    rows = [1, 0, 1, 1, 0, 1, 0, 0, 1, 1] * 10
    ci = paired_bootstrap(rows, rows, seed=1)
    assert (ci.low, ci.mean_diff, ci.high) == (0.0, 0.0, 0.0)
    assert ci.verdict == "no significant change" and ci.n == 100

    noisy = paired_bootstrap(rows, rows[1:] + rows[:1], seed=1)  # same scores, shuffled rows
    assert noisy.low < 0 < noisy.high and noisy.verdict == "no significant change"


def test_bootstrap_detects_a_shift_either_way_and_inverts_for_lower_is_better() -> None:
    base = [0.5 + 0.01 * (i % 7) for i in range(200)]
    up = [b + 0.05 + 0.02 * ((i * 5) % 3 - 1) for i, b in enumerate(base)]
    better = paired_bootstrap(base, up, seed=0)
    assert better.low > 0 and better.verdict == "better"
    assert better.mean_diff == pytest.approx(0.05, abs=0.01)
    worse = paired_bootstrap(up, base, seed=0)
    assert worse.high < 0 and worse.verdict == "worse"
    # latency going up is worse
    assert paired_bootstrap(base, up, higher_is_better=False).verdict == "worse"
    assert verdict(-2, -1, higher_is_better=False) == "better"


def test_bootstrap_is_deterministic_with_a_seed() -> None:
    base = [i % 3 for i in range(50)]
    cand = [(i * 7) % 4 for i in range(50)]
    a = paired_bootstrap(base, cand, seed=42)
    assert a == paired_bootstrap(base, cand, seed=42)
    assert a != paired_bootstrap(base, cand, seed=43)
    wider = paired_bootstrap(base, cand, seed=42, confidence=0.99)
    assert wider.low <= a.low and wider.high >= a.high


def test_bootstrap_of_1000_rows_and_2000_resamples() -> None:
    base = [float(i % 2) for i in range(1000)]
    cand = [float((i // 3) % 2) for i in range(1000)]
    result = paired_bootstrap(base, cand, n_resamples=2000)
    assert result.n == 1000
    assert result.low <= result.mean_diff <= result.high


@pytest.mark.parametrize(
    ("bad", "kwargs"),
    [
        (([], []), {}),
        (([1, 2], [1]), {}),
        (([1], [1]), {"confidence": 1.0}),
        (([1], [1]), {"n_resamples": 0}),
    ],
)
def test_bootstrap_rejects_bad_input(bad: tuple[list[int], list[int]], kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidArgumentError):
        paired_bootstrap(*bad, **kwargs)  # type: ignore[arg-type]


def test_score_values_and_directions() -> None:
    assert [score_value(v) for v in (True, False, 3, 0.5, "yes", "PASS", "no", "fail", "maybe", None)] == [
        1.0,
        0.0,
        3.0,
        0.5,
        1.0,
        1.0,
        0.0,
        0.0,
        None,
        None,
    ]
    assert score_value(float("nan")) is None
    for name in ("latency/mean", "cost/mean", "tokens/mean", "latency_ms", "error_rate", "p95_latency"):
        assert lower_is_better(name), name
    for name in ("exact_match/mean", "correctness/mean", "accuracy", "relevance/mean"):
        assert not lower_is_better(name), name


# -- comparing versions ------------------------------------------------------------------------------
def test_compare_two_versions(gv: Genver) -> None:
    v1 = gv.create_external_model(
        name="bot-v1",
        params={"llm": "gpt-4o-mini", "temperature": "0.2", "top_k": "3"},
        tags={"team": "search", "mlflow.source.git.commit": "a" * 40},
    )
    v2 = gv.create_external_model(
        name="bot-v2",
        params={"llm": "gpt-4o", "temperature": "0.2"},
        tags={"team": "search", "mlflow.user": "someone-else", "mlflow.source.git.commit": "b" * 40},
    )
    n = 40
    evaluate(gv, v1, {"exact": [i % 2 == 0 for i in range(n)]}, latency_ms=10, cost=0.001, tokens=100)
    evaluate(gv, v2, {"exact": [i % 4 != 3 for i in range(n)]}, latency_ms=20, cost=0.003, tokens=150)

    c = compare_models("bot-v1", v2.model_id, genver=gv)

    assert [v.name for v in c.versions] == ["bot-v1", "bot-v2"] and c.baseline.model_id == v1.model_id
    assert {d.key: d.values for d in c.params} == {
        "llm": ("gpt-4o-mini", "gpt-4o"),
        "top_k": ("3", None),
    }
    tags = {d.key: d.values for d in c.tags}
    assert tags == {"mlflow.source.git.commit": ("a" * 40, "b" * 40)}  # not the user, not equal tags
    assert c.versions[0].git.commit == "a" * 40
    assert c.versions[0].dataset_name == "qa" and c.versions[0].dataset_digest == dataset(n).digest

    (row,) = c.metrics
    assert row.key == "exact/mean" and row.values == (0.5, 0.75)
    delta = row.deltas[1]
    assert (
        delta is not None and delta.absolute == pytest.approx(0.25) and delta.relative == pytest.approx(0.5)
    )
    boot = row.bootstrap[1]
    assert boot is not None and boot.n == n and boot.mean_diff == pytest.approx(0.25)
    assert boot.verdict == "better" and boot.low > 0
    assert row.bootstrap[0] is None and row.deltas[0] is None

    stats = {r.key: r for r in c.trace_stats}
    assert stats["trace_count"].values == (n, n)
    assert stats["p95_latency"].values == (10.0, 20.0) and not stats["p95_latency"].higher_is_better
    p95 = stats["p95_latency"].deltas[1]
    assert p95 is not None and p95.relative == pytest.approx(1.0)
    assert stats["cost_per_request"].values == (pytest.approx(0.001), pytest.approx(0.003))
    assert stats["tokens_per_request"].values == (100.0, 150.0)
    assert stats["error_rate"].values == (0.0, 0.0)
    assert c.metric("exact/mean") is row and c.metric("nope") is None


def test_compare_three_versions_against_the_first(gv: Genver) -> None:
    models = [gv.create_external_model(name=f"v{i}", params={"prompt": f"p{i}"}) for i in range(3)]
    n = 30
    evaluate(gv, models[0], {"exact": [i % 3 != 0 for i in range(n)]})
    evaluate(gv, models[1], {"exact": [i % 3 != 0 for i in range(n)]})  # the same answers
    evaluate(gv, models[2], {"exact": [i % 10 == 0 for i in range(n)]})  # much worse

    c = compare_models("v0", "v1", "v2", genver=gv)

    assert len(c.versions) == 3 and [d.key for d in c.params] == ["prompt"]
    row = c.metrics[0]
    assert row.values == pytest.approx((20 / 30, 20 / 30, 3 / 30))
    b1, b2 = row.bootstrap[1], row.bootstrap[2]
    assert b1 is not None and b1.verdict == "no significant change" and b1.low == b1.high == 0
    assert b2 is not None and b2.verdict == "worse"
    assert row.deltas[2] is not None and row.deltas[2].absolute == pytest.approx(-17 / 30)
    assert len(c.trace_stats[0].values) == 3


def test_pairs_rows_by_record_id_and_skips_errored_and_unusable_scores(gv: Genver) -> None:
    v1 = gv.create_external_model(name="a")
    v2 = gv.create_external_model(name="b")
    evaluate(gv, v1, {"judge": ["yes", "no", "yes", "no", "maybe", "yes"]}, errored=[5])
    # the candidate scored the rows in another order: pairing goes by record id, not position
    evaluate(
        gv,
        v2,
        {"judge": ["yes", "yes", "no", "yes", "yes", "yes"]},
        record_ids=["r1", "r0", "r3", "r2", "r4", "r5"],
    )

    boot = compare_models("a", "b", genver=gv).metrics[0].bootstrap[1]

    # r0..r3 pair up (r4 is "maybe" on the baseline, r5 errored there): r1 no→yes, the rest equal
    assert boot is not None and boot.n == 4
    assert boot.baseline_mean == 0.5 and boot.candidate_mean == 0.75


def test_metrics_without_per_row_scores_have_deltas_but_no_interval(gv: Genver) -> None:
    v1 = gv.create_external_model(name="a")
    v2 = gv.create_external_model(name="b")
    evaluate(gv, v1, {"exact": [1, 1, 0, 0]}, per_row=False)
    evaluate(gv, v2, {"exact": [1, 1, 1, 0]}, per_row=False)
    row = compare_models("a", "b", genver=gv).metrics[0]
    assert row.values == (0.5, 0.75) and row.bootstrap == (None, None)


def test_names_resolve_to_the_latest_version_and_unknown_ones_are_all_named(gv: Genver) -> None:
    gv.create_external_model(name="agent")
    time.sleep(0.002)  # versions created in the same millisecond tie (broken by id, as in MLflow)
    newer = gv.create_external_model(name="agent")
    other = gv.create_external_model(name="other")
    c = compare_models("other", "agent", genver=gv)
    assert [v.model_id for v in c.versions] == [other.model_id, newer.model_id]
    assert c.metrics == () and c.trace_stats == ()

    with pytest.raises(NotFoundError, match="'nope', 'm-0000'"):
        compare_models("agent", "nope", "m-0000", genver=gv)
    with pytest.raises(InvalidArgumentError, match="1 to 3 candidates.*got 0"):
        compare_models("agent", genver=gv)
    with pytest.raises(InvalidArgumentError, match="got 4"):  # the same limit as the server's
        compare_models("agent", "other", "agent", "other", "agent", genver=gv)
    with pytest.raises(InvalidArgumentError, match="confidence"):
        compare_models("agent", "other", confidence=2, genver=gv)

    exp = gv.create_experiment("elsewhere")
    gv.create_external_model(name="agent", experiment_id=exp)
    assert compare_models("agent", "agent", experiment_id=exp, genver=gv).versions[0].experiment_id == exp


def test_metrics_come_from_the_latest_shared_dataset_or_the_one_asked_for(gv: Genver) -> None:
    v1 = gv.create_external_model(name="a")
    v2 = gv.create_external_model(name="b")
    old, new, only_v1 = dataset(4, "qa"), dataset(4, "qa", variant="*"), dataset(4, "extra", variant="+")
    evaluate(gv, v1, {"exact": [1, 0, 0, 0]}, ds=old, timestamp=1000)
    evaluate(gv, v2, {"exact": [1, 1, 0, 0]}, ds=old, timestamp=1000)
    evaluate(gv, v1, {"exact": [1, 1, 1, 0]}, ds=new, timestamp=2000)
    evaluate(gv, v2, {"exact": [1, 1, 1, 1]}, ds=new, timestamp=2000)
    evaluate(gv, v1, {"exact": [0, 0, 0, 0]}, ds=only_v1, timestamp=3000)  # newest, but v2 lacks it
    # the same key again on the same dataset: the later timestamp wins
    evaluate(gv, v2, {"exact": [1, 1, 1, 0]}, ds=new, timestamp=2500, per_row=False)

    c = compare_models("a", "b", genver=gv)
    assert c.versions[0].dataset_digest == new.digest and c.metrics[0].values == (0.75, 0.75)
    assert not c.notes

    by_digest = compare_models("a", "b", dataset=old.digest, genver=gv)
    assert by_digest.metrics[0].values == (0.25, 0.5)
    boot = by_digest.metrics[0].bootstrap[1]
    assert boot is not None and boot.n == 4

    by_name = compare_models("a", "b", dataset="extra", genver=gv)
    assert by_name.metrics[0].values == (0.0, None) and by_name.metrics[0].deltas[1] is None
    assert any("b (" in n and "no metrics on dataset 'extra'" in n for n in by_name.notes)

    with pytest.raises(InvalidArgumentError, match="'missing'.*qa"):
        compare_models("a", "b", dataset="missing", genver=gv)


def test_versions_without_a_common_dataset_are_compared_with_a_note(gv: Genver) -> None:
    v1 = gv.create_external_model(name="a")
    v2 = gv.create_external_model(name="b")
    evaluate(gv, v1, {"exact": [1, 0]}, ds=dataset(2, "x", variant="x"))
    evaluate(gv, v2, {"exact": [1, 1]}, ds=dataset(2, "y", variant="y"))
    c = compare_models("a", "b", genver=gv)
    assert c.metrics[0].values == (0.5, 1.0) and c.metrics[0].bootstrap == (None, None)
    assert [v.dataset_name for v in c.versions] == ["x", "y"]
    assert any("not evaluated on a common dataset" in n for n in c.notes)


def test_trace_stats_of_a_version_without_traces(gv: Genver) -> None:
    v1 = gv.create_external_model(name="a")
    gv.create_external_model(name="b")
    log_traces(gv, v1.model_id, 5, latency_ms=lambda i: 10 * (i + 1), errors=1)
    stats = {r.key: r.values for r in compare_models("a", "b", genver=gv).trace_stats}
    assert stats["trace_count"] == (5, 0)
    assert stats["error_rate"] == (0.2, None) and stats["p95_latency"][1] is None
    assert stats["p50_latency"][0] == 30.0


def test_traces_from_the_tracing_api_count(gv: Genver) -> None:
    v1 = gv.create_external_model(name="a")
    v2 = gv.create_external_model(name="b")

    @gv.trace(name="app")
    def app(q: str) -> str:
        if q == "boom":
            raise ValueError(q)
        return q.upper()

    def safe(q: str) -> None:
        with contextlib.suppress(ValueError):
            app(q)

    questions = [f"q{i}" for i in range(6)]
    ids = traced_rows(gv, v1.model_id, questions, safe)
    traced_rows(gv, v2.model_id, ["boom", *questions[1:]], safe)
    evaluate(gv, v1, {"exact": [1] * 6}, trace_ids=ids)
    stats = {r.key: r.values for r in compare_models("a", "b", genver=gv).trace_stats}
    assert stats["trace_count"] == (6, 6)
    assert stats["error_rate"] == (0.0, pytest.approx(1 / 6))


# -- git -----------------------------------------------------------------------------------------------
def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_git_commits_diff_stat_and_uncommitted_diff_size(
    gv: Genver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text("print('v1')\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "v1")
    first = _git(repo, "rev-parse", "HEAD")
    (repo / "app.py").write_text("print('v2')\nprint('more')\n")
    _git(repo, "commit", "-q", "-am", "v2")
    second = _git(repo, "rev-parse", "HEAD")
    diff = "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1 +1,2 @@\n-x\n+y\n+z\n"
    gv.create_external_model(
        name="a",
        tags={
            "mlflow.source.git.commit": first,
            "mlflow.source.git.branch": "main",
            "mlflow.source.git.dirty": "false",
        },
    )
    gv.create_external_model(
        name="b",
        tags={
            "mlflow.source.git.commit": second,
            "mlflow.source.git.branch": "main",
            "mlflow.source.git.dirty": "true",
            "mlflow.source.git.diff": diff,
            "genver.git.version_key": second[:12] + "-dirty-abc",
        },
    )
    gv.create_external_model(name="c", tags={"git_commit": "--output=/tmp/x"})  # never reaches git

    outside = compare_models("a", "b", genver=gv)  # the working folder is not a repository
    assert outside.code_diffs == () and any("inside the repository" in n for n in outside.notes)

    monkeypatch.chdir(repo / "")
    c = compare_models("a", "b", "c", genver=gv)
    a, b, _ = c.versions
    assert (a.git.commit, a.git.branch, a.git.dirty, a.git.uncommitted) == (first, "main", False, None)
    assert b.git.dirty is True and b.git.uncommitted == DiffSize(files=1, insertions=2, deletions=1)
    assert b.git.version_key == second[:12] + "-dirty-abc"
    ok, bad = c.code_diffs
    assert ok.stat is not None and "app.py" in ok.stat and "1 file changed" in ok.stat
    assert bad.stat is None and bad.error is not None and "not a commit id" in bad.error
    assert "mlflow.source.git.diff" not in {d.key for d in c.tags}  # shown as a size, not as text
    assert "mlflow.source.git.dirty" in {d.key for d in c.tags}
    assert Comparison.from_dict(json.loads(json.dumps(c.to_dict()))) == c  # git state survives the wire

    gv.create_external_model(name="d", tags={"mlflow.source.git.commit": "f" * 40})
    unknown = compare_models("a", "d", genver=gv).code_diffs[0]
    assert unknown.stat is None and unknown.error


def test_git_state_from_user_tags() -> None:
    state = GitState.from_tags({"git_commit": "abc12345", "git_branch": "dev"})
    assert (state.commit, state.branch, state.dirty) == ("abc12345", "dev", None)
    assert str(DiffSize.of("--- a/x\n+++ b/x\n+1\n")) == "1 file, +1 -0"


# -- output --------------------------------------------------------------------------------------------
def test_to_dict_is_json_and_markdown_is_a_pr_comment(gv: Genver) -> None:
    v1 = gv.create_external_model(name="bot|v1", params={"llm": "a"})
    v2 = gv.create_external_model(name="bot-v2", params={"llm": "b"})
    evaluate(gv, v1, {"exact": [i % 2 for i in range(20)]})
    evaluate(gv, v2, {"exact": [1] * 20})

    c = compare_models(v1.model_id, v2.model_id, genver=gv)
    d = json.loads(json.dumps(c.to_dict()))
    assert Comparison.from_dict(d) == c  # what a client rebuilds from GET /api/v1/compare
    assert d["baseline"] == v1.model_id and [v["name"] for v in d["versions"]] == ["bot|v1", "bot-v2"]
    assert d["metrics"][0]["values"] == [0.5, 1.0]
    assert d["metrics"][0]["bootstrap"][1]["verdict"] == "better"
    assert d["versions"][0]["dataset"]["name"] == "qa"
    assert {s["key"] for s in d["trace_stats"]} >= {"p50_latency", "p95_latency", "cost_per_request"}

    md = c.to_markdown()
    assert md.startswith("### genver: `bot|v1` (baseline) vs `bot-v2`")
    assert "| id | `" + v1.model_id in md
    assert "bot\\|v1 (baseline)" in md  # pipes in cells are escaped
    assert "| exact/mean | 0.5 | 1 (+0.5, +100.0%) ▲ **better**, 95% CI [" in md
    assert "#### Trace statistics" in md and "#### Params that differ" in md and "`llm`" in md


def test_duplicate_names_get_an_id_in_their_label(gv: Genver) -> None:
    first = gv.create_external_model(name="same")
    second = gv.create_external_model(name="same")
    c = compare_models(first.model_id, second.model_id, genver=gv)
    assert c.labels == [f"same ({first.model_id[:10]})", f"same ({second.model_id[:10]})"]


def test_comparing_1000_rows_each(gv: Genver) -> None:
    n = 1000
    v1 = gv.create_external_model(name="a")
    v2 = gv.create_external_model(name="b")
    evaluate(gv, v1, {"exact": [i % 2 == 0 for i in range(n)]})
    evaluate(gv, v2, {"exact": [i % 3 != 0 for i in range(n)]})
    c = compare_models("a", "b", n_resamples=2000, genver=gv)
    boot = c.metrics[0].bootstrap[1]
    assert boot is not None and boot.n == n and boot.verdict == "better"
