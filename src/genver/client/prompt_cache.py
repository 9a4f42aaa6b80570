"""The client's cache of loaded prompts: by the arguments ``load_prompt`` was called with, each
entry kept until its deadline.

A prompt loaded by version number never changes, so it is kept for the life of the process by
default (``GENVER_PROMPT_VERSION_CACHE_TTL_SECONDS``); one loaded by alias (or a name alone: its
latest version) for ``GENVER_PROMPT_CACHE_TTL_SECONDS`` (60 s), after which the next call asks
the store again: an alias moved elsewhere is seen within that time. A hit is one dict lookup and
one clock read, with no lock (``dict`` reads and writes are atomic); the cache is bounded and drops
its oldest entries first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from genver.config import PROMPT_CACHE_TTL, PROMPT_VERSION_CACHE_TTL
from genver.entities.prompt import PromptVersion
from genver.exceptions import InvalidArgumentError

#: Entries kept at most; past it the oldest go first.
MAX_ENTRIES = 1024


class PromptCache:
    """``(name_or_uri, version)`` → (prompt, deadline on ``clock``, prompt name)."""

    __slots__ = ("alias_ttl", "clock", "entries", "version_ttl")

    def __init__(
        self,
        *,
        alias_ttl: float | None = None,
        version_ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.alias_ttl = check_ttl(PROMPT_CACHE_TTL.get_float(environ) if alias_ttl is None else alias_ttl)
        self.version_ttl = check_ttl(
            PROMPT_VERSION_CACHE_TTL.get_float(environ) if version_ttl is None else version_ttl
        )
        self.clock = clock
        self.entries: dict[Any, tuple[PromptVersion, float, str]] = {}

    def get(self, key: Any) -> PromptVersion | None:
        hit = self.entries.get(key)
        if hit is not None and hit[1] > self.clock():
            return hit[0]
        return None

    def put(self, key: Any, prompt: PromptVersion, ttl: float) -> None:
        if ttl <= 0:
            return
        entries = self.entries
        entries.pop(key, None)  # re-inserted last: the oldest entries stay first
        entries[key] = (prompt, self.clock() + ttl, prompt.name)
        while len(entries) > MAX_ENTRIES:
            try:
                del entries[next(iter(entries))]
            except (StopIteration, KeyError, RuntimeError):  # another thread got there first
                break

    def forget(self, name: str) -> None:
        """Drop every entry of prompt ``name`` (this client changed it)."""
        for key in [k for k, v in list(self.entries.items()) if v[2] == name]:
            self.entries.pop(key, None)

    def clear(self) -> None:
        self.entries.clear()


def check_ttl(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        raise InvalidArgumentError(
            f"Invalid cache_ttl_seconds {value!r}: expected a number of seconds >= 0 (0: no cache)."
        )
    return float(value)
