"""The ``genver`` command line, run in-process on a fresh SQLite file."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from genver.cli import app

runner = CliRunner()


def test_quickstart_creates_three_compared_versions(uri: str) -> None:
    result = runner.invoke(app, ["quickstart", "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    assert "faq-bot-v1.0" in result.output and "faq-bot-v2.0" in result.output
    assert "Best: faq-bot-v2.0" in result.output
    assert "Comparison of faq-bot-v1.1 (baseline) and faq-bot-v2.0" in result.output

    listed = runner.invoke(
        app,
        ["models", "list", "--experiment", "genver-quickstart", "--format", "json", "--tracking-uri", uri],
    )
    assert listed.exit_code == 0, listed.output
    models = json.loads(listed.output)
    assert sorted(m["name"] for m in models) == ["faq-bot-v1.0", "faq-bot-v1.1", "faq-bot-v2.0"]
    for m in models:
        assert m["status"] == "READY"
        assert set(m["params"]) == {"matcher", "normalize", "min_overlap", "llm_model"}
        assert "git_commit" in m["tags"]
        keys = {x["key"] for x in m["metrics"]}
        assert keys == {"exact_match/mean", "answered/mean"}
        assert {x["dataset_name"] for x in m["metrics"]} == {"faq-questions"}
    accuracy = {
        m["name"]: next(x["value"] for x in m["metrics"] if x["key"] == "exact_match/mean") for m in models
    }
    assert accuracy["faq-bot-v2.0"] > accuracy["faq-bot-v1.1"] > accuracy["faq-bot-v1.0"]


def test_quickstart_twice_reuses_the_versions(uri: str) -> None:
    assert runner.invoke(app, ["quickstart", "--tracking-uri", uri]).exit_code == 0
    assert runner.invoke(app, ["quickstart", "--tracking-uri", uri]).exit_code == 0
    listed = runner.invoke(
        app,
        ["models", "list", "--experiment", "genver-quickstart", "--format", "json", "--tracking-uri", uri],
    )
    assert len(json.loads(listed.output)) == 3


def test_models_show_by_name_and_id(uri: str) -> None:
    runner.invoke(app, ["quickstart", "--tracking-uri", uri])
    by_name = runner.invoke(
        app,
        [
            "models",
            "show",
            "faq-bot-v1.1",
            "--experiment",
            "genver-quickstart",
            "--format",
            "json",
            "--tracking-uri",
            uri,
        ],
    )
    assert by_name.exit_code == 0, by_name.output
    model = json.loads(by_name.output)
    assert model["name"] == "faq-bot-v1.1"
    by_id = runner.invoke(app, ["models", "show", model["model_id"], "--tracking-uri", uri])
    assert by_id.exit_code == 0
    assert "faq-bot-v1.1" in by_id.output and "param matcher" in by_id.output


def test_models_show_unknown_exits_1(uri: str) -> None:
    result = runner.invoke(app, ["models", "show", "nope", "--tracking-uri", uri])
    assert result.exit_code == 1
    assert "No version 'nope'" in result.output


def test_models_list_filter(uri: str) -> None:
    runner.invoke(app, ["quickstart", "--tracking-uri", uri])
    result = runner.invoke(
        app,
        [
            "models",
            "list",
            "--experiment",
            "genver-quickstart",
            "--filter",
            "params.matcher = 'overlap'",
            "--format",
            "json",
            "--tracking-uri",
            uri,
        ],
    )
    assert sorted(m["name"] for m in json.loads(result.output)) == ["faq-bot-v1.1", "faq-bot-v2.0"]


def test_experiments_list_and_db_upgrade(uri: str) -> None:
    from genver.store.sql.migrate import head_revision

    upgraded = runner.invoke(app, ["db", "upgrade", uri])
    assert upgraded.exit_code == 0
    assert "Upgraded" in upgraded.output and head_revision() in upgraded.output
    again = runner.invoke(app, ["db", "upgrade", uri])
    assert f"already at revision {head_revision()}" in again.output
    listed = runner.invoke(app, ["experiments", "list", "--format", "json", "--tracking-uri", uri])
    assert json.loads(listed.output) == [{"experiment_id": "0", "name": "Default"}]


def test_bad_filter_is_a_clean_error(uri: str) -> None:
    from genver.exceptions import InvalidFilterError

    result = runner.invoke(app, ["models", "list", "--filter", "name = ", "--tracking-uri", uri])
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidFilterError)


def test_quickstart_ends_with_the_ui_page_that_shows_its_comparison(uri: str) -> None:
    from genver.server.app import create_app
    from genver.store.sql.store import SqlStore
    from tests.server.conftest import asgi_client

    result = runner.invoke(app, ["quickstart", "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    assert f"genver ui --backend-store-uri {uri}" in result.output
    page = re.search(r"http://127\.0\.0\.1:5000(/compare\?\S+)", result.output)
    assert page is not None
    store = SqlStore(uri)
    try:
        with asgi_client(create_app(store)) as client:
            shown = client.get(page.group(1))
            assert shown.status_code == 200 and "faq-bot-v1.1" in shown.text and "faq-bot-v2.0" in shown.text
    finally:
        store.close()
