"""Who the versions' history names: a server records the name of the token a change came with
(set in the token file or ``GENVER_SERVER_TOKENS``); without auth, the name the client sends;
tokens without a name are named by where they were configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from genver.exceptions import InvalidArgumentError
from genver.server.app import create_app
from genver.server.auth import Token, load_tokens, parse_tokens, read_token_file
from genver.store.actor import ACTOR_HEADER, acting_as
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore
from tests.server.conftest import asgi_client

RW, RO = "rw-" + "a" * 20, "ro-" + "b" * 20


def _last_actor(store: SqlStore) -> str:
    return store.read_history(after_seq=store.history_head().count - 1)[0].actor


def test_named_tokens_in_the_setting_and_the_file(tmp_path: Path) -> None:
    assert [(t.name, t.can_write) for t in parse_tokens(f"ci bot=rw:{RW}, ro:{RO}")] == [
        ("ci bot", True),
        ("GENVER_SERVER_TOKENS[2]", False),
    ]
    assert parse_tokens("ana=rw:s3:cr=et")[0].name == "ana"  # the secret may hold ':' and '='
    path = tmp_path / "tokens.txt"
    path.write_text(f"# team tokens\n{RW} read-write Deploy Pipeline  # CI\n{RO} read-only\n")
    assert [t.name for t in read_token_file(path)] == ["Deploy Pipeline", "tokens.txt:3"]
    env = {"GENVER_SERVER_TOKENS": f"ana=rw:{RW}", "GENVER_SERVER_TOKEN_FILE": str(path)}
    assert [t.name for t in load_tokens(env)] == ["ana", "Deploy Pipeline", "tokens.txt:3"]


def test_a_bad_token_name_is_refused_without_showing_the_secret() -> None:
    with pytest.raises(InvalidArgumentError, match="token name") as bad:
        parse_tokens(f"=rw:{RW}")
    assert RW not in bad.value.message


def test_a_change_through_a_token_names_the_token(sql_store: SqlStore) -> None:
    tokens = (Token.of(RW, can_write=True, label="deploy-bot"), Token.of(RO, can_write=False, label="reader"))
    app = create_app(sql_store, tokens=tokens)
    with asgi_client(app) as http:
        store = RestStore(http_client=http, token=RW, sleep=lambda _: None)
        with acting_as("somebody-else"):  # what the client claims does not count with tokens
            model = store.create_logged_model(experiment_id="0", name="agent")
        store.set_logged_model_alias(model.model_id, "production")
    assert {e.actor for e in sql_store.read_history()} == {"deploy-bot"}


def test_without_auth_the_client_says_who_it_is(sql_store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(sql_store)
    with asgi_client(app, raise_server_exceptions=False) as http:
        store = RestStore(http_client=http, sleep=lambda _: None)
        monkeypatch.setenv("GENVER_USER", "Zoë Ünal")  # percent-encoded in the header
        model = store.create_logged_model(experiment_id="0", name="agent")
        assert _last_actor(sql_store) == "Zoë Ünal"
        http.post("/api/v1/models", json={"experiment_id": "0", "name": "raw"})  # no header at all
        assert _last_actor(sql_store) == "anonymous"
        bad = http.put(
            f"/api/v1/models/{model.model_id}/tags",
            json={"tags": {"a": "b"}},
            headers={ACTOR_HEADER: "a%0Ab"},
        )
        assert bad.status_code == 400 and ACTOR_HEADER in bad.json()["message"]
    assert [e.kind for e in sql_store.get_logged_model_history(model.model_id)] == ["created"]


def test_a_local_store_names_the_local_user_it_was_opened_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path}/t.db"
    monkeypatch.setenv("GENVER_USER", "ana")
    store = SqlStore(uri)
    try:
        store.create_logged_model(experiment_id="0")
        assert _last_actor(store) == "ana"
        monkeypatch.delenv("GENVER_USER")
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
        store.create_logged_model(experiment_id="0")
        assert _last_actor(store) == "ana"  # read when the store opened
        other = SqlStore(uri, upgrade=False)
        other.create_logged_model(experiment_id="0")
        assert _last_actor(store) == "bob"
        with acting_as("carol"):  # a server request's actor wins
            other.create_logged_model(experiment_id="0")
        assert _last_actor(store) == "carol"
        named = SqlStore(store.engine, upgrade=False, actor=lambda: "batch-job")
        named.create_logged_model(experiment_id="0")
        assert _last_actor(store) == "batch-job"
        other.close()
    finally:
        store.close()
