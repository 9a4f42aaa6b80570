"""Durations as people type them (``30d``, ``12h``, ``90m``, ``1.5h``), for options and settings.

>>> parse_duration("30d", "--older-than")
2592000000
"""

from __future__ import annotations

import math
import re

from genver.exceptions import InvalidArgumentError

#: Milliseconds per unit: seconds, minutes, hours, days, weeks.
UNITS_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PATTERN = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([smhdw])\s*")  # ASCII digits only
#: Anything longer is a typo (and would overflow a millisecond timestamp's arithmetic).
MAX_MS = 100 * 365 * UNITS_MS["d"]


def parse_duration(text: object, what: str, *, allow_zero: bool = True) -> int:
    """``text`` (a number and a unit: s, m, h, d or w) in milliseconds; anything else is an
    ``InvalidArgumentError`` naming ``what`` and the value."""
    match = _PATTERN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidArgumentError(
            f"Invalid {what} {text!r}: expected a number and a unit (s, m, h, d or w), e.g. 30d, 12h or 90m."
        )
    value = float(match.group(1)) * UNITS_MS[match.group(2)]
    if not math.isfinite(value) or value > MAX_MS:
        raise InvalidArgumentError(f"Invalid {what} {text!r}: at most 100 years (36500d).")
    ms = round(value)
    if ms == 0 and not allow_zero:
        raise InvalidArgumentError(f"Invalid {what} {text!r}: expected a duration above zero, e.g. 30d.")
    return ms


def format_duration(ms: int) -> str:
    """``ms`` in the largest unit that divides it (``2592000000`` → ``'30d'``), else in ms."""
    for unit in ("w", "d", "h", "m", "s"):
        if ms and ms % UNITS_MS[unit] == 0:
            return f"{ms // UNITS_MS[unit]}{unit}"
    return f"{ms}ms" if ms else "0s"
