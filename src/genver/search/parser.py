"""Parse MLflow-style filter strings and ``order_by`` terms into :mod:`genver.search.ast` nodes.

A hand-written tokenizer (one compiled regex) feeds a small recursive-descent parser::

    expr     := and_expr (OR and_expr)*
    and_expr := atom (AND atom)*
    atom     := '(' expr ')' | identifier op value

Every malformed input raises :class:`~genver.exceptions.InvalidFilterError` whose message quotes the
filter, the 0-based position, the offending token (or "end of input") and what was expected.

Time attributes (``timestamp`` of traces, ``creation_timestamp`` of versions, ...) take epoch
milliseconds or a quoted ISO-8601 date-time, read by ``datetime.fromisoformat`` (so
``'2026-12-06'``, ``'2026-12-06 00:57:06.5'``, ``'2026-12-06T00:57:06Z'``, ``'...+02:00'``); a time
without an offset is UTC. A value made only of digits is a number of milliseconds, never a
compact date. The comparison is against the exact epoch milliseconds (fractions included).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import NamedTuple, NoReturn

from genver.exceptions import InvalidFilterError
from genver.search.ast import (
    NUMBER_OPS,
    STRING_OPS,
    And,
    Comparison,
    FilterSchema,
    Kind,
    Node,
    Op,
    Or,
    OrderBy,
    ValueType,
)

__all__ = ["iso_millis", "parse_filter", "parse_order_by", "quote"]

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_TOKEN_RE = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
    |(?P<num>"""
    + _NUMBER
    + r""")
    |(?P<ident>(?:[^\W\d]\w*|`[^`]*`)(?:\.(?:\w+|`[^`]*`)?)*)
    |(?P<op><=|>=|<>|!=|==|=|<|>)
    |(?P<punct>[(),])
    """,
    re.VERBOSE | re.DOTALL,
)
_NUMBER_RE = re.compile(_NUMBER)
_ESCAPE_RE = {q: re.compile(r"\\(.)|" + q + q, re.DOTALL) for q in "'\""}
_OPS: dict[str, Op] = {
    "=": "=",
    "==": "=",
    "!=": "!=",
    "<>": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "LIKE": "LIKE",
    "ILIKE": "ILIKE",
    "IN": "IN",
}
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ILIKE"})
_PLURAL: dict[str, str] = {"attribute": "attributes", "metric": "metrics", "param": "params", "tag": "tags"}
_ORDER_KEYS = ("field_name", "ascending", "dataset_name", "dataset_digest")
_MAX_DEPTH = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


class _Token(NamedTuple):
    kind: str  # ws/str/num/ident/op/punct/eof
    text: str
    pos: int


def _show(text: str) -> str:
    """``repr`` of ``text``, preferring double quotes (filters are full of single quotes)."""
    r = repr(text)
    return '"' + r[1:-1] + '"' if r.startswith("'") and '"' not in text else r


def _fail(what: str, source: str, msg: str, pos: int | None = None, token: _Token | None = None) -> NoReturn:
    where = ""
    if pos is not None:
        found = "end of input" if token is None or token.kind == "eof" else f"found {token.text!r}"
        where = f" at position {pos} ({found})"
    raise InvalidFilterError(f"Invalid {what} {source}: {msg}{where}.")


def _tokenize(text: str, what: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, end = 0, len(text)
    while pos < end:
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            c = text[pos]
            tok = _Token("char", c, pos)
            if c in "'\"":
                _fail(what, _show(text), "unterminated quoted string", pos, tok)
            if c == "`":
                _fail(what, _show(text), "unterminated backtick-quoted name", pos, tok)
            _fail(what, _show(text), "unexpected character", pos, tok)
        kind = m.lastgroup
        assert kind is not None
        if kind != "ws":
            tokens.append(_Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(_Token("eof", "", end))
    return tokens


def _unquote(literal: str) -> str:
    q = literal[0]

    def repl(m: re.Match[str]) -> str:
        c = m.group(1)
        if c is None:
            return q
        return c if c in "'\"\\" else m.group()

    return _ESCAPE_RE[q].sub(repl, literal[1:-1])


def _attribute(schema: FilterSchema, name: str, fail: _Fail) -> str:
    name = schema.aliases.get(name, name)
    if name in schema.attributes:
        return name
    lower = schema.aliases.get(name.lower(), name.lower())
    if lower in schema.attributes:
        return lower
    fail(f"unknown attribute {name!r} for {schema.entity}; valid attributes: {', '.join(schema.attributes)}")


class _Fail:
    """Raises an error about one identifier (bound to its source text and position)."""

    def __init__(self, what: str, source: str, pos: int | None = None, token: _Token | None = None) -> None:
        self.what, self.source, self.pos, self.token = what, source, pos, token

    def __call__(self, msg: str) -> NoReturn:
        _fail(self.what, self.source, msg, self.pos, self.token)


def _resolve(text: str, schema: FilterSchema, fail: _Fail) -> tuple[Kind, str]:
    """Split ``prefix.key`` / ``prefix.`key``` / ``attribute`` into ``(kind, key)``."""
    if text.startswith("`"):
        close = text.find("`", 1)
        if close < 0:
            fail(f"unterminated backtick in {text!r}")
        first, after = text[1:close], text[close + 1 :]
    else:
        first = text.split(".", 1)[0].split("`", 1)[0]
        after = text[len(first) :]
    if not after:
        return "attribute", _attribute(schema, first, fail)
    if not after.startswith("."):
        fail(f"expected '.' after {first!r} in {text!r}")
    kind = schema.prefixes.get(first.lower())
    if kind is None:
        if text in schema.attributes or text in schema.aliases:
            return "attribute", _attribute(schema, text, fail)
        fail(
            f"unknown prefix {first!r} in {text!r}; valid prefixes for {schema.entity}: "
            f"{', '.join(schema.prefixes)} (or a bare attribute: {', '.join(schema.attributes)})"
        )
    rest = after[1:]
    sub = ""  # span.attributes.`gen_ai.request.model`: only the attribute key is quoted
    if kind == "span" and rest[:11].lower() == "attributes.":
        sub, rest = "attributes.", rest[11:]
    if "`" in rest:
        if not (len(rest) >= 2 and rest[0] == rest[-1] == "`" and rest.count("`") == 2):
            fail(f"quote the whole key in backticks, e.g. {first}.{sub}`a.b c`, not {text!r}")
        rest = rest[1:-1]
    if not rest:
        fail(f"missing key after {first + '.' + sub!r}")
    if kind == "attribute":
        return kind, _attribute(schema, rest, fail)
    if first.lower() == "resource":  # resource.service.name is the metadata key of that name
        return kind, "resource." + rest
    return kind, sub + rest


class _Parser:
    def __init__(self, text: str, schema: FilterSchema) -> None:
        self.text, self.schema, self.source = text, schema, _show(text)
        self.tokens = _tokenize(text, "filter")
        self.i = 0
        self.depth = 0

    def fail(self, msg: str, token: _Token) -> NoReturn:
        _fail("filter", self.source, msg, token.pos, token)

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def next(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def at_keyword(self, word: str) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == "ident" and tok.text.upper() == word

    def parse(self) -> Node:
        node = self.expr()
        tok = self.peek()
        if tok.kind != "eof":
            self.fail("unmatched ')'" if tok.text == ")" else "expected AND, OR or end of input", tok)
        return node

    def expr(self) -> Node:
        items = [self.and_expr()]
        while self.at_keyword("OR"):
            self.next()
            items.append(self.and_expr())
        return _join(Or, items)

    def and_expr(self) -> Node:
        items = [self.atom()]
        while self.at_keyword("AND"):
            self.next()
            items.append(self.atom())
        return _join(And, items)

    def atom(self) -> Node:
        tok = self.next()
        if tok.text == "(" and tok.kind == "punct":
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                self.fail(f"parentheses nested deeper than {_MAX_DEPTH}", tok)
            node = self.expr()
            close = self.next()
            if close.text != ")" or close.kind != "punct":
                self.fail(f"expected ')' to close the '(' opened at offset {tok.pos}", close)
            self.depth -= 1
            return node
        if tok.kind != "ident" or tok.text.upper() in _KEYWORDS:
            idx = self.i if tok.kind == "eof" else self.i - 1
            after = f" after {self.tokens[idx - 1].text!r}" if idx > 0 else ""
            self.fail(f"expected a key such as name, params.x or metrics.acc, or '('{after}", tok)
        return self.comparison(tok)

    def comparison(self, ident: _Token) -> Comparison:
        kind, key = _resolve(ident.text, self.schema, _Fail("filter", self.source, ident.pos, ident))
        vtype: ValueType | None = (
            self.schema.attributes[key] if kind == "attribute" else self.schema.kind_types.get(kind)
        )
        if vtype is None:
            self.fail(f"{_PLURAL.get(kind, kind)} are not supported in {self.schema.entity} filters", ident)
        shown = ident.text
        tok = self.next()
        word = tok.text.upper() if tok.kind == "ident" else ""
        if tok.kind == "op":
            op = _OPS[tok.text]
        elif word == "NOT":
            if not self.at_keyword("IN"):
                self.fail("expected IN after NOT", self.peek())
            self.next()
            op = "NOT IN"
        elif word in _OPS:
            op = _OPS[word]
        else:
            self.fail(
                f"expected an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN) after {shown!r}", tok
            )
        allowed = STRING_OPS if vtype == "string" else NUMBER_OPS
        if op not in allowed:
            self.fail(
                f"operator {op!r} is not allowed for {vtype} key {shown!r}; allowed: {', '.join(sorted(allowed))}",
                tok,
            )
        if op in ("IN", "NOT IN"):
            return Comparison(kind, key, op, self.in_list(op, shown), ident.pos)
        return Comparison(kind, key, op, self.value(vtype, op, shown), ident.pos)

    def value(self, vtype: ValueType, op: str, shown: str) -> str | float:
        tok = self.next()
        if tok.kind == "eof" or tok.kind == "punct" or tok.kind == "op":
            self.fail(f"expected a value after {op!r}", tok)
        if vtype != "string":
            text = tok.text if tok.kind == "num" else _unquote(tok.text).strip() if tok.kind == "str" else ""
            if _NUMBER_RE.fullmatch(text):
                return float(text)
            if vtype == "time":
                millis = iso_millis(text) if tok.kind == "str" else None
                if millis is None:
                    self.fail(
                        f"expected epoch milliseconds or a quoted ISO-8601 time for {shown!r}, such as "
                        "1796518626000 or '2026-12-06T00:57:06' (UTC unless it has an offset such as "
                        f"'+02:00'), got {text if tok.kind == 'str' else tok.text!r}",
                        tok,
                    )
                return millis
            self.fail(f"expected a number for {shown!r}", tok)
        return self.string(tok, shown)

    def string(self, tok: _Token, shown: str) -> str:
        if tok.kind == "str":
            return _unquote(tok.text)
        if tok.kind == "num":
            self.fail(f"{shown!r} is a string key: quote the value, e.g. '{tok.text}'", tok)
        self.fail(f"expected a quoted string for {shown!r}", tok)

    def in_list(self, op: str, shown: str) -> tuple[str, ...]:
        tok = self.next()
        if tok.text != "(" or tok.kind != "punct":
            self.fail(f"expected '(' after {op}, e.g. {op} ('a', 'b')", tok)
        if self.peek().text == ")" and self.peek().kind == "punct":
            self.fail(f"{op} needs at least one value", self.peek())
        items = [self.string(self.next(), shown)]
        while True:
            tok = self.next()
            if tok.kind == "punct" and tok.text == ")":
                return tuple(items)
            if tok.kind != "punct" or tok.text != ",":
                self.fail(f"expected ',' or ')' in the {op} list", tok)
            items.append(self.string(self.next(), shown))


def iso_millis(text: str) -> float | None:
    """Milliseconds since the epoch of an ISO-8601 date-time (``datetime.fromisoformat``; no
    offset means UTC), exact to the microsecond; None when ``text`` is not one.

    >>> iso_millis("1970-01-01T00:00:01.5")
    1500.0
    >>> iso_millis("2026-12-06T02:57:06+02:00") == iso_millis("2026-12-06 00:57:06")
    True
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    micros = (moment - _EPOCH) // _MICROSECOND  # exact: timedelta arithmetic, no float
    return float(micros // 1000) if micros % 1000 == 0 else micros / 1000


def _join(cls: type[And] | type[Or], items: list[Node]) -> Node:
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(flat))


def parse_filter(text: str | None, schema: FilterSchema) -> Node | None:
    """Parse a filter string such as ``name = 'x' AND metrics.acc > 0.9`` for ``schema``.

    Returns ``None`` for ``None``, empty or whitespace-only input, otherwise a :class:`Comparison`,
    :class:`And` or :class:`Or`. Raises :class:`InvalidFilterError` on any malformed input.
    """
    if text is None or not text.strip():
        return None
    return _Parser(text, schema).parse()


def _order_kind_check(kind: Kind, field: str, schema: FilterSchema, fail: _Fail) -> None:
    if kind not in schema.order_kinds:
        kinds = [_PLURAL[k] for k in _PLURAL if k in schema.order_kinds]
        listed = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
        fail(f"order_by supports {listed} for {schema.entity}, got {field!r}")


def parse_order_by(item: str | Mapping[str, object], schema: FilterSchema) -> OrderBy:
    """Parse one ``order_by`` term for ``schema``.

    Accepts the MLflow runs/experiments string form (``"metrics.acc DESC"``, ``"name"``) or the
    logged-models dict form (``{"field_name": "metrics.acc", "ascending": False,
    "dataset_name": "ds", "dataset_digest": "abc"}``). Raises :class:`InvalidFilterError`.
    """
    if isinstance(item, str):
        source = _show(item)
        tokens = _tokenize(item, "order_by")
        ident = tokens[0]
        if ident.kind != "ident":
            _fail("order_by", source, "expected a field name such as metrics.acc or name", ident.pos, ident)
        ascending = True
        tok = tokens[1]
        if tok.kind == "ident" and tok.text.upper() in ("ASC", "DESC"):
            ascending = tok.text.upper() == "ASC"
            tok = tokens[2]
        if tok.kind != "eof":
            _fail("order_by", source, "expected ASC, DESC or end of input", tok.pos, tok)
        fail = _Fail("order_by", source, ident.pos, ident)
        kind, key = _resolve(ident.text, schema, fail)
        _order_kind_check(kind, ident.text, schema, fail)
        return OrderBy(kind, key, ascending)
    if not isinstance(item, Mapping):
        raise InvalidFilterError(f"Invalid order_by {item!r}: expected a string or a dict with 'field_name'.")
    fail = _Fail("order_by", repr(dict(item)))
    unknown = [k for k in item if k not in _ORDER_KEYS]
    if unknown:
        fail(f"unknown keys {', '.join(map(repr, unknown))}; valid keys: {', '.join(_ORDER_KEYS)}")
    field = item.get("field_name")
    if not isinstance(field, str) or not field.strip():
        fail("'field_name' is required and must be a non-empty string")
    asc = item.get("ascending", True)
    if not isinstance(asc, bool):
        fail(f"'ascending' must be a bool, got {asc!r}")
    dataset: dict[str, str | None] = {}
    for name in ("dataset_name", "dataset_digest"):
        value = item.get(name)
        if value is not None and not isinstance(value, str):
            fail(f"{name!r} must be a string, got {value!r}")
        dataset[name] = value
    kind, key = _resolve(field.strip(), schema, fail)
    _order_kind_check(kind, field, schema, fail)
    if kind != "metric" and (dataset["dataset_name"] is not None or dataset["dataset_digest"] is not None):
        fail(f"dataset_name and dataset_digest are only valid when ordering by a metric, got {field!r}")
    return OrderBy(kind, key, asc, dataset["dataset_name"], dataset["dataset_digest"])


def quote(value: str) -> str:
    """Return ``value`` as a single-quoted filter literal that parses back to exactly ``value``.

    Backslashes are doubled and single quotes written as ``''``, so
    ``parse_filter(f"name = {quote(v)}", LOGGED_MODELS)`` round-trips any string.
    """
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
