"""How SQLite runs a search of versions or runs filtered on params, tags (and run metrics).

PostgreSQL keeps statistics and plans ``model_id IN (SELECT model_id FROM <table> WHERE key = ?
AND value <op> ?)`` well. SQLite has none (nobody runs ANALYZE, and per-value statistics are
not compiled in), so for every such filter it walks the searched experiments' versions (or
runs) newest first and checks each one. That is right when many match: the page fills early
and the walk stops. When fewer match than the page needs, the walk reads every version of the
experiments. So each search first asks two bounded questions:

1. How many rows does each key/value term of the filter's top-level ``AND`` match, counted up
   to ``SELECTIVE + 1`` from the (key, value, owner) index (at most once a second)? A term
   matching at most ``SELECTIVE`` is *selective*: reading its ids is cheap. A broader term is
   checked row by row (``EXISTS``) instead, so a walk never reads thousands of ids to stop
   after one page.
2. If some terms are selective: which rows match all the terms and are in the searched
   experiments, up to one more than the page window (``offset + max_results + 1``)? One
   primary-key lookup per row matching the selective terms, stopping past the window. If no
   more than the window match, the walk could not have stopped early either: the search starts
   from those ids (matches exactly filling the window walked before: 101 of 10,000, 2.5 ms
   walking, 0.4 ms from the ids). Otherwise it walks.

Every plan returns the same rows in the same order: starting from the candidates only skips
rows that cannot match.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.search import ast
from genver.store.sql.filters import kv_exists, kv_in, kv_select
from genver.store.sql.functions import in_json_list

#: A term matching at most this many rows (in any experiment) is read as a list of ids.
SELECTIVE = 2000
#: How long a search reuses its terms' counts. They only steer the plan (every plan returns the
#: same rows), so a stale count can cost time, never correctness; a UI or a script repeating a
#: search skips one statement per call.
RECOUNT_SECONDS = 1.0

Query = Callable[..., sa.Select[Any]]


@dataclass
class KvPlanner:
    """Chooses and builds the statement of one search (``choose``); built once per search."""

    terms: Sequence[tuple[sa.Table, ast.Comparison]]  # the top-level key/value comparisons
    owner: sa.ColumnElement[Any]  # logged_models.model_id or runs.run_id
    scope: Sequence[sa.ColumnElement[bool]]  # experiment ids and lifecycle, on the main table
    unindexed_scope: Sequence[sa.ColumnElement[bool]]  # the same, kept off the index
    query: Query  # the page query with the given conditions added to the rest of the filter
    window: int  # offset + max_results + 1: the rows the page needs
    _by_mask: dict[int, tuple[sa.Select[Any] | None, sa.Select[Any], sa.Select[Any] | None]] = field(
        default_factory=dict
    )
    _counted: tuple[int, float] | None = None  # (mask of the selective terms, when counted)

    def __post_init__(self) -> None:
        self._counts = sa.select(
            *(
                sa.select(sa.func.count())
                .select_from(kv_select(table, self.owner.name, c).limit(SELECTIVE + 1).subquery())
                .scalar_subquery()
                for table, c in self.terms
            )
        )

    def choose(
        self, conn: Connection, params: dict[str, Any] | None = None
    ) -> tuple[sa.Select[Any], dict[str, Any] | None] | None:
        """The statement to run and its parameters (``params``, the page's own, and the ids it
        starts from), or None when nothing can match."""
        candidates, walk, by_ids = self._statements(self._selective(conn))
        if candidates is not None and by_ids is not None:
            ids, found = conn.execute(candidates).one()
            if not found:
                return None
            if found <= self.window:  # every match is in the list (it was cut at window + 1)
                return by_ids, {**(params or {}), "ids": ids}
        return walk, params

    def _selective(self, conn: Connection) -> int:
        """Bit i set when term i is selective."""
        counted, now = self._counted, time.monotonic()
        if counted is not None and now - counted[1] < RECOUNT_SECONDS:
            return counted[0]
        counts = conn.execute(self._counts).one()
        mask = sum(1 << i for i, n in enumerate(counts) if n <= SELECTIVE)
        self._counted = (mask, now)
        return mask

    def _statements(self, mask: int) -> tuple[sa.Select[Any] | None, sa.Select[Any], sa.Select[Any] | None]:
        built = self._by_mask.get(mask)
        if built is None:
            built = self._by_mask[mask] = self._build(mask)
        return built

    def _build(self, mask: int) -> tuple[sa.Select[Any] | None, sa.Select[Any], sa.Select[Any] | None]:
        owner_col = self.owner.name
        selective = [(t, c) for i, (t, c) in enumerate(self.terms) if mask >> i & 1]
        # A broad term is probed per row (EXISTS) so that a walk stopping after one page reads no
        # id list; a window past SELECTIVE rows (a late page) walks that far anyway, and then
        # the term's id list, read once, is cheaper than a probe per row.
        probe = kv_in if self.window > SELECTIVE else kv_exists
        broad = [
            probe(t, self.owner, owner_col)(c) for i, (t, c) in enumerate(self.terms) if not mask >> i & 1
        ]
        walk = self.query(*self.scope, *(kv_in(t, self.owner, owner_col)(c) for t, c in selective), *broad)
        if not selective:
            return None, walk, None
        lists = [kv_select(t, owner_col, c) for t, c in selective]
        matching = lists[0] if len(lists) == 1 else sa.select(sa.intersect(*lists).subquery().c[owner_col])
        in_scope = (
            sa.select(self.owner.label("id"))
            .where(*self.unindexed_scope, self.owner.in_(matching), *broad)
            .limit(self.window + 1)
            .subquery()
        )
        candidates = sa.select(sa.func.json_group_array(in_scope.c.id), sa.func.count())
        by_ids = self.query(*self.unindexed_scope, in_json_list(self.owner, "ids"), *broad)
        return candidates, walk, by_ids
