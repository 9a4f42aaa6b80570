"""The client's aliases and history: moving ``@aliases``, reading a version's history, asking
which version held an alias at an instant, and verifying the history chain."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

from genver.client.audit import verify_chain
from genver.client.base import ClientBase
from genver.entities import HistoryEntry, HistoryHead, LoggedModel, ModelAlias
from genver.entities.history import AliasAt, ChainReport
from genver.entities.paged_list import collect_pages
from genver.exceptions import InvalidArgumentError
from genver.search.parser import iso_millis
from genver.validation import check_alias

#: Entries read per request when walking the whole chain.
CHAIN_PAGE = 5000


def parse_instant(value: object) -> int:
    """An instant as milliseconds since the epoch: an ISO-8601 date-time (``2026-12-05T14:03``,
    ``2026-12-05 14:03:00+01:00``, ``...Z``; no offset means UTC, as in filters), a string of
    digits or an int (epoch milliseconds), or an aware ``datetime``. Fractions of a millisecond
    are dropped (an instant covers its whole millisecond).

    >>> parse_instant("1970-01-01T00:00:01.5Z"), parse_instant("1500")
    (1500, 1500)
    """
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 18:
            return int(text)
        exact = _exact_millis(text)  # integer arithmetic: a float loses the last ms past year 4000
        ms = exact if exact is not None else (iso_millis(text) if text else None)
        if ms is not None and 0 <= ms < 2**62:
            return math.floor(ms)
    raise InvalidArgumentError(
        f"Invalid time {value!r}: expected an ISO-8601 date-time such as '2026-12-05T14:03' "
        "(UTC unless it has an offset, e.g. '2026-12-05T14:03+01:00') or epoch milliseconds."
    )


class HistoryClient(ClientBase):
    """Aliases (``@production``) and the versions' history."""

    def set_logged_model_alias(self, model_id: str, alias: str) -> None:
        """Point ``alias`` (``"production"`` or ``"@production"``) at this version; it is unique
        in the version's experiment, so it moves off the version that had it."""
        self._store.set_logged_model_alias(model_id, check_alias(alias))

    def delete_logged_model_alias(self, experiment_id: str, alias: str) -> None:
        """Remove an alias from the experiment (``NotFoundError`` if it has none of that name)."""
        self._store.delete_logged_model_alias(experiment_id=str(experiment_id), alias=check_alias(alias))

    def get_logged_model_by_alias(self, experiment_id: str, alias: str) -> LoggedModel:
        """The version ``alias`` points to in the experiment; none is a ``NotFoundError``."""
        return self._store.get_logged_model_by_alias(
            experiment_id=str(experiment_id), alias=check_alias(alias)
        )

    def get_logged_model_aliases(self, experiment_id: str) -> list[ModelAlias]:
        """The experiment's aliases, with the version each points to, when and by whom it was set."""
        return self._store.get_logged_model_aliases(experiment_id=str(experiment_id))

    def get_logged_model_history(
        self, model_id: str, *, newest_first: bool = False, max_results: int | None = None
    ) -> list[HistoryEntry]:
        """Every change to a version (at most ``max_results``), oldest first unless
        ``newest_first``: created, status, params, tags, metrics, aliases, deletion, each with
        who, when, and the value before and after."""
        store = self._store
        entries: list[HistoryEntry] = collect_pages(
            lambda size, token: store.get_logged_model_history(
                model_id, max_results=size, page_token=token, newest_first=newest_first
            ),
            max_results,
        )
        return entries

    def get_alias_history(self, experiment_id: str, alias: str) -> list[HistoryEntry]:
        """Every move of an alias in the experiment, oldest first."""
        return self._store.get_alias_history(experiment_id=str(experiment_id), alias=check_alias(alias))

    def get_alias_holder_at(self, experiment_id: str, alias: str, at: object) -> AliasAt:
        """Which version held ``alias`` at instant ``at`` (see ``parse_instant``), from the
        alias's moves in the history: the last move at or before ``at`` says."""
        name = check_alias(alias)
        when = parse_instant(at)
        last: HistoryEntry | None = None
        for entry in self.get_alias_history(experiment_id, name):
            if entry.time > when:
                break
            last = entry
        # Both entries of a move (off one version, onto another) say where the alias went.
        holder = last.after.get("model_id") if last is not None and isinstance(last.after, dict) else None
        return AliasAt(alias=name, experiment_id=str(experiment_id), at=when, model_id=holder, since=last)

    def iter_history(self, *, after_seq: int = 0) -> Iterator[HistoryEntry]:
        """The whole chain, in order, read a page at a time."""
        while True:
            page = self._store.read_history(after_seq=after_seq, max_results=CHAIN_PAGE)
            yield from page
            if len(page) < CHAIN_PAGE:
                return
            after_seq = page[-1].seq

    def get_history_head(self) -> HistoryHead:
        """The chain's head (entry count and last hash): keep it elsewhere, and pass it to
        ``verify_history`` later to detect a chain truncated or rewritten since."""
        return self._store.history_head()

    def verify_history(self, head: HistoryHead | str | None = None) -> ChainReport:
        """Check every entry's hash, number and link; the report names the first entry that was
        edited, inserted or deleted. With ``head`` (``"<count>:<hash>"`` as ``genver audit head``
        printed it), also that the chain still reaches that head unchanged."""
        kept = HistoryHead.parse(head) if isinstance(head, str) else head
        return verify_chain(self.iter_history(), kept)


def _exact_millis(text: str) -> int | None:
    """Epoch milliseconds of an ISO-8601 date-time Python reads (naive: UTC), exactly."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
