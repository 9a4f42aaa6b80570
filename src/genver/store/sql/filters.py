"""Compile parsed filters (``genver.search.ast``) into SQLAlchemy expressions.

Only bound parameters ever carry user values: keys and values become ``bindparam``s, column
names come from a fixed table, so no input can reach the database as SQL text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from genver.exceptions import InvalidFilterError
from genver.search.ast import And, Comparison, Node, Or
from genver.store.sql.functions import KV_INDEX_BYTES, fits_kv_index, unindexed

Expr = ColumnElement[bool]


@dataclass(frozen=True)
class Target:
    """How one entity's filter maps onto tables.

    ``columns`` maps attribute names to columns of the main table; ``kv`` maps a kind (param,
    tag, metric...) to a function building the clause for one comparison.
    """

    columns: Mapping[str, sa.ColumnElement[object]]
    kv: Mapping[str, Callable[[Comparison], Expr]]
    attribute_hook: Callable[[Comparison], object] | None = None


def compile_filter(node: Node | None, target: Target) -> Expr | None:
    if node is None:
        return None
    if isinstance(node, And):
        return sa.and_(*(_required(compile_filter(n, target)) for n in node.items))
    if isinstance(node, Or):
        return sa.or_(*(_required(compile_filter(n, target)) for n in node.items))
    _check_no_nul(node)
    if node.kind == "attribute":
        column = target.columns.get(node.key)
        if column is None:
            raise InvalidFilterError(f"Attribute {node.key!r} cannot be used in this filter.")
        value = target.attribute_hook(node) if target.attribute_hook else node.value
        return compare(column, node.op, value)
    build = target.kv.get(node.kind)
    if build is None:
        raise InvalidFilterError(f"Filters on {node.kind} keys are not supported here (key {node.key!r}).")
    return build(node)


def conjuncts(node: Node | None) -> list[Node]:
    """The terms of the filter's top-level ``AND`` (nested ``AND``s flattened)."""
    if node is None:
        return []
    if isinstance(node, And):
        return [term for item in node.items for term in conjuncts(item)]
    return [node]


def _check_no_nul(c: Comparison) -> None:
    """PostgreSQL cannot even compare text with a NUL in it; refuse it on every backend."""
    values = c.value if isinstance(c.value, tuple) else (c.value,)
    for text in (c.key, *values):
        if isinstance(text, str) and "\x00" in text:
            raise InvalidFilterError(
                f"Invalid filter value {text!r} for {c.key!r}: NUL characters (\\x00) are not allowed."
            )


def _required(expr: Expr | None) -> Expr:
    assert expr is not None
    return expr


def compare(column: sa.ColumnElement[object], op: str, value: object) -> Expr:
    """``column <op> value`` with ``value`` bound. LIKE is case-sensitive, ILIKE is not."""
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    if op == ">=":
        return column >= value
    if op == "LIKE":
        return column.like(value)
    if op == "ILIKE":
        return sa.func.lower(column).like(sa.func.lower(sa.literal(value, sa.String)))
    if op == "IN":
        return column.in_(list(value))  # type: ignore[call-overload]
    if op == "NOT IN":
        return column.not_in(list(value))  # type: ignore[call-overload]
    raise InvalidFilterError(f"Unsupported operator {op!r}.")


def kv_exists(
    table: sa.Table, owner: sa.ColumnElement[object], owner_col: str, *, value_col: str = "value"
) -> Callable[[Comparison], Expr]:
    """EXISTS (a row of ``table`` for this owner with this key whose value matches).

    The value is kept off the indexes (``unindexed``): the probe is one owner's key, so SQLite
    must seek (owner, key); given a (key, value, ...) index and a range on the value it would
    scan every owner's values in that range on each probe."""

    def build(c: Comparison) -> Expr:
        return sa.exists().where(
            table.c[owner_col] == owner,
            table.c.key == c.key,
            compare(unindexed(table.c[value_col]), c.op, c.value),
        )

    return build


def kv_in(
    table: sa.Table,
    owner: sa.ColumnElement[object],
    owner_col: str,
    *,
    value_col: str = "value",
    partial_index: bool = False,
) -> Callable[[Comparison], Expr]:
    """``owner IN (SELECT owner FROM table WHERE key = <key> AND value <op> <value>)``.

    The owner has this key with a matching value: ``!=`` and ``NOT IN`` mean "has the key, with
    another value", never "lacks the key". These are the rows a correlated ``EXISTS`` selects,
    but the subquery is uncorrelated: the database builds the set once from the
    ``(key, value, owner)`` index, where SQLite would run a correlated subquery once per
    candidate row. ``partial_index``: the table's (key, value, owner) index on PostgreSQL holds
    only values that fit it (``kv_select``).
    """

    def build(c: Comparison) -> Expr:
        return owner.in_(kv_select(table, owner_col, c, value_col=value_col, partial_index=partial_index))

    return build


def kv_select(
    table: sa.Table, owner_col: str, c: Comparison, *, value_col: str = "value", partial_index: bool = False
) -> sa.Select[Any]:
    """``SELECT owner FROM table WHERE key = <key> AND value <op> <value>`` (one row per owner:
    the key is part of the table's primary key). With ``partial_index``, an ``=`` or ``IN`` on
    values that all fit the index (``fits_kv_index``) says so, which changes no answer (a value
    equal to one that fits fits too) and lets PostgreSQL read the index alone."""
    _check_no_nul(c)
    where = [table.c.key == c.key, compare(table.c[value_col], c.op, c.value)]
    if partial_index and c.op in ("=", "IN"):
        values = c.value if isinstance(c.value, tuple) else (c.value,)
        if all(
            isinstance(v, str) and len(v.encode("utf-8", "surrogatepass")) <= KV_INDEX_BYTES for v in values
        ):
            where.append(fits_kv_index(table.c[value_col]))
    return sa.select(table.c[owner_col]).where(*where)
