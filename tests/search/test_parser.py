from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genver.exceptions import InvalidArgumentError, InvalidFilterError
from genver.search.ast import (
    EXPERIMENTS,
    LOGGED_MODELS,
    NUMBER_OPS,
    RUNS,
    STRING_OPS,
    And,
    Comparison,
    FilterSchema,
    Node,
    Or,
    OrderBy,
)
from genver.search.parser import parse_filter, parse_order_by, quote

C = Comparison


def _strip_positions(node: Node) -> Node:
    if isinstance(node, Comparison):
        return dataclasses.replace(node, position=0)
    return type(node)(tuple(_strip_positions(n) for n in node.items))


# --------------------------------------------------------------------------- valid filters

VALID: list[tuple[str, Node]] = [
    ("name = 'x'", C("attribute", "name", "=", "x", 0)),
    ("name == 'x'", C("attribute", "name", "=", "x", 0)),
    ("name <> 'x'", C("attribute", "name", "!=", "x", 0)),
    ('name != "x"', C("attribute", "name", "!=", "x", 0)),
    ("  name='x'  ", C("attribute", "name", "=", "x", 2)),
    ("model_name LIKE 'a%'", C("attribute", "name", "LIKE", "a%", 0)),
    ("id = 'm-1'", C("attribute", "model_id", "=", "m-1", 0)),
    ("creation_time > 5", C("attribute", "creation_timestamp", ">", 5.0, 0)),
    ("attributes.creation_time >= 5", C("attribute", "creation_timestamp", ">=", 5.0, 0)),
    ("attr.name ILIKE '%X%'", C("attribute", "name", "ILIKE", "%X%", 0)),
    ("Attributes.`name` = 'x'", C("attribute", "name", "=", "x", 0)),
    ("`name` = 'x'", C("attribute", "name", "=", "x", 0)),
    ("creation_timestamp < '1700000000000'", C("attribute", "creation_timestamp", "<", 1.7e12, 0)),
    ("last_updated_time <= 1e3", C("attribute", "last_updated_timestamp", "<=", 1000.0, 0)),
    ("params.llm = 'gpt-4'", C("param", "llm", "=", "gpt-4", 0)),
    ("PARAMS.llm = 'gpt-4'", C("param", "llm", "=", "gpt-4", 0)),
    ("param.a.b.c = 'v'", C("param", "a.b.c", "=", "v", 0)),
    ("parameters.`my key` = 'v'", C("param", "my key", "=", "v", 0)),
    ("tags.mlflow.source.git.commit = 'abc'", C("tag", "mlflow.source.git.commit", "=", "abc", 0)),
    ("tags.`mlflow.source.git.commit` = 'abc'", C("tag", "mlflow.source.git.commit", "=", "abc", 0)),
    ("tag.`a-b/c:d` != 'x'", C("tag", "a-b/c:d", "!=", "x", 0)),
    ("metrics.acc > 0.9", C("metric", "acc", ">", 0.9, 0)),
    ("metric.acc > -1", C("metric", "acc", ">", -1.0, 0)),
    ("metrics.loss < 1e-3", C("metric", "loss", "<", 0.001, 0)),
    ("metrics.loss < -2.5E+2", C("metric", "loss", "<", -250.0, 0)),
    ("metrics.loss < .5", C("metric", "loss", "<", 0.5, 0)),
    ("metrics.loss < +5.", C("metric", "loss", "<", 5.0, 0)),
    ("metrics.loss = '-3'", C("metric", "loss", "=", -3.0, 0)),
    ("metrics.1st>=2", C("metric", "1st", ">=", 2.0, 0)),
    ("tags.env IN ('prod', 'staging')", C("tag", "env", "IN", ("prod", "staging"), 0)),
    ("tags.env in ('prod')", C("tag", "env", "IN", ("prod",), 0)),
    ("tags.env NOT IN ('a',\"b\")", C("tag", "env", "NOT IN", ("a", "b"), 0)),
    ("tags.env not  in('a')", C("tag", "env", "NOT IN", ("a",), 0)),
    ("name like 'a' ", C("attribute", "name", "LIKE", "a", 0)),
    ("name iLike 'a'", C("attribute", "name", "ILIKE", "a", 0)),
    ("name = 'it''s'", C("attribute", "name", "=", "it's", 0)),
    ("name = 'it\\'s'", C("attribute", "name", "=", "it's", 0)),
    ('name = "say ""hi"""', C("attribute", "name", "=", 'say "hi"', 0)),
    ('name = "it\'s"', C("attribute", "name", "=", "it's", 0)),
    ("name = 'a\\\\b'", C("attribute", "name", "=", "a\\b", 0)),
    ("name LIKE 'a\\_b'", C("attribute", "name", "LIKE", "a\\_b", 0)),
    ("name = 'line\nbreak'", C("attribute", "name", "=", "line\nbreak", 0)),
    ("name = 'ünï ☃'", C("attribute", "name", "=", "ünï ☃", 0)),
    ("name = ''", C("attribute", "name", "=", "", 0)),
    (
        "name = 'a' AND params.p = 'b'",
        And((C("attribute", "name", "=", "a", 0), C("param", "p", "=", "b", 15))),
    ),
    (
        "name = 'a' and params.p = 'b' AnD tags.t = 'c'",
        And(
            (C("attribute", "name", "=", "a", 0), C("param", "p", "=", "b", 15), C("tag", "t", "=", "c", 34))
        ),
    ),
    (
        "name = 'a' AND params.p = 'b' OR tags.t = 'c'",
        Or(
            (
                And((C("attribute", "name", "=", "a", 0), C("param", "p", "=", "b", 15))),
                C("tag", "t", "=", "c", 33),
            )
        ),
    ),
    (
        "name = 'a' or params.p = 'b' AND tags.t = 'c'",
        Or(
            (
                C("attribute", "name", "=", "a", 0),
                And((C("param", "p", "=", "b", 14), C("tag", "t", "=", "c", 33))),
            )
        ),
    ),
    (
        "name = 'a' AND (params.p = 'b' OR tags.t = 'c')",
        And(
            (
                C("attribute", "name", "=", "a", 0),
                Or((C("param", "p", "=", "b", 16), C("tag", "t", "=", "c", 34))),
            )
        ),
    ),
    (
        "(name = 'a' AND params.p = 'b') AND tags.t = 'c'",
        And(
            (C("attribute", "name", "=", "a", 1), C("param", "p", "=", "b", 16), C("tag", "t", "=", "c", 36))
        ),
    ),
    (
        "(name = 'a' OR params.p = 'b') OR (tags.t = 'c')",
        Or((C("attribute", "name", "=", "a", 1), C("param", "p", "=", "b", 15), C("tag", "t", "=", "c", 35))),
    ),
    ("((((name = 'a'))))", C("attribute", "name", "=", "a", 4)),
    (
        "name='a'AND(metrics.m>1)",
        And((C("attribute", "name", "=", "a", 0), C("metric", "m", ">", 1.0, 12))),
    ),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[t for t, _ in VALID])
def test_valid_filters(text: str, expected: Node) -> None:
    assert parse_filter(text, LOGGED_MODELS) == expected


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_empty_filter_is_none(text: str | None) -> None:
    assert parse_filter(text, LOGGED_MODELS) is None


@pytest.mark.parametrize(
    ("text", "schema", "expected"),
    [
        ("name = 'r'", RUNS, C("attribute", "run_name", "=", "r", 0)),
        ("attributes.run_uuid = 'x'", RUNS, C("attribute", "run_id", "=", "x", 0)),
        ("created > 3", RUNS, C("attribute", "start_time", ">", 3.0, 0)),
        ("attributes.creation_timestamp > 3", EXPERIMENTS, C("attribute", "creation_time", ">", 3.0, 0)),
        ("tags.t = 'x'", EXPERIMENTS, C("tag", "t", "=", "x", 0)),
    ],
)
def test_other_schemas(text: str, schema: FilterSchema, expected: Node) -> None:
    assert parse_filter(text, schema) == expected


# --------------------------------------------------------------------------- invalid filters

# (filter, schema, fragments the message must contain)
INVALID: list[tuple[str, FilterSchema, list[str]]] = [
    (
        "name = ",
        LOGGED_MODELS,
        ["Invalid filter \"name = \": expected a value after '=' at position 7 (end of input)."],
    ),
    ("name", LOGGED_MODELS, ["expected an operator", "position 4", "end of input"]),
    ("name 'x'", LOGGED_MODELS, ["expected an operator", "position 5", "'x'"]),
    ("name ~ 'x'", LOGGED_MODELS, ["unexpected character", "position 5", "'~'"]),
    ("name = 'abc", LOGGED_MODELS, ["unterminated quoted string", "position 7"]),
    ('name = "abc', LOGGED_MODELS, ["unterminated quoted string", "position 7"]),
    ("params.`abc = 'x'", LOGGED_MODELS, ["unterminated backtick", "position 7", "'`'"]),
    ("name = 'a' AND", LOGGED_MODELS, ["after 'AND'", "position 14", "end of input"]),
    ("name = 'a' OR OR name = 'b'", LOGGED_MODELS, ["expected a key", "position 14", "'OR'"]),
    ("AND name = 'a'", LOGGED_MODELS, ["expected a key", "position 0", "'AND'"]),
    ("name = 'a' name = 'b'", LOGGED_MODELS, ["expected AND, OR or end of input", "position 11", "'name'"]),
    ("name = 'a')", LOGGED_MODELS, ["unmatched ')'", "position 10"]),
    ("(name = 'a'", LOGGED_MODELS, ["expected ')'", "opened at offset 0", "position 11", "end of input"]),
    ("()", LOGGED_MODELS, ["expected a key", "position 1", "')'"]),
    ("zzz = 'a'", LOGGED_MODELS, ["unknown attribute 'zzz'", "model_id", "creation_timestamp", "position 0"]),
    ("attributes.zzz = 'a'", LOGGED_MODELS, ["unknown attribute 'zzz'", "position 0", "'attributes.zzz'"]),
    (
        "name = 'a' AND foo.bar = 'x'",
        LOGGED_MODELS,
        ["unknown prefix 'foo'", "params", "tags", "position 15"],
    ),
    ("metrics.x > 1", EXPERIMENTS, ["unknown prefix 'metrics'", "tags", "position 0"]),
    ("params.x = 'a'", EXPERIMENTS, ["unknown prefix 'params'"]),
    ("params. = 'x'", LOGGED_MODELS, ["missing key", "position 0", "'params.'"]),
    ("params.`` = 'x'", LOGGED_MODELS, ["missing key", "position 0"]),
    ("params.`a`.`b` = 'x'", LOGGED_MODELS, ["backticks", "position 0"]),
    ("name > 'x'", LOGGED_MODELS, ["operator '>'", "'name'", "LIKE", "IN", "position 5", "'>'"]),
    ("metrics.acc LIKE 'x'", LOGGED_MODELS, ["operator 'LIKE'", "'metrics.acc'", ">=", "position 12"]),
    ("metrics.acc IN ('1')", LOGGED_MODELS, ["operator 'IN'", "position 12"]),
    ("creation_time ILIKE 'x'", LOGGED_MODELS, ["operator 'ILIKE'", "'creation_time'"]),
    ("params.x = 5", LOGGED_MODELS, ["quote", "'5'", "position 11"]),
    ("params.x = abc", LOGGED_MODELS, ["expected a quoted string", "position 11", "'abc'"]),
    ("tags.t IN ('a', 5)", LOGGED_MODELS, ["quote", "position 16", "'5'"]),
    ("metrics.x = 'abc'", LOGGED_MODELS, ["expected a number", "'metrics.x'", "position 12", "\"'abc'\""]),
    ("metrics.x = 'nan'", LOGGED_MODELS, ["expected a number"]),
    ("metrics.x = abc", LOGGED_MODELS, ["expected a number", "position 12"]),
    ("metrics.x = - 1", LOGGED_MODELS, ["unexpected character", "position 12", "'-'"]),
    ("metrics.x > 1e", LOGGED_MODELS, ["expected AND, OR or end of input", "position 13", "'e'"]),
    ("name = (", LOGGED_MODELS, ["expected a value after '='", "position 7", "'('"]),
    ("name IN ()", LOGGED_MODELS, ["at least one value", "position 9"]),
    ("name IN 'a'", LOGGED_MODELS, ["expected '(' after IN", "position 8"]),
    ("name IN ('a' 'b')", LOGGED_MODELS, ["expected ',' or ')'", "position 13", "\"'b'\""]),
    ("name IN ('a',)", LOGGED_MODELS, ["expected a quoted string", "position 13"]),
    ("name IN ('a'", LOGGED_MODELS, ["expected ',' or ')'", "position 12", "end of input"]),
    ("name NOT LIKE 'a'", LOGGED_MODELS, ["expected IN after NOT", "position 9", "'LIKE'"]),
    ("(" * 200 + "name = 'a'" + ")" * 200, LOGGED_MODELS, ["nested deeper"]),
]


@pytest.mark.parametrize(("text", "schema", "fragments"), INVALID, ids=[t[:40] for t, _, _ in INVALID])
def test_invalid_filters(text: str, schema: FilterSchema, fragments: list[str]) -> None:
    with pytest.raises(InvalidFilterError) as info:
        parse_filter(text, schema)
    message = str(info.value)
    assert message.startswith("Invalid filter ")
    assert repr(text)[1:-1] in message  # the filter itself is quoted in the message
    for fragment in fragments:
        assert fragment in message
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        parse_filter("nope", LOGGED_MODELS)
    with pytest.raises(InvalidArgumentError):
        parse_filter("nope", LOGGED_MODELS)


def test_error_position_points_at_token() -> None:
    text = "name = 'a' AND params.x = 'b' AND metrics.m LIKE 'c'"
    with pytest.raises(InvalidFilterError) as info:
        parse_filter(text, LOGGED_MODELS)
    pos = int(re.search(r"at position (\d+)", str(info.value)).group(1))  # type: ignore[union-attr]
    assert text[pos:].startswith("LIKE")


# --------------------------------------------------------------------------- order_by


@pytest.mark.parametrize(
    ("item", "schema", "expected"),
    [
        ("metrics.acc DESC", RUNS, OrderBy("metric", "acc", False)),
        ("metrics.acc desc", RUNS, OrderBy("metric", "acc", False)),
        ("metrics.acc ASC", RUNS, OrderBy("metric", "acc", True)),
        ("attributes.start_time", RUNS, OrderBy("attribute", "start_time", True)),
        ("name ASC", RUNS, OrderBy("attribute", "run_name", True)),
        ("created", RUNS, OrderBy("attribute", "start_time", True)),
        ("params.`my key` DESC", RUNS, OrderBy("param", "my key", False)),
        ("tags.mlflow.user", RUNS, OrderBy("tag", "mlflow.user", True)),
        ("metrics.`a b`", LOGGED_MODELS, OrderBy("metric", "a b", True)),
        ("creation_time DESC", LOGGED_MODELS, OrderBy("attribute", "creation_timestamp", False)),
        ("  last_update_time  ", EXPERIMENTS, OrderBy("attribute", "last_update_time", True)),
        ({"field_name": "name"}, LOGGED_MODELS, OrderBy("attribute", "name", True)),
        (
            {"field_name": "creation_time", "ascending": False},
            LOGGED_MODELS,
            OrderBy("attribute", "creation_timestamp", False),
        ),
        (
            {"field_name": "attributes.creation_time"},
            LOGGED_MODELS,
            OrderBy("attribute", "creation_timestamp"),
        ),
        (
            {"field_name": "metrics.acc", "ascending": False, "dataset_name": "ds", "dataset_digest": "abc"},
            LOGGED_MODELS,
            OrderBy("metric", "acc", False, "ds", "abc"),
        ),
        ({"field_name": "metrics.my acc", "dataset_name": None}, LOGGED_MODELS, OrderBy("metric", "my acc")),
        ({"field_name": "metrics.`a.b`"}, LOGGED_MODELS, OrderBy("metric", "a.b")),
    ],
)
def test_order_by(item: str | Mapping[str, object], schema: FilterSchema, expected: OrderBy) -> None:
    assert parse_order_by(item, schema) == expected


@pytest.mark.parametrize(
    ("item", "schema", "fragments"),
    [
        ("", RUNS, ["expected a field name", "position 0", "end of input"]),
        ("DESC", RUNS, ["unknown attribute 'DESC'"]),
        ("metrics.acc DESC x", RUNS, ["expected ASC, DESC or end of input", "position 17", "'x'"]),
        ("metrics.acc DOWN", RUNS, ["expected ASC, DESC", "position 12", "'DOWN'"]),
        ("zzz", RUNS, ["unknown attribute 'zzz'", "start_time"]),
        ("foo.bar", RUNS, ["unknown prefix 'foo'"]),
        (
            "params.x",
            LOGGED_MODELS,
            ["order_by supports attributes and metrics for logged models, got 'params.x'"],
        ),
        ("tags.x DESC", LOGGED_MODELS, ["order_by supports attributes and metrics", "'tags.x'"]),
        ("tags.x", EXPERIMENTS, ["order_by supports attributes for experiments", "'tags.x'"]),
        ("params.", RUNS, ["missing key"]),
        ("metrics.`acc", RUNS, ["unterminated backtick", "position 8"]),
        ({}, LOGGED_MODELS, ["'field_name' is required"]),
        ({"field_name": ""}, LOGGED_MODELS, ["'field_name' is required"]),
        ({"field_name": 3}, LOGGED_MODELS, ["'field_name' is required"]),
        ({"field_name": "name", "asc": True}, LOGGED_MODELS, ["unknown keys 'asc'", "ascending"]),
        ({"field_name": "name", "ascending": "false"}, LOGGED_MODELS, ["'ascending' must be a bool"]),
        ({"field_name": "name", "ascending": 0}, LOGGED_MODELS, ["'ascending' must be a bool"]),
        (
            {"field_name": "params.x"},
            LOGGED_MODELS,
            ["order_by supports attributes and metrics", "'params.x'"],
        ),
        ({"field_name": "zzz"}, LOGGED_MODELS, ["unknown attribute 'zzz'", "model_id"]),
        (
            {"field_name": "name", "dataset_name": "ds"},
            LOGGED_MODELS,
            ["only valid when ordering by a metric"],
        ),
        (
            {"field_name": "name", "dataset_digest": "d"},
            LOGGED_MODELS,
            ["only valid when ordering by a metric"],
        ),
        ({"field_name": "metrics.m", "dataset_name": 1}, LOGGED_MODELS, ["'dataset_name' must be a string"]),
        ({"field_name": "`name"}, LOGGED_MODELS, ["unterminated backtick"]),
        ({"field_name": "metrics.`a`b`"}, LOGGED_MODELS, ["backticks"]),
    ],
)
def test_order_by_errors(
    item: str | Mapping[str, object], schema: FilterSchema, fragments: list[str]
) -> None:
    with pytest.raises(InvalidFilterError) as info:
        parse_order_by(item, schema)
    message = str(info.value)
    assert message.startswith("Invalid order_by ")
    for fragment in fragments:
        assert fragment in message


def test_order_by_rejects_other_types() -> None:
    with pytest.raises(InvalidFilterError, match="expected a string or a dict"):
        parse_order_by(3, LOGGED_MODELS)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- quote


@pytest.mark.parametrize(
    "value", ["", "plain", "it's", 'say "hi"', "back\\slash", "\\'", "''", "a\nb", "ünï ☃"]
)
def test_quote_round_trips(value: str) -> None:
    assert parse_filter("name = " + quote(value), LOGGED_MODELS) == C("attribute", "name", "=", value, 0)


def test_quote_form() -> None:
    assert quote("it's") == "'it''s'"
    assert quote("a\\b") == "'a\\\\b'"


# --------------------------------------------------------------------------- properties

_TOKENS = [
    "params.x", "metrics.m", "tags.`a.b`", "name", "creation_time", "attributes.name", "foo.bar", "params.",
    "=", "!=", "<>", "<", ">=", "==", "LIKE", "ilike", "IN", "NOT", "not in", "AND", "or", "(", ")", ",",
    "'a'", '"b"', "'it''s'", "'\\''", "'", '"', "`", "`k`", "1", "-2.5e3", ".", "-", "e", "\\", " ", "\n",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(st.sampled_from(_TOKENS), max_size=12).map(" ".join)))
def test_parse_filter_only_raises_invalid_filter(text: str) -> None:
    for schema in (LOGGED_MODELS, RUNS, EXPERIMENTS):
        with contextlib.suppress(InvalidFilterError):
            parse_filter(text, schema)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=10).map("".join))
def test_parse_filter_tight_tokens_only_raise_invalid_filter(text: str) -> None:
    with contextlib.suppress(InvalidFilterError):
        parse_filter(text, LOGGED_MODELS)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(st.sampled_from([*_TOKENS, "DESC", "asc"]), max_size=4).map(" ".join)))
def test_parse_order_by_only_raises_invalid_filter(text: str) -> None:
    for schema in (LOGGED_MODELS, RUNS):
        for item in (text, {"field_name": text}):
            with contextlib.suppress(InvalidFilterError):
                parse_order_by(item, schema)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_quote_round_trip_property(value: str) -> None:
    assert parse_filter("name = " + quote(value), LOGGED_MODELS) == C("attribute", "name", "=", value, 0)


_KEY_CHARS = st.characters(blacklist_characters="`", blacklist_categories=("Cs", "Cc"))
_KEYS = st.text(_KEY_CHARS, min_size=1)


@settings(max_examples=200, deadline=None)
@given(_KEYS)
def test_backtick_key_round_trip(key: str) -> None:
    assert parse_filter(f"params.`{key}` = 'x'", LOGGED_MODELS) == C("param", key, "=", "x", 0)


# Valid ASTs -> text -> AST.

_STRING_ATTRS = [a for a, t in LOGGED_MODELS.attributes.items() if t == "string"]
_NUMBER_ATTRS = [a for a, t in LOGGED_MODELS.attributes.items() if t in ("number", "time")]
_FLOATS = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def _comparisons(draw: st.DrawFn) -> Comparison:
    kind = draw(st.sampled_from(["attribute", "attribute-number", "param", "tag", "metric"]))
    if kind == "attribute":
        key = draw(st.sampled_from(_STRING_ATTRS))
    elif kind == "attribute-number":
        key = draw(st.sampled_from(_NUMBER_ATTRS))
    else:
        key = draw(_KEYS)
    number = kind in ("attribute-number", "metric")
    op = draw(st.sampled_from(sorted(NUMBER_OPS if number else STRING_OPS)))
    value: str | float | tuple[str, ...]
    if number:
        value = draw(_FLOATS)
    elif op in ("IN", "NOT IN"):
        value = tuple(draw(st.lists(st.text(), min_size=1, max_size=3)))
    else:
        value = draw(st.text())
    return C("attribute" if kind.startswith("attribute") else kind, key, op, value)  # type: ignore[arg-type]


def _join(cls: type[And] | type[Or], items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(flat))


_TREES: st.SearchStrategy[Node] = st.recursive(
    _comparisons(),
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda xs: _join(And, xs)),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: _join(Or, xs)),
    ),
    max_leaves=8,
)
_PREFIXES = {"param": "params", "tag": "tags", "metric": "metrics"}


def _render(node: Node, parent: type | None = None) -> str:
    if isinstance(node, Comparison):
        ident = node.key if node.kind == "attribute" else f"{_PREFIXES[node.kind]}.`{node.key}`"
        if isinstance(node.value, tuple):
            value = "(" + ", ".join(quote(v) for v in node.value) + ")"
        elif isinstance(node.value, float):
            value = repr(node.value)
        else:
            value = quote(node.value)
        return f"{ident} {node.op} {value}"
    if isinstance(node, And):
        return " AND ".join(_render(n, And) for n in node.items)
    text = " or ".join(_render(n, Or) for n in node.items)
    return f"({text})" if parent is And else text


@settings(max_examples=200, deadline=None)
@given(_TREES)
def test_rendered_ast_parses_back(tree: Node) -> None:
    parsed = parse_filter(_render(tree), LOGGED_MODELS)
    assert parsed is not None
    assert _strip_positions(parsed) == tree
