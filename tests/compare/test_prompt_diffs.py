"""Two app versions that used different versions of a prompt: ``compare_models``, the CLI, the
server's compare endpoint and the compare page show exactly the changed prompt lines."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from genver.cli import app as cli_app
from genver.client import GenverClient
from genver.compare.core import compare_models
from genver.server.app import create_app
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore

V1 = "You are a support agent.\nAnswer {{question}}.\nBe polite."
V2 = "You are a support agent.\nAnswer {{question}} in one sentence.\nBe polite."


def _two_versions(client: GenverClient) -> tuple[str, str]:
    client.register_prompt("support", V1)
    client.register_prompt("support", V2)
    client.register_prompt("same", "unchanged {{x}}")
    a = client.create_logged_model("0", name="agent-v1")
    b = client.create_logged_model("0", name="agent-v2")
    client.link_prompt_versions_to_model(a.model_id, ["prompts:/support/1", "prompts:/same/1"])
    client.link_prompt_versions_to_model(b.model_id, ["prompts:/support/2", "prompts:/same/1"])
    return a.model_id, b.model_id


def _changed(lines: tuple[str, ...]) -> list[str]:
    return [x for x in lines if x[:1] in "+-" and not x.startswith(("+++", "---"))]


def test_compare_models_diffs_exactly_the_changed_lines(tmp_path: Path) -> None:
    client = GenverClient(store=SqlStore(f"sqlite:///{tmp_path}/t.db"))
    a, b = _two_versions(client)
    (pd,) = compare_models(client, a, b, code_diffs=False).prompt_diffs
    assert (pd.name, pd.base_version, pd.version, pd.model_id) == ("support", 1, 2, b)
    assert _changed(pd.diff) == ["-Answer {{question}}.", "+Answer {{question}} in one sentence."]
    assert pd.diff[:2] == ("--- prompts:/support/1", "+++ prompts:/support/2")

    client.delete_prompt_version("support", 1)  # a deleted version still shows in comparisons
    (again,) = compare_models(client, a, b, code_diffs=False).prompt_diffs
    assert again.diff == pd.diff
    client.close()


def test_the_server_cli_and_page_show_the_same_diff(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    sql = SqlStore(f"sqlite:///{tmp_path}/t.db")
    app = create_app(sql)
    with TestClient(app) as http:
        remote = GenverClient(store=RestStore(http_client=http, sleep=lambda _: None))
        a, b = _two_versions(remote)
        (pd,) = compare_models(remote, a, b, code_diffs=False).prompt_diffs
        assert _changed(pd.diff) == ["-Answer {{question}}.", "+Answer {{question}} in one sentence."]
        page = http.get("/compare", params=[("version", a), ("version", b)])
        assert page.status_code == 200, page.text
        assert "Prompts that differ" in page.text and "+Answer {{question}} in one sentence." in page.text
    result = CliRunner().invoke(
        cli_app, ["models", "compare", a, b, "--tracking-uri", f"sqlite:///{tmp_path}/t.db"]
    )
    assert result.exit_code == 0, result.output
    assert "+Answer {{question}} in one sentence." in result.output and "prompt support" in result.output
    sql.close()


def test_the_markdown_for_a_pull_request_shows_the_diff(tmp_path: Path) -> None:
    client = GenverClient(store=SqlStore(f"sqlite:///{tmp_path}/t.db"))
    a, b = _two_versions(client)
    client.register_prompt("fenced", "Reply in JSON:\n```json\n{}\n```")
    client.register_prompt("fenced", "Reply in YAML:\n```yaml\n{}\n```")
    client.link_prompt_versions_to_model(a, ["prompts:/fenced/1"])
    client.link_prompt_versions_to_model(b, ["prompts:/fenced/2"])
    md = compare_models(client, a, b, code_diffs=False).to_markdown()
    assert "#### Prompts that differ" in md
    assert "prompt <code>support</code> 1 → 2 in agent-v2" in md
    block = md.split("prompt <code>support</code>")[1].split("</details>")[0]
    assert "```diff\n--- prompts:/support/1\n+++ prompts:/support/2\n" in block
    assert "\n-Answer {{question}}.\n+Answer {{question}} in one sentence.\n" in block
    fenced = md.split("prompt <code>fenced</code>")[1].split("</details>")[0]
    assert "````diff\n" in fenced and fenced.rstrip().endswith("````")  # the prompt's ``` cannot close it
    result = CliRunner().invoke(
        cli_app,
        ["models", "compare", a, b, "--format", "markdown", "--tracking-uri", f"sqlite:///{tmp_path}/t.db"],
    )
    assert result.exit_code == 0, result.output
    assert "+Answer {{question}} in one sentence." in result.output
    client.close()
