"""Reading judges' replies: any text gives a verdict of the asked type or a ``JudgeParseError``
saying why, never another exception (property-based), and the reply shapes real models send."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genver.exceptions import InvalidArgumentError
from genver.genai.judges.errors import JudgeParseError
from genver.genai.judges.parsing import YES_NO, ResultType, parse_reply, parse_verdict, result_type

TYPES: list[Any] = [
    None,
    bool,
    int,
    float,
    str,
    Literal["good", "bad"],
    Literal["yes", "no"],
    float | None,
    list[str],
    dict[str, int],
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
#: Text that looks like replies: JSON objects with a result of any kind, fences, prose, fragments.
REPLIES = st.one_of(
    st.text(),
    st.builds(lambda v, r: json.dumps({"result": v, "rationale": r}), JSON, st.text(max_size=30)),
    st.builds(
        lambda p, v, s: f"{p}```json\n{json.dumps({'result': v})}\n```{s}",
        st.text(max_size=20),
        JSON,
        st.text(max_size=20),
    ),
    st.builds(
        lambda p, s: p + s,
        st.sampled_from(["{", '{"result": ', "result: ", "Yes", "no.", "[[[[", '{"result": "yes"']),
        st.text(max_size=40),
    ),
)


@settings(max_examples=400, deadline=None)
@given(reply=REPLIES, kind=st.sampled_from(TYPES))
def test_any_reply_is_a_value_of_the_type_or_a_parse_error(reply: str, kind: Any) -> None:
    rtype = result_type(kind)
    try:
        value, rationale = parse_reply(reply, rtype)
    except JudgeParseError as exc:
        assert str(exc)  # says why
        return
    assert rationale is None or isinstance(rationale, str)
    assert _is_of(value, rtype), (value, rtype)


@settings(max_examples=200, deadline=None)
@given(reply=JSON)
def test_decoded_replies_too(reply: Any) -> None:
    try:
        value, _ = parse_verdict(reply)
    except JudgeParseError:
        return
    assert value in ("yes", "no")


def test_pathological_replies_are_parse_errors() -> None:
    deep = "[" * 100_000 + '{"result": "yes"}'  # json would recurse past the limit
    with pytest.raises(JudgeParseError):
        parse_reply(deep, ResultType("int"))
    assert parse_verdict(deep) == ("yes", None)
    huge = "x" * 1_000_000 + '{"result": "yes"}'  # beyond what is read
    with pytest.raises(JudgeParseError, match="no result"):
        parse_verdict(huge)
    assert parse_verdict({"result": True, "rationale": 3}) == ("yes", "3")
    with pytest.raises(JudgeParseError, match="expected text"):
        parse_verdict(42)

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    with pytest.raises(JudgeParseError):
        parse_verdict(Broken())


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"result": "yes", "rationale": "fine"}', ("yes", "fine")),
        (
            '```json\n{"rationale": "Let\'s think step by step. Fine.", "result": "No"}\n```',
            ("no", "Let's think step by step. Fine."),
        ),
        ('Here you go: {"result": true, "rationale": "ok"} Anything else?', ("yes", "ok")),
        ('{"note": 1} {"result": "pass"}', ("yes", None)),
        ("result: no", ("no", "result: no")),
        ("Yes.", ("yes", "Yes.")),
        ('{"result": "yes", "rationale": "cut off', ("yes", '{"result": "yes", "rationale": "cut off')),
    ],
)
def test_verdicts_models_send(reply: str, expected: tuple[str, str | None]) -> None:
    assert parse_verdict(reply) == expected


@pytest.mark.parametrize(
    "reply", ["I cannot decide.", "", "{}", '{"result": "maybe"}', "No verdict here", "yesterday"]
)
def test_no_verdict(reply: str) -> None:
    with pytest.raises(JudgeParseError, match="no result"):
        parse_verdict(reply)


@pytest.mark.parametrize(
    ("kind", "reply", "value"),
    [
        (int, '{"result": 4, "rationale": "r"}', 4),
        (int, '{"result": "5"}', 5),
        (int, "result: 3", 3),
        (float, '{"result": "0.25"}', 0.25),
        (bool, '{"result": "yes"}', True),
        (bool, '{"result": false}', False),
        (str, '{"result": "needs work"}', "needs work"),
        (str, '{"result": {"a": 1}}', '{"a": 1}'),
        (None, '{"result": "anything"}', "anything"),
        (Literal["good", "bad"], '{"result": "Good"}', "good"),
        (Literal[1, 2, 3], '{"result": 2}', 2),
        (float | None, '{"result": null}', None),
        (list[str], '{"result": ["a", "b"]}', ["a", "b"]),
        (dict[str, int], '{"result": {"a": 1}}', {"a": 1}),
    ],
)
def test_typed_results(kind: Any, reply: str, value: Any) -> None:
    assert parse_reply(reply, result_type(kind))[0] == value


@pytest.mark.parametrize(
    ("kind", "reply"),
    [
        (int, '{"result": 4.5}'),
        (int, '{"result": true}'),
        (float, '{"result": "NaN"}'),
        (float, '{"result": 1e999}'),
        (Literal["good", "bad"], '{"result": "ok"}'),
        (float, '{"result": null}'),
        (list[str], '{"result": "a"}'),
    ],
)
def test_results_of_the_wrong_type(kind: Any, reply: str) -> None:
    with pytest.raises(JudgeParseError, match="is not"):
        parse_reply(reply, result_type(kind))


def test_unsupported_value_types_name_the_type() -> None:
    with pytest.raises(InvalidArgumentError, match="Invalid feedback_value_type"):
        result_type(bytes)
    with pytest.raises(InvalidArgumentError, match="Invalid feedback_value_type"):
        result_type(list[list[int]])
    assert result_type(Literal["Yes", "No"]) == YES_NO


def _is_of(value: Any, rtype: ResultType) -> bool:
    if value is None:
        return rtype.optional
    kind = rtype.kind
    return {
        "yes_no": lambda: value in ("yes", "no"),
        "bool": lambda: isinstance(value, bool),
        "int": lambda: isinstance(value, int) and not isinstance(value, bool),
        "float": lambda: isinstance(value, float),
        "str": lambda: isinstance(value, str),
        "choice": lambda: value in rtype.choices,
        "list": lambda: isinstance(value, list),
        "dict": lambda: isinstance(value, dict),
    }[kind]()
