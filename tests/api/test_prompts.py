"""Prompts through the public API (``import genver as mlflow``): MLflow 3's prompt registry calls,
formatting, the load cache and its TTL, and the links from app versions and traces."""

from __future__ import annotations

import json

import pytest

import genver as mlflow
from genver.client.prompt_cache import PromptCache
from genver.exceptions import InvalidArgumentError, MlflowException, NotFoundError

CHAT = [
    {"role": "system", "content": "You are a {{ style }} assistant for {{company}}."},
    {"role": "user", "content": "{{question}}"},
]


def test_mlflow_quickstart_calls_run_unchanged() -> None:
    prompt = mlflow.genai.register_prompt(
        name="chatbot_prompt",
        template="You are a chatbot that can answer questions about IT. Answer this question: {{question}}",
        commit_message="Initial version of chatbot",
        tags={"author": "ana"},
        model_config={"model_name": "gpt-4o-mini", "temperature": 0.1},
    )
    assert (prompt.name, prompt.version, prompt.variables) == ("chatbot_prompt", 1, {"question"})
    v2 = mlflow.register_prompt(name="chatbot_prompt", template="Answer briefly: {{question}}")
    assert v2.version == 2 and v2.uri == "prompts:/chatbot_prompt/2"
    mlflow.genai.set_prompt_alias("chatbot_prompt", alias="production", version=1)

    by_uri = mlflow.genai.load_prompt("prompts:/chatbot_prompt/1")
    by_alias = mlflow.genai.load_prompt("prompts:/chatbot_prompt@production")
    by_name = mlflow.genai.load_prompt("chatbot_prompt", version=1)
    assert by_uri.template == by_alias.template == by_name.template == prompt.template
    assert by_uri.commit_message == "Initial version of chatbot" and by_uri.tags == {"author": "ana"}
    assert by_uri.model_config == {"model_name": "gpt-4o-mini", "temperature": 0.1}
    assert mlflow.genai.load_prompt("chatbot_prompt").version == 2  # a name alone: the latest
    assert mlflow.genai.load_prompt("prompts:/chatbot_prompt@latest").version == 2
    assert by_uri.format(question="What is DNS?").endswith("Answer this question: What is DNS?")
    assert [p.name for p in mlflow.genai.search_prompts()] == ["chatbot_prompt"]
    mlflow.genai.set_prompt_tag("chatbot_prompt", "team", "it")
    assert mlflow.genai.get_prompt_tags("chatbot_prompt") == {"team": "it"}
    mlflow.genai.delete_prompt_alias("chatbot_prompt", "production")
    with pytest.raises(MlflowException) as err:
        mlflow.genai.load_prompt("prompts:/chatbot_prompt@production", cache_ttl_seconds=0)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert mlflow.genai.load_prompt("prompts:/chatbot_prompt@nope", allow_missing=True) is None


def test_a_chat_template_with_missing_variables_names_them_and_their_messages() -> None:
    prompt = mlflow.genai.register_prompt("assistant", CHAT)
    assert prompt.variables == {"style", "company", "question"} and not prompt.is_text_prompt
    with pytest.raises(InvalidArgumentError) as err:
        prompt.format(question="Hi?")
    message = str(err.value)
    assert "'company', 'style'" in message and "message 0 (system)" in message and "message 1" not in message
    assert prompt.format(style="terse", company="Acme", question="Hi?") == [
        {"role": "system", "content": "You are a terse assistant for Acme."},
        {"role": "user", "content": "Hi?"},
    ]
    partial = prompt.format(style="terse", allow_partial=True)
    assert partial.variables == {"company", "question"}
    assert prompt.to_single_brace_format()[1] == {"role": "user", "content": "{question}"}
    loaded = mlflow.genai.load_prompt("prompts:/assistant/1")
    loaded.template[0]["content"] = "changed"  # a copy: the cached version stays as registered
    assert mlflow.genai.load_prompt("prompts:/assistant/1").template == CHAT
    with pytest.raises(AttributeError, match="immutable"):
        loaded.name = "other"  # type: ignore[misc]


def test_bad_uris_and_versions_are_refused_by_value() -> None:
    mlflow.genai.register_prompt("qa", "x")
    for bad in ("prompts:/qa", "prompts:/qa/zero", "prompts:/qa@", "prompts:/@prod", "qa/1"):
        with pytest.raises(InvalidArgumentError, match="Invalid prompt"):
            mlflow.genai.load_prompt(bad)
    with pytest.raises(InvalidArgumentError, match="Both a URI"):
        mlflow.genai.load_prompt("prompts:/qa/1", version=1)
    with pytest.raises(InvalidArgumentError, match="cache_ttl_seconds"):
        mlflow.genai.load_prompt("qa", version=1, cache_ttl_seconds=-1)


def test_an_alias_moved_elsewhere_is_seen_once_the_ttl_has_passed() -> None:
    writer = mlflow.MlflowClient()
    reader = mlflow.MlflowClient()
    now = [1000.0]
    reader.prompt_cache = PromptCache(alias_ttl=60, version_ttl=float("inf"), clock=lambda: now[0])
    writer.register_prompt("qa", "one")
    writer.register_prompt("qa", "two")
    writer.set_prompt_alias("qa", "production", 1)
    assert reader.load_prompt("prompts:/qa@production").template == "one"

    writer.set_prompt_alias("qa", "production", 2)  # another client moves it
    now[0] += 59
    assert reader.load_prompt("prompts:/qa@production").template == "one"  # still cached
    assert reader.load_prompt("prompts:/qa@production", cache_ttl_seconds=0).template == "two"
    now[0] += 2
    assert reader.load_prompt("prompts:/qa@production").template == "two"  # refreshed after the TTL
    assert reader.load_prompt("prompts:/qa/1").template == "one"
    now[0] += 10**9
    assert reader.load_prompt("prompts:/qa/1").template == "one"  # versions are kept
    writer.delete_prompt_version("qa", 1)
    assert reader.load_prompt("prompts:/qa/1").template == "one"  # (until this client changes it)
    reader.delete_prompt_alias("qa", "production")
    with pytest.raises(NotFoundError):
        reader.load_prompt("prompts:/qa/1")


def test_a_prompt_loaded_under_an_active_version_and_in_a_trace_is_linked() -> None:
    mlflow.genai.register_prompt("qa", "Answer {{q}}.")
    mlflow.genai.register_prompt("qa", "Answer {{q}} briefly.")
    with mlflow.set_active_model(name="agent-v1") as model:
        mlflow.genai.load_prompt("prompts:/qa/1")
        mlflow.genai.load_prompt("prompts:/qa/1")

        @mlflow.trace
        def answer(q: str) -> str:
            return str(mlflow.genai.load_prompt("qa", version=2).format(q=q))

        answer("why?")
    mlflow.flush_trace_async_logging()
    tag = mlflow.get_logged_model(model.model_id).tags["mlflow.linkedPrompts"]
    assert json.loads(tag) == [{"name": "qa", "version": "1"}, {"name": "qa", "version": "2"}]
    (trace,) = mlflow.search_traces(model_id=model.model_id, return_type="list")
    assert json.loads(trace.info.tags["mlflow.linkedPrompts"]) == [{"name": "qa", "version": "2"}]
    assert json.loads(trace.data.spans[0].attributes["mlflow.linkedPrompts"]) == [
        {"name": "qa", "version": "2"}
    ]

    mlflow.genai.load_prompt("prompts:/qa/1", link_to_model=False)  # no active version: no link
    explicit = mlflow.create_external_model(name="agent-v2", prompts=["prompts:/qa/2"])
    assert json.loads(explicit.tags["mlflow.linkedPrompts"]) == [{"name": "qa", "version": "2"}]
    assert [p.version for p in mlflow.MlflowClient().get_linked_prompts(explicit.model_id)] == [2]
    with pytest.raises(NotFoundError):
        mlflow.create_external_model(name="agent-v3", prompts=["prompts:/qa/9"])


def test_prompt_entries_keep_the_history_chain_verifiable() -> None:
    client = mlflow.MlflowClient()
    client.register_prompt("qa", "one")
    client.register_prompt("qa", "two")
    client.set_prompt_alias("qa", "production", 1)
    client.set_prompt_alias("qa", "production", 2)
    report = client.verify_history()
    assert report.ok and report.checked == 4
    assert [e.summary() for e in client.get_prompt_history("qa")][
        -1
    ] == "prompt 'qa' @production → version 2 (was version 1)"
