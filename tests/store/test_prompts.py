"""Store contract: prompts — versions 1, 2, ... immutable once registered, aliases (moves recorded
in the history chain as prompt entries), tags, deletion, search, and links from app versions.
Runs on SQLite, PostgreSQL and (``tests/server/test_contract_over_rest.py``) over REST."""

from __future__ import annotations

import pytest

from genver.entities import history as h
from genver.entities.prompt import LINKED_PROMPTS_KEY, LinkedPrompt
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.base import Store

CHAT = [
    {"role": "system", "content": "You are a {{style}} assistant."},
    {"role": "user", "content": "{{question}}"},
]


def test_versions_count_up_and_keep_what_was_registered(store: Store) -> None:
    v1 = store.create_prompt_version(
        "qa",
        template="Answer {{question}}.",
        commit_message="first",
        tags={"author": "ana"},
        model_config={"model_name": "gpt-4o", "temperature": 0.2},
    )
    v2 = store.create_prompt_version("qa", template=CHAT, response_format={"type": "object"})
    assert (v1.version, v2.version) == (1, 2)

    got1 = store.get_prompt_version("qa", 1)
    assert got1.template == "Answer {{question}}." and got1.is_text_prompt
    assert got1.commit_message == "first" and got1.tags == {"author": "ana"}
    assert got1.model_config == {"model_name": "gpt-4o", "temperature": 0.2}
    assert got1.variables == {"question"} and got1.user_id
    got2 = store.get_prompt_version("qa", 2)
    assert got2.template == CHAT and not got2.is_text_prompt
    assert got2.variables == {"style", "question"} and got2.response_format == {"type": "object"}
    assert store.get_prompt_version_by_alias("qa", "latest").version == 2
    assert [v.version for v in store.get_prompt_versions("qa")] == [1, 2]
    prompt = store.get_prompt("qa")
    assert prompt is not None and prompt.latest_version == 2 and prompt.name == "qa"
    assert store.get_prompt("nope") is None


def test_aliases_move_and_are_recorded_in_the_chain(store: Store) -> None:
    for text in ("one {{x}}", "two {{x}}", "three {{x}}"):
        store.create_prompt_version("qa", template=text)
    store.set_prompt_alias("qa", "production", 1)
    store.set_prompt_alias("qa", "production", 1)  # already there: nothing recorded
    store.set_prompt_alias("qa", "@production", 3)
    assert store.get_prompt_version_by_alias("qa", "production").template == "three {{x}}"
    assert store.get_prompt_version("qa", 3).aliases == ["production"]
    assert store.get_prompt("qa").aliases == {"production": 3}  # type: ignore[union-attr]
    store.delete_prompt_alias("qa", "production")
    with pytest.raises(NotFoundError, match="production"):
        store.get_prompt_version_by_alias("qa", "production")
    with pytest.raises(NotFoundError, match="production"):
        store.delete_prompt_alias("qa", "production")

    kinds = [
        (e.kind, e.before and e.before.get("version"), e.after and e.after.get("version"))
        for e in store.get_prompt_history("qa")
    ]
    assert kinds == [
        (h.PROMPT_REGISTERED, None, 1),
        (h.PROMPT_REGISTERED, None, 2),
        (h.PROMPT_REGISTERED, None, 3),
        (h.PROMPT_ALIAS_SET, None, 1),
        (h.PROMPT_ALIAS_SET, 1, 3),
        (h.PROMPT_ALIAS_REMOVED, 3, None),
    ]
    chain = store.read_history()
    assert all(e.computed_hash() == e.hash for e in chain)
    assert all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:], strict=False))


def test_deleting_a_version_removes_its_aliases_and_never_reuses_its_number(store: Store) -> None:
    store.create_prompt_version("qa", template="one")
    store.create_prompt_version("qa", template="two")
    store.set_prompt_alias("qa", "canary", 2)
    store.delete_prompt_version("qa", 2)
    with pytest.raises(NotFoundError, match="no version 2"):
        store.get_prompt_version("qa", 2)
    assert store.get_prompt_version("qa", 2, include_deleted=True).template == "two"
    with pytest.raises(NotFoundError, match="canary"):
        store.get_prompt_version_by_alias("qa", "canary")
    assert store.get_prompt_version_by_alias("qa", "latest").version == 1
    assert store.create_prompt_version("qa", template="three").version == 3
    with pytest.raises(NotFoundError):
        store.set_prompt_alias("qa", "canary", 2)


def test_tags_on_prompts_and_versions(store: Store) -> None:
    store.create_prompt_version("qa", template="one")
    store.set_prompt_tags("qa", {"team": "search"})
    store.set_prompt_tags("qa", {"reviewed": "yes"}, version=1)
    assert store.get_prompt("qa").tags == {"team": "search"}  # type: ignore[union-attr]
    assert store.get_prompt_version("qa", 1).tags == {"reviewed": "yes"}
    store.delete_prompt_tag("qa", "team")
    store.delete_prompt_tag("qa", "reviewed", version=1)
    assert store.get_prompt("qa").tags == {}  # type: ignore[union-attr]
    with pytest.raises(NotFoundError, match="team"):
        store.delete_prompt_tag("qa", "team")


def test_search_prompts_by_name_and_tag(store: Store) -> None:
    for name in ("support.system", "support.user", "qa"):
        store.create_prompt_version(name, template="x")
    store.set_prompt_tags("qa", {"team": "search"})
    assert [p.name for p in store.search_prompts()] == ["qa", "support.system", "support.user"]
    assert [p.name for p in store.search_prompts(filter_string="name LIKE 'support%'")] == [
        "support.system",
        "support.user",
    ]
    assert [p.name for p in store.search_prompts(filter_string="tags.team = 'search'")] == ["qa"]
    page = store.search_prompts(max_results=2)
    assert len(page) == 2 and page.token
    assert [p.name for p in store.search_prompts(max_results=2, page_token=page.token)] == ["support.user"]


def test_missing_things_are_named(store: Store) -> None:
    with pytest.raises(NotFoundError, match="'nope'"):
        store.get_prompt_version("nope", 1)
    store.create_prompt_version("qa", template="x")
    with pytest.raises(NotFoundError, match="no version 7"):
        store.get_prompt_version("qa", 7)
    with pytest.raises(InvalidArgumentError, match="prompt name"):
        store.create_prompt_version("bad name!", template="x")
    with pytest.raises(InvalidArgumentError, match="message 1"):
        store.create_prompt_version("qa", template=[{"role": "user", "content": "hi"}, {"role": "user"}])
    with pytest.raises(InvalidArgumentError, match="latest"):
        store.set_prompt_alias("qa", "latest", 1)
    with pytest.raises(InvalidArgumentError, match="version"):
        store.get_prompt_version("qa", 0)


def test_links_from_an_app_version(store: Store) -> None:
    model = store.create_logged_model(experiment_id="0", name="agent-v1")
    store.create_prompt_version("qa", template="one")
    store.create_prompt_version("qa", template="two")
    store.link_prompts_to_model(model.model_id, [LinkedPrompt(name="qa", version=1)])
    store.link_prompts_to_model(
        model.model_id, [LinkedPrompt(name="qa", version=1), LinkedPrompt(name="qa", version=2)]
    )
    tag = store.get_logged_model(model.model_id).tags[LINKED_PROMPTS_KEY]
    assert tag == '[{"name":"qa","version":"1"},{"name":"qa","version":"2"}]'
    with pytest.raises(NotFoundError, match="no version 9"):
        store.link_prompts_to_model(model.model_id, [LinkedPrompt(name="qa", version=9)])
    history = [e for e in store.get_logged_model_history(model.model_id) if e.kind == h.TAGS_SET]
    assert [e.after[LINKED_PROMPTS_KEY] for e in history][-1] == tag
