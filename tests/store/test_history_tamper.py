"""The history's hash chain detects tampering done directly in the database: an entry edited (with
or without its hash recomputed), deleted (with or without the later entries renumbered) or
inserted (with a correctly computed hash, the later entries renumbered); and, against a head kept
elsewhere, a chain truncated or rewritten from some entry on."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from genver.client import GenverClient
from genver.entities import Metric
from genver.entities.history import HistoryEntry, HistoryHead, canonical_json, entry_hash
from genver.store.sql import history_rows
from genver.store.sql.store import SqlStore

from ._helpers import T0

H = "model_history"


def _fill(store: SqlStore) -> GenverClient:
    """Six entries: three versions, a tag, a metric, an alias."""
    a = store.create_logged_model(experiment_id="0", name="a")
    store.create_logged_model(experiment_id="0", name="b")
    store.create_logged_model(experiment_id="0", name="c")
    store.set_logged_model_tags(a.model_id, {"env": "prod"})
    store.log_batch(None, metrics=[Metric("acc", 0.5, T0, 0, model_id=a.model_id)])
    store.set_logged_model_alias(a.model_id, "production")
    client = GenverClient(store=store)
    assert client.verify_history().ok and client.get_history_head().count == 6
    return client


def _sql(store: SqlStore, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def _row(store: SqlStore, seq: int) -> HistoryEntry:
    return next(e for e in store.read_history(after_seq=seq - 1, max_results=1))


def _rehash(store: SqlStore, seq: int, *, prev_hash: str | None = None) -> str:
    """Recompute entry ``seq``'s hash as a forger would (no secret is needed) and store it."""
    e = _row(store, seq)
    prev = e.prev_hash if prev_hash is None else prev_hash
    digest = entry_hash(
        seq=seq,
        prev_hash=prev,
        time=e.time,
        actor=e.actor,
        model_id=e.model_id,
        kind=e.kind,
        before=e.before,
        after=e.after,
    )
    _sql(store, f"UPDATE {H} SET prev_hash = :p, entry_hash = :h WHERE seq = :s", p=prev, h=digest, s=seq)
    return digest


def test_an_edited_entry_is_detected(store: SqlStore) -> None:
    client = _fill(store)
    _sql(store, f"""UPDATE {H} SET after_json = '{{"env":"dev"}}' WHERE seq = 4""")
    report = client.verify_history()
    assert not report.ok and report.checked == 3
    assert report.problem is not None and (report.problem.seq, report.problem.kind) == (4, "edited")
    assert "Entry 4 was edited" in report.problem.message


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "mallory"),
        ("time_ms", T0),
        ("model_id", "m-" + "f" * 32),
        ("kind", "deleted"),
        ("before_json", None),
    ],
)
def test_editing_any_hashed_column_is_detected(store: SqlStore, column: str, value: object) -> None:
    client = _fill(store)
    _sql(store, f"UPDATE {H} SET {column} = :v WHERE seq = 4", v=value)  # the tag entry
    problem = client.verify_history().problem
    assert problem is not None and (problem.seq, problem.kind) == (4, "edited")


def test_an_edited_entry_with_its_hash_recomputed_is_detected_by_the_next(store: SqlStore) -> None:
    client = _fill(store)
    _sql(store, f"""UPDATE {H} SET after_json = '{{"env":"dev"}}' WHERE seq = 4""")
    _rehash(store, 4)
    problem = client.verify_history().problem
    assert problem is not None and (problem.seq, problem.kind) == (4, "edited")
    assert "hash recomputed" in problem.message


def test_a_deleted_entry_is_detected(store: SqlStore) -> None:
    client = _fill(store)
    _sql(store, f"DELETE FROM {H} WHERE seq = 3")
    report = client.verify_history()
    assert report.problem is not None and (report.problem.seq, report.problem.kind) == (3, "deleted")
    assert report.checked == 2 and "entry 3 is missing" in report.problem.message.lower()


def test_a_deleted_entry_is_detected_when_the_later_ones_were_renumbered(store: SqlStore) -> None:
    client = _fill(store)
    _sql(store, f"DELETE FROM {H} WHERE seq = 3")
    for seq in (4, 5, 6):
        _sql(store, f"UPDATE {H} SET seq = :n WHERE seq = :s", n=seq - 1, s=seq)
    problem = client.verify_history().problem
    assert problem is not None and (problem.seq, problem.kind) == (3, "deleted")


def test_an_inserted_entry_is_detected_even_with_a_correct_hash(store: SqlStore) -> None:
    client = _fill(store)
    for seq in (6, 5, 4, 3):  # make room at 3, from the end (the key stays unique)
        _sql(store, f"UPDATE {H} SET seq = :n WHERE seq = :s", n=seq + 1, s=seq)
    second = _row(store, 2)
    forged = {"env": "forged"}
    digest = entry_hash(
        seq=3, prev_hash=second.hash, time=second.time, actor="mallory", model_id=second.model_id, kind="tags_set",
        before=None, after=forged,
    )  # fmt: skip
    _sql(
        store,
        f"INSERT INTO {H} (seq, time_ms, actor, model_id, kind, before_json, after_json, prev_hash, entry_hash) "
        "VALUES (3, :t, 'mallory', :m, 'tags_set', NULL, :a, :p, :h)",
        t=second.time,
        m=second.model_id,
        a=canonical_json(forged),
        p=second.hash,
        h=digest,
    )
    report = client.verify_history()
    assert report.problem is not None and (report.problem.seq, report.problem.kind) == (3, "inserted")
    assert report.checked == 3  # the forgery itself chains well: the entry after it gives it away


def test_an_entry_appended_with_a_made_up_hash_is_detected(store: SqlStore) -> None:
    client = _fill(store)
    last = _row(store, 6)
    _sql(
        store,
        f"INSERT INTO {H} (seq, time_ms, actor, model_id, kind, before_json, after_json, prev_hash, entry_hash) "
        "VALUES (7, :t, 'mallory', :m, 'deleted', NULL, NULL, :p, :h)",
        t=last.time,
        m=last.model_id,
        p=last.hash,
        h="0" * 64,
    )
    problem = client.verify_history().problem
    assert problem is not None and problem.seq == 7


def test_a_head_kept_elsewhere_detects_a_truncated_chain(store: SqlStore) -> None:
    client = _fill(store)
    kept = str(client.get_history_head())
    _sql(store, f"DELETE FROM {H} WHERE seq > 4")
    assert client.verify_history().ok  # what is left is a consistent chain...
    report = client.verify_history(kept)  # ...but not the one the head was taken from
    assert report.problem is not None and (report.problem.seq, report.problem.kind) == (5, "truncated")
    assert "entries 5 to 6 are gone" in report.problem.message


def test_a_head_kept_elsewhere_detects_a_rewritten_chain(store: SqlStore) -> None:
    client = _fill(store)
    kept = client.get_history_head()
    _sql(store, f"""UPDATE {H} SET after_json = '{{"env":"dev"}}' WHERE seq = 4""")
    prev = _rehash(store, 4)
    for seq in (5, 6):  # recompute every later hash: the chain alone looks intact
        prev = _rehash(store, seq, prev_hash=prev)
    assert client.verify_history().ok
    report = client.verify_history(kept)
    assert report.problem is not None and (report.problem.seq, report.problem.kind) == (6, "rewritten")
    store.set_logged_model_tags(_row(store, 1).model_id, {"later": "yes"})  # a later change...
    assert client.verify_history(client.get_history_head()).ok  # ...extends the chain it reaches


def test_an_older_head_still_verifies_after_later_changes(store: SqlStore) -> None:
    client = _fill(store)
    kept = client.get_history_head()
    store.set_logged_model_tags(_row(store, 1).model_id, {"later": "yes"})
    report = client.verify_history(kept)
    assert report.ok and report.checked == 7 and report.head.count == 7


def test_a_malformed_head_is_refused_by_value() -> None:
    from genver.exceptions import InvalidArgumentError

    for bad in ("", "12", "x:" + "a" * 64, "3:" + "g" * 64, "3:abc"):
        with pytest.raises(InvalidArgumentError, match="Invalid history head"):
            HistoryHead.parse(bad)
    assert HistoryHead.parse(" 3:" + "AB" * 32 + " ") == HistoryHead(3, "ab" * 32)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**62), 2**62)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(1, 2**62),
    time=st.integers(0, 2**62),
    actor=st.text(min_size=1),
    kind=st.sampled_from(["tags_set", "created", "metrics_logged"]),
    before=json_values,
    after=json_values,
)
def test_the_stored_form_hashes_as_the_entity_does(
    seq: int, time: int, actor: str, kind: str, before: object, after: object
) -> None:
    """The appender builds the canonical JSON from its parts; a reader recomputes it from the
    decoded values: both must give the same digest for any JSON content."""
    change = history_rows.Change("m-1", kind, before, after)
    (row,) = history_rows._rows([change], history_rows.Head(seq - 1, "0" * 64, time), time, actor)
    got_seq, got_time, _, _, _, b, a, prev_hash, stored = row
    assert (got_seq, got_time, prev_hash) == (seq, time, "0" * 64)
    decoded_before = None if b is None else json.loads(b)
    decoded_after = None if a is None else json.loads(a)
    assert stored == entry_hash(
        seq=seq, prev_hash="0" * 64, time=time, actor=actor, model_id="m-1", kind=kind, before=decoded_before,
        after=decoded_after,
    )  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_canonical_json_is_json_dumps_with_the_canonical_settings(value: object) -> None:
    """canonical_json reuses json's C encoder built once: byte for byte what json.dumps writes."""
    assert canonical_json(value) == json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
