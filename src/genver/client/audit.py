"""Verifying the versions' history chain: every entry's hash recomputed from its content, its
number and its link to the entry before checked, in one pass with constant memory; and, given a
head kept elsewhere (``genver audit head``), that the chain still reaches it unchanged.

Anyone with write access to the database can recompute every hash after an edit (there is no
secret), so the chain alone proves only that entries were not changed *quietly*; a head kept
outside the database (a ticket, a CI artifact, another system) is what proves the chain was not
truncated or rewritten since.
"""

from __future__ import annotations

from collections.abc import Iterable

from genver.entities.history import (
    GENESIS_HASH,
    ChainProblem,
    ChainReport,
    HistoryEntry,
    HistoryHead,
    entry_hash,
)


def verify_chain(entries: Iterable[HistoryEntry], head: HistoryHead | None = None) -> ChainReport:
    """Check ``entries`` (the whole chain, in ``seq`` order) and report the first problem.

    >>> e = HistoryEntry.first_of(model_id="m-1", kind="created", time=0, actor="a", before=None, after={})
    >>> verify_chain([e]).ok, verify_chain([e], HistoryHead(2, e.hash)).problem.kind
    (True, 'truncated')
    """
    prev: HistoryEntry | None = None
    checked = 0
    at_head: str | None = None  # the hash of entry number head.count, once passed
    for entry in entries:
        problem = _check(entry, prev)
        if problem is not None:
            return ChainReport(checked=checked, head=_head(prev), problem=problem)
        checked += 1
        if head is not None and entry.seq == head.count:
            at_head = entry.hash
        prev = entry
    now = _head(prev)
    if head is not None and head.count > 0:
        if now.count < head.count:
            return ChainReport(
                checked=checked,
                head=now,
                problem=ChainProblem(
                    seq=now.count + 1,
                    kind="truncated",
                    message=(
                        f"The chain ends at entry {now.count}, but the head kept says it had "
                        f"{head.count}: entries {now.count + 1} to {head.count} are gone."
                    ),
                ),
            )
        if at_head != head.hash:
            return ChainReport(
                checked=checked,
                head=now,
                problem=ChainProblem(
                    seq=head.count,
                    kind="rewritten",
                    message=(
                        f"Entry {head.count} has hash {at_head}, but the head kept says {head.hash}: "
                        f"the chain up to it was rewritten (its hashes recomputed)."
                    ),
                ),
            )
    return ChainReport(checked=checked, head=now)


def _head(last: HistoryEntry | None) -> HistoryHead:
    return HistoryHead(0, GENESIS_HASH) if last is None else HistoryHead(last.seq, last.hash)


def _check(entry: HistoryEntry, prev: HistoryEntry | None) -> ChainProblem | None:
    """The problem ``entry`` shows after ``prev`` (the last entry that checked), if any."""
    expected_seq = 1 if prev is None else prev.seq + 1
    expected_link = GENESIS_HASH if prev is None else prev.hash
    content_ok = entry.computed_hash() == entry.hash
    if content_ok and entry.seq == expected_seq and entry.prev_hash == expected_link:
        return None
    if entry.seq > expected_seq:
        missing = (
            f"entry {expected_seq} is"
            if entry.seq == expected_seq + 1
            else f"entries {expected_seq} to {entry.seq - 1} are"
        )
        return ChainProblem(
            seq=expected_seq,
            kind="deleted",
            message=f"{missing.capitalize()} missing: the chain jumps from {expected_seq - 1} to {entry.seq}.",
        )
    if entry.seq < expected_seq:
        return ChainProblem(
            seq=entry.seq,
            kind="inserted",
            message=f"Entry {entry.seq} appears again after entry {expected_seq - 1}: it was inserted.",
        )
    if not content_ok:
        if entry.hash == _rehash(entry, entry.seq - 1):
            return ChainProblem(
                seq=entry.seq - 1,
                kind="inserted",
                message=(
                    f"Entry {entry.seq - 1} was inserted: the entry after it was written as number "
                    f"{entry.seq - 1} and renumbered {entry.seq}."
                ),
            )
        if entry.hash == _rehash(entry, entry.seq + 1):
            return ChainProblem(
                seq=entry.seq,
                kind="deleted",
                message=(
                    f"Entry {entry.seq} was deleted and the entries after it renumbered: the entry "
                    f"now numbered {entry.seq} was written as {entry.seq + 1}."
                ),
            )
        return ChainProblem(
            seq=entry.seq,
            kind="edited",
            message=f"Entry {entry.seq} was edited: its content no longer matches its hash.",
        )
    if prev is None:
        return ChainProblem(
            seq=1,
            kind="edited",
            message=f"Entry 1 was edited: it links to {entry.prev_hash}, not to the chain's start {GENESIS_HASH}.",
        )
    return ChainProblem(
        seq=expected_seq - 1,
        kind="edited",
        message=(
            f"Entry {expected_seq - 1} was edited and its hash recomputed: entry {entry.seq} links to "
            f"{entry.prev_hash}, not to its hash {expected_link}."
        ),
    )


def _rehash(entry: HistoryEntry, seq: int) -> str:
    return entry_hash(
        seq=seq,
        prev_hash=entry.prev_hash,
        time=entry.time,
        actor=entry.actor,
        model_id=entry.model_id,
        kind=entry.kind,
        before=entry.before,
        after=entry.after,
    )
