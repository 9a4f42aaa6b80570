"""A name several versions share resolves to the newest, and says so (issue 12, item 7): which
version was picked, when it was created and how to be explicit, as a warning of the ``genver``
logger (MLflow's ``set_active_model`` warns the same way), never an error. A unique name, an id
and the server's own lookups stay quiet."""

from __future__ import annotations

import logging
import time

import pytest

import genver
from genver import GenverClient
from genver.client.refs import find_model, resolve_models


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The ambiguity warnings (other genver warnings, e.g. from another test's background thread
    in the same worker, are not this test's)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "genver" and "More than one version" in r.getMessage()
    ]


def test_a_shared_name_resolves_to_the_newest_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    genver.create_external_model(name="bot")
    newest = genver.create_external_model(name="bot")
    caplog.set_level(logging.WARNING, logger="genver")

    genver.set_active_model(name="bot")

    assert genver.get_active_model_id() == newest.model_id
    (message,) = _warnings(caplog)
    assert "More than one version is named 'bot'" in message and newest.model_id in message
    assert "created 20" in message and "pass its model id" in message
    assert "genver models list --filter \"name = 'bot'\"" in message


def test_compare_and_the_cli_lookup_say_it_too(caplog: pytest.LogCaptureFixture) -> None:
    genver.create_external_model(name="bot")
    newest = genver.create_external_model(name="bot")
    other = genver.create_external_model(name="other")
    caplog.set_level(logging.WARNING, logger="genver")
    client = GenverClient(tracking_uri=genver.get_tracking_uri())

    found = resolve_models(client, ["bot", "other"], experiment_id="0")

    assert [m.model_id for m in found] == [newest.model_id, other.model_id]
    assert len(_warnings(caplog)) == 1  # "other" is unique: no warning for it


def test_unique_names_ids_and_server_lookups_stay_quiet(caplog: pytest.LogCaptureFixture) -> None:
    one = genver.create_external_model(name="solo")
    genver.create_external_model(name="twin")
    time.sleep(0.002)  # "the newest" is by creation time in ms: two in one ms tie (CI saw it)
    twin = genver.create_external_model(name="twin")
    caplog.set_level(logging.WARNING, logger="genver")
    client = GenverClient(tracking_uri=genver.get_tracking_uri())

    assert find_model(client, "solo", experiment_id="0") == one
    assert find_model(client, twin.model_id, experiment_id="0") == twin
    assert find_model(client, "twin", experiment_id="0", warn=False) == twin
    assert _warnings(caplog) == []


def test_a_name_with_quotes_is_looked_up_exactly(caplog: pytest.LogCaptureFixture) -> None:
    genver.create_external_model(name="it's \\ odd")
    genver.create_external_model(name="it's \\ odd")
    genver.create_external_model(name="it's")
    caplog.set_level(logging.WARNING, logger="genver")
    genver.set_active_model(name="it's")
    assert _warnings(caplog) == []  # the quote did not widen the lookup
    genver.set_active_model(name="it's \\ odd")
    assert len(_warnings(caplog)) == 1


def test_the_warning_is_given_once_per_version_and_again_for_a_newer_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    genver.create_external_model(name="loop-bot")
    newest = genver.create_external_model(name="loop-bot")
    caplog.set_level(logging.WARNING, logger="genver")

    for _ in range(3):  # a serving loop activating the same name: one warning, not three
        genver.set_active_model(name="loop-bot")
    assert len(_warnings(caplog)) == 1 and genver.get_active_model_id() == newest.model_id

    newer = genver.create_external_model(name="loop-bot")
    genver.set_active_model(name="loop-bot")
    warnings = _warnings(caplog)
    assert len(warnings) == 2 and newer.model_id in warnings[1]
