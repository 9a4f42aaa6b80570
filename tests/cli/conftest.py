"""CLI fixtures: a tracking URI in a clean environment, and one holding the quickstart's data."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from genver.cli import app


@pytest.fixture
def uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite URI; the working folder is ``tmp_path`` and no genver/MLflow variable is set."""
    monkeypatch.chdir(tmp_path)
    for var in (
        "GENVER_TRACKING_URI",
        "MLFLOW_TRACKING_URI",
        "GENVER_ACTIVE_MODEL_ID",
        "MLFLOW_ACTIVE_MODEL_ID",
    ):
        monkeypatch.delenv(var, raising=False)
    return f"sqlite:///{tmp_path}/cli.db"


@pytest.fixture
def quickstart_uri(uri: str) -> str:
    """``uri`` after ``genver quickstart``: three versions, 12 traces each, three evaluation runs."""
    result = CliRunner().invoke(app, ["quickstart", "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    return uri
