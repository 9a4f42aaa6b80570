"""User text never becomes SQL: arbitrary values and filter strings fed to ``search_logged_models``.

Each example carries a marker in the text it controls. Three properties hold for every input:
(a) only ``InvalidArgumentError`` (bad filter) escapes; (b) no statement sent to SQLite contains
the marker, so values and keys travel as bound parameters; (c) ``name = quote(v)`` finds exactly
the versions created with name ``v``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from genver.exceptions import InvalidArgumentError
from genver.search.parser import quote
from genver.store.sql.store import SqlStore
from genver.validation import check_model_name

MARK = "QZXMARK"
SETTINGS = settings(
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Recorder:
    def __init__(self, store: SqlStore) -> None:
        self.statements: list[str] = []
        self.engine = store.engine
        event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def leaked(self) -> list[str]:
        return [s for s in self.statements if MARK.lower() in s.lower()]

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlStore]:
    s = SqlStore(f"sqlite:///{tmp_path}/inject.db")
    s.create_logged_model(experiment_id="0", name="bystander", params={"p": "v"}, tags={"t": "v"})
    yield s
    s.close()


def _search(store: SqlStore, **kwargs: Any) -> list[str] | None:
    """The names found, or None when the store rejected the input as invalid."""
    try:
        return [m.name for m in store.search_logged_models(experiment_ids=["0"], **kwargs)]
    except InvalidArgumentError:
        return None


marked_text = st.text(max_size=30).map(lambda v: MARK + v)
quotes = st.sampled_from(["'", '"', "`", "\\", "''", "\\'", "--", ";", "/*", "%", "_", ")", "("])
nasty = st.lists(st.one_of(st.text(max_size=6), quotes), max_size=6).map(lambda parts: MARK + "".join(parts))
fields = st.sampled_from(
    ["name", "model_type", "status", "source_run_id", "model_id", "params.p", "tags.t", "tags.`a.b`"]
)
string_ops = st.sampled_from(["=", "!=", "LIKE", "ILIKE"])


@SETTINGS
@given(value=st.one_of(marked_text, nasty), field=fields, op=string_ops, other=marked_text)
def test_values_are_bound_parameters(
    sqlite_store: SqlStore, value: str, field: str, op: str, other: str
) -> None:
    rec = Recorder(sqlite_store)
    try:
        filters = [
            f"{field} {op} {quote(value)}",
            f"{field} IN ({quote(value)}, {quote(other)})",
            f"{field} NOT IN ({quote(value)}) OR name = {quote(other)}",
            f"params.{field.split('.')[-1]} = {quote(value)} AND metrics.m > 1",
            f"{field} {op} '{value}'",  # unescaped: may be invalid, must never be SQL
            f'{field} {op} "{value}"',
        ]
        for f in filters:
            _search(sqlite_store, filter_string=f)
        _search(sqlite_store, datasets=[{"dataset_name": value, "dataset_digest": other}])
        _search(sqlite_store, filter_string="metrics.m > 0", datasets=[{"dataset_name": value}])
        _search(sqlite_store, order_by=[{"field_name": f"metrics.{value}", "dataset_name": other}])
        _search(sqlite_store, order_by=[{"field_name": f"metrics.`{value}`"}])
        _search(sqlite_store, filter_string=f"metrics.`{value}` >= 0 AND tags.`{other}` != 'x'")
        _search(sqlite_store, page_token=value)
        if "\x00" not in value + other:  # a NUL is refused before any SQL is built
            assert rec.statements, "the searches ran no SQL at all"
        assert rec.leaked() == []
    finally:
        rec.close()


filter_fragments = st.one_of(
    st.sampled_from(
        [
            "name",
            "params.",
            "tags.",
            "metrics.",
            "attributes.",
            "`",
            "'",
            '"',
            "=",
            "!=",
            "<",
            ">=",
            "LIKE",
            "ILIKE",
            "IN",
            "NOT",
            "AND",
            "OR",
            "(",
            ")",
            ",",
            " ",
            "1",
            "-1.5e3",
            ";",
            "--",
            "DROP TABLE logged_models",
            "\\",
        ]
    ),
    marked_text,
    st.text(max_size=5),
)


@SETTINGS
@given(parts=st.lists(filter_fragments, min_size=1, max_size=12))
def test_arbitrary_filter_strings(sqlite_store: SqlStore, parts: list[str]) -> None:
    filter_string = " ".join(parts)
    rec = Recorder(sqlite_store)
    try:
        found = _search(sqlite_store, filter_string=filter_string)
        assert rec.leaked() == []
        if found is not None:
            assert set(found) <= {"bystander"}
    finally:
        rec.close()
    # Whatever the filter, the table is intact and still searchable.
    assert _search(sqlite_store, filter_string="name = 'bystander'") == ["bystander"]


@pytest.fixture
def created(sqlite_store: SqlStore) -> dict[str, set[str]]:
    """name -> ids of the versions created with it (shared by all examples of one test)."""
    return {"bystander": {m.model_id for m in sqlite_store.search_logged_models(experiment_ids=["0"])}}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.text(min_size=1, max_size=40), nasty))
def test_quoted_names_find_exactly_their_versions(
    sqlite_store: SqlStore, created: dict[str, set[str]], name: str
) -> None:
    try:
        check_model_name(name)
    except InvalidArgumentError:
        with pytest.raises(InvalidArgumentError):
            sqlite_store.create_logged_model(experiment_id="0", name=name)
        return
    model_id = sqlite_store.create_logged_model(experiment_id="0", name=name).model_id
    created.setdefault(name, set()).add(model_id)
    found = sqlite_store.search_logged_models(
        experiment_ids=["0"], filter_string=f"name = {quote(name)}", max_results=1000
    )
    # Hypothesis may repeat a name: exactly the versions created with it are found.
    assert {m.model_id for m in found} == created[name]
