"""What the trace page shows: the span tree (a page of rows, never the whole trace), the selected
span's inputs and outputs, as plain dataclasses the templates only lay out.

The tree is built from the trace's outline (``GenverClient.get_trace_outline``: no inputs,
outputs or attributes); only the selected span is read in full (``get_spans``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from genver.client import GenverClient
from genver.compare.result import fmt_number
from genver.entities import Span, SpanOutline, TraceInfo, TraceOutline

#: Span rows rendered at most per request: the DOM never holds a whole 30,000-span trace.
MAX_SPAN_ROWS = 500
#: Children shown under one expanded span before a "more" row.
CHILDREN_PAGE = 200
#: Inputs/outputs above this many characters show a preview and load in full on demand.
MAX_INLINE_CHARS = 64 * 1024


@dataclass(frozen=True, slots=True)
class SpanRow:
    """One row of the span tree: where it sits, how long it took, its waterfall bar."""

    span: SpanOutline
    depth: int
    child_count: int
    expanded: bool
    selected: bool
    offset_pct: float
    width_pct: float

    @property
    def duration(self) -> str:
        ms = self.span.duration_ms
        return "" if ms is None else f"{fmt_number(ms)} ms"

    @property
    def is_error(self) -> bool:
        return self.span.status == "ERROR"

    @property
    def tokens(self) -> str:
        total = self.span.total_tokens
        return "" if total is None else fmt_number(total)

    @property
    def tokens_title(self) -> str:
        s = self.span
        return "" if s.total_tokens is None else f"{s.input_tokens or 0} in · {s.output_tokens or 0} out"

    @property
    def cost(self) -> str:
        return "" if self.span.cost is None else "$" + fmt_number(self.span.cost)


@dataclass(frozen=True, slots=True)
class MoreRow:
    """A "more" row: the next children of ``parent_id`` from ``offset``."""

    parent_id: str
    depth: int
    offset: int
    remaining: int


@dataclass(frozen=True, slots=True)
class TraceView:
    info: TraceInfo
    rows: tuple[SpanRow | MoreRow, ...]
    selected: Span | None
    span_count: int
    inputs: str = ""
    outputs: str = ""
    inputs_truncated: bool = False
    outputs_truncated: bool = False
    notes: tuple[str, ...] = field(default=())
    inputs_tree: JsonNode | None = None
    outputs_tree: JsonNode | None = None


class SpanTree:
    """A trace's span outlines indexed by parent, with the trace's time frame for waterfall bars.
    The outline comes in start order, so each parent's children do too."""

    def __init__(self, outline: TraceOutline) -> None:
        self.outline = outline
        spans = outline.spans
        self.by_id = {s.span_id: s for s in spans}
        self.children: dict[str | None, list[SpanOutline]] = {}
        by_id = self.by_id
        for s in spans:
            parent = s.parent_id if s.parent_id in by_id else None
            kids = self.children.get(parent)
            if kids is None:
                self.children[parent] = [s]
            else:
                kids.append(s)
        self.start = min((s.start_time_ns for s in spans), default=0)
        end = max((s.end_time_ns or s.start_time_ns for s in spans), default=self.start)
        self.total = max(end - self.start, 1)

    def path_to(self, span_id: str | None) -> list[str]:
        """The ids from a root down to ``span_id`` (empty when unknown)."""
        path: list[str] = []
        node = self.by_id.get(span_id or "")
        while node is not None:
            path.append(node.span_id)
            node = self.by_id.get(node.parent_id or "")
        return path[::-1]

    def rows(
        self,
        parent_id: str | None,
        depth: int,
        *,
        open_path: Sequence[str],
        selected: str | None,
        offset: int = 0,
    ) -> list[SpanRow | MoreRow]:
        """Rows for the children of ``parent_id`` from ``offset``: one page, the span on
        ``open_path`` expanded (its children follow it), at most ``MAX_SPAN_ROWS`` in all."""
        out: list[SpanRow | MoreRow] = []
        self._rows(parent_id, depth, open_path, selected, offset, out)
        return out

    def _rows(
        self,
        parent_id: str | None,
        depth: int,
        open_path: Sequence[str],
        selected: str | None,
        offset: int,
        out: list[SpanRow | MoreRow],
    ) -> None:
        kids = self.children.get(parent_id, [])
        page = kids[offset : offset + CHILDREN_PAGE]
        on_path = open_path[depth] if depth < len(open_path) else None
        if on_path is not None and all(s.span_id != on_path for s in page):  # bring it into the page
            page = [*page[: CHILDREN_PAGE - 1], self.by_id[on_path]]
        for i, s in enumerate(page):
            if len(out) >= MAX_SPAN_ROWS:
                out.append(MoreRow(parent_id or "", depth, offset + i, len(kids) - offset - i))
                return
            expanded = s.span_id == on_path or (depth == 0 and parent_id is None and not open_path)
            out.append(self._row(s, depth, expanded, s.span_id == selected))
            if expanded:
                self._rows(s.span_id, depth + 1, open_path, selected, 0, out)
        shown = offset + len(page)
        if shown < len(kids) and len(out) < MAX_SPAN_ROWS + 1:
            out.append(MoreRow(parent_id or "", depth, shown, len(kids) - shown))

    def _row(self, s: SpanOutline, depth: int, expanded: bool, selected: bool) -> SpanRow:
        end = s.end_time_ns or s.start_time_ns
        return SpanRow(
            span=s,
            depth=depth,
            child_count=len(self.children.get(s.span_id, [])),
            expanded=expanded and bool(self.children.get(s.span_id)),
            selected=selected,
            offset_pct=round(100 * (s.start_time_ns - self.start) / self.total, 3),
            width_pct=max(round(100 * (end - s.start_time_ns) / self.total, 3), 0.2),
        )


def trace_view(client: GenverClient, trace_id: str, selected_id: str | None) -> TraceView:
    """The page's view: the outline's tree with the path to ``selected_id`` open, and that span
    (else the root) read in full for the side panel."""
    outline = client.get_trace_outline(trace_id)
    tree = SpanTree(outline)
    path = tree.path_to(selected_id)
    roots = tree.children.get(None, [])
    chosen = selected_id if path else (roots[0].span_id if roots else None)
    rows = tree.rows(None, 0, open_path=path, selected=chosen)
    found = client.get_spans(trace_id, [chosen]) if chosen else []
    selected = found[0] if found else None
    inputs, in_cut = as_text(selected.inputs if selected else None)
    outputs, out_cut = as_text(selected.outputs if selected else None)
    notes = () if selected_id is None or path else (f"No span {selected_id!r} in this trace.",)
    return TraceView(
        outline.info,
        tuple(rows),
        selected,
        len(outline.spans),
        inputs,
        outputs,
        in_cut,
        out_cut,
        notes,
        None if in_cut or selected is None else json_tree(selected.inputs),
        None if out_cut or selected is None else json_tree(selected.outputs),
    )


def as_text(value: Any, limit: int = MAX_INLINE_CHARS) -> tuple[str, bool]:
    """A value as indented JSON text, cut at ``limit`` characters (True when cut; -1: never)."""
    import json

    if value is None:
        return "", False
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return (text[:limit], True) if 0 <= limit < len(text) else (text, False)


def chat_messages(value: Any) -> list[Mapping[str, Any]] | None:
    """The value's chat messages (a list of ``{"role", "content"}``, or ``{"messages": [...]}``)."""
    if isinstance(value, Mapping) and isinstance(value.get("messages"), list):
        value = value["messages"]
    if isinstance(value, list) and value and all(isinstance(m, Mapping) and "role" in m for m in value):
        return list(value)
    return None


#: A JSON value is shown as a collapsible tree up to this many nodes and this depth; a bigger or
#: deeper one is shown as indented text.
MAX_TREE_NODES = 2_000
MAX_TREE_DEPTH = 24


@dataclass(frozen=True, slots=True)
class JsonNode:
    """One node of a value's collapsible tree: an object or array (``children``) or a scalar
    (``text``, as JSON writes it)."""

    key: str | None
    text: str = ""
    children: tuple[JsonNode, ...] | None = None
    is_array: bool = False

    @property
    def summary(self) -> str:
        n = len(self.children or ())
        return (
            f"[{n} item{'s' if n != 1 else ''}]" if self.is_array else f"{{{n} key{'s' if n != 1 else ''}}}"
        )


def json_tree(value: Any) -> JsonNode | None:
    """``value`` (an object or array) as a tree of ``JsonNode``; None for a scalar, or when the
    value has more than ``MAX_TREE_NODES`` nodes or is deeper than ``MAX_TREE_DEPTH`` (counted
    first, without recursion, so a huge value costs at most that many steps)."""
    import json

    if not isinstance(value, (Mapping, list, tuple)):
        return None
    seen, stack = 0, [(value, 0)]
    while stack:
        v, depth = stack.pop()
        seen += 1
        if seen > MAX_TREE_NODES or depth > MAX_TREE_DEPTH:
            return None
        if isinstance(v, Mapping):
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend((x, depth + 1) for x in v)

    def node(key: str | None, v: Any) -> JsonNode:
        if isinstance(v, Mapping):
            return JsonNode(key, children=tuple(node(str(k), x) for k, x in v.items()))
        if isinstance(v, (list, tuple)):
            return JsonNode(key, children=tuple(node(str(i), x) for i, x in enumerate(v)), is_array=True)
        return JsonNode(key, text=json.dumps(v, ensure_ascii=False, default=str))

    return node(None, value)
