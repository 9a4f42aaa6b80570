"""Two traces span by span: what the compare-traces page, its JSON twin (and later the CLI) show.

Spans are aligned by **name path and sibling index**: a span's key is the names from the root
down to it, each with its index among same-named siblings (siblings ordered by start time), so
the second ``search`` call under ``agent`` in one trace meets the second ``search`` call under
``agent`` in the other. A span whose key only one trace has is ``removed`` (only in ``a``, the
baseline) or ``added`` (only in ``b``), with its whole subtree.

Per aligned row: duration, tokens and cost of each side and their deltas (``b - a``); the row is
``changed`` when its inputs, outputs, status, span type or token counts differ (durations always
differ a little between two runs, so they are shown, not counted as a change), else ``same``.
Unified diffs of inputs and outputs (JSON text, keys sorted) are computed on demand, only for
the rows shown. Tokens and cost are read like everywhere else (``genver.trace_summary``).

The work is bounded: at most ``MAX_ROWS`` rows are aligned (a note says so), and each side of a
diff is cut at ``MAX_DIFF_CHARS``.

>>> cmp = compare_traces(client, "tr-1a...", "tr-2b...")  # doctest: +SKIP
>>> [r.key for r in cmp.rows if r.change == "removed"]  # doctest: +SKIP
['agent / search[1]']
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from genver.entities import Span, SpanOutline, Trace, TraceInfo
from genver.exceptions import InvalidArgumentError
from genver.trace_summary import SPAN_COST_KEY, PriceTable, span_cost, span_usage

if TYPE_CHECKING:
    from genver.client import GenverClient

__all__ = [
    "MAX_DIFF_CHARS",
    "MAX_ROWS",
    "SpanFigures",
    "TraceComparison",
    "TraceRow",
    "TraceSide",
    "align_traces",
    "compare_traces",
    "page_rows",
]

#: Rows aligned at most: a bigger pair of traces is compared on its first rows (depth first).
MAX_ROWS = 5_000
#: Each side of an input/output diff is cut at this many characters.
MAX_DIFF_CHARS = 64 * 1024

Change = Literal["same", "changed", "added", "removed"]
PathStep = tuple[str, int]  # (span name, index among same-named siblings)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpanFigures:
    """One side of an aligned row: the span and its numbers (None where it records none)."""

    span_id: str
    span_type: str
    status: str
    duration_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    cost: float | None

    @property
    def tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "span_id": self.span_id,
            "span_type": self.span_type,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tokens": self.tokens,
            "cost": self.cost,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceRow:
    """Spans of both traces at one key (``a`` or ``b`` None when only one trace has it)."""

    path: tuple[PathStep, ...]
    change: Change
    a: SpanFigures | None
    b: SpanFigures | None
    #: What differs on a ``changed`` row: ``inputs``, ``outputs``, ``status``, ``span_type``, ``tokens``.
    differs: tuple[str, ...] = ()
    a_span: Span | None = field(default=None, repr=False, compare=False)
    b_span: Span | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.path[-1][0]

    @property
    def depth(self) -> int:
        return len(self.path) - 1

    @property
    def key(self) -> str:
        """The path as text: ``agent / search[1]`` (the index shown from the second same-named sibling)."""
        return " / ".join(name if i == 0 else f"{name}[{i}]" for name, i in self.path)

    @property
    def duration_delta_ms(self) -> float | None:
        return None if self.a is None or self.b is None else _delta(self.a.duration_ms, self.b.duration_ms)

    @property
    def tokens_delta(self) -> int | None:
        a, b = (None, None) if self.a is None or self.b is None else (self.a.tokens, self.b.tokens)
        return None if a is None or b is None else b - a

    @property
    def cost_delta(self) -> float | None:
        return None if self.a is None or self.b is None else _delta(self.a.cost, self.b.cost)

    def inputs_diff(self) -> str:
        """A unified diff of the two sides' inputs; "" when equal or when one side is missing."""
        return self._diff("inputs") if "inputs" in self.differs else ""

    def outputs_diff(self) -> str:
        return self._diff("outputs") if "outputs" in self.differs else ""

    def _diff(self, what: Literal["inputs", "outputs"]) -> str:
        assert self.a_span is not None and self.b_span is not None  # only "changed" rows differ
        a, a_cut = _cut(as_text(getattr(self.a_span, what)))
        b, b_cut = _cut(as_text(getattr(self.b_span, what)))
        lines = difflib.unified_diff(
            a.splitlines(), b.splitlines(), f"a/{what}", f"b/{what}", lineterm="", n=3
        )
        text = "\n".join(lines)
        if a_cut or b_cut:
            text += f"\n(compared the first {MAX_DIFF_CHARS:,} characters of each side)"
        return text

    def to_dict(self, *, diffs: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "path": [[name, i] for name, i in self.path],
            "depth": self.depth,
            "name": self.name,
            "change": self.change,
            "differs": list(self.differs),
            "a": None if self.a is None else self.a.to_dict(),
            "b": None if self.b is None else self.b.to_dict(),
            "duration_delta_ms": self.duration_delta_ms,
            "tokens_delta": self.tokens_delta,
            "cost_delta": self.cost_delta,
        }
        if diffs:
            out["inputs_diff"] = self.inputs_diff() or None
            out["outputs_diff"] = self.outputs_diff() or None
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceSide:
    """One trace's totals, from its summary."""

    trace_id: str
    experiment_id: str
    state: str
    span_count: int
    duration_ms: float | None
    tokens: int | None
    cost: float | None

    @classmethod
    def of(cls, info: TraceInfo, span_count: int) -> TraceSide:
        return cls(
            trace_id=info.trace_id,
            experiment_id=info.experiment_id,
            state=str(info.state),
            span_count=span_count,
            duration_ms=None if info.execution_duration is None else float(info.execution_duration),
            tokens=None if info.token_usage is None else info.token_usage.total_tokens,
            cost=info.cost,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "experiment_id": self.experiment_id,
            "state": self.state,
            "span_count": self.span_count,
            "duration_ms": self.duration_ms,
            "tokens": self.tokens,
            "cost": self.cost,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceComparison:
    """Two traces aligned: ``rows`` depth first, in ``a``'s order with ``b``'s extra spans among them."""

    a: TraceSide
    b: TraceSide
    rows: tuple[TraceRow, ...]
    truncated: bool = False
    notes: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(("same", "changed", "added", "removed"), 0)
        for r in self.rows:
            out[r.change] += 1
        return out

    def select(self, *, diff_only: bool = False) -> tuple[TraceRow, ...]:
        """The rows, or (``diff_only``) only those that are not ``same``."""
        return tuple(r for r in self.rows if r.change != "same") if diff_only else self.rows

    def to_dict(self, rows: Sequence[TraceRow] | None = None) -> dict[str, Any]:
        """JSON: both traces' totals, ``rows`` (default: all, with diffs), counts and notes."""
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "rows": [r.to_dict() for r in (self.rows if rows is None else rows)],
            "counts": self.counts,
            "truncated": self.truncated,
            "notes": list(self.notes),
        }


def compare_traces(
    client: GenverClient, a: str, b: str, *, max_rows: int = MAX_ROWS, prices: PriceTable | None = None
) -> TraceComparison:
    """Align traces ``a`` (the baseline) and ``b``; an unknown id raises ``NotFoundError``.

    The spans are aligned on the traces' outlines (``get_trace_outline``: no inputs or
    outputs), then only the spans both traces have are read in full, to tell ``same`` from
    ``changed``: a 30,000-span trace against a 6-span one reads 6 full spans per side."""
    oa, ob = client.get_trace_outline(a), client.get_trace_outline(b)

    def load(ids_a: list[str], ids_b: list[str]) -> dict[str, Span]:
        return {
            **{f"a:{s.span_id}": s for s in client.get_spans(a, ids_a)},
            **{f"b:{s.span_id}": s for s in client.get_spans(b, ids_b)},
        }

    return _align(
        oa.info, oa.spans, ob.info, ob.spans, load, max_rows=max_rows, prices=prices, in_start_order=True
    )


def align_traces(
    a: Trace, b: Trace, *, max_rows: int = MAX_ROWS, prices: PriceTable | None = None
) -> TraceComparison:
    """Align the spans of ``a`` and ``b`` (see the module docstring); ``prices`` prices the
    tokens of spans that carry no cost attribute (default: the built-in price table)."""
    by_id = {f"a:{s.span_id}": s for s in a.data.spans} | {f"b:{s.span_id}": s for s in b.data.spans}
    return _align(
        a.info, a.data.spans, b.info, b.data.spans, lambda _a, _b: by_id, max_rows=max_rows, prices=prices
    )


def _align(
    info_a: TraceInfo,
    spans_a: Sequence[Node],
    info_b: TraceInfo,
    spans_b: Sequence[Node],
    load: Callable[[list[str], list[str]], Mapping[str, Span]],
    *,
    max_rows: int,
    prices: PriceTable | None,
    in_start_order: bool = False,
) -> TraceComparison:
    """Pair the spans depth first by key, then ``load`` the full spans of the pairs (keyed
    ``a:<id>`` / ``b:<id>``) to compare their inputs, outputs and tokens."""
    if max_rows < 1:
        raise InvalidArgumentError(f"Invalid max_rows {max_rows!r}: expected a positive integer.")
    table = prices or PriceTable()
    ta, tb = _Tree(spans_a, in_start_order=in_start_order), _Tree(spans_b, in_start_order=in_start_order)
    paired: list[tuple[tuple[PathStep, ...], Node | None, Node | None]] = []
    # depth first, iteratively (a trace may be thousands of spans deep)
    stack: list[tuple[tuple[PathStep, ...], Node | None, Node | None]] = [
        ((step,), sa, sb) for step, sa, sb in reversed(_pairs(ta.roots(), tb.roots()))
    ]
    while stack and len(paired) < max_rows:
        path, sa, sb = stack.pop()
        paired.append((path, sa, sb))
        kids = _pairs(ta.kids(sa), tb.kids(sb))
        stack.extend(((*path, step), ka, kb) for step, ka, kb in reversed(kids))
    both = [(sa, sb) for _, sa, sb in paired if sa is not None and sb is not None]
    full = load([sa.span_id for sa, _ in both], [sb.span_id for _, sb in both]) if both else {}
    rows = [
        _row(
            path,
            None if sa is None else full.get(f"a:{sa.span_id}", sa),
            None if sb is None else full.get(f"b:{sb.span_id}", sb),
            table,
        )
        for path, sa, sb in paired
    ]
    notes = []
    if stack:
        notes.append(
            f"The traces have {len(spans_a):,} and {len(spans_b):,} spans: only the first "
            f"{max_rows:,} rows (depth first) are compared."
        )
    return TraceComparison(
        a=TraceSide.of(info_a, len(spans_a)),
        b=TraceSide.of(info_b, len(spans_b)),
        rows=tuple(rows),
        truncated=bool(stack),
        notes=tuple(notes),
    )


def page_rows(
    rows: Sequence[TraceRow], page_token: str | None, max_results: int
) -> tuple[Sequence[TraceRow], str | None]:
    """One page of ``rows`` from ``page_token`` (a row offset) and the next page's token."""
    start = 0
    if page_token:
        if not (page_token.isascii() and page_token.isdigit() and len(page_token) <= 9):
            raise InvalidArgumentError(f"Invalid page_token {page_token!r}: expected a row offset.")
        start = int(page_token)
    end = start + max_results
    return rows[start:end], (str(end) if end < len(rows) else None)


# -- alignment ----------------------------------------------------------------------------------------
class Node(Protocol):
    """What alignment needs of a span: a ``Span`` or a ``SpanOutline``."""

    @property
    def span_id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def name(self) -> str: ...
    @property
    def start_time_ns(self) -> int: ...


class _Tree:
    """A trace's spans by parent (a span whose parent is missing counts as a root); siblings are
    sorted by start time when first asked for, so a big trace sorts only what is compared."""

    def __init__(self, spans: Sequence[Node], *, in_start_order: bool = False) -> None:
        ids = {s.span_id for s in spans}
        self.children: dict[str | None, list[Node]] = {}
        for s in spans:
            self.children.setdefault(s.parent_id if s.parent_id in ids else None, []).append(s)
        # an outline comes in start order (``Store.get_trace_outline``), so its siblings do too
        self.in_start_order = in_start_order
        self.sorted: set[str | None] = set()

    def roots(self) -> list[Node]:
        return self._sorted(None)

    def kids(self, span: Node | None) -> list[Node]:
        """The children of ``span``; none for a span this trace does not have (None)."""
        return [] if span is None else self._sorted(span.span_id)

    def _sorted(self, parent: str | None) -> list[Node]:
        kids = self.children.get(parent, [])
        if not self.in_start_order and parent not in self.sorted:
            kids.sort(key=_start)
            self.sorted.add(parent)
        return kids


def _start(s: Node) -> tuple[int, str]:
    return s.start_time_ns, s.span_id


def _keyed(spans: Sequence[Node]) -> Iterator[tuple[PathStep, Node]]:
    seen: dict[str, int] = {}
    for s in spans:
        i = seen.get(s.name, 0)
        seen[s.name] = i + 1
        yield (s.name, i), s


def _pairs(a_kids: Sequence[Node], b_kids: Sequence[Node]) -> list[tuple[PathStep, Node | None, Node | None]]:
    """Children of two aligned spans, paired by (name, index): ``a``'s order, each child only
    ``b`` has placed after the shared child it follows in ``b``."""
    if not b_kids or not a_kids:  # one side only (a whole added or removed subtree): no pairing
        return [(step, s, None) for step, s in _keyed(a_kids)] + [
            (step, None, s) for step, s in _keyed(b_kids)
        ]
    in_a = dict(_keyed(a_kids))
    in_b = dict(_keyed(b_kids))
    after: dict[PathStep | None, list[PathStep]] = {}
    anchor: PathStep | None = None
    for step in in_b:
        if step in in_a:
            anchor = step
        else:
            after.setdefault(anchor, []).append(step)
    out: list[tuple[PathStep, Node | None, Node | None]] = [(s, None, in_b[s]) for s in after.get(None, [])]
    for step, span in in_a.items():
        out.append((step, span, in_b.get(step)))
        out.extend((s, None, in_b[s]) for s in after.get(step, []))
    return out


def _row(path: tuple[PathStep, ...], a: Node | None, b: Node | None, prices: PriceTable) -> TraceRow:
    """A row; a side present in both traces is a full ``Span`` (read for the comparison), a side
    only one trace has may be an outline."""
    fa = None if a is None else _figures(a, prices)
    fb = None if b is None else _figures(b, prices)
    if not (isinstance(a, Span) and isinstance(b, Span) and fa is not None and fb is not None):
        change: Change = "added" if a is None else "removed"
        return TraceRow(
            path=path,
            change=change,
            a=fa,
            b=fb,
            a_span=a if isinstance(a, Span) else None,
            b_span=b if isinstance(b, Span) else None,
        )
    differs = tuple(
        what
        for what, equal in (
            ("inputs", _same(a.inputs, b.inputs)),
            ("outputs", _same(a.outputs, b.outputs)),
            ("status", fa.status == fb.status),
            ("span_type", fa.span_type == fb.span_type),
            ("tokens", (fa.input_tokens, fa.output_tokens) == (fb.input_tokens, fb.output_tokens)),
        )
        if not equal
    )
    return TraceRow(
        path=path, change="changed" if differs else "same", a=fa, b=fb, differs=differs, a_span=a, b_span=b
    )


def _figures(s: Node, prices: PriceTable) -> SpanFigures:
    if isinstance(s, SpanOutline):  # tokens and the stored cost, as the store read them
        return SpanFigures(
            span_id=s.span_id,
            span_type=s.span_type,
            status=str(s.status),
            duration_ms=s.duration_ms,
            input_tokens=s.input_tokens,
            output_tokens=s.output_tokens,
            cost=s.cost,
        )
    assert isinstance(s, Span)
    usage = span_usage(s.attributes)
    stored = s.attributes.get(SPAN_COST_KEY)
    if isinstance(stored, (int, float)) and not isinstance(stored, bool) and math.isfinite(stored):
        cost: float | None = float(stored)
    else:
        cost = None if usage is None else span_cost(s.attributes, usage, prices)
    return SpanFigures(
        span_id=s.span_id,
        span_type=s.span_type,
        status=str(s.status.status_code),
        duration_ms=s.duration_ms,
        input_tokens=None if usage is None else usage[0],
        output_tokens=None if usage is None else usage[1],
        cost=cost,
    )


def _same(x: Any, y: Any) -> bool:
    try:
        return bool(x == y)
    except Exception:  # a value whose == raises: compare the text
        return as_text(x) == as_text(y)


def as_text(value: Any) -> str:
    """A value as diffable text: strings as they are, anything else as indented JSON, keys sorted."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    except TypeError:  # keys of mixed types cannot be sorted
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _cut(text: str) -> tuple[str, bool]:
    return (text[:MAX_DIFF_CHARS], True) if len(text) > MAX_DIFF_CHARS else (text, False)


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a
