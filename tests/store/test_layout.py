"""The SQL store stays flat: every mixin sits directly on ``SqlBase`` and ``SqlStore`` lists them
all, so a store method is found in the one file its topic names, not by walking a chain."""

from __future__ import annotations

from genver.store.base import Store
from genver.store.sql.base import SqlBase
from genver.store.sql.store import SqlStore

MIXINS = [b for b in SqlStore.__bases__ if b is not Store]


def test_every_mixin_sits_directly_on_sqlbase() -> None:
    assert Store in SqlStore.__bases__
    assert MIXINS
    chained = {m.__name__: [b.__name__ for b in m.__bases__] for m in MIXINS if m.__bases__ != (SqlBase,)}
    assert not chained, f"mixins must subclass SqlBase only, not build on each other: {chained}"


def test_sqlstore_lists_every_mixin() -> None:
    ours = {c for c in SqlBase.__subclasses__() if c.__module__.startswith("genver.store.sql.")}
    assert ours == set(MIXINS)


def test_each_store_method_is_defined_once() -> None:
    owners: dict[str, list[str]] = {}
    for cls in (*MIXINS, SqlBase):
        for name in vars(cls):
            if not name.startswith("__"):
                owners.setdefault(name, []).append(cls.__name__)
    assert {n: o for n, o in owners.items() if len(o) > 1} == {}
