"""Version references (an id, a name, ``@alias``) are parsed and resolved in one place, and every
door that takes one behaves the same: an id or alias that matches nothing is a ``NotFoundError``
naming it, never a new version."""

from __future__ import annotations

import logging
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import genver
from genver import GenverClient
from genver.client.refs import ModelRef, parse_model_ref, resolve_model, resolve_models
from genver.exceptions import InvalidArgumentError, NotFoundError

MISSING_ID = "m-" + "0123456789abcdef" * 2


@given(st.text(min_size=1).filter(lambda s: s.strip()))
def test_every_non_blank_text_parses_and_prints_back(text: str) -> None:
    if text.startswith("@") and not text[1:].strip():
        with pytest.raises(InvalidArgumentError, match="after '@'"):
            parse_model_ref(text)
        return
    if text.startswith("@") and not re.fullmatch(r"@[A-Za-z0-9][A-Za-z0-9_.-]{0,254}", text):
        with pytest.raises(InvalidArgumentError, match="Invalid alias"):
            parse_model_ref(text)  # not an alias name: refused by value, never read as a name
        return
    if text.lower() == "@latest":
        with pytest.raises(InvalidArgumentError, match="reserved"):
            parse_model_ref(text)
        return
    ref = parse_model_ref(text)
    assert str(ref) == text
    assert (ref.kind == "alias") == text.startswith("@")
    assert (ref.kind == "id") == bool(re.fullmatch(r"m-[0-9a-f]{32}", text))
    assert parse_model_ref(ref) is ref


@pytest.mark.parametrize("bad", [None, "", "   ", 42, ["m-1"]])
def test_a_reference_that_is_not_text_is_refused_by_value(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match="Invalid version"):
        parse_model_ref(bad)


def test_kinds() -> None:
    assert parse_model_ref(MISSING_ID) == ModelRef("id", MISSING_ID)
    assert parse_model_ref("m-agent") == ModelRef("name", "m-agent")  # not id-shaped: a name
    assert parse_model_ref("M-" + "A" * 32).kind == "name"
    assert parse_model_ref("@production") == ModelRef("alias", "production")


def test_resolve_by_id_and_by_name_latest() -> None:
    client = GenverClient()
    old = client.create_logged_model("0", name="agent-v1")
    time.sleep(0.002)  # "the newest" by creation time: two made in one millisecond would tie
    new = client.create_logged_model("0", name="agent-v1")
    assert resolve_model(client, "agent-v1", experiment_id="0").model_id == new.model_id
    assert resolve_model(client, old.model_id, experiment_id="0").model_id == old.model_id


def test_unknown_names_are_listed_together_and_unknown_ids_name_the_store() -> None:
    client = GenverClient()
    client.create_logged_model("0", name="agent-v1")
    with pytest.raises(NotFoundError, match=r"'nope', 'gone'.*experiment '0'"):
        resolve_models(client, ["agent-v1", "nope", "gone"], experiment_id="0")
    with pytest.raises(NotFoundError, match=rf"{MISSING_ID}.*sqlite:///"):
        resolve_model(client, MISSING_ID, experiment_id="0")
    with pytest.raises(NotFoundError, match="@production"):
        resolve_model(client, "@production", experiment_id="0")


def test_an_id_shaped_env_value_that_matches_nothing_never_creates_a_version(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MLFLOW_ACTIVE_MODEL_ID", MISSING_ID)
    with pytest.raises(NotFoundError, match=rf"{MISSING_ID}.*sqlite:///.*t\.db"):
        genver.get_active_model_id()
    with pytest.raises(NotFoundError, match=MISSING_ID):  # remembered, asked again: same answer
        genver.get_active_model_id()

    @genver.trace
    def work() -> int:
        return 1

    with caplog.at_level(logging.WARNING, logger="genver"):
        assert work() == 1  # tracing never breaks the app over it
        genver.flush_trace_async_logging()
    (trace,) = genver.search_traces(return_type="list")
    assert trace.info.model_id is None
    assert genver.search_logged_models(output_format="list") == []


def test_an_env_name_is_still_created_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENVER_ACTIVE_MODEL_ID", "svc-v1.0")
    model_id = genver.get_active_model_id()
    assert model_id is not None and genver.get_logged_model(model_id).name == "svc-v1.0"


def test_an_alias_is_never_created() -> None:
    with pytest.raises(NotFoundError, match="@production"):
        genver.set_active_model(name="@production")
    with pytest.raises(InvalidArgumentError, match="cannot start with '@'"):
        genver.create_external_model(name="@production")
    assert genver.search_logged_models(output_format="list") == []


def test_cli_and_compare_use_the_same_resolver() -> None:
    from typer.testing import CliRunner

    from genver.cli import app

    uri = genver.get_tracking_uri()
    result = CliRunner().invoke(app, ["models", "show", MISSING_ID, "--tracking-uri", uri])
    assert result.exit_code == 1 and MISSING_ID in result.output
    with pytest.raises(NotFoundError, match=MISSING_ID):
        genver.genai.compare_models("a", MISSING_ID)


def test_an_alias_is_a_version_reference_wherever_one_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    v1 = genver.create_external_model(name="agent-v1", params={"llm": "small"})
    v2 = genver.create_external_model(name="agent-v2", params={"llm": "large"})
    genver.set_logged_model_alias(v1.model_id, "production")
    assert genver.get_logged_model_by_alias("@production").model_id == v1.model_id

    with genver.set_active_model(name="@production") as active:  # resolved, never created
        assert active.model_id == v1.model_id and active.aliases == ["production"]
    client = GenverClient()
    assert resolve_model(client, "@production", experiment_id="0").model_id == v1.model_id
    comparison = genver.genai.compare_models("@production", "agent-v2")
    assert [v.model_id for v in comparison.versions] == [v1.model_id, v2.model_id]
    assert [d.key for d in comparison.params] == ["llm"]

    genver.set_logged_model_alias(v2.model_id, "@production")
    assert genver.get_logged_model(v2.model_id).aliases == ["production"]
    assert genver.get_logged_model(v1.model_id).aliases == []
    history = genver.get_logged_model_history(v1.model_id)
    assert [e.kind for e in history][-2:] == ["alias_set", "alias_removed"]
    genver.delete_logged_model_alias("production")
    with pytest.raises(NotFoundError, match=r"'@production' in experiment '0'"):
        genver.set_active_model(name="@production")
    with pytest.raises(InvalidArgumentError, match="Invalid alias '@no good'"):
        genver.set_active_model(name="@no good")
    assert len(genver.search_logged_models(output_format="list")) == 2  # nothing created


@pytest.mark.parametrize("var", ["GENVER_ACTIVE_MODEL_ID", "MLFLOW_ACTIVE_MODEL_ID"])
def test_an_env_alias_is_resolved_once_at_first_use(monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    v1 = genver.create_external_model(name="svc-v1")
    v2 = genver.create_external_model(name="svc-v2")
    genver.set_logged_model_alias(v1.model_id, "production")
    monkeypatch.setenv(var, "@production")
    assert genver.get_active_model_id() == v1.model_id

    @genver.trace
    def work() -> int:
        return 1

    work()
    genver.set_logged_model_alias(v2.model_id, "production")  # moving it later changes nothing here
    assert genver.get_active_model_id() == v1.model_id
    genver.flush_trace_async_logging()
    (trace,) = genver.search_traces(return_type="list")
    assert trace.info.model_id == v1.model_id


def test_an_env_alias_that_does_not_exist_is_not_found_and_creates_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_ACTIVE_MODEL_ID", "@production")
    with pytest.raises(NotFoundError, match=r"'@production'.*sqlite:///"):
        genver.get_active_model_id()
    assert genver.search_logged_models(output_format="list") == []
