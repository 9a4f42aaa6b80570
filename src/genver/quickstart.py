"""The quickstart's sample app: three versions of a small FAQ bot, evaluated and compared.

Each version is a different configuration of the same retrieval bot (how it matches a question
to the knowledge base, which LLM composes the reply). The quickstart registers each as a
version with its params and git commit, evaluates it with ``genai.evaluate`` on a 12-question
dataset (one trace per question, linked to the version, with tokens and cost; scores stored on
the traces and ``/mean`` metrics on the version), and compares the last two versions.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genver.compare.result import Comparison
from genver.entities import EvaluationDataset, LoggedModel, SpanType, TraceStats
from genver.fluent import Genver
from genver.genai.compare import compare_models
from genver.genai.datasets import create_dataset, get_dataset
from genver.genai.evaluation import evaluate
from genver.genai.scorers import ExactMatch, scorer
from genver.gitinfo import cached_git_info

KNOWLEDGE_BASE = {
    "reset password": "Open Settings > Account and choose 'Reset password'.",
    "refund policy": "Refunds are issued within 14 days of purchase.",
    "shipping time": "Orders ship within 2 business days.",
    "cancel subscription": "Go to Billing and press 'Cancel subscription'.",
    "change email": "Open Settings > Account and edit your email address.",
    "contact support": "Write to support@example.com, we answer within a day.",
    "delete account": "Open Settings > Privacy and choose 'Delete account'.",
    "invoice download": "Invoices are under Billing > History.",
}

QUESTIONS = [
    ("How do I reset my password?", "reset password"),
    ("What is your refund policy?", "refund policy"),
    ("How long does shipping take?", "shipping time"),
    ("I want to cancel my subscription", "cancel subscription"),
    ("Can I change the email on my account?", "change email"),
    ("How can I contact support?", "contact support"),
    ("Please delete my account", "delete account"),
    ("Where can I download an invoice?", "invoice download"),
    ("Password reset is not working", "reset password"),
    ("When will my order be shipped?", "shipping time"),
    ("Refunds: how long do they take?", "refund policy"),
    ("Where are my invoices?", "invoice download"),
]

#: Simulated response time of the "LLM" each version uses.
LLM_LATENCY_S = {"gpt-4o-mini": 0.002, "gpt-4o": 0.005}

VERSIONS: list[tuple[str, dict[str, str]]] = [
    (
        "faq-bot-v1.0",
        {"matcher": "exact", "normalize": "none", "min_overlap": "2", "llm_model": "gpt-4o-mini"},
    ),
    (
        "faq-bot-v1.1",
        {"matcher": "overlap", "normalize": "lowercase", "min_overlap": "1", "llm_model": "gpt-4o-mini"},
    ),
    ("faq-bot-v2.0", {"matcher": "overlap", "normalize": "stem", "min_overlap": "1", "llm_model": "gpt-4o"}),
]


def _words(text: str, normalize: str) -> list[str]:
    words = re.findall(r"[A-Za-z]+", text if normalize == "none" else text.lower())
    if normalize == "stem":
        words = [re.sub(r"(ing|ed|es|s)$", "", w) if len(w) > 4 else w for w in words]
    return words


def make_bot(gv: Genver, params: dict[str, str]) -> Callable[[str], str | None]:
    """The sample app, traced: retrieve a topic from the knowledge base, then "compose" the reply.

    The compose step stands in for an LLM call: it records the model and token usage the way an
    instrumented client would (OpenTelemetry GenAI attributes), so traces carry tokens and cost.
    """
    normalize, min_overlap = params["normalize"], int(params["min_overlap"])

    @gv.trace(span_type=SpanType.RETRIEVER)
    def retrieve(question: str) -> str | None:
        if params["matcher"] == "exact":
            return next((topic for topic in KNOWLEDGE_BASE if topic in question), None)
        asked = set(_words(question, normalize))
        best, topic = max((len(asked & set(_words(t, normalize))), t) for t in KNOWLEDGE_BASE)
        return topic if best >= min_overlap else None

    @gv.trace(span_type=SpanType.CHAT_MODEL)
    def compose(question: str, topic: str | None) -> str:
        reply = KNOWLEDGE_BASE[topic] if topic else "Sorry, I don't know that one yet."
        time.sleep(LLM_LATENCY_S.get(params["llm_model"], 0.002))  # stands in for the model's latency
        span = gv.get_current_active_span()
        if span is not None:
            span.set_attributes(
                {
                    "gen_ai.request.model": params["llm_model"],
                    "gen_ai.usage.input_tokens": 120 + 2 * len(question.split()),
                    "gen_ai.usage.output_tokens": 2 * len(reply.split()),
                }
            )
        return reply

    @gv.trace(name="faq-bot", span_type=SpanType.CHAIN)
    def answer(question: str) -> str | None:
        topic = retrieve(question)
        compose(question, topic)
        return topic

    return answer


DATASET_NAME = "faq-questions"


@dataclass(frozen=True)
class VersionResult:
    model: LoggedModel
    accuracy: float
    answered: float
    stats: TraceStats | None = None


@dataclass(frozen=True)
class Quickstart:
    """What the quickstart produced: each version's results, and the comparison of the last two."""

    versions: list[VersionResult]
    comparison: Comparison
    dataset: EvaluationDataset


def git_commit() -> str:
    """The current commit's short hash, or 'no-git' outside a repository (read from ``.git``,
    as the context tags are)."""
    info = cached_git_info(os.getcwd())
    return info.commit[:8] if info is not None else "no-git"


@scorer
def answered(outputs: Any) -> bool:
    """Did the bot find a topic at all (rather than "I don't know")?"""
    return outputs is not None


def questions_dataset(gv: Genver) -> EvaluationDataset:
    """The evaluation dataset of the quickstart (created once, reused on later runs)."""
    from genver.exceptions import NotFoundError

    try:
        return get_dataset(name=DATASET_NAME, experiment_id=gv.current_experiment_id(), genver=gv)
    except NotFoundError:
        records = [
            {"inputs": {"question": q}, "expectations": {"expected_response": t}} for q, t in QUESTIONS
        ]
        return create_dataset(DATASET_NAME, records=records, genver=gv)


def run(gv: Genver, experiment: str = "genver-quickstart") -> Quickstart:
    """Create the experiment and three versions, evaluate each on the dataset with
    ``genai.evaluate`` (one trace per question, scores stored on the traces and the version),
    then compare the last two versions."""
    gv.set_experiment(experiment)
    commit = git_commit()
    dataset = questions_dataset(gv)
    results = []
    for name, params in VERSIONS:
        with gv.set_active_model(name=name) as model:  # created on the first run, reused after
            if not model.params:
                gv.log_model_params(params, model_id=model.model_id)
            gv.set_logged_model_tags(model.model_id, {"git_commit": commit, "app": "faq-bot"})
            result = evaluate(
                dataset,
                scorers=[ExactMatch(), answered],
                predict_fn=make_bot(gv, params),
                model_id=model.model_id,
                genver=gv,
            )
        results.append(
            VersionResult(
                gv.get_logged_model(model.model_id),
                result.metrics.get("exact_match/mean", 0.0),
                result.metrics.get("answered/mean", 0.0),
            )
        )
    stats = {s.model_id: s for s in gv.get_trace_stats(model_ids=[r.model.model_id for r in results])}
    versions = [dataclasses.replace(r, stats=stats.get(r.model.model_id)) for r in results]
    comparison = compare_models(versions[1].model.model_id, versions[2].model.model_id, genver=gv)
    return Quickstart(versions=versions, comparison=comparison, dataset=dataset)
