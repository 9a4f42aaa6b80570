"""Durations as typed (``30d``, ``12h``): every well-formed one parses to its milliseconds, and
anything else is an error naming the option and the value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genver.durations import MAX_MS, UNITS_MS, format_duration, parse_duration
from genver.exceptions import InvalidArgumentError


@given(st.data(), st.sampled_from(sorted(UNITS_MS)), st.sampled_from(["", " "]))
def test_a_whole_number_and_a_unit_is_that_many_units(data: st.DataObject, unit: str, space: str) -> None:
    n = data.draw(st.integers(0, MAX_MS // UNITS_MS[unit]))
    assert parse_duration(f"{space}{n}{space}{unit}{space}", "--older-than") == n * UNITS_MS[unit]


@given(st.data(), st.sampled_from(sorted(UNITS_MS)))
def test_format_and_parse_round_trip(data: st.DataObject, unit: str) -> None:
    n = data.draw(st.integers(1, MAX_MS // UNITS_MS[unit]))
    ms = n * UNITS_MS[unit]
    assert parse_duration(format_duration(ms), "x") == ms


@given(st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False), st.sampled_from(sorted(UNITS_MS)))
def test_fractions_are_rounded_to_the_millisecond(value: object, unit: str) -> None:
    text = f"{value}{unit}"
    assert parse_duration(text, "x") == round(float(text[:-1]) * UNITS_MS[unit])


@given(st.text(max_size=12))
def test_anything_else_is_an_error_naming_the_option_and_value(text: str) -> None:
    try:
        ms = parse_duration(text, "--older-than")
    except InvalidArgumentError as exc:
        assert "--older-than" in str(exc) and repr(text) in str(exc)
    else:
        assert 0 <= ms <= MAX_MS and text.strip()[-1] in UNITS_MS


@pytest.mark.parametrize("text", ["30", "d", "30x", "-1d", "1e3d", "30 days", "1,5h", "", "١d"])
def test_malformed_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"expected a number and a unit \(s, m, h, d or w\), e.g. 30d"
    ):
        parse_duration(text, "--older-than")


def test_zero_and_huge_durations() -> None:
    assert parse_duration("0s", "x") == 0
    with pytest.raises(InvalidArgumentError, match="'0d': expected a duration above zero"):
        parse_duration("0d", "--older-than", allow_zero=False)
    with pytest.raises(InvalidArgumentError, match="at most 100 years"):
        parse_duration("99999d", "x")
    with pytest.raises(InvalidArgumentError, match="Invalid x 30: expected a number and a unit"):
        parse_duration(30, "x")  # not a string: named, not a TypeError
