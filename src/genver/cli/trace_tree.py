"""``genver traces show``'s span tree, for traces of any size: built from the trace's outline
(``GenverClient.get_trace_outline``: no payloads), cut at ``--depth`` and after ``--limit``
spans with a count of what is left, focused on ``--span``'s subtree; only the spans shown are
read in full, for their inputs and outputs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.markup import escape

from genver.entities import Span, SpanOutline, TraceOutline

#: Spans the tree shows when ``--limit`` is not given.
DEFAULT_LIMIT = 200
#: Levels of indentation at most; deeper spans say their depth.
MAX_INDENT = 12


@dataclass(frozen=True, slots=True)
class Shown:
    """The spans a tree shows, depth first, each with its depth, and what was left out."""

    spans: tuple[tuple[SpanOutline, int], ...]
    hidden_by_depth: Mapping[str, int]  # span id -> descendants below --depth
    left: int  # spans after --limit was reached
    total: int  # spans in the subtree shown


class Outline:
    """An outline indexed by parent (a span whose parent is missing is a root)."""

    def __init__(self, outline: TraceOutline) -> None:
        self.by_id = {s.span_id: s for s in outline.spans}
        self.children: dict[str | None, list[SpanOutline]] = {}
        for s in outline.spans:  # start order, so each parent's children are too
            self.children.setdefault(s.parent_id if s.parent_id in self.by_id else None, []).append(s)

    def path_to(self, span_id: str) -> list[SpanOutline]:
        path: list[SpanOutline] = []
        node = self.by_id.get(span_id)
        while node is not None:
            path.append(node)
            node = self.by_id.get(node.parent_id or "")
        return path[::-1]

    def size(self, span_id: str) -> int:
        """The number of descendants of ``span_id``."""
        count, stack = 0, [span_id]
        while stack:
            kids = self.children.get(stack.pop(), ())
            count += len(kids)
            stack.extend(k.span_id for k in kids)
        return count

    def select(self, roots: Sequence[SpanOutline], *, depth: int | None, limit: int) -> Shown:
        """Depth first from ``roots``: at most ``limit`` spans, none deeper than ``depth``
        (0: the roots only)."""
        shown: list[tuple[SpanOutline, int]] = []
        hidden: dict[str, int] = {}
        stack = [(r, 0) for r in reversed(roots)]
        total = len(roots) + sum(self.size(r.span_id) for r in roots)
        while stack and len(shown) < limit:
            span, level = stack.pop()
            shown.append((span, level))
            kids = self.children.get(span.span_id, [])
            if depth is not None and level >= depth:
                if kids:
                    hidden[span.span_id] = self.size(span.span_id)
                continue
            stack.extend((k, level + 1) for k in reversed(kids))
        below = sum(hidden.values())
        return Shown(tuple(shown), hidden, total - len(shown) - below, total)


def render(head: str, shown: Shown, full: Mapping[str, Span], path: Sequence[SpanOutline] = ()) -> list[str]:
    """The tree as lines of Rich markup under ``head``: the ``path`` to a focused span as one
    breadcrumb, then each shown span (type, duration, tokens, cost, id) indented by its depth,
    with its inputs, outputs and error when read (``full``). Indentation stops growing at
    ``MAX_INDENT`` levels, where the depth is written out, so a chain of 100 spans stays
    readable; lines are printed unwrapped, so ids copy whole."""
    lines = [head]
    if path:
        names = [escape(s.name) for s in path]
        if len(names) > 8:
            names = [*names[:2], f"… {len(names) - 5} more …", *names[-3:]]
        lines.append(f"[dim]in[/] {' / '.join(names)}")
    for span, level in shown.spans:
        pad = "  " * min(level, MAX_INDENT) + (f"[dim]{level}▸[/] " if level > MAX_INDENT else "")
        lines.append(f"{pad}{_label(span)}")
        s = full.get(span.span_id)
        if s is not None:
            if s.inputs is not None:
                lines.append(f"{pad}  [dim]in:[/]  {escape(short(s.inputs))}")
            if s.outputs is not None:
                lines.append(f"{pad}  [dim]out:[/] {escape(short(s.outputs))}")
            if s.status.description:
                lines.append(f"{pad}  [red]{escape(s.status.description)}[/]")
        below = shown.hidden_by_depth.get(span.span_id)
        if below:
            lines.append(f"{pad}  [dim]… {below:,} spans below (raise --depth, or --span {span.span_id})[/]")
    if shown.left:
        lines.append(f"[dim]… {shown.left:,} more spans not shown (--limit N, or --span ID for a subtree)[/]")
    return lines


def _label(span: SpanOutline) -> str:
    style = "red" if span.status == "ERROR" else "green"
    parts = [f"[{style}]{escape(span.name)}[/] [dim]{escape(span.span_type)}[/]"]
    ms = span.duration_ms
    parts.append(f"{ms:.2f} ms" if ms is not None else "(open)")
    if span.total_tokens is not None:
        parts.append(f"{span.total_tokens:,} tok")
    if span.cost is not None:
        parts.append(f"${span.cost:.6f}")
    parts.append(f"[dim]{span.span_id}[/]")
    return "  ".join(parts)


def short(value: Any, limit: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
