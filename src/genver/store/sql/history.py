"""Reading the versions' history: one version's entries, an alias's moves, the raw chain for
verification, and its head. Appending is ``history_rows.append``, inside each change's own
transaction."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.entities import HistoryEntry, HistoryHead, PagedList
from genver.entities.history import GENESIS_HASH
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.paging import check_max_results, decode_token, encode_token
from genver.store.sql import tables as t
from genver.store.sql.base import SqlBase
from genver.store.sql.history_rows import entries, select_entries
from genver.validation import check_alias, check_id, check_int

_H = t.model_history
_M = t.logged_models

_MODEL_EXISTS = sa.select(_M.c.model_id).where(_M.c.model_id == sa.bindparam("model_id"))
_OF_MODEL = (
    select_entries()
    .where(_H.c.model_id == sa.bindparam("model_id"), _H.c.seq > sa.bindparam("after_seq"))
    .order_by(_H.c.seq)
    .limit(sa.bindparam("limit"))
)
_OF_MODEL_NEWEST_FIRST = (
    select_entries()
    .where(_H.c.model_id == sa.bindparam("model_id"), _H.c.seq < sa.bindparam("before_seq"))
    .order_by(_H.c.seq.desc())
    .limit(sa.bindparam("limit"))
)
_NO_BOUND = 2**62
# The alias moves of an experiment's versions: the partial index ix_model_history_alias_moves
# holds exactly the rows of this kind condition (written the same way, so SQLite uses it).
_ALIAS_MOVES = (
    select_entries()
    .where(
        sa.text("kind IN ('alias_set', 'alias_removed')"),
        _H.c.model_id.in_(
            sa.select(_M.c.model_id).where(_M.c.experiment_id == sa.bindparam("experiment_id"))
        ),
    )
    .order_by(_H.c.seq)
)
_CHAIN = (
    select_entries()
    .where(_H.c.seq > sa.bindparam("after_seq"))
    .order_by(_H.c.seq)
    .limit(sa.bindparam("limit"))
)
_HEAD = sa.select(_H.c.seq, _H.c.entry_hash).order_by(_H.c.seq.desc()).limit(1)


class HistoryMixin(SqlBase):
    def get_logged_model_history(
        self,
        model_id: str,
        *,
        max_results: int = 1000,
        page_token: str | None = None,
        newest_first: bool = False,
    ) -> PagedList[HistoryEntry]:
        check_id(model_id, "model id")
        check_max_results(max_results)
        bound = decode_token(page_token)  # the last seq of the previous page (0: first page)
        if newest_first:
            query, params = _OF_MODEL_NEWEST_FIRST, {"before_seq": bound or _NO_BOUND}
        else:
            query, params = _OF_MODEL, {"after_seq": bound}

        def read(conn: Connection) -> list[HistoryEntry]:
            found = entries(conn, query, {"model_id": model_id, "limit": max_results + 1, **params})
            if (
                not found
                and bound == 0
                and conn.execute(_MODEL_EXISTS, {"model_id": model_id}).first() is None
            ):
                raise NotFoundError(f"Logged model with ID {model_id!r} not found.")
            return found

        found = self._read(read)
        token = encode_token(found[max_results - 1].seq) if len(found) > max_results else None
        return PagedList(found[:max_results], token)

    def get_alias_history(self, *, experiment_id: str, alias: str) -> list[HistoryEntry]:
        exp_int = self._experiment_int(experiment_id)
        name = check_alias(alias)
        moves = self._read(lambda conn: entries(conn, _ALIAS_MOVES, {"experiment_id": exp_int}))
        # The alias and experiment are read from the hashed content, never from a column.
        return [e for e in moves if e.alias == name and _scope(e) == str(exp_int)]

    def read_history(self, *, after_seq: int = 0, max_results: int = 1000) -> list[HistoryEntry]:
        after = check_int(after_seq, "after_seq", minimum=0)
        limit = check_int(max_results, "max_results", minimum=1)
        if limit > 10_000:
            raise InvalidArgumentError(
                f"Invalid max_results {max_results!r}: at most 10000 entries per read."
            )
        return self._read(lambda conn: entries(conn, _CHAIN, {"after_seq": after, "limit": limit}))

    def history_head(self) -> HistoryHead:
        row = self._read(lambda conn: conn.execute(_HEAD).first())
        return HistoryHead(0, GENESIS_HASH) if row is None else HistoryHead(int(row[0]), row[1])


def _scope(entry: HistoryEntry) -> str | None:
    side = entry.after if isinstance(entry.after, dict) else entry.before
    return str(side.get("experiment_id")) if isinstance(side, dict) else None
