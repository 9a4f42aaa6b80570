"""Reading a judge's reply: a JSON object ``{"result": ..., "rationale": "..."}`` — as asked,
or in a code fence, or amid other text — into a value of the judge's result type.

Every reply gives a ``(value, rationale)`` pair or raises ``JudgeParseError`` saying what was
wrong; nothing else escapes, whatever the text (a property test holds it to that).

>>> parse_verdict('```json\\n{"result": "Yes", "rationale": "It says Paris."}\\n```')
('yes', 'It says Paris.')
>>> parse_reply('{"result": "4", "rationale": "mostly"}', result_type(int))
(4, 'mostly')
"""

from __future__ import annotations

import json
import math
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from genver.exceptions import InvalidArgumentError
from genver.genai.judges.errors import JudgeParseError

__all__ = ["YES_NO", "ResultType", "parse_reply", "parse_verdict", "result_type"]

#: Replies longer than this are read up to here (a verdict comes first; this bounds the work).
MAX_REPLY_CHARS = 200_000
_FENCE = re.compile(r"```[a-zA-Z]*")
_VERDICTS = {"yes": "yes", "true": "yes", "pass": "yes", "no": "no", "false": "no", "fail": "no"}
_LOOSE_VERDICT = re.compile(
    r"""["']?result["']?\s*[:=]\s*["']?(yes|no|true|false|pass|fail)\b""", re.IGNORECASE
)
_LEADING_VERDICT = re.compile(r"^\W*(yes|no)\s*(?:[.,:;!\n]|$)", re.IGNORECASE)
_LOOSE_VALUE = re.compile(r"""["']?result["']?\s*[:=]\s*["']?([^"',}\n]+)""", re.IGNORECASE)
_PRIMITIVES: dict[Any, str] = {bool: "bool", int: "int", float: "float", str: "str"}


@dataclass(frozen=True, slots=True)
class ResultType:
    """What a judge's ``result`` must be: ``yes_no`` (the built-in judges), ``bool``, ``int``,
    ``float``, ``str``, ``choice`` (one of ``choices``), ``list`` or ``dict`` of primitives;
    ``optional`` also allows null."""

    kind: str
    choices: tuple[Any, ...] = ()
    optional: bool = False

    def describe(self) -> str:
        """The result's type as the prompt states it."""
        text = {
            "yes_no": '"yes" or "no"',
            "bool": "true or false",
            "int": "an integer",
            "float": "a number",
            "str": "a string",
            "list": "a JSON array",
            "dict": "a JSON object",
        }.get(self.kind) or "one of " + ", ".join(json.dumps(c) for c in self.choices)
        return f"{text}, or null" if self.optional else text

    def coerce(self, value: Any) -> Any:
        """``value`` as this type; ``ValueError`` when it is not one."""
        if value is None:
            if self.optional:
                return None
            raise ValueError("null")
        kind = self.kind
        if kind == "yes_no":
            verdict = _verdict(value)
            if verdict is None:
                raise ValueError(value)
            return verdict
        if kind == "bool":
            verdict = _verdict(value)
            if verdict is None:
                raise ValueError(value)
            return verdict == "yes"
        if kind in ("int", "float"):
            number = _number(value)
            if kind == "float":
                return number
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        if kind == "str":
            return value if isinstance(value, str) else json.dumps(value, default=str)
        if kind == "choice":
            for choice in self.choices:
                if value == choice or (
                    isinstance(value, str)
                    and isinstance(choice, str)
                    and value.strip().lower() == choice.lower()
                ):
                    return choice
            raise ValueError(value)
        if kind == "list" and isinstance(value, list):
            return value
        if kind == "dict" and isinstance(value, dict):
            return value
        raise ValueError(value)


YES_NO = ResultType("yes_no")


def result_type(value_type: Any) -> ResultType:
    """The ``ResultType`` of MLflow's ``feedback_value_type``: ``bool``, ``int``, ``float``,
    ``str``, ``Literal[...]``, ``T | None``, ``list[T]`` or ``dict[str, T]`` (T a primitive);
    None means ``str``, as in MLflow."""
    if value_type is None:
        return ResultType("str")
    if value_type in _PRIMITIVES:
        return ResultType(_PRIMITIVES[value_type])
    origin = get_origin(value_type)
    args = get_args(value_type)
    if origin is Literal and args and all(isinstance(a, (str, int, float, bool)) for a in args):
        if {a.lower() if isinstance(a, str) else a for a in args} == {"yes", "no"}:
            return YES_NO
        return ResultType("choice", tuple(args))
    if origin in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = result_type(next(a for a in args if a is not type(None)))
        return ResultType(inner.kind, inner.choices, optional=True)
    if origin is list and len(args) == 1 and args[0] in _PRIMITIVES:
        return ResultType("list")
    if origin is dict and len(args) == 2 and args[0] is str and args[1] in _PRIMITIVES:
        return ResultType("dict")
    raise InvalidArgumentError(
        f"Invalid feedback_value_type {value_type!r}: expected bool, int, float, str, Literal[...], "
        "T | None, list[T] or dict[str, T] (T one of bool, int, float, str)."
    )


def parse_verdict(reply: Any) -> tuple[str, str | None]:
    """``("yes"|"no", rationale)`` from a judge's reply: a JSON object (possibly in a code fence
    or amid other text), a dict, or text that states ``result: yes`` or starts with yes/no."""
    value, rationale = parse_reply(reply, YES_NO)
    return str(value), rationale


def parse_reply(reply: Any, rtype: ResultType) -> tuple[Any, str | None]:
    """``(result, rationale)`` from a judge's reply (text or an already decoded dict), the
    result coerced to ``rtype``; ``JudgeParseError`` when the reply holds none."""
    try:
        return _parse(reply, rtype)
    except JudgeParseError:
        raise
    except Exception as exc:  # a reply must never crash the evaluation: say what was read
        raise JudgeParseError(
            f"the judge's reply could not be read ({type(exc).__name__}: {exc}): {_preview(reply)}"
        ) from None


def _parse(reply: Any, rtype: ResultType) -> tuple[Any, str | None]:
    if isinstance(reply, Mapping):
        obj: Mapping[str, Any] | None = reply if "result" in reply else None
        text = json.dumps(reply, default=str)
    elif isinstance(reply, str):
        text = reply[:MAX_REPLY_CHARS]
        obj = _find_object(_FENCE.sub("", text))
    else:
        raise JudgeParseError(f"the judge returned {type(reply).__name__} {_preview(reply)}; expected text")
    if obj is not None:
        rationale = obj.get("rationale")
        rationale = None if rationale is None else str(rationale)
        try:
            return rtype.coerce(obj.get("result")), rationale
        except (ValueError, TypeError, OverflowError):
            if rtype.kind != "yes_no":  # the built-in judges still read "result: yes" below
                raise JudgeParseError(
                    f"the judge's result {obj.get('result')!r} is not {rtype.describe()}: {_preview(text)}"
                ) from None
    if rtype.kind == "yes_no" or rtype.kind == "bool":
        m = _LOOSE_VERDICT.search(text) or _LEADING_VERDICT.search(text)
        if m is not None:
            verdict = _VERDICTS[m.group(1).lower()]
            return (verdict if rtype.kind == "yes_no" else verdict == "yes"), text.strip() or None
    elif rtype.kind in ("int", "float", "choice"):
        m = _LOOSE_VALUE.search(text)
        if m is not None:
            try:
                return rtype.coerce(m.group(1).strip()), text.strip() or None
            except (ValueError, TypeError, OverflowError):
                pass
    raise JudgeParseError(f"no result ({rtype.describe()}) in the judge's reply {_preview(text)}")


def _find_object(text: str) -> Mapping[str, Any] | None:
    """The first JSON object in ``text`` that has a ``result`` key."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            obj, _end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            obj = None
        if isinstance(obj, dict) and "result" in obj:
            return obj
        start = text.find("{", start + 1)
    return None


def _verdict(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return _VERDICTS.get(value.strip().lower())
    return None


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value.strip()) if isinstance(value, str) else float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _preview(value: Any, limit: int = 300) -> str:
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception:  # a broken __repr__
        text = f"<{type(value).__name__}>"
    return repr(text[:limit] + ("..." if len(text) > limit else ""))
