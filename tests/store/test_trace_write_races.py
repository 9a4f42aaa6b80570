"""Writers racing on the same trace ids, each with its own store (engine) as replicas have: every
write succeeds (a duplicate key found by a concurrent insert or COPY is retried as a replace),
and each trace ends up as exactly one writer's copy, never a mix of two."""

from __future__ import annotations

from genver.entities import Trace
from genver.store.sql.store import SqlStore

from ._helpers import at_once
from .test_traces import make_trace, span

WRITERS = 4
TRACES = 40


def _batch(writer: int) -> list[Trace]:
    out = []
    for i in range(TRACES):
        tid = f"tr-{i + 1:032x}"
        root = span(
            tid, f"root-{writer}", span_id=f"{writer:08x}{i:08x}", inputs={"w": writer, "text": "x" * 200}
        )
        child = span(tid, f"child-{writer}", span_id=f"{writer:08x}{i + 1000:08x}", parent=root)
        out.append(make_trace(trace_id=tid, spans=[root, child], metadata={"writer": str(writer)}))
    return out


def test_writers_racing_on_the_same_ids_leave_one_whole_copy_each(store: SqlStore) -> None:
    others = [SqlStore(store.uri, upgrade=False) for _ in range(WRITERS)]
    batches = [_batch(w) for w in range(WRITERS)]

    def writer(w: int) -> None:
        for _ in range(3):
            others[w].log_traces(batches[w])

    errors = at_once(WRITERS, writer)
    for s in others:
        s.close()
    assert not errors, errors
    found = store.search_traces(experiment_ids=["0"], max_results=1000, include_spans=True)
    assert len(found) == TRACES
    for trace in found:
        w = trace.info.trace_metadata["writer"]
        assert sorted(s.name for s in trace.data.spans) == [f"child-{w}", f"root-{w}"]
        root = next(s for s in trace.data.spans if s.parent_id is None)
        assert root.inputs == {"w": int(w), "text": "x" * 200}
