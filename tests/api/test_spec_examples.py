"""SPEC section 1: the user's examples, verbatim with ``import genver as mlflow``.

Each test runs one snippet exactly as written in the contract (only ``"<an existing id>"`` is
replaced by a real id) and then checks what it stored.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import genver as mlflow
from genver import LoggedModel, LoggedModelStatus
from genver.fluent import Genver

MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")


def _is_external_ready(model: LoggedModel) -> None:
    assert MODEL_ID.match(model.model_id)
    assert model.status == LoggedModelStatus.READY
    assert model.status == "READY"
    assert model.tags["mlflow.model.isExternal"] == "true"
    assert model.model_uri == f"models:/{model.model_id}"
    assert model.creation_timestamp <= model.last_updated_timestamp


def _versions(name: str) -> list[LoggedModel]:
    found = mlflow.search_logged_models(filter_string=f"name = '{name}'", output_format="list")
    assert isinstance(found, list)
    return found


def test_set_active_model_by_name_with_block_and_by_id(capsys: pytest.CaptureFixture[str]) -> None:
    # fmt: off
    mlflow.set_active_model(name="my-agent-v1.0")                 # creates the version if missing
    with mlflow.set_active_model(name="my-agent-v2.0") as model:  # ActiveModel, a LoggedModel
        print(f"Model ID: {model.model_id}")                      # traces in here link to my-agent-v2.0
    # fmt: on

    (v1,) = _versions("my-agent-v1.0")
    (v2,) = _versions("my-agent-v2.0")
    _is_external_ready(v1)
    _is_external_ready(v2)
    assert isinstance(model, mlflow.ActiveModel)
    assert isinstance(model, mlflow.LoggedModel)
    assert model.model_id == v2.model_id
    assert model.name == "my-agent-v2.0"
    assert capsys.readouterr().out == f"Model ID: {v2.model_id}\n"
    # the with block restored the model made active before it
    assert mlflow.get_active_model_id() == v1.model_id

    mlflow.set_active_model(model_id=v2.model_id)  # "<an existing id>"
    assert mlflow.get_active_model_id() == v2.model_id
    assert len(_versions("my-agent-v2.0")) == 1  # by id: never creates


def test_set_active_model_by_name_twice_reuses_the_version() -> None:
    first = mlflow.set_active_model(name="my-agent-v1.0")
    second = mlflow.set_active_model(name="my-agent-v1.0")
    assert first.model_id == second.model_id
    assert len(_versions("my-agent-v1.0")) == 1
    assert mlflow.get_active_model_id() == first.model_id


def test_with_block_is_active_inside_and_restores_previous() -> None:
    outer = mlflow.set_active_model(name="my-agent-v1.0")
    with mlflow.set_active_model(name="my-agent-v2.0") as model:
        assert mlflow.get_active_model_id() == model.model_id
    assert mlflow.get_active_model_id() == outer.model_id


def test_create_external_model_with_a_name() -> None:
    model = mlflow.create_external_model(name="customer-support-agent-v1.0")

    _is_external_ready(model)
    assert model.name == "customer-support-agent-v1.0"
    assert model.params == {}
    assert model.metrics is None
    assert model.experiment_id == "0"
    assert mlflow.get_logged_model(model.model_id).name == "customer-support-agent-v1.0"


def test_create_external_model_with_params_tags_and_type() -> None:
    # fmt: off
    model = mlflow.create_external_model(
        name="recommendation-engine-v2.1", model_type="rag-agent",
        params={"llm_model": "gpt-4", "temperature": "0.7", "max_tokens": "1000", "retrieval_k": "5"},
        tags={"team": "ml-platform", "environment": "staging", "git_commit": "abc123def"})
    # fmt: on

    stored = mlflow.get_logged_model(model.model_id)
    _is_external_ready(stored)
    assert stored.name == "recommendation-engine-v2.1"
    assert stored.model_type == "rag-agent"
    assert stored.params == {
        "llm_model": "gpt-4",
        "temperature": "0.7",
        "max_tokens": "1000",
        "retrieval_k": "5",
    }
    for key, value in {"team": "ml-platform", "environment": "staging", "git_commit": "abc123def"}.items():
        assert stored.tags[key] == value
    assert stored.source_run_id is None
    hits = mlflow.search_logged_models(
        filter_string="params.llm_model = 'gpt-4' AND tags.team = 'ml-platform'", output_format="list"
    )
    assert [m.model_id for m in hits] == [model.model_id]


def test_create_external_model_inside_a_run() -> None:
    with mlflow.start_run() as run:
        model = mlflow.create_external_model(name="my-agent-v3.0", source_run_id=run.info.run_id)

    _is_external_ready(model)
    assert model.source_run_id == run.info.run_id
    assert model.experiment_id == run.info.experiment_id
    assert mlflow.get_run(run.info.run_id).info.status == "FINISHED"


def test_create_external_model_defaults_source_run_to_the_active_run() -> None:
    with mlflow.start_run() as run:
        model = mlflow.create_external_model(name="my-agent-v3.1")
    assert model.source_run_id == run.info.run_id


def _git(repo: Path, *args: str) -> str:
    return subprocess.check_output(
        [
            "git",
            "-c",
            "user.name=genver",
            "-c",
            "user.email=genver@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        text=True,
    ).strip()


def test_create_external_model_named_after_the_git_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "app"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "agent.py").write_text("print('hello')\n")
    _git(repo, "add", "agent.py")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    monkeypatch.chdir(repo)

    git_commit = subprocess.check_output(["git", "rev-parse", "HEAD"]).decode().strip()[:8]
    model = mlflow.create_external_model(name=f"my-app-git-{git_commit}", tags={"git_commit": git_commit})

    assert git_commit == head[:8]
    _is_external_ready(model)
    assert model.name == f"my-app-git-{head[:8]}"
    assert model.tags["git_commit"] == head[:8]
    # the context tags record the full commit and branch, as MLflow's do
    assert model.tags["mlflow.source.git.commit"] == head
    assert model.tags["mlflow.source.git.branch"] == "main"


def test_trace_links_to_the_active_model() -> None:
    # fmt: off
    mlflow.set_active_model(name="my-agent-v1.0")
    @mlflow.trace
    def process_request(query: str):
        return f"Processing: {query}"        # this trace is linked to my-agent-v1.0
    result = process_request("Hello world")
    # fmt: on

    assert result == "Processing: Hello world"
    (v1,) = _versions("my-agent-v1.0")
    traces = mlflow.search_traces(model_id=v1.model_id, return_type="list", flush=True)
    assert len(traces) == 1
    assert traces[0].info.trace_metadata["mlflow.modelId"] == v1.model_id
    assert traces[0].data.spans[0].inputs == {"query": "Hello world"}


def test_production_env_var_names_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # export MLFLOW_ACTIVE_MODEL_ID="my-agent-v1.0"
    monkeypatch.setenv("MLFLOW_ACTIVE_MODEL_ID", "my-agent-v1.0")

    model_id = mlflow.get_active_model_id()

    (v1,) = _versions("my-agent-v1.0")
    assert model_id == v1.model_id
    _is_external_ready(v1)


SECTION_1 = """\
import subprocess
import sys
import genver as mlflow

mlflow.set_active_model(name="my-agent-v1.0")                 # creates the version if missing
with mlflow.set_active_model(name="my-agent-v2.0") as model:  # ActiveModel, a LoggedModel
    print(f"Model ID: {model.model_id}")                      # traces in here link to my-agent-v2.0
mlflow.set_active_model(model_id="<an existing id>")

model = mlflow.create_external_model(name="customer-support-agent-v1.0")
model = mlflow.create_external_model(
    name="recommendation-engine-v2.1", model_type="rag-agent",
    params={"llm_model": "gpt-4", "temperature": "0.7", "max_tokens": "1000", "retrieval_k": "5"},
    tags={"team": "ml-platform", "environment": "staging", "git_commit": "abc123def"})
with mlflow.start_run() as run:
    model = mlflow.create_external_model(name="my-agent-v3.0", source_run_id=run.info.run_id)

git_commit = subprocess.check_output(["git", "rev-parse", "HEAD"]).decode().strip()[:8]
model = mlflow.create_external_model(name=f"my-app-git-{git_commit}", tags={"git_commit": git_commit})

mlflow.set_active_model(name="my-agent-v1.0")
@mlflow.trace
def process_request(query: str):
    return f"Processing: {query}"        # this trace is linked to my-agent-v1.0
result = process_request("Hello world")
"""


def test_section_1_runs_as_one_script_on_the_default_store(tmp_path: Path) -> None:
    """The examples as one program in a fresh interpreter, inside a git repository, with nothing
    configured: data lands in ./genver.db, and the trace is exported when the program exits."""
    repo = tmp_path / "app"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    script = SECTION_1.replace('"<an existing id>"', "model.model_id")

    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )

    g = Genver(tracking_uri=f"sqlite:///{repo}/genver.db", environ={})
    try:
        found = g.search_logged_models(output_format="list")
        assert isinstance(found, list)
        by_name = {m.name: m for m in found}
        traces = g.search_traces(model_id=by_name["my-agent-v1.0"].model_id, return_type="list")
        assert [t.data.spans[0].outputs for t in traces] == ["Processing: Hello world"]
    finally:
        g.client.close()
    assert sorted(by_name) == sorted(
        [
            "my-agent-v1.0",
            "my-agent-v2.0",
            "customer-support-agent-v1.0",
            "recommendation-engine-v2.1",
            "my-agent-v3.0",
            f"my-app-git-{head[:8]}",
        ]
    )
    assert out.stdout == f"Model ID: {by_name['my-agent-v2.0'].model_id}\n"
    for model in by_name.values():
        _is_external_ready(model)
    assert by_name["my-agent-v3.0"].source_run_id is not None
    assert by_name[f"my-app-git-{head[:8]}"].tags["mlflow.source.git.commit"] == head
