"""``genver prompts list|show|diff|alias set``."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from genver.cli import app
from genver.client import GenverClient
from genver.store.sql.store import SqlStore


def test_list_show_diff_and_alias(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/t.db"
    client = GenverClient(store=SqlStore(uri))
    client.register_prompt("qa", "Hello {{name}}.\nBe brief.", commit_message="first")
    client.register_prompt("qa", [{"role": "system", "content": "Hello {{name}}."}], commit_message="chat")
    client.close()
    run = CliRunner()
    alias = run.invoke(app, ["prompts", "alias", "set", "qa", "production", "1", "--tracking-uri", uri])
    assert alias.exit_code == 0, alias.output
    listed = run.invoke(app, ["prompts", "list", "--tracking-uri", uri])
    assert listed.exit_code == 0 and "qa" in listed.output and "@production→1" in listed.output
    shown = run.invoke(app, ["prompts", "show", "qa@production", "--tracking-uri", uri])
    assert shown.exit_code == 0 and "prompts:/qa/1" in shown.output and "Be brief." in shown.output
    diff = run.invoke(app, ["prompts", "diff", "qa/1", "qa@latest", "--tracking-uri", uri])
    assert diff.exit_code == 0, diff.output
    assert "-Hello {{name}}." in diff.output and "+system: Hello {{name}}." in diff.output
    missing = run.invoke(app, ["prompts", "show", "qa/9", "--tracking-uri", uri])
    assert missing.exit_code != 0 and "no version 9" in str(missing.exception or missing.output)
