"""``genver models alias set|rm|list``, ``genver models history`` (a version's, an alias's, and
``--alias X --at T``) and ``genver audit verify|head``."""

from __future__ import annotations

import json

import sqlalchemy as sa
from typer.testing import CliRunner

from genver.cli import app
from genver.store.actor import acting_as
from genver.store.sql.store import SqlStore
from tests.store._helpers import ticking_clock

runner = CliRunner()


def cli(uri: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--tracking-uri", uri])
    return result.exit_code, result.output


def _versions(uri: str) -> tuple[SqlStore, list[str]]:
    """Three versions, moved through @production a minute apart (a deterministic clock)."""
    store = SqlStore(uri, clock=ticking_clock(1_800_000_000_000, 60_000))
    tags = [
        {"git_commit": "aaaa111", "env": "prod"},
        {"git_commit": "bbbb222", "env": "prod"},
        {"git_commit": "cccc333"},
    ]
    ids = [
        store.create_logged_model(
            experiment_id="0", name=f"agent-v{i + 1}", params={"llm": f"m{i}"}, tags=tags[i]
        ).model_id
        for i in range(3)
    ]
    return store, ids


def test_alias_set_list_and_rm(uri: str) -> None:
    store, (v1, v2, _) = _versions(uri)
    code, out = cli(uri, "models", "alias", "set", "agent-v1", "production")
    assert code == 0 and f"@production → agent-v1 ({v1})" in out
    assert cli(uri, "models", "alias", "set", v2, "@canary")[0] == 0
    code, out = cli(uri, "models", "alias", "list", "--format", "json")
    listed = json.loads(out)
    assert [(a["alias"], a["name"], a["model_id"]) for a in listed] == [
        ("canary", "agent-v2", v2),
        ("production", "agent-v1", v1),
    ]
    code, out = cli(uri, "models", "alias", "list")
    assert code == 0 and "@production" in out and v1 in out
    code, out = cli(uri, "models", "list", "--format", "json")
    assert {m["name"]: m["aliases"] for m in json.loads(out)}["agent-v1"] == ["production"]
    code, out = cli(uri, "models", "show", "@production")
    assert code == 0 and "agent-v1" in out and "@production" in out
    assert cli(uri, "models", "alias", "rm", "canary")[0] == 0
    result = runner.invoke(app, ["models", "alias", "rm", "canary", "--tracking-uri", uri])
    assert result.exit_code == 1 and "@canary" in str(result.exception)
    result = runner.invoke(app, ["models", "alias", "set", "agent-v1", "not ok", "--tracking-uri", uri])
    assert result.exit_code == 1 and "Invalid alias 'not ok'" in str(result.exception)
    store.close()


def test_a_version_s_history(uri: str) -> None:
    store, (v1, _, _) = _versions(uri)
    with acting_as("ana"):
        store.set_logged_model_tags(v1, {"env": "staging"})
        store.set_logged_model_alias(v1, "production")
    code, out = cli(uri, "models", "history", "agent-v1", "--format", "json")
    entries = json.loads(out)
    assert [e["kind"] for e in entries] == ["created", "tags_set", "alias_set"]
    assert entries[1]["actor"] == "ana" and entries[1]["before"] == {"env": "prod"}
    code, out = cli(uri, "models", "history", "@production")
    assert code == 0 and "tag env: 'prod' → 'staging'" in out and "ana" in out
    store.update_logged_model(v1, deleted=True)  # by id, a deleted version's history still shows
    code, out = cli(uri, "models", "history", v1, "--format", "json")
    assert [e["kind"] for e in json.loads(out)][-1] == "deleted"
    store.close()


def test_which_version_held_the_alias_then_and_how_it_differs_from_now(uri: str) -> None:
    store, (v1, v2, v3) = _versions(uri)
    for model_id in (v1, v2, v3):
        store.set_logged_model_alias(model_id, "production")
    moves = store.get_alias_history(experiment_id="0", alias="production")
    t1, t2, t3 = (e.time for e in moves if e.kind == "alias_set")

    def at(instant: str) -> dict[str, object]:
        code, out = cli(
            uri, "models", "history", "--alias", "production", "--at", instant, "--format", "json"
        )
        assert code == 0, out
        report: dict[str, object] = json.loads(out)
        return report

    assert at(str(t1 - 1))["then"] == {"model_id": None, "name": None, "deleted": False, "since": None}
    first, second, now = at(str(t1 + 1)), at(str((t2 + t3) // 2)), at(str(t3))
    assert [r["then"]["model_id"] for r in (first, second, now)] == [v1, v2, v3]  # type: ignore[index]
    assert all(r["now"]["model_id"] == v3 for r in (first, second, now))  # type: ignore[index]
    assert now["same_version"] is True and now["diff"] is None
    diff = first["diff"]
    assert diff["params"] == [{"key": "llm", "values": ["m0", "m2"]}]  # type: ignore[index]
    assert {"key": "env", "values": ["prod", None]} in diff["tags"]  # type: ignore[index]
    assert [g["commit"] for g in diff["git"]] == ["aaaa111", "cccc333"]  # type: ignore[index]

    import datetime as dt

    iso = dt.datetime.fromtimestamp((t2 + 1000) / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    code, out = cli(uri, "models", "history", "--alias", "production", "--at", iso)
    assert code == 0, out
    assert (
        f"@production was held by agent-v2 ({v2})" in out
        and f"Now @production is held by agent-v3 ({v3})" in out
    )
    assert "llm" in out and "m1" in out and "bbbb222" in out and "cccc333" in out
    code, out = cli(uri, "models", "history", "--alias", "production")
    assert code == 0 and out.count("alias_set") == 3 and out.count("alias_removed") == 2
    result = runner.invoke(
        app, ["models", "history", "--alias", "production", "--at", "soon", "--tracking-uri", uri]
    )
    assert result.exit_code == 1 and "Invalid time 'soon'" in str(result.exception)
    assert cli(uri, "models", "history", "--at", iso)[0] == 2  # --at needs --alias
    assert cli(uri, "models", "history")[0] == 2  # a version or --alias
    store.close()


def test_audit_verify_and_head(uri: str) -> None:
    store, (v1, _, _) = _versions(uri)
    store.set_logged_model_alias(v1, "production")
    code, head = cli(uri, "audit", "head")
    assert code == 0 and head.strip().startswith("4:") and len(head.strip()) == 2 + 64
    code, out = cli(uri, "audit", "verify")
    assert code == 0 and "History intact: 4 entries verified" in out
    assert cli(uri, "audit", "verify", "--head", head.strip())[0] == 0

    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM model_history WHERE seq = 4"))
    assert cli(uri, "audit", "verify")[0] == 0  # the last entry gone: only a kept head can tell
    code, out = cli(uri, "audit", "verify", "--head", head.strip(), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["problem"]["kind"] == "truncated"

    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE model_history SET actor = 'mallory' WHERE seq = 2"))
    code, out = cli(uri, "audit", "verify")
    assert code == 1 and "History tampered (edited) at entry 2" in out
    result = runner.invoke(app, ["audit", "verify", "--head", "nonsense", "--tracking-uri", uri])
    assert result.exit_code == 1 and "Invalid history head 'nonsense'" in str(result.exception)
    store.close()
