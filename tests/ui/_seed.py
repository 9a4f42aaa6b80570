"""The store the browser tests look at, written through genver's public API.

Two experiments. In ``ui-faq-bot``, three versions of a tiny FAQ bot, each evaluated with
``genai.evaluate`` on the same 10-question evaluation dataset ``faq-questions`` (one trace per
question, linked to the version; each trace a root span with a retriever and a chat-model child):

- ``faq-bot-v1`` and ``faq-bot-v2`` differ in exactly one param (``matcher``) and exactly one
  evaluation metric (``exact_match/mean`` 0.5 → 0.8; ``concise/mean`` is 1.0 for both), and share
  their tags (git commit ``aaa…``, branch ``main``);
- ``faq-bot-v3`` changes two more params and the commit (``bbb…``), and regresses both metrics
  (``exact_match/mean`` 0.0, ``concise/mean`` 0.2).

Then one live trace per version, one failed trace (an exception in the app) and one trace whose
root span's input is the string ``<script>alert(1)</script>``, to check that user content is
escaped. ``ui-other`` holds one version and nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from genver.entities import SpanType
from genver.fluent import Genver
from genver.genai.datasets import create_dataset
from genver.genai.evaluation import evaluate
from genver.genai.scorers import ExactMatch, scorer

SCRIPT_INPUT = "<script>alert(1)</script>"
EXPERIMENT = "ui-faq-bot"
OTHER_EXPERIMENT = "ui-other"
DATASET = "faq-questions"

KNOWLEDGE_BASE = {
    "password": "Open Settings > Account and choose 'Reset password'.",
    "refund": "Refunds are issued within 14 days of purchase.",
    "shipping": "Orders ship within 2 business days.",
    "invoice": "Invoices are under Billing > History.",
    "email": "Open Settings > Account and edit your email address.",
}
FALLBACK = "Sorry, I don't know that one yet."

# (question, topic it should be answered from); "exact" matching misses the plural/capitalized ones
QUESTIONS = [
    ("How do I reset my password?", "password"),
    ("What is your refund policy?", "refund"),
    ("How long does shipping take?", "shipping"),
    ("Where can I download an invoice?", "invoice"),
    ("Can I change the email on my account?", "email"),
    ("Password reset is not working", "password"),
    ("Refunds: how long do they take?", "refund"),
    ("Where are my invoices?", "invoice"),
    ("Shipping to Canada?", "shipping"),
    ("My Email is wrong", "email"),
]

COMMIT_A = "a" * 40
COMMIT_B = "b" * 40
# (name, params, git commit): v1 and v2 differ only in "matcher"; v3 changes the prompt, model and commit
VERSIONS = [
    ("faq-bot-v1", {"matcher": "exact", "prompt": "short", "llm_model": "gpt-4o-mini"}, COMMIT_A),
    ("faq-bot-v2", {"matcher": "lowercase", "prompt": "short", "llm_model": "gpt-4o-mini"}, COMMIT_A),
    ("faq-bot-v3", {"matcher": "lowercase", "prompt": "friendly", "llm_model": "gpt-4o"}, COMMIT_B),
]
CHANGED_PARAM = "matcher"
CHANGED_METRIC = "exact_match/mean"
EQUAL_METRIC = "concise/mean"


@dataclass(frozen=True, slots=True, kw_only=True)
class Seeded:
    """What the browser tests' store holds, by id; ``url`` is the running server's base URL."""

    url: str
    store_uri: str
    experiment_id: str  # ui-faq-bot: the three versions and every trace
    other_experiment_id: str  # ui-other: one version, no traces
    version_ids: tuple[str, str, str]  # faq-bot-v1, -v2, -v3, in creation order
    other_version_id: str
    # the pair that differs in exactly one param and one metric (v1 is the baseline)
    baseline_id: str
    candidate_id: str
    changed_param: str
    changed_metric: str
    equal_metric: str
    dataset_id: str  # the evaluation dataset faq-questions (10 records) every version was evaluated on
    eval_run_ids: tuple[str, str, str]  # one genai.evaluate run per version, same order
    trace_ids: tuple[str, ...]  # every trace in ui-faq-bot, oldest first
    error_trace_id: str
    script_trace_id: str  # root span input: SCRIPT_INPUT


@scorer
def concise(outputs: str) -> bool:
    """Equal for v1 and v2 (every reply is short): the metric that does not change."""
    return len(outputs) <= 80


def make_app(gv: Genver, params: dict[str, str]) -> Callable[[str], str]:
    """The bot as a traced function: a retriever span and a chat-model span under the root."""

    @gv.trace(span_type=SpanType.RETRIEVER)
    def retrieve(question: str) -> str | None:
        words = question.split() if params["matcher"] == "exact" else question.lower().split()
        return next((t for t in KNOWLEDGE_BASE if any(w.strip("?:,") == t for w in words)), None)

    @gv.trace(span_type=SpanType.CHAT_MODEL)
    def compose(question: str, topic: str | None) -> str:
        reply = KNOWLEDGE_BASE[topic] if topic else FALLBACK
        if params["prompt"] == "friendly":  # no reply matches exactly any more, and some are long
            reply = f"Happy to help! {reply} Anything else I can do for you?"
        span = gv.get_current_active_span()
        if span is not None:
            span.set_attributes(
                {
                    "gen_ai.request.model": params["llm_model"],
                    "gen_ai.usage.input_tokens": 40 + len(question.split()),
                    "gen_ai.usage.output_tokens": len(reply.split()),
                }
            )
        return reply

    @gv.trace(name="faq-bot", span_type=SpanType.CHAIN)
    def answer(question: str) -> str:
        if question == "boom":
            raise ValueError("the knowledge base is unavailable")
        return compose(question, retrieve(question))

    return answer


def seed(directory: Path) -> dict[str, Any]:
    """Write the store into ``directory``; every ``Seeded`` field but ``url``."""
    store_uri = f"sqlite:///{directory / 'ui.db'}"
    environ = {"GENVER_TRACE_SPOOL_DIR": str(directory / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"}
    gv = Genver(tracking_uri=store_uri, environ=environ)
    # outside any git checkout, so the versions carry the commits set below, not this checkout's
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(directory)
        try:
            return {"store_uri": store_uri, **_write(gv)}
        finally:
            gv.flush_trace_async_logging(terminate=True)
            gv.client.close()


def _write(gv: Genver) -> dict[str, Any]:
    other = gv.set_experiment(OTHER_EXPERIMENT).experiment_id
    other_version = gv.create_external_model(name="other-bot-v1", params={"matcher": "exact"}).model_id
    experiment = gv.set_experiment(EXPERIMENT).experiment_id
    records = [
        {"inputs": {"question": q}, "expectations": {"expected_response": KNOWLEDGE_BASE[topic]}}
        for q, topic in QUESTIONS
    ]
    data = create_dataset(DATASET, records=records, genver=gv)
    versions: list[str] = []
    runs: list[str] = []
    apps: list[Callable[[str], str]] = []
    for name, params, commit in VERSIONS:
        tags = {"mlflow.source.git.commit": commit, "mlflow.source.git.branch": "main"}
        model = gv.create_external_model(name=name, params=params, tags=tags)
        app = make_app(gv, params)
        result = evaluate(data, [ExactMatch(), concise], app, model.model_id, max_workers=1, genver=gv)
        versions.append(model.model_id)
        runs.append(result.run_id)
        apps.append(app)
    for model_id, app in zip(versions, apps, strict=True):  # one live (non-evaluation) request per version
        with gv.set_active_model(model_id=model_id):
            app("How do I reset my password?")
    with gv.set_active_model(model_id=versions[2]):
        with contextlib.suppress(ValueError):  # recorded as an ERROR trace
            apps[2]("boom")
        error_trace = gv.get_last_active_trace_id()
        with gv.start_span("echo", span_type=SpanType.CHAIN) as span:
            span.set_inputs(SCRIPT_INPUT)
            span.set_outputs(SCRIPT_INPUT)
        script_trace = gv.get_last_active_trace_id()
    assert gv.flush_trace_async_logging(), "the seed's traces were not all exported"
    traces = gv.search_traces(experiment_ids=[experiment], order_by=["timestamp_ms ASC"], return_type="list")
    assert error_trace is not None and script_trace is not None
    return {
        "experiment_id": experiment,
        "other_experiment_id": other,
        "version_ids": tuple(versions),
        "other_version_id": other_version,
        "baseline_id": versions[0],
        "candidate_id": versions[1],
        "changed_param": CHANGED_PARAM,
        "changed_metric": CHANGED_METRIC,
        "equal_metric": EQUAL_METRIC,
        "dataset_id": data.dataset_id,
        "eval_run_ids": tuple(runs),
        "trace_ids": tuple(t.info.trace_id for t in traces),
        "error_trace_id": error_trace,
        "script_trace_id": script_trace,
    }
