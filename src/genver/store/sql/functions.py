"""SQL functions genver needs that are spelled differently on SQLite and PostgreSQL, each a
small SQLAlchemy construct compiled per dialect (and cacheable, so statements using them are
compiled once)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class kv_object(FunctionElement[Any]):
    """``{key: value, ...}`` over the aggregated rows as JSON: text on SQLite (``{}`` for no
    rows), a dict from psycopg on PostgreSQL (NULL for no rows). Untyped, so SQLAlchemy adds
    no result processor: the caller decodes the text."""

    inherit_cache = True


@compiles(kv_object, "sqlite")
def _kv_object_sqlite(element: kv_object, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_object({compiler.process(element.clauses, **kw)})"


@compiles(kv_object, "postgresql")
def _kv_object_postgresql(element: kv_object, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_object_agg({compiler.process(element.clauses, **kw)})"


class as_json(FunctionElement[Any]):
    """A JSON value from a subquery, to nest in another: SQLite passes JSON between queries as
    text and needs ``json(x)`` to nest it as an object; PostgreSQL's ``json`` type nests as is."""

    inherit_cache = True


@compiles(as_json, "sqlite")
def _as_json_sqlite(element: as_json, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json({compiler.process(element.clauses, **kw)})"


@compiles(as_json, "postgresql")
def _as_json_postgresql(element: as_json, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


class json_values(FunctionElement[Any]):
    """The elements of a JSON array passed as one parameter, as rows with a ``value`` column
    (``.table_valued("value")``): a list of ids costs one bound parameter, not one per id, so
    the statement text (and SQLite's prepared statement) is the same for any number of ids."""

    inherit_cache = True


@compiles(json_values, "sqlite")
def _json_values_sqlite(element: json_values, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_each({compiler.process(element.clauses, **kw)})"


@compiles(json_values, "postgresql")
def _json_values_postgresql(element: json_values, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_array_elements_text(CAST({compiler.process(element.clauses, **kw)} AS JSON))"


def in_json_list(column: sa.ColumnElement[Any], name: str) -> sa.ColumnElement[bool]:
    """``column IN (<the values of the JSON array bound as :name>)``."""
    values = json_values(sa.bindparam(name)).table_valued("value")
    return column.in_(sa.select(values.c.value))


class unindexed(FunctionElement[Any]):
    """The column unchanged, written ``+column`` on SQLite: its documented way to keep a term
    from choosing an index (a search keeps the experiment index from driving the plan, so that
    a list of candidate ids does)."""

    inherit_cache = True

    def __init__(self, column: sa.ColumnElement[Any]) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)


@compiles(unindexed)
def _unindexed_default(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)
