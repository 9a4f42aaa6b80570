"""Aliases and history in the web UI: the versions list shows each version's aliases, the version
page its aliases and its history (newest first), and a version is reached by ``@alias`` with the
``experiment`` it is in; the compare page takes ``@alias`` too."""

from __future__ import annotations

import html
from urllib.parse import urlencode

from fastapi.testclient import TestClient

from genver.store.actor import acting_as
from genver.store.sql.store import SqlStore
from tests.server.test_ui_pages import rows


def test_the_versions_list_and_the_version_page_show_aliases_and_history(
    client: TestClient, sql_store: SqlStore
) -> None:
    exp = sql_store.create_experiment("shop")
    with acting_as("ana"):
        v1 = sql_store.create_logged_model(experiment_id=exp, name="agent-v1", params={"llm": "a"})
        v2 = sql_store.create_logged_model(experiment_id=exp, name="agent-v2", params={"llm": "b"})
        sql_store.set_logged_model_alias(v1.model_id, "production")
        sql_store.set_logged_model_tags(v1.model_id, {"env": "<prod>"})
        sql_store.set_logged_model_alias(v2.model_id, "production")

    page = client.get(f"/versions?experiment={exp}").text
    assert page.count('data-alias="production"') == 1
    assert (
        f'<a href="/versions/{v2.model_id}">agent-v2</a> <span class="alias" data-alias="production">' in page
    )

    page = client.get(f"/versions/{v1.model_id}").text
    ids, _ = rows(page, "history")
    entries = sql_store.get_logged_model_history(v1.model_id)
    assert ids == [str(e.seq) for e in reversed(list(entries))]  # newest first
    assert "@production moved to " + v2.model_id in page
    assert "tag env: (none) → &#39;&lt;prod&gt;&#39;" in page and "<prod>" not in page  # escaped
    assert "<td>ana</td>" in page

    by_alias = client.get(f"/versions/@production?experiment={exp}")
    assert by_alias.status_code == 200 and f'<small class="mono">{v2.model_id}</small>' in by_alias.text
    by_name = client.get("/versions/@production?" + urlencode({"experiment": "shop"}))
    assert by_name.status_code == 200 and v2.model_id in by_name.text
    missing = client.get(f"/versions/@canary?experiment={exp}")
    assert missing.status_code == 404 and "@canary" in missing.text
    bad = client.get(f"/versions/@no%20spaces?experiment={exp}")
    assert bad.status_code == 400 and "Invalid alias" in html.unescape(bad.text)

    compared = client.get(
        "/compare?" + urlencode([("version", "@production"), ("version", v1.model_id), ("experiment", exp)])
    )
    assert compared.status_code == 200 and "agent-v2" in compared.text and "agent-v1" in compared.text


def test_the_json_twins_answer_for_aliases_and_history(client: TestClient, sql_store: SqlStore) -> None:
    v1 = sql_store.create_logged_model(experiment_id="0", name="agent-v1")
    sql_store.set_logged_model_alias(v1.model_id, "production")
    assert client.get("/api/v1/models/@production").json()["model_id"] == v1.model_id
    assert client.get("/api/v1/models/@production?experiment=Default").json()["aliases"] == ["production"]
    assert client.get("/api/v1/aliases/production").json()["model_id"] == v1.model_id
    assert [a["alias"] for a in client.get("/api/v1/aliases").json()["aliases"]] == ["production"]
    newest = client.get(f"/api/v1/models/{v1.model_id}/history?newest_first=true&max_results=1").json()
    assert [e["kind"] for e in newest["entries"]] == ["alias_set"] and newest["next_page_token"]
    nope = client.get("/api/v1/aliases/production?experiment=nope")
    assert nope.status_code == 404 and "'nope'" in nope.json()["message"]
    assert client.get("/api/v1/history/head").json()["count"] == 2
