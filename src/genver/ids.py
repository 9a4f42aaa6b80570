"""Id, name and clock generators (injectable, so tests can make them deterministic)."""

from __future__ import annotations

import random
import time
import uuid

_ADJECTIVES = (
    "able", "agile", "amber", "ample", "bold", "brave", "bright", "brisk", "calm", "clever", "cool",
    "crisp", "deft", "eager", "fair", "fleet", "fresh", "gentle", "glad", "grand", "happy", "honest",
    "keen", "kind", "lively", "lucid", "merry", "mighty", "neat", "nimble", "noble", "proud", "quick",
    "quiet", "rapid", "sharp", "shiny", "smart", "steady", "sunny", "swift", "tidy", "vivid", "warm",
    "wise", "witty", "zesty",
)  # fmt: skip
_NOUNS = (
    "ant", "bass", "bear", "bee", "crane", "crow", "deer", "dove", "eagle", "eel", "elk", "finch",
    "fox", "frog", "gull", "hare", "hawk", "heron", "ibis", "jay", "koi", "lark", "lion", "lynx",
    "mole", "moth", "newt", "orca", "otter", "owl", "panda", "pike", "puma", "quail", "raven", "seal",
    "shrew", "sow", "swan", "tern", "toad", "trout", "vole", "wasp", "wolf", "wren", "yak", "zebra",
)  # fmt: skip


def new_model_id() -> str:
    """``m-`` followed by 32 lowercase hex digits, as MLflow."""
    return "m-" + uuid.uuid4().hex


def new_run_id() -> str:
    return uuid.uuid4().hex


def new_trace_id() -> str:
    """``tr-`` and a time-ordered 128-bit id in hex (``otel_trace_id``)."""
    return f"tr-{otel_trace_id():032x}"


def otel_trace_id() -> int:
    """An OpenTelemetry trace id whose top 48 bits are the time in milliseconds and the other
    80 random, as AWS X-Ray's and UUIDv7's are. Traces made in time order get ids in time order,
    so every index keyed on the trace id (traces, spans, metadata, tags) is appended to at its
    right edge instead of at a random page: at millions of traces, random ids make each insert
    read and dirty a page of indexes far bigger than the database's cache. The 56 rightmost bits
    are random, as W3C Trace Context level 2 asks of an id flagged random."""
    return ((time.time_ns() // 1_000_000) << 80) | random.getrandbits(80)


def random_name() -> str:
    """A readable random name such as ``bouncy-sow-597``."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(0, 999)}"


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000
