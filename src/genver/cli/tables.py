"""Listing tables that never break what a person copies: ids and names (``key`` columns) are
shown whole and unwrapped at any width.

In a terminal narrower than the table, columns marked ``drop`` go first (highest first), then
the other non-key columns share what room is left, cut with an ellipsis; when even the keys do
not fit, each row is printed as ``header: value`` lines. Piped or redirected, the table is as
wide as its content (never the 80 columns Rich assumes), so ``grep`` and ``cut`` see whole rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from genver.cli.common import console

#: A non-key column keeps at least this many cells when the table is squeezed.
MIN_CELLS = 6


@dataclass(frozen=True, slots=True)
class Col:
    header: str
    key: bool = False  # an id or a name: never cut, never wrapped
    numeric: bool = False  # right-aligned
    drop: int = 0  # > 0: left out (highest first) when the table does not fit


def terminal_width() -> int | None:
    """The terminal's width, or None when the output is piped or redirected."""
    return console.width if console.is_terminal else None


def print_list(title: str, columns: Sequence[Col], rows: Sequence[Sequence[str]]) -> None:
    """Print ``rows`` (cells may hold Rich markup) under ``columns`` as a table that fits."""
    natural = [
        max([Text.from_markup(c.header).cell_len, *(Text.from_markup(r[i]).cell_len for r in rows)])
        for i, c in enumerate(columns)
    ]
    width = terminal_width()
    shown = list(range(len(columns)))
    if width is not None:
        for i in sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: -columns[i].drop):
            if _table_width([natural[j] for j in shown]) <= width:
                break
            shown.remove(i)
    if width is not None and _table_width([natural[j] for j in shown]) > width:
        keys = [j for j in shown if columns[j].key]
        others = [j for j in shown if not columns[j].key]
        room = width - _table_width([natural[j] for j in keys]) - 3 * len(others)
        if room < MIN_CELLS * len(others):
            _print_records(title, columns, rows, width)
            return
        share = room // max(len(others), 1)
        limits = {j: min(natural[j], share) for j in others}
    else:
        limits = {}
    table = Table(title=title)
    for j in shown:
        c = columns[j]
        table.add_column(
            c.header,
            justify="right" if c.numeric else "left",
            no_wrap=True,
            min_width=natural[j] if c.key else None,
            max_width=limits.get(j),
            overflow="ellipsis",
        )
    for r in rows:
        table.add_row(*(r[j] for j in shown))
    _out(width, table)


def _table_width(widths: Sequence[int]) -> int:
    return sum(widths) + 3 * len(widths) + 1  # "│ " before each cell, " " after, and the last "│"


def _print_records(title: str, columns: Sequence[Col], rows: Sequence[Sequence[str]], width: int) -> None:
    """Each row as ``header: value`` lines; a key too long for its line goes whole on the next,
    other values wrap at spaces."""
    console.print(f"[bold]{escape(title)}[/]")
    for r in rows:
        console.print("")
        for c, cell in zip(columns, r, strict=True):
            if not cell:
                continue
            head = f"[dim]{escape(c.header)}:[/]"
            if c.key and len(c.header) + 2 + Text.from_markup(cell).cell_len > width:
                console.print(head)
                console.print(f"  {cell}", soft_wrap=True, highlight=False)
            elif c.key:
                console.print(f"{head} {cell}", soft_wrap=True, highlight=False)
            else:
                console.print(f"{head} {cell}", highlight=False, width=width)


def _out(width: int | None, table: Table) -> None:
    if width is not None:
        console.print(table)
        return
    wide = Console(file=console.file, width=10_000, color_system=None, highlight=False)
    wide.print(table, crop=False)
