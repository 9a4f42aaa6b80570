"""Listing commands never cut or wrap an id or a name (issue 12, item 4): at 80 columns, in a
narrower terminal, and piped; every listing command has ``--format json``."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from genver.cli import app, tables

runner = CliRunner()
# each listing, and the ids it shows (a pattern over its JSON twin)
LISTINGS = [
    (["models", "list", "--experiment", "genver-quickstart"], r"m-[0-9a-f]{32}"),
    (["experiments", "list"], None),
    (["runs", "list", "--experiment", "genver-quickstart"], r'"run_id": "([0-9a-f]{32})"'),
    (["traces", "list", "--experiment", "genver-quickstart"], r"tr-[0-9a-f]{32}"),
    (["traces", "stats", "--experiment", "genver-quickstart"], None),
    (["models", "alias", "list", "--experiment", "genver-quickstart"], r"m-[0-9a-f]{32}"),
    (["models", "history", "--alias", "production", "--experiment", "genver-quickstart"], r"m-[0-9a-f]{32}"),
    (["models", "history", "faq-bot-v2.0", "--experiment", "genver-quickstart"], None),
]
NAMES = ("faq-bot-v1.0", "faq-bot-v1.1", "faq-bot-v2.0")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    uri = f"sqlite:///{tmp_path_factory.mktemp('tables')}/q.db"
    assert runner.invoke(app, ["quickstart", "--tracking-uri", uri]).exit_code == 0
    alias = ["models", "alias", "set", "faq-bot-v2.0", "production", "--experiment", "genver-quickstart"]
    assert runner.invoke(app, [*alias, "--tracking-uri", uri]).exit_code == 0
    return uri


def listing(store: str, args: list[str], width: int | None, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(tables, "terminal_width", lambda: width)
    result = runner.invoke(app, [*args, "--tracking-uri", store])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(
    ("args", "shown"), LISTINGS, ids=lambda a: " ".join(a[:2]) if isinstance(a, list) else ""
)
@pytest.mark.parametrize("width", [80, 60, 40, None], ids=["80", "60", "40", "piped"])
def test_ids_and_names_are_whole_at_any_width(
    store: str, args: list[str], shown: str | None, width: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = listing(store, args, width, monkeypatch)
    twin = runner.invoke(app, [*args, "--format", "json", "--tracking-uri", store]).output
    ids = set(re.findall(shown, twin)) if shown else set()
    assert all(i in out for i in ids), (ids, out)  # every id whole, on one line
    if args[0] in ("models", "traces"):
        assert all(n in out for n in NAMES if n in twin or args[1] == "stats"), out
    assert "…" not in "".join(re.findall(r"[0-9a-f-]{8,}…", out)), out  # no id cut short
    if width is not None:
        assert max(len(line) for line in out.splitlines()) <= width


def test_piped_output_is_not_cut_at_80_columns(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out = listing(store, LISTINGS[3][0], None, monkeypatch)
    assert '{"question":' in out and "…" not in out  # the request column is whole
    assert max(len(line) for line in out.splitlines()) > 80


def test_a_narrow_terminal_gets_one_record_per_row(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out = listing(store, LISTINGS[0][0], 40, monkeypatch)
    assert out.count("model id:\n  m-") == 3 and "name: faq-bot-v2.0" in out  # the id on a line of its own


@pytest.mark.parametrize("args", [a for a, _ in LISTINGS], ids=lambda a: " ".join(a[:2]))
def test_every_listing_has_json(store: str, args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--format", "json", "--tracking-uri", store])
    assert result.exit_code == 0 and isinstance(json.loads(result.output), list)
