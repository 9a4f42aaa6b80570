"""Every environment variable genver reads is declared once, in ``genver/config.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import genver
from genver import config

SRC = Path(genver.__file__).parent
CONFIG = Path(config.__file__)


def _is_environ(node: ast.expr) -> bool:
    """``os.environ`` or a bare ``environ`` (``from os import environ``)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id == "environ"


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def env_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, variable)`` for each read of a named variable straight from the environment:
    ``os.environ.get("X")``, ``os.getenv("X")``, ``os.environ["X"]``, ``"X" in os.environ``.
    Passing the whole mapping on (``{**os.environ, ...}`` for a subprocess) is not a read."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        name: str | None = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            func = node.func
            if (
                func.attr == "get"
                and _is_environ(func.value)
                or func.attr in ("getenv", "getenvb")
                and isinstance(func.value, ast.Name)
                and func.value.id == "os"
            ):
                name = _literal(node.args[0])
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_environ(node.value):
            name = _literal(node.slice)
        elif (
            isinstance(node, ast.Compare)
            and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops)
            and any(_is_environ(c) for c in node.comparators)
        ):
            name = _literal(node.left)
        if name is not None:
            found.append((node.lineno, name))
    return found


def test_the_scan_sees_every_form_of_read() -> None:
    code = (
        'import os\nfrom os import environ\nos.environ.get("A")\nos.getenv("B", "x")\n'
        'os.environ["C"]\n"D" in os.environ\nenviron.get("E")\n'
        'env = {**os.environ, "GIT_X": "1"}\nos.environ["F"] = "1"\nos.environ.get(name)\n'
    )
    assert [n for _, n in env_reads(ast.parse(code))] == ["A", "B", "C", "D", "E"]


@pytest.mark.parametrize(
    "path", sorted(p for p in SRC.rglob("*.py") if p != CONFIG), ids=lambda p: str(p.relative_to(SRC))
)
def test_environment_variables_are_read_through_config(path: Path) -> None:
    where = path.relative_to(SRC.parent)
    reads = env_reads(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    assert not reads, "declare these in genver/config.py as a Setting and read them through it: " + ", ".join(
        f"{where}:{line} reads {name}" for line, name in reads
    )


def test_every_declared_variable_is_named_once() -> None:
    names = [v for s in vars(config).values() if isinstance(s, config.Setting) for v in s.env_vars]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
