"""``genver traces prune`` (issue 13 item 3): a dry run lists what would go and deletes nothing;
a prune deletes old traces of the named experiment only and keeps the quickstart's evaluated
traces; bad values are one-line errors naming them."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

import pytest

from genver.cli import main
from genver.entities.retention import EVALUATION_RUN_TAG, EVALUATION_RUN_TYPE
from genver.genai import evaluation
from genver.store.sql.store import SqlStore
from tests.store.test_traces import make_trace

DAY = 86_400_000


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str]]:
    """``genver ARGS`` through ``main()``, as the console script runs it: (exit code, output)."""

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["genver", *args])
        monkeypatch.setenv("COLUMNS", "200")
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return code, capsys.readouterr().out

    return run


def old_traces(uri: str, n: int, *, experiment: str = "0", model_id: str | None = None) -> list[str]:
    store = SqlStore(uri)
    try:
        at = int(time.time() * 1000) - 40 * DAY
        traces = [
            make_trace(request_time=at + i, experiment_id=experiment, model_id=model_id) for i in range(n)
        ]
        store.log_traces(traces)
        return [tr.info.trace_id for tr in traces]
    finally:
        store.close()


def trace_count(uri: str, experiment: str) -> int:
    store = SqlStore(uri)
    try:
        return sum(s.trace_count for s in store.trace_stats(experiment_ids=[experiment]))
    finally:
        store.close()


def test_the_evaluation_tag_is_the_one_evaluate_writes() -> None:
    assert (evaluation.RUN_TYPE_TAG, evaluation.RUN_TYPE) == (EVALUATION_RUN_TAG, EVALUATION_RUN_TYPE)


def test_dry_run_then_prune_one_experiment_keeping_evaluated_traces(
    quickstart_uri: str, cli: Callable[..., tuple[int, str]]
) -> None:
    store = SqlStore(quickstart_uri)
    exp = store.get_experiment_by_name("genver-quickstart")
    other = store.create_experiment("elsewhere")
    version = store.search_logged_models(experiment_ids=[exp.experiment_id], max_results=1)[0]
    store.close()
    old_traces(quickstart_uri, 4, experiment=exp.experiment_id, model_id=version.model_id)
    old_traces(quickstart_uri, 3, experiment=other)
    evaluated = trace_count(quickstart_uri, exp.experiment_id) - 4
    assert evaluated == 36

    args = ["traces", "prune", "--experiment", "genver-quickstart", "--tracking-uri", quickstart_uri]
    code, out = cli(*args, "--older-than", "30d", "--dry-run")
    assert code == 0, out
    assert "Would delete 4 trace(s): older than 30d" in out and "Dry run: nothing was deleted." in out
    assert version.name in out and version.model_id in out
    assert trace_count(quickstart_uri, exp.experiment_id) == evaluated + 4

    code, out = cli(*args, "--older-than", "30d")
    assert code == 0 and "Deleted 4 trace(s)" in out, out
    assert trace_count(quickstart_uri, exp.experiment_id) == evaluated
    assert trace_count(quickstart_uri, other) == 3  # another experiment is never touched

    # Keeping one per version would delete the evaluation's traces: they are kept, and it says so.
    code, out = cli(*args, "--keep-per-version", "1", "--format", "json")
    assert code == 0, out
    body = json.loads(out)
    assert body["deleted"] == 0 and body["kept_evaluated"] == evaluated - 3
    assert trace_count(quickstart_uri, exp.experiment_id) == evaluated

    code, out = cli(*args, "--keep-per-version", "1", "--include-evaluated")
    assert code == 0 and f"Deleted {evaluated - 3} trace(s)" in out, out
    assert trace_count(quickstart_uri, exp.experiment_id) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--older-than", "30x"],
            "Invalid --older-than '30x': expected a number and a unit (s, m, h, d or w)",
        ),
        (["--older-than", "0d"], "Invalid --older-than '0d': expected a duration above zero"),
        ([], "Nothing to prune by: give --older-than (e.g. 30d) and/or --keep-per-version N."),
        (["--older-than", "1d", "--experiment", "nope"], "No experiment named 'nope'."),
        (
            ["--older-than", "1d", "--tracking-uri", "http://127.0.0.1:9"],
            "works on a database, not 'http://127.0.0.1:9'",
        ),
    ],
)
def test_bad_values_are_one_line_errors_naming_them(
    uri: str, cli: Callable[..., tuple[int, str]], args: list[str], message: str
) -> None:
    if "--tracking-uri" not in args:
        args = [*args, "--tracking-uri", uri]
    code, out = cli("traces", "prune", *args)
    assert code == 1 and message in out and "Traceback" not in out, out
    assert len(out.strip().splitlines()) == 1


def test_since_uses_the_same_durations(uri: str, cli: Callable[..., tuple[int, str]]) -> None:
    code, out = cli("traces", "stats", "--since", "2 weeks", "--tracking-uri", uri)
    assert code == 1 and "Invalid --since '2 weeks'" in out, out
    assert cli("traces", "stats", "--since", "2w", "--tracking-uri", uri)[0] == 0
