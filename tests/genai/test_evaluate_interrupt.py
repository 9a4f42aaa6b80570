"""Ctrl-C stops ``genai.evaluate`` (issue 12, item 2): a real process gets SIGINT while 60 slow
rows are queued; no new row starts, the running ones finish within the grace period, the run is
KILLED and tagged partial, the finished rows' traces are all stored, and the process exits soon
after the signal. A second SIGINT stops the wait at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from genver.store.sql.store import SqlStore

SCRIPT = textwrap.dedent(
    """
    import sys, time
    import genver as mlflow
    from genver.genai.scorers import scorer

    @scorer
    def short(outputs) -> bool:
        return len(outputs) < 100

    def predict(question: str) -> str:
        sys.stdout.write(f"row {question}\\n")  # one write: two threads never interleave a line
        sys.stdout.flush()
        time.sleep(float(sys.argv[1]))
        return question.upper()

    model = mlflow.create_external_model(name="slow-bot")
    data = [{"inputs": {"question": f"q{i}"}} for i in range(60)]
    print("start", flush=True)
    mlflow.genai.evaluate(data=data, scorers=[short], predict_fn=predict, model_id=model.model_id, max_workers=2)
    """
)


def run_and_interrupt(
    tmp_path: Path, row_seconds: float, signals: int, after_rows: int
) -> tuple[int, float, str]:
    """Run the script, send ``signals`` SIGINTs once ``after_rows`` rows have started; its exit
    code, the seconds from the first signal to its exit, and all its output."""
    script = tmp_path / "slow_eval.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENVER_", "MLFLOW_"))}
    env |= {"GENVER_TRACKING_URI": f"sqlite:///{tmp_path}/e.db", "GENVER_EVAL_INTERRUPT_GRACE": "5"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(row_seconds)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if sum(s.startswith("row ") for s in seen) == after_rows:
            break
    sent = time.monotonic()
    for _ in range(signals):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
    rest, _ = proc.communicate(timeout=60)
    return proc.returncode, time.monotonic() - sent, "".join(seen) + rest


def stored(tmp_path: Path) -> tuple[object, int]:
    store = SqlStore(f"sqlite:///{tmp_path}/e.db")
    (run,) = store.search_runs(experiment_ids=["0"], max_results=10)
    traces = store.search_traces(experiment_ids=["0"], max_results=1000, include_spans=False)
    store.close()
    return run, len(traces)


@pytest.mark.slow
def test_ctrl_c_stops_starting_rows_and_records_a_killed_partial_run(tmp_path: Path) -> None:
    code, seconds, output = run_and_interrupt(tmp_path, row_seconds=1.0, signals=1, after_rows=4)

    assert code != 0 and "KeyboardInterrupt" in output
    started = output.count("row q")
    assert started <= 10, output  # not 60: queued rows never started
    assert seconds < 8, seconds  # the 5 s grace, not the 30 s the queue would take
    assert "Interrupted:" in output and "waiting up to 5 s" in output
    run, traces = stored(tmp_path)
    assert run.info.status == "KILLED"  # type: ignore[attr-defined]
    assert run.data.tags["genver.eval.partial"] == "true"  # type: ignore[attr-defined]
    assert traces == started  # every row that ran has its trace: none lost
    completed = int(run.data.tags["genver.eval.completed_rows"])  # type: ignore[attr-defined]
    assert completed == 0  # interrupted while predicting: no row was scored
    assert not run.data.metrics  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_second_ctrl_c_stops_waiting_at_once(tmp_path: Path) -> None:
    code, seconds, output = run_and_interrupt(tmp_path, row_seconds=30.0, signals=2, after_rows=2)

    assert code != 0 and output.count("row q") == 2
    assert seconds < 4, seconds  # not the 5 s grace, let alone the 30 s rows
    run, _ = stored(tmp_path)
    assert run.info.status == "KILLED"  # type: ignore[attr-defined]


def test_interrupted_while_scoring_keeps_the_scored_rows_on_the_run_only(tmp_path: Path) -> None:
    """In-process: a Ctrl-C that lands while scoring (a scorer raising KeyboardInterrupt on the
    sixth row) leaves the rows already scored stored, their metrics on the run (tagged partial)
    and nothing on the version."""
    import threading

    from genver.fluent import Genver
    from genver.genai.evaluation import evaluate
    from genver.genai.scorers import scorer

    gv = Genver(tracking_uri=f"sqlite:///{tmp_path}/p.db", environ={"GENVER_EVAL_INTERRUPT_GRACE": "2"})
    model = gv.create_external_model(name="bot")
    calls = 0
    lock = threading.Lock()

    @scorer
    def exact(outputs: str, expectations: dict[str, str]) -> bool:
        nonlocal calls
        with lock:
            calls += 1
            if calls == 6:
                raise KeyboardInterrupt
        return outputs == expectations["expected_response"]

    data = [{"inputs": {"q": f"q{i}"}, "expectations": {"expected_response": f"q{i}"}} for i in range(20)]
    with pytest.raises(KeyboardInterrupt):
        evaluate(data, [exact], predict_fn=lambda q: q, model_id=model.model_id, max_workers=1, genver=gv)

    (run,) = gv.search_runs(experiment_ids=["0"], output_format="list")
    assert run.info.status == "KILLED"
    assert run.data.tags["genver.eval.partial"] == "true"
    assert run.data.tags["genver.eval.completed_rows"] == "5"
    assert run.data.metrics["exact/mean"] == 1.0
    assert not gv.get_logged_model(model.model_id).metrics  # partial metrics never reach the version
    gv.client.close()
