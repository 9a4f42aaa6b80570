"""SPEC section 2: where genver deliberately differs from MLflow 3.17, row by row.

(The "active model across threads" row has its own module, ``test_active_model_context.py``.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import genver
import genver.store
from genver import LoggedModelStatus
from genver.exceptions import GenverError, InvalidArgumentError, MlflowException, NotFoundError
from genver.fluent import Genver
from genver.search.parser import quote

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/x"


def _all_models(g: Any = genver) -> list[genver.LoggedModel]:
    found = g.search_logged_models(output_format="list")
    assert isinstance(found, list)
    return found


def _names(g: Any = genver) -> list[str]:
    return sorted(m.name for m in _all_models(g))


# -- version names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "my-agent-v1.0",
        "app-v1.2.3",
        "rag/v2:beta",
        "50%-rollout",
        'it\'s "v1.0"',
        "back\\slash",
        "ünïcode-v1",
    ],
)
def test_semver_and_punctuated_names_are_accepted(name: str) -> None:
    created = genver.create_external_model(name=name)
    assert created.name == name

    # filter strings can still match any name: quotes and backslashes are escaped
    hits = genver.search_logged_models(filter_string=f"name = {quote(name)}", output_format="list")
    assert [m.model_id for m in hits] == [created.model_id]
    # set_active_model(name=...) finds it rather than creating another
    assert genver.set_active_model(name=name).model_id == created.model_id
    assert len(_all_models()) == 1


def test_initialize_logged_model_accepts_semver_names() -> None:
    model = genver.initialize_logged_model(name="app-v1.2.3")
    assert model.name == "app-v1.2.3"
    assert model.status == LoggedModelStatus.PENDING


BAD_NAMES = [
    pytest.param("", id="empty"),
    pytest.param("   ", id="spaces"),
    pytest.param("\t \n", id="whitespace"),
    pytest.param("agent\nv1", id="newline"),
    pytest.param("agent\tv1", id="tab"),
    pytest.param("agent\x00v1", id="nul"),
    pytest.param("agent\x7fv1", id="del"),
    pytest.param("x" * 257, id="257-chars"),
]
CREATORS: dict[str, Callable[[str], object]] = {
    "create_external_model": lambda name: genver.create_external_model(name=name),
    "initialize_logged_model": lambda name: genver.initialize_logged_model(name=name),
    "set_active_model": lambda name: genver.set_active_model(name=name),
}


@pytest.mark.parametrize("creator", sorted(CREATORS))
@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_rejected_naming_the_value(creator: str, name: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        CREATORS[creator](name)

    shown = repr(name) if len(name) <= 256 else repr(name[:40])
    assert shown in str(info.value)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert _all_models() == []
    assert genver.get_active_model_id() is None


def test_a_256_character_name_is_accepted() -> None:
    assert genver.create_external_model(name="v" * 256).name == "v" * 256


# -- non-string params --------------------------------------------------------------------------------

BAD_PARAMS = {"llm_model": "gpt-4", "temperature": 0.7, "max_tokens": 1000, "stream": True, "stop": None}
BAD_ENTRIES = {"temperature": 0.7, "max_tokens": 1000, "stream": True, "stop": None}


def _check_params_error(exc: BaseException) -> None:
    assert isinstance(exc, InvalidArgumentError)
    assert isinstance(exc, GenverError)
    assert isinstance(exc, MlflowException)
    assert isinstance(exc, ValueError)
    assert exc.error_code == "INVALID_PARAMETER_VALUE"
    message = str(exc)
    assert "must be strings" in message
    for key, value in BAD_ENTRIES.items():
        assert f"{key!r}: {value!r} ({type(value).__name__})" in message
    assert "'llm_model'" not in message  # the good entry is not listed
    assert "'temperature': '0.7'" in message  # the fix
    assert "'max_tokens': '1000'" in message


@pytest.mark.parametrize("creator", ["create_external_model", "initialize_logged_model"])
def test_non_string_params_are_rejected_on_create(creator: str) -> None:
    before = _all_models()

    with pytest.raises(MlflowException) as info:
        getattr(genver, creator)(name="agent-v1.0", params=BAD_PARAMS)

    _check_params_error(info.value)
    assert _all_models() == before == []
    assert genver.last_logged_model() is None


def test_non_string_params_are_rejected_inside_a_run_and_nothing_is_stored() -> None:
    with genver.start_run(), pytest.raises(InvalidArgumentError) as info:
        genver.create_external_model(name="agent-v1.0", params=BAD_PARAMS)
    _check_params_error(info.value)
    assert _all_models() == []


def test_non_string_params_are_rejected_by_log_model_params() -> None:
    model = genver.create_external_model(name="agent-v1.0", params={"llm_model": "gpt-4"})

    with pytest.raises(ValueError) as info:
        genver.log_model_params({**BAD_PARAMS, "llm_model": "ignored", "new": "ok"}, model_id=model.model_id)

    _check_params_error(info.value)
    assert genver.get_logged_model(model.model_id).params == {"llm_model": "gpt-4"}


def test_log_model_params_defaults_to_the_active_model_and_rejects_non_strings() -> None:
    with genver.set_active_model(name="agent-v1.0") as model:
        with pytest.raises(InvalidArgumentError) as info:
            genver.log_model_params({"temperature": 0.7, "max_tokens": 1000, "stream": True, "stop": None})
        _check_params_error(info.value)
        genver.log_model_params({"temperature": "0.7"})
    assert genver.get_logged_model(model.model_id).params == {"temperature": "0.7"}


def test_non_string_params_are_rejected_by_the_client() -> None:
    client = genver.GenverClient()
    try:
        with pytest.raises(InvalidArgumentError) as info:
            client.create_logged_model("0", name="agent-v1.0", params=BAD_PARAMS)  # type: ignore[arg-type]
        _check_params_error(info.value)
    finally:
        client.close()
    assert _all_models() == []


# -- FAILED_REGISTRATION --------------------------------------------------------------------------------


def test_status_has_mlflows_members_plus_failed_registration() -> None:
    assert [s.value for s in LoggedModelStatus] == [
        "UNSPECIFIED",
        "PENDING",
        "READY",
        "FAILED",
        "FAILED_REGISTRATION",
    ]
    assert LoggedModelStatus.FAILED_REGISTRATION.is_finalized()


@pytest.mark.parametrize("status", ["FAILED_REGISTRATION", LoggedModelStatus.FAILED_REGISTRATION])
def test_finalize_logged_model_to_failed_registration(status: Any) -> None:
    model = genver.initialize_logged_model(name="agent-v1.0")

    finalized = genver.finalize_logged_model(model.model_id, status)

    assert finalized.status == LoggedModelStatus.FAILED_REGISTRATION
    assert finalized.status == "FAILED_REGISTRATION"
    stored = genver.get_logged_model(model.model_id)
    assert stored.status == LoggedModelStatus.FAILED_REGISTRATION
    assert stored.last_updated_timestamp >= model.last_updated_timestamp
    hits = genver.search_logged_models(filter_string="status = 'FAILED_REGISTRATION'", output_format="list")
    assert [m.model_id for m in hits] == [model.model_id]
    frame = genver.search_logged_models()
    assert frame["status"].tolist() == ["FAILED_REGISTRATION"]


# -- delete_logged_model at module level -------------------------------------------------------------------


def test_delete_logged_model_is_a_module_level_function() -> None:
    keep = genver.create_external_model(name="agent-v1.0")
    gone = genver.create_external_model(name="agent-v2.0")

    assert genver.delete_logged_model(gone.model_id) is None

    with pytest.raises(NotFoundError) as info:
        genver.get_logged_model(gone.model_id)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert repr(gone.model_id) in str(info.value)
    assert [m.model_id for m in _all_models()] == [keep.model_id]
    # a deleted name no longer counts: set_active_model creates a fresh version
    assert genver.set_active_model(name="agent-v2.0").model_id not in (gone.model_id, keep.model_id)


# -- GENVER_ACTIVE_MODEL_ID / MLFLOW_ACTIVE_MODEL_ID -----------------------------------------------------


@pytest.mark.parametrize(
    "var", ["GENVER_ACTIVE_MODEL_ID", "MLFLOW_ACTIVE_MODEL_ID", "_MLFLOW_ACTIVE_MODEL_ID"]
)
def test_env_var_holding_an_id_gives_that_model(var: str, make_genver: Callable[..., Genver]) -> None:
    environ: dict[str, str] = {}
    g = make_genver(environ)
    model = g.create_external_model(name="agent-v1.0")
    environ[var] = model.model_id

    assert g.get_active_model_id() == model.model_id
    assert g.active_model_id_for_tracing() == model.model_id
    assert len(_all_models(g)) == 1


@pytest.mark.parametrize("var", ["GENVER_ACTIVE_MODEL_ID", "MLFLOW_ACTIVE_MODEL_ID"])
def test_env_var_holding_a_name_creates_the_version_once(
    var: str, make_genver: Callable[..., Genver]
) -> None:
    g = make_genver({var: "my-agent-v1.0"})

    first = g.get_active_model_id()
    second = g.get_active_model_id()

    (model,) = _all_models(g)
    assert first == second == model.model_id
    assert model.name == "my-agent-v1.0"
    assert model.status == LoggedModelStatus.READY
    assert model.tags["mlflow.model.isExternal"] == "true"


def test_env_var_holding_a_name_takes_the_latest_version(make_genver: Callable[..., Genver]) -> None:
    environ: dict[str, str] = {}
    g = make_genver(environ)
    g.create_external_model(name="my-agent-v1.0")
    time.sleep(0.005)  # distinct creation timestamps, so "latest" is well defined
    latest = g.create_external_model(name="my-agent-v1.0")
    environ["MLFLOW_ACTIVE_MODEL_ID"] = "my-agent-v1.0"

    assert g.get_active_model_id() == latest.model_id
    assert len(_all_models(g)) == 2


def test_env_var_name_is_resolved_in_the_active_experiment(make_genver: Callable[..., Genver]) -> None:
    environ: dict[str, str] = {}
    g = make_genver(environ)
    in_default = g.create_external_model(name="my-agent-v1.0")
    exp = g.set_experiment("prod")
    environ["MLFLOW_ACTIVE_MODEL_ID"] = "my-agent-v1.0"

    resolved = g.get_active_model_id()

    assert resolved is not None and resolved != in_default.model_id
    assert g.get_logged_model(resolved).experiment_id == exp.experiment_id


def test_env_var_name_resolves_in_the_experiment_named_by_env(make_genver: Callable[..., Genver]) -> None:
    g = make_genver({"MLFLOW_ACTIVE_MODEL_ID": "my-agent-v1.0", "MLFLOW_EXPERIMENT_NAME": "serving"})

    resolved = g.get_active_model_id()

    exp = g.get_experiment_by_name("serving")
    assert exp is not None and resolved is not None
    assert g.get_logged_model(resolved).experiment_id == exp.experiment_id


def test_genver_env_var_wins_over_mlflow(make_genver: Callable[..., Genver]) -> None:
    g = make_genver({"GENVER_ACTIVE_MODEL_ID": "genver-v1.0", "MLFLOW_ACTIVE_MODEL_ID": "mlflow-v1.0"})

    resolved = g.get_active_model_id()

    assert resolved is not None
    assert g.get_logged_model(resolved).name == "genver-v1.0"
    assert _names(g) == ["genver-v1.0"]


def test_set_active_model_wins_over_the_env_var_and_the_block_restores_it(
    make_genver: Callable[..., Genver],
) -> None:
    g = make_genver({"MLFLOW_ACTIVE_MODEL_ID": "env-v1.0"})
    env_id = g.get_active_model_id()

    with g.set_active_model(name="code-v1.0") as model:
        assert g.get_active_model_id() == model.model_id
    assert g.get_active_model_id() == env_id
    g.set_active_model(name="code-v1.0")
    assert g.get_active_model_id() == model.model_id


def test_clear_active_model_removes_the_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENVER_ACTIVE_MODEL_ID", "genver-v1.0")
    monkeypatch.setenv("MLFLOW_ACTIVE_MODEL_ID", "mlflow-v1.0")
    monkeypatch.setenv("_MLFLOW_ACTIVE_MODEL_ID", "legacy-v1.0")
    assert genver.get_active_model_id() is not None

    genver.clear_active_model()

    for var in ("GENVER_ACTIVE_MODEL_ID", "MLFLOW_ACTIVE_MODEL_ID", "_MLFLOW_ACTIVE_MODEL_ID"):
        assert var not in os.environ
    assert genver.get_active_model_id() is None
    genver.clear_active_model()  # twice is harmless
    assert genver.get_active_model_id() is None


def test_unresolvable_env_var_returns_none_and_resolves_later(
    tmp_path: Path,
    make_genver: Callable[..., Genver],
    monkeypatch: pytest.MonkeyPatch,
    no_retry_sleep: None,
) -> None:
    opened: list[str] = []
    real_store_for_uri = genver.store.store_for_uri

    def counting_store_for_uri(uri: str, **kwargs: Any) -> Any:
        opened.append(uri)
        return real_store_for_uri(uri, **kwargs)

    monkeypatch.setattr(genver.store, "store_for_uri", counting_store_for_uri)
    g = make_genver({"MLFLOW_ACTIVE_MODEL_ID": "my-agent-v1.0"}, tracking_uri=UNREACHABLE)

    assert g.get_active_model_id() is None  # no exception reaches the app
    assert g.active_model_id_for_tracing() is None
    assert opened == [UNREACHABLE]  # the second call did not hammer the dead store

    g.set_tracking_uri(f"sqlite:///{tmp_path}/later.db")  # the store works now
    resolved = g.get_active_model_id()

    assert resolved is not None
    assert g.get_logged_model(resolved).name == "my-agent-v1.0"
    assert g.get_active_model_id() == resolved


def test_env_var_name_is_resolved_in_a_child_process(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/child.db"
    code = "import genver as mlflow; print(mlflow.get_active_model_id())"
    env = {**os.environ, "MLFLOW_ACTIVE_MODEL_ID": "my-agent-v1.0", "GENVER_TRACKING_URI": uri}

    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
    )

    printed = out.stdout.strip()
    parent = Genver(tracking_uri=uri, environ={})
    try:
        (model,) = _all_models(parent)
        assert model.name == "my-agent-v1.0"
        assert model.status == LoggedModelStatus.READY
        assert printed == model.model_id
    finally:
        parent.client.close()


def test_env_var_name_resolved_by_many_threads_creates_one_version(
    make_genver: Callable[..., Genver],
) -> None:
    g = make_genver({"MLFLOW_ACTIVE_MODEL_ID": "my-agent-v1.0"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = set(pool.map(lambda _: g.get_active_model_id(), range(16)))

    (model,) = _all_models(g)
    assert seen == {model.model_id}


def test_env_var_name_resolved_by_several_processes_creates_one_version(tmp_path: Path) -> None:
    """Several workers (think gunicorn) start at once with the same env var and database."""
    uri = f"sqlite:///{tmp_path}/shared.db"
    Genver(tracking_uri=uri, environ={}).client.close()  # create the schema once, up front
    env = {**os.environ, "MLFLOW_ACTIVE_MODEL_ID": "my-agent-v1.0", "GENVER_TRACKING_URI": uri}
    code = "import genver; print(genver.get_active_model_id())"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    printed = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert [p.returncode for p in procs] == [0] * 4

    parent = Genver(tracking_uri=uri, environ={})
    try:
        (model,) = _all_models(parent)
    finally:
        parent.client.close()
    assert printed == {model.model_id}
