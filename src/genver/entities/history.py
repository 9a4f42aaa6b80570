"""A version's history: entries in one hash chain per store, and the chain's head.

Every change to a version appends a ``HistoryEntry``: what changed (``kind``), the value before
and after, who (``actor``) and when (``time``, ms). Entries are numbered 1, 2, 3... across the
whole store (``seq``), and each carries the SHA-256 of its own content and of its predecessor
(``prev_hash``; the first entry's is ``GENESIS_HASH``), so editing, inserting or deleting an entry
breaks the chain where it happened. The hash is computed over the canonical JSON (``canonical_json``)
of ``[seq, prev_hash, time, actor, model_id, kind, before, after]``, so it does not depend on how
a store keeps the values.

>>> e = HistoryEntry.first_of(model_id="m-" + "0" * 32, kind=TAGS_SET, time=0, actor="ana",
...                            before={"env": None}, after={"env": "prod"})
>>> e.seq, e.computed_hash() == e.hash
(1, True)
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The ``prev_hash`` of the first entry of a chain.
GENESIS_HASH = "0" * 64

CREATED = "created"
STATUS_CHANGED = "status_changed"
PARAMS_LOGGED = "params_logged"
TAGS_SET = "tags_set"
TAG_DELETED = "tag_deleted"
METRICS_LOGGED = "metrics_logged"
ALIAS_SET = "alias_set"
ALIAS_REMOVED = "alias_removed"
#: Traces of the version deleted by a retention prune (``genver traces prune``, the server's
#: retention); traces without a version are recorded under the empty model id.
TRACES_PRUNED = "traces_pruned"
DELETED = "deleted"
#: Prompt entries: recorded under the prompt's id (``p-`` and 32 hex digits) in ``model_id``;
#: ``before``/``after`` name the prompt (``{"prompt": name, "version": n, ...}``).
PROMPT_REGISTERED = "prompt_registered"
PROMPT_ALIAS_SET = "prompt_alias_set"
PROMPT_ALIAS_REMOVED = "prompt_alias_removed"
PROMPT_VERSION_DELETED = "prompt_version_deleted"
#: Every kind of entry, in the order a version usually meets them.
KINDS = (
    CREATED,
    STATUS_CHANGED,
    PARAMS_LOGGED,
    TAGS_SET,
    TAG_DELETED,
    METRICS_LOGGED,
    ALIAS_SET,
    ALIAS_REMOVED,
    TRACES_PRUNED,
    DELETED,
    PROMPT_REGISTERED,
    PROMPT_ALIAS_SET,
    PROMPT_ALIAS_REMOVED,
    PROMPT_VERSION_DELETED,
)
ALIAS_KINDS = (ALIAS_SET, ALIAS_REMOVED)
PROMPT_KINDS = (PROMPT_REGISTERED, PROMPT_ALIAS_SET, PROMPT_ALIAS_REMOVED, PROMPT_VERSION_DELETED)


def _canonical_encoder() -> Callable[[Any], str]:
    """The encoder built once: the C encoder ``json`` itself runs (``json.dumps`` makes it again
    on every call, a third of encoding a metric entry on the history's hot path), without the
    cycle check (entries hold dicts and lists built by genver or decoded from JSON)."""
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without json's C speedups
        return encoder.encode
    iterencode = make(
        None, encoder.default, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, False
    )

    def canonical_json(value: Any) -> str:
        """``value`` as canonical JSON: keys sorted, no spaces, ASCII only (``\\uXXXX``
        escapes), and no NaN or infinity (JSON has none; ``json_safe`` writes them as strings
        first)."""
        return "".join(iterencode(value, 0))

    return canonical_json


canonical_json = _canonical_encoder()


def json_safe(value: float) -> float | str:
    """A metric value JSON can hold: NaN and infinities become ``"NaN"``, ``"Infinity"``,
    ``"-Infinity"`` (as Python's ``float()`` reads them back)."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def entry_hash(
    *, seq: int, prev_hash: str, time: int, actor: str, model_id: str, kind: str, before: Any, after: Any
) -> str:
    """SHA-256 (hex) of the canonical JSON of ``[seq, prev_hash, time, actor, model_id, kind,
    before, after]``."""
    content = canonical_json([seq, prev_hash, time, actor, model_id, kind, before, after])
    return hashlib.sha256(content.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    """One change to a version, as the chain keeps it."""

    seq: int  # 1, 2, 3... over the whole store: the chain's order
    time: int  # ms since the epoch; never earlier than the entry before
    actor: str  # a server token's name, else the local user (GENVER_USER, else the OS user)
    model_id: str
    kind: str  # one of KINDS
    before: Any  # JSON values; None where there was nothing before (created, metrics)
    after: Any
    prev_hash: str
    hash: str

    def computed_hash(self) -> str:
        """The hash this entry's content and ``prev_hash`` give (equal to ``hash`` unless edited)."""
        return entry_hash(
            seq=self.seq,
            prev_hash=self.prev_hash,
            time=self.time,
            actor=self.actor,
            model_id=self.model_id,
            kind=self.kind,
            before=self.before,
            after=self.after,
        )

    @property
    def alias(self) -> str | None:
        """The alias an ``alias_set`` / ``alias_removed`` entry moved, else None."""
        if self.kind not in ALIAS_KINDS:
            return None
        for side in (self.after, self.before):
            if isinstance(side, dict) and isinstance(side.get("alias"), str):
                return str(side["alias"])
        return None

    def summary(self) -> str:
        """The change in one line, e.g. ``tag env: 'staging' → 'prod'``."""
        return _summary(self.kind, self.before, self.after)

    @classmethod
    def first_of(
        cls, *, model_id: str, kind: str, time: int, actor: str, before: Any, after: Any
    ) -> HistoryEntry:
        """The first entry of a chain (for examples and tests)."""
        digest = entry_hash(
            seq=1,
            prev_hash=GENESIS_HASH,
            time=time,
            actor=actor,
            model_id=model_id,
            kind=kind,
            before=before,
            after=after,
        )
        return cls(
            seq=1,
            time=time,
            actor=actor,
            model_id=model_id,
            kind=kind,
            before=before,
            after=after,
            prev_hash=GENESIS_HASH,
            hash=digest,
        )

    def to_dictionary(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "actor": self.actor,
            "model_id": self.model_id,
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class HistoryHead:
    """The chain's head: how many entries it has and the hash of the last (``GENESIS_HASH`` when
    empty). Kept somewhere else, it lets ``genver audit verify --head`` see a chain truncated or
    rewritten since. Written ``<count>:<hash>``."""

    count: int
    hash: str

    def __str__(self) -> str:
        return f"{self.count}:{self.hash}"

    @classmethod
    def parse(cls, text: object) -> HistoryHead:
        """Read ``<count>:<hash>`` (as ``genver audit head`` prints it)."""
        from genver.exceptions import InvalidArgumentError

        count, sep, digest = text.strip().partition(":") if isinstance(text, str) else ("", "", "")
        digest = digest.strip().lower()
        if (
            not sep
            or not count.isascii()
            or not count.isdigit()
            or len(digest) != 64
            or any(c not in "0123456789abcdef" for c in digest)
        ):
            raise InvalidArgumentError(
                f"Invalid history head {text!r}: expected '<count>:<64 hex digits>' as "
                "`genver audit head` prints it, e.g. '12:" + "ab" * 32 + "'."
            )
        return cls(int(count), digest)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelAlias:
    """An alias and the version it points to now, with when and by whom it was set."""

    alias: str
    experiment_id: str
    model_id: str
    set_time: int
    set_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainProblem:
    """Where a chain stops being the one that was written, and how: ``edited`` (an entry's
    content no longer matches its hash, or it was rewritten with a new hash the next entry does
    not link to), ``deleted`` (entries missing), ``inserted`` (an entry that was not there, the
    entries after it renumbered), ``truncated`` / ``rewritten`` (against a head kept elsewhere)."""

    seq: int
    kind: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainReport:
    """What verifying the chain found: the entries checked, the head the chain has now, and the
    first problem (None: intact, and consistent with the head kept, if one was given)."""

    checked: int
    head: HistoryHead
    problem: ChainProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, slots=True, kw_only=True)
class AliasAt:
    """Which version held an alias at an instant: ``model_id`` (None: no version did), and the
    history entry that put it there (None when the alias had never been set by then)."""

    alias: str
    experiment_id: str
    at: int  # ms since the epoch
    model_id: str | None
    since: HistoryEntry | None


def _summary(kind: str, before: Any, after: Any) -> str:
    b = before if isinstance(before, dict) else {}
    a = after if isinstance(after, dict) else {}
    if kind == CREATED:
        return (
            f"created {a.get('name')!r} ({a.get('status')}, {len(a.get('params') or {})} params, "
            f"{len(a.get('tags') or {})} tags)"
        )
    if kind == STATUS_CHANGED:
        text = f"status {b.get('status')} → {a.get('status')}"
        if a.get("status_message") != b.get("status_message"):
            text += f" (message {b.get('status_message')!r} → {a.get('status_message')!r})"
        return text
    if kind == PARAMS_LOGGED:
        return "params " + ", ".join(f"{k}={v!r}" for k, v in sorted(a.items()))
    if kind == TAGS_SET:
        return "; ".join(
            f"tag {k}: " + ("(none)" if b.get(k) is None else repr(b.get(k))) + f" → {v!r}"
            for k, v in sorted(a.items())
        )
    if kind == TAG_DELETED:
        return "; ".join(f"tag {k} removed (was {v!r})" for k, v in sorted(b.items()))
    if kind == METRICS_LOGGED:
        metrics = after if isinstance(after, list) else []
        shown = ", ".join(f"{m.get('key')}={m.get('value')} (step {m.get('step')})" for m in metrics[:5])
        more = f" and {len(metrics) - 5} more" if len(metrics) > 5 else ""
        return f"metric{'s' if len(metrics) != 1 else ''} {shown}{more}"
    if kind in ALIAS_KINDS:
        alias, was, goes = a.get("alias") or b.get("alias"), b.get("model_id"), a.get("model_id")
        if kind == ALIAS_SET:
            return f"@{alias} set" + (f" (moved from {was})" if was else "")
        return f"@{alias} moved to {goes}" if goes else f"@{alias} removed"
    if kind == TRACES_PRUNED:
        n = a.get("deleted")
        return f"{n} trace{'s' if n != 1 else ''} pruned ({a.get('policy')})"
    if kind == DELETED:
        return "deleted"
    if kind in PROMPT_KINDS:
        return _prompt_summary(kind, b, a)
    return f"{kind}: {before!r} → {after!r}"


def _prompt_summary(kind: str, b: dict[str, Any], a: dict[str, Any]) -> str:
    name = a.get("prompt") or b.get("prompt")
    if kind == PROMPT_REGISTERED:
        message = a.get("commit_message")
        return f"prompt {name!r} version {a.get('version')} registered" + (
            f" ({message!r})" if message else ""
        )
    if kind == PROMPT_VERSION_DELETED:
        return f"prompt {name!r} version {b.get('version')} deleted"
    alias, was, goes = a.get("alias") or b.get("alias"), b.get("version"), a.get("version")
    if kind == PROMPT_ALIAS_SET:
        return f"prompt {name!r} @{alias} → version {goes}" + (f" (was version {was})" if was else "")
    return f"prompt {name!r} @{alias} removed (was version {was})"
