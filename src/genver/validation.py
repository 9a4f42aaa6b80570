"""Checks on user input, run at the store boundary before anything is written.

Each check raises ``InvalidArgumentError`` with a message that names the bad value (``!r``) and
says what is expected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from genver.exceptions import InvalidArgumentError

MAX_NAME_LENGTH = 256
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_model_name(name: object) -> str | None:
    """A version name: any text but empty/blank, control characters or over 256 characters.

    Unlike MLflow, ``.``, ``/``, ``:`` and quotes are allowed, so ``my-agent-v1.0`` works. A
    leading ``@`` is not: ``@production`` is an alias, wherever a version is named.
    """
    if name is None:
        return None
    if not isinstance(name, str):
        raise InvalidArgumentError(
            f"Invalid version name {name!r} of type {type(name).__name__}: expected a string such as 'my-agent-v1.0'."
        )
    if not name.strip():
        raise InvalidArgumentError(f"Invalid version name {name!r}: it must contain a non-space character.")
    if name.startswith("@"):
        raise InvalidArgumentError(
            f"Invalid version name {name!r}: names cannot start with '@', which marks an alias "
            "such as '@production'; e.g. 'production-v1'."
        )
    if _CONTROL.search(name):
        raise InvalidArgumentError(
            f"Invalid version name {name!r}: control characters (newlines, tabs, NUL) are not allowed."
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgumentError(
            f"Invalid version name {name[:40]!r}... of {len(name)} characters: at most {MAX_NAME_LENGTH} are allowed."
        )
    return name


def check_experiment_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(f"Invalid experiment name {name!r}: expected a non-empty string.")
    if _CONTROL.search(name) or len(name) > MAX_NAME_LENGTH:
        raise InvalidArgumentError(
            f"Invalid experiment name {name!r}: at most {MAX_NAME_LENGTH} characters, no control characters."
        )
    return name


def check_key(key: object, what: str) -> str:
    """A param, tag or metric key: a non-empty string without control characters."""
    if not isinstance(key, str) or not key.strip():
        raise InvalidArgumentError(f"Invalid {what} key {key!r}: expected a non-empty string.")
    if len(key) > MAX_KEY_LENGTH or _CONTROL.search(key):
        raise InvalidArgumentError(
            f"Invalid {what} key {key!r}: at most {MAX_KEY_LENGTH} characters, no control characters."
        )
    return key


def check_params(params: Mapping[str, Any] | None, *, what: str = "Parameters") -> dict[str, str]:
    """Params must be a mapping of string keys to string values; every bad entry is listed."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidArgumentError(
            f"{what} must be a dict of strings, got {params!r} of type {type(params).__name__}."
        )
    bad = [(k, v) for k, v in params.items() if not isinstance(v, str)]
    if bad:
        listing = "; ".join(f"{k!r}: {v!r} ({type(v).__name__})" for k, v in bad)
        fixed = ", ".join(f"{k!r}: {str(v)!r}" for k, v in bad[:3])
        raise InvalidArgumentError(
            f"{what} must be strings, but {len(bad)} value(s) are not: {listing}. "
            f"Convert them explicitly, e.g. {{{fixed}}}."
        )
    out: dict[str, str] = {}
    for k, v in params.items():
        check_key(k, "param")
        if len(v) > MAX_PARAM_VALUE_LENGTH:
            raise InvalidArgumentError(
                f"Param {k!r} has a value of {len(v)} characters: at most {MAX_PARAM_VALUE_LENGTH} are allowed."
            )
        _check_no_nul(v, f"Param {k!r}")
        out[k] = v
    return out


def check_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    """Tag values are stringified (as MLflow does); keys must be valid, None values rejected."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InvalidArgumentError(
            f"Tags must be a dict of strings, got {tags!r} of type {type(tags).__name__}."
        )
    out: dict[str, str] = {}
    for k, v in tags.items():
        check_key(k, "tag")
        if v is None:
            raise InvalidArgumentError(f"Tag {k!r} has value None: expected a string.")
        value = v if isinstance(v, str) else str(v)
        if len(value) > MAX_TAG_VALUE_LENGTH:
            raise InvalidArgumentError(
                f"Tag {k!r} has a value of {len(value)} characters: at most {MAX_TAG_VALUE_LENGTH} are allowed."
            )
        _check_no_nul(value, f"Tag {k!r}")
        out[k] = value
    return out


def _check_no_nul(value: str, what: str) -> None:
    # PostgreSQL cannot store NUL in text; refusing it everywhere keeps the backends alike.
    if "\x00" in value:
        raise InvalidArgumentError(
            f"{what} has the value {value[:80]!r}, which contains a NUL character (\\x00): remove it."
        )


def check_text(value: object, what: str, max_length: int | None = None) -> str | None:
    """An optional free-form string (model type, user, status message...): None, or a string
    without NUL of at most ``max_length`` characters (the column's size)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"Invalid {what} {value!r}: expected a string.")
    if max_length is not None and len(value) > max_length:
        raise InvalidArgumentError(
            f"Invalid {what} {value[:40]!r}... of {len(value)} characters: at most {max_length} are allowed."
        )
    _check_no_nul(value, f"The {what}")
    return value


def check_metric_value(key: str, value: object) -> float:
    """A metric value is a real number (NaN and infinities are kept, as MLflow does); not a bool."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgumentError(
            f"Invalid value {value!r} of type {type(value).__name__} for metric {key!r}: expected a number."
        )
    return float(value)  # numpy floats and ints are Real too


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what both databases store in an integer column


def check_int(value: object, what: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"Invalid {what} {value!r}: expected an integer.")
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidArgumentError(f"Invalid {what} {value!r}: expected a 64-bit integer (|value| < 2**63).")
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(f"Invalid {what} {value!r}: expected an integer >= {minimum}.")
    return value


def check_id(value: object, what: str, max_length: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip() or _CONTROL.search(value):
        raise InvalidArgumentError(
            f"Invalid {what} {value!r}: expected a non-empty string id without control characters."
        )
    if max_length is not None and len(value) > max_length:
        raise InvalidArgumentError(f"Invalid {what} {value!r}: at most {max_length} characters are allowed.")
    return value


def is_finite(value: float) -> bool:
    return math.isfinite(value)


MAX_ALIAS_LENGTH = 255
_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Alias names kept for genver's own use, compared case-insensitively (as MLflow keeps "latest").
RESERVED_ALIASES = frozenset({"latest"})


def check_alias(alias: object) -> str:
    """An alias name, given with or without its ``@``: ASCII letters, digits, ``_``, ``.`` and
    ``-``, starting with a letter or digit, at most 255 characters, not ``latest``. Returns it
    without the ``@``.

    >>> check_alias("@production"), check_alias("canary-eu.2")
    ('production', 'canary-eu.2')
    """
    if not isinstance(alias, str):
        raise InvalidArgumentError(
            f"Invalid alias {alias!r} of type {type(alias).__name__}: expected a string such as 'production'."
        )
    name = alias[1:] if alias.startswith("@") else alias
    if not _ALIAS.fullmatch(name):
        raise InvalidArgumentError(
            f"Invalid alias {alias!r}: an alias is ASCII letters, digits, '_', '.' and '-', starting "
            "with a letter or digit, e.g. 'production' or 'canary-eu'."
        )
    if len(name) > MAX_ALIAS_LENGTH:
        raise InvalidArgumentError(
            f"Invalid alias {name[:40]!r}... of {len(name)} characters: at most {MAX_ALIAS_LENGTH} are allowed."
        )
    if name.lower() in RESERVED_ALIASES:
        raise InvalidArgumentError(
            f"Invalid alias {alias!r}: {name.lower()!r} is reserved (in any case); a version name "
            "already means its latest version."
        )
    return name


MAX_ACTOR_LENGTH = 256


def check_actor(actor: object, what: str = "actor") -> str:
    """Who a history entry names: a non-blank string of at most 256 characters without control
    characters (a server token's name, a user name)."""
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidArgumentError(f"Invalid {what} {actor!r}: expected a non-empty name such as 'ci-bot'.")
    if len(actor) > MAX_ACTOR_LENGTH or _CONTROL.search(actor):
        raise InvalidArgumentError(
            f"Invalid {what} {actor[:40]!r}: at most {MAX_ACTOR_LENGTH} characters, no control characters."
        )
    return actor.strip()
