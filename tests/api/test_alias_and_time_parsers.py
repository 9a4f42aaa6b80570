"""The parsers aliases and ``--at`` go through, under hypothesis: any text is a valid alias or an
``InvalidArgumentError`` naming it; any ISO-8601 date-time or epoch-milliseconds value is the
instant it names (no offset: UTC), anything else an error naming it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genver.client.history import parse_instant
from genver.exceptions import InvalidArgumentError
from genver.validation import check_alias

ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@given(st.one_of(st.text(), st.from_regex(ALIAS, fullmatch=True), st.none(), st.integers()))
def test_any_value_is_an_alias_or_refused_by_value(value: object) -> None:
    text = value[1:] if isinstance(value, str) and value.startswith("@") else value
    valid = isinstance(text, str) and ALIAS.fullmatch(text) is not None and text.lower() != "latest"
    if valid:
        assert check_alias(value) == text
        assert check_alias("@" + str(text)) == text
        return
    with pytest.raises(InvalidArgumentError) as raised:
        check_alias(value)
    assert repr(value)[:20] in raised.value.message or repr(str(text)[:40]) in raised.value.message


@given(st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9000, 1, 1)))
def test_a_naive_date_time_is_utc(moment: dt.datetime) -> None:
    expected = (moment.replace(tzinfo=dt.timezone.utc) - EPOCH) // dt.timedelta(milliseconds=1)
    assert parse_instant(moment.isoformat()) == expected
    assert parse_instant(moment.isoformat(sep=" ")) == expected


@given(
    st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9000, 1, 1)),
    st.integers(-14 * 60, 14 * 60),
)
def test_an_offset_is_honoured(moment: dt.datetime, minutes: int) -> None:
    aware = moment.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes)))
    expected = (aware - EPOCH) // dt.timedelta(milliseconds=1)
    assert parse_instant(aware.isoformat()) == expected
    assert parse_instant(aware) == expected


@given(st.integers(0, 10**17))
def test_epoch_milliseconds_are_taken_as_they_are(ms: int) -> None:
    assert parse_instant(ms) == ms
    assert parse_instant(str(ms)) == ms


@given(st.text())
def test_any_other_text_is_refused_by_value(text: str) -> None:
    try:
        ms = parse_instant(text)
    except InvalidArgumentError as exc:
        assert repr(text) in exc.message and "ISO-8601" in exc.message
    else:
        assert isinstance(ms, int) and ms >= 0


def test_examples() -> None:
    assert parse_instant("2026-12-05T14:03") == parse_instant("2026-12-05T15:03+01:00")
    assert parse_instant("2026-12-05T14:03Z") == parse_instant("2026-12-05 14:03:00.000")
    for bad in ("", "yesterday", "2026-13-01", "-5", True, 1.5, None):
        with pytest.raises(InvalidArgumentError, match="Invalid time"):
            parse_instant(bad)
