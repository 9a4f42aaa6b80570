"""Time attributes in filters take epoch milliseconds or ISO-8601 strings (issue 11 item 7):
any string ``datetime.fromisoformat`` accepts compares as its exact epoch milliseconds (UTC when
it has no offset); anything else is an ``InvalidFilterError`` naming the value and the forms
expected."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from genver.exceptions import InvalidFilterError
from genver.search.ast import (
    EVAL_DATASETS,
    EXPERIMENTS,
    LOGGED_MODELS,
    RUNS,
    TRACES,
    Comparison,
    FilterSchema,
)
from genver.search.parser import iso_millis, parse_filter, quote

DIGITS = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def expected_millis(moment: datetime) -> float:
    """Epoch milliseconds by other arithmetic than the parser's (timegm on the UTC time tuple)."""
    utc = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    whole = calendar.timegm(utc.utctimetuple()) * 1000
    return whole + utc.microsecond / 1000


def value_of(text: str, key: str = "timestamp", schema: FilterSchema = TRACES) -> object:
    node = parse_filter(f"{key} >= {quote(text)}", schema)
    assert isinstance(node, Comparison)
    return node.value


OFFSETS = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
)
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.none() | st.just(timezone.utc) | OFFSETS,
)


@settings(max_examples=400, deadline=None)
@given(
    MOMENTS,
    st.sampled_from(["T", " "]),
    st.sampled_from(["auto", "hours", "minutes", "seconds", "milliseconds", "microseconds"]),
)
def test_every_iso_rendering_compares_as_its_epoch_millis(moment: datetime, sep: str, timespec: str) -> None:
    text = moment.isoformat(sep=sep, timespec=timespec)
    shown = datetime.fromisoformat(text)  # what the rendering kept (timespec may cut digits)
    assert value_of(text) == expected_millis(shown)
    assert value_of(text, "timestamp_ms") == expected_millis(shown)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=datetime(1, 1, 2).date(), max_value=datetime(9999, 12, 30).date()))
def test_a_date_is_its_midnight_utc(day: object) -> None:
    text = str(day)
    assert value_of(text) == expected_millis(datetime.fromisoformat(text))


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.text(alphabet="0123456789-:T .+Z,W", max_size=32),
        st.from_regex(
            r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}(:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?)?(Z|[+-][0-9]{2}:[0-9]{2})?\Z"
        ),
    )
)
def test_any_string_is_its_iso_time_or_a_clear_error(text: str) -> None:
    """The property of the issue: whatever ``fromisoformat`` accepts compares as its epoch
    milliseconds; what it refuses is an error naming the value. (A value made only of digits is
    milliseconds, as before.)"""
    stripped = text.strip()
    if DIGITS.fullmatch(stripped):
        assert value_of(text) == float(stripped)
        return
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        moment = None
    if moment is not None:
        try:
            want = expected_millis(moment)
        except (OverflowError, ValueError):  # the offset takes it outside years 1..9999
            assume(False)
        assert value_of(text) == want
        return
    with pytest.raises(InvalidFilterError) as info:
        value_of(text)
    message = str(info.value)
    assert repr(stripped) in message
    assert "epoch milliseconds or a quoted ISO-8601 time for 'timestamp'" in message
    assert "'2026-12-06T00:57:06'" in message


def test_the_issues_filter() -> None:
    assert value_of("2026-12-06T00:57:06") == 1_796_518_626_000
    assert value_of("2026-12-06T02:57:06+02:00") == 1_796_518_626_000
    assert value_of("2026-12-06T00:57:06Z") == 1_796_518_626_000
    assert value_of("2026-12-06T00:57:06.0005") == 1_796_518_626_000.5
    assert value_of("1796518626000") == 1_796_518_626_000  # milliseconds as before


@pytest.mark.parametrize(
    ("schema", "key"),
    [
        (TRACES, "timestamp"),
        (TRACES, "request_time"),
        (LOGGED_MODELS, "creation_timestamp"),
        (LOGGED_MODELS, "last_updated_timestamp"),
        (RUNS, "start_time"),
        (RUNS, "end_time"),
        (EXPERIMENTS, "creation_time"),
        (EVAL_DATASETS, "created_time"),
    ],
)
def test_every_time_attribute_takes_iso(schema: FilterSchema, key: str) -> None:
    assert value_of("2026-12-06", key, schema) == 1_796_515_200_000


@pytest.mark.parametrize(
    ("filter_string", "named"),
    [
        ("timestamp >= 'yesterday'", "'yesterday'"),
        ("timestamp >= '2026-13-01'", "'2026-13-01'"),
        ("timestamp >= '06/12/2026'", "'06/12/2026'"),
        ("timestamp >= now", "'now'"),
        ("timestamp LIKE '2026%'", "operator 'LIKE' is not allowed for time key 'timestamp'"),
        ("execution_time > '2026-12-06'", "expected a number for 'execution_time'"),
    ],
)
def test_bad_times_are_named(filter_string: str, named: str) -> None:
    with pytest.raises(InvalidFilterError) as info:
        parse_filter(filter_string, TRACES)
    assert named in str(info.value)


def test_iso_millis_at_the_edges() -> None:
    # an offset may take a time past year 1: it is still that instant
    assert iso_millis("0001-01-01T00:00:00+01:00") == -62_135_596_800_000 - 3_600_000
    assert iso_millis("9999-12-31T23:59:59.999999") == 253_402_300_799_999.999
    assert iso_millis("not a time") is None
