"""Appending to the versions' history chain (``model_history``) and reading it back.

An append runs inside the transaction of the change it records, so a change without its entry,
or an entry without its change, cannot be committed. It reads the chain's head (the last row by
``seq``: SQLite's rowid, PostgreSQL's primary key), numbers and hashes the new entries after it,
and inserts them. Writers must not interleave there, or two entries would claim the same place:

* SQLite: every write transaction holds the database's write lock (``BEGIN IMMEDIATE``);
* PostgreSQL: ``lock_chain`` takes a transaction-scoped advisory lock, released at commit. A
  change that reads the value it replaces (a tag, a status, an alias's holder) takes it before
  reading, so its "before" is the value the previous entry left; one that replaces nothing
  (creating a version, logging a metric) takes it last, to hold it for the shortest time.

An entry's ``time`` is the store's clock, but never earlier than the entry before it (clocks of
server replicas drift), so the chain is ordered in time too and "as of t" is well defined.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities.history import GENESIS_HASH, HistoryEntry
from genver.store.sql import tables as t

_H = t.model_history
#: The advisory lock PostgreSQL writers of the chain serialize on ("genvhist"): above 2**32,
#: so no ``hashtext()`` key of the other advisory locks can be it.
CHAIN_LOCK_KEY = 0x67656E7668697374
_LOCK = sa.text(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK_KEY})")
_HEAD = sa.select(_H.c.seq, _H.c.entry_hash, _H.c.time_ms).order_by(_H.c.seq.desc()).limit(1)
_INSERT = _H.insert()
# Canonical JSON (genver.entities.history.canonical_json), the encoder built once.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode

_COLUMNS = (
    _H.c.seq,
    _H.c.time_ms,
    _H.c.actor,
    _H.c.model_id,
    _H.c.kind,
    _H.c.before_json,
    _H.c.after_json,
    _H.c.prev_hash,
    _H.c.entry_hash,
)


@dataclass(frozen=True, slots=True)
class Change:
    """One change to record: on which version, what kind, the value before and after (JSON)."""

    model_id: str
    kind: str
    before: Any
    after: Any


def lock_chain(conn: Connection) -> None:
    """Serialize this transaction's appends with every other writer's (PostgreSQL; SQLite's
    write transactions already are)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK)


def append(conn: Connection, changes: Sequence[Change], *, time_ms: int, actor: str) -> int:
    """Append ``changes`` after the chain's head (the caller holds the chain: see the module
    docstring); returns the time the entries carry."""
    head = conn.execute(_HEAD).first()
    seq, prev, last_time = (0, GENESIS_HASH, 0) if head is None else head
    when = max(time_ms, last_time)
    actor_json, rows = _ENCODE(actor), []
    for change in changes:
        seq += 1
        before = None if change.before is None else _ENCODE(change.before)
        after = None if change.after is None else _ENCODE(change.after)
        # The canonical JSON of [seq, prev_hash, time, actor, model_id, kind, before, after],
        # written from its parts (entities.history.entry_hash gives the same digest).
        content = (
            f"[{seq},{_ENCODE(prev)},{when},{actor_json},{_ENCODE(change.model_id)},"
            f"{_ENCODE(change.kind)},{before or 'null'},{after or 'null'}]"
        )
        digest = hashlib.sha256(content.encode("ascii")).hexdigest()
        rows.append(
            {
                "seq": seq,
                "time_ms": when,
                "actor": actor,
                "model_id": change.model_id,
                "kind": change.kind,
                "before_json": before,
                "after_json": after,
                "prev_hash": prev,
                "entry_hash": digest,
            }
        )
        prev = digest
    conn.execute(_INSERT, rows[0] if len(rows) == 1 else rows)
    return int(when)


def select_entries() -> sa.Select[Any]:
    """``SELECT <entry columns> FROM model_history``, for ``entries``."""
    return sa.select(*_COLUMNS)


def entries(
    conn: Connection, query: sa.Select[Any], params: dict[str, Any] | None = None
) -> list[HistoryEntry]:
    """The entries a query built on ``select_entries()`` selects, in its order."""
    return [
        HistoryEntry(
            seq=int(seq),
            time=int(time_ms),
            actor=actor,
            model_id=model_id,
            kind=kind,
            before=None if before is None else json.loads(before),
            after=None if after is None else json.loads(after),
            prev_hash=prev_hash,
            hash=entry_hash,
        )
        for seq, time_ms, actor, model_id, kind, before, after, prev_hash, entry_hash in conn.execute(
            query, params or {}
        )
    ]
