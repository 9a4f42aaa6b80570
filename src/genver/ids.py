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
    return "tr-" + uuid.uuid4().hex


def random_name() -> str:
    """A readable random name such as ``bouncy-sow-597``."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(0, 999)}"


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000
