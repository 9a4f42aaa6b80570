"""Trace searches on ISO-8601 times, on SQLite and PostgreSQL (and over REST, see
tests/server/test_contract_over_rest.py): ``timestamp``/``timestamp_ms`` compared with an ISO
string find exactly the traces the same comparison in epoch milliseconds finds."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from genver.exceptions import InvalidFilterError
from genver.store.sql.store import SqlStore

from .test_assessments import make_trace

BASE = datetime(2026, 12, 6, 0, 57, 6, tzinfo=timezone.utc)


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture
def timed(store: SqlStore) -> dict[int, str]:
    """Five traces a minute apart from BASE, plus one a millisecond after the third: by time."""
    times = [millis(BASE + timedelta(minutes=i)) for i in range(5)] + [millis(BASE) + 2 * 60_000 + 1]
    traces = [make_trace(request_time=t) for t in times]
    store.log_traces(traces)
    return {t: tr.info.trace_id for t, tr in zip(times, traces, strict=True)}


def found(store: SqlStore, filter_string: str) -> set[str]:
    return {t.info.trace_id for t in store.search_traces(experiment_ids=["0"], filter_string=filter_string)}


@pytest.mark.parametrize("op", [">=", ">", "<", "<=", "=", "!="])
@pytest.mark.parametrize(
    "text",
    [
        "2026-12-06T00:59:06",  # naive: UTC
        "2026-12-06 00:59:06",
        "2026-12-06T00:59:06Z",
        "2026-12-06T00:59:06.000+00:00",
        "2026-12-06T02:59:06+02:00",
        "2026-12-05T19:59:06-05:00",
    ],
)
def test_iso_finds_what_millis_find(store: SqlStore, timed: dict[int, str], op: str, text: str) -> None:
    at = millis(BASE + timedelta(minutes=2))
    by_iso = found(store, f"timestamp {op} '{text}'")
    assert by_iso == found(store, f"timestamp_ms {op} {at}")
    assert by_iso == {tid for t, tid in timed.items() if _holds(t, op, at)}


def _holds(left: int, op: str, right: float) -> bool:
    return {
        ">=": left >= right,
        ">": left > right,
        "<": left < right,
        "<=": left <= right,
        "=": left == right,
        "!=": left != right,
    }[op]


def test_fractions_of_a_millisecond(store: SqlStore, timed: dict[int, str]) -> None:
    at = millis(BASE + timedelta(minutes=2))
    assert found(store, "timestamp > '2026-12-06T00:59:06.0005'") == {
        tid for t, tid in timed.items() if t > at
    }  # the trace at +1 ms is after 0.5 ms; the one at 0 is not
    assert found(store, "timestamp = '2026-12-06T00:59:06.0005'") == set()
    assert found(store, "timestamp <= '2026-12-06T00:59:06.0015'") == {
        tid for t, tid in timed.items() if t <= at + 1
    }


def test_a_day_and_a_range(store: SqlStore, timed: dict[int, str]) -> None:
    assert found(store, "timestamp >= '2026-12-06' AND timestamp < '2026-12-07'") == set(timed.values())
    assert found(store, "timestamp >= '2026-12-06T00:58:06' AND timestamp < '2026-12-06T01:00:06'") == {
        tid for t, tid in timed.items() if millis(BASE) + 60_000 <= t < millis(BASE) + 3 * 60_000
    }
    assert found(store, "timestamp < '2026-12-06'") == set()


def test_a_bad_time_is_named(store: SqlStore) -> None:
    with pytest.raises(InvalidFilterError, match="got 'yesterday'.*position 13"):
        store.search_traces(experiment_ids=["0"], filter_string="timestamp >= 'yesterday'")


def test_version_times_take_iso_too(store: SqlStore) -> None:
    model = store.create_logged_model(experiment_id="0", name="agent-v1")
    when = datetime.fromtimestamp(model.creation_timestamp / 1000, timezone.utc)
    before = (when - timedelta(seconds=1)).isoformat()
    after = (when + timedelta(seconds=1)).isoformat()
    page = store.search_logged_models(
        experiment_ids=["0"], filter_string=f"creation_timestamp > '{before}' AND creation_time < '{after}'"
    )
    assert [m.model_id for m in page] == [model.model_id]
