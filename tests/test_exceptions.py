"""Every exception class genver defines is a GenverError and is drawn, as it is, in the tree in
``genver/exceptions.py``'s docstring (module, error_code, parent, builtin bases)."""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from types import ModuleType

import pytest

import genver
from genver import exceptions
from genver.exceptions import GenverError

SKIPPED = ("genver.store.sql.migrations",)  # Alembic scripts, run by Alembic, not imported


def genver_modules() -> list[ModuleType]:
    names = [genver.__name__]
    for info in pkgutil.walk_packages(genver.__path__, prefix="genver."):
        if not info.name.startswith(SKIPPED):
            names.append(info.name)
    return [importlib.import_module(name) for name in sorted(names)]


def defined_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in genver_modules():
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                assert found.get(obj.__name__, obj) is obj, f"two exception classes named {obj.__name__!r}"
                found[obj.__name__] = obj
    return found


@dataclass(frozen=True)
class Row:
    name: str
    column: int
    parent: str
    marks: tuple[str, ...]  # the parenthesized words: builtin bases, "internal"
    error_code: str
    module: str | None


def drawn_tree() -> dict[str, Row]:
    doc = exceptions.__doc__ or ""
    lines = doc[doc.index("GenverError (Exception)") :].split("\n\n", 1)[0].splitlines()[1:]
    rows: dict[str, Row] = {}
    stack: list[tuple[int, str]] = [(0, "GenverError")]
    for line in lines:
        m = re.fullmatch(r"(?P<lead>[\s│├└─]*)(?P<name>\w+)(?P<rest>.*)", line)
        assert m, f"not a row of the tree: {line!r}"
        column = len(m["lead"])
        while stack[-1][0] >= column:
            stack.pop()
        words = re.sub(r"\([^)]*\)", "", m["rest"]).split()
        assert 1 <= len(words) <= 2, f"expected 'error_code [module]' in {line!r}"
        rows[m["name"]] = Row(
            name=m["name"],
            column=column,
            parent=stack[-1][1],
            marks=tuple(re.findall(r"\((\w+)\)", m["rest"])),
            error_code=words[0],
            module=words[1] if len(words) == 2 else None,
        )
        stack.append((column, m["name"]))
    return rows


EXCEPTIONS = defined_exceptions()
TREE = drawn_tree()


def test_the_walk_finds_exceptions_from_every_corner() -> None:
    # Guards the walk itself: a silent import failure or a missed package would pass vacuously.
    for name in (
        "InvalidFilterError",
        "BodyTooLargeError",
        "_TooLarge",
        "JudgeParseError",
        "_GitUnavailable",
    ):
        assert name in EXCEPTIONS


@pytest.mark.parametrize("cls", EXCEPTIONS.values(), ids=EXCEPTIONS.keys())
def test_exception_is_a_genver_error_drawn_in_the_tree(cls: type[BaseException]) -> None:
    assert issubclass(cls, GenverError), f"{cls.__module__}.{cls.__name__} must derive from GenverError"
    if cls is GenverError:
        return
    row = TREE.get(cls.__name__)
    assert row is not None, f"{cls.__module__}.{cls.__name__} is missing from the tree in exceptions.py"
    parent = next(b for b in cls.__mro__[1:] if issubclass(b, GenverError))
    builtins = tuple(b.__name__ for b in cls.__bases__ if not issubclass(b, GenverError))
    internal = ("internal",) if cls.__name__.startswith("_") else ()
    module = None if cls.__module__ == exceptions.__name__ else cls.__module__.removeprefix("genver.")
    assert row == Row(
        name=cls.__name__,
        column=row.column,
        parent=parent.__name__,
        marks=builtins + internal,
        error_code=cls.default_error_code,
        module=module,
    )


def test_the_tree_draws_no_class_that_is_gone() -> None:
    assert set(TREE) - set(EXCEPTIONS) == set()
