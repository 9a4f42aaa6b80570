"""bench_scale.py's ``--via server``: two ``genver server`` replicas on one store, loaded by client
processes that send every other request as OTLP/HTTP protobuf (``POST /v1/traces``, as an
OpenTelemetry collector or SDK exporter sends it) and the rest with genver's REST client
(``RestStore.log_traces``, as genver's own exporter does), alternating between the replicas.

OTLP bodies come from one template request per client process, built once from
``bench_trace_store.make_trace``: each batch sets new trace and span ids, times and version links
on it and serializes it (what an exporter's encoding costs is not genver's). REST batches are
``Trace`` objects through the real client, its JSON encoding included. Clients run on the same
two cores as the servers and PostgreSQL; the CPU they use is measured and reported with the
rate.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence
from multiprocessing.pool import Pool
from typing import Any

import bench_trace_store as ts
from bench_server import free_port, running_server

REQUEST = 100  # traces per request: 600 spans, about an OpenTelemetry batch processor's 512
_state: dict[str, Any] = {}


@contextlib.contextmanager
def replicas(uri: str, n: int, tmp: str) -> Iterator[list[str]]:
    """``n`` ``genver server`` processes on ``uri`` (one worker each), stopped on the way out."""
    genver = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "genver")
    with contextlib.ExitStack() as stack:
        urls = []
        for i in range(n):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            cwd = os.path.join(tmp, f"replica{i}")
            os.makedirs(cwd, exist_ok=True)
            cmd = [genver, "server", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port)]
            stack.enter_context(running_server([*cmd, "--workers", "1"], url, cwd))
            urls.append(url)
        yield urls


def _otlp_template(versions: Sequence[str]) -> Any:
    """An ``ExportTraceServiceRequest`` of ``REQUEST`` traces of the benchmark's spans."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.trace.v1.trace_pb2 import Status

    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    rnd = random.Random(1)
    for i in range(REQUEST):
        trace = ts.make_trace(i, rnd, model_id=versions[0])
        for s in trace.data.spans:
            p = scope.spans.add()
            p.name = s.name
            p.status.code = Status.STATUS_CODE_OK
            attrs: dict[str, Any] = {
                **s.attributes,
                "mlflow.spanInputs": json.dumps(s.inputs),
                "mlflow.spanOutputs": json.dumps(s.outputs),
            }
            if s.parent_id is None:
                attrs["mlflow.modelId"] = versions[0]
            for key, value in attrs.items():
                kv = p.attributes.add()
                kv.key = key
                if isinstance(value, str):
                    kv.value.string_value = value
                else:
                    kv.value.int_value = int(value)
            for e in s.events:
                ev = p.events.add()
                ev.name = e.name
                for key, value in e.attributes.items():
                    kv = ev.attributes.add()
                    kv.key, kv.value.int_value = key, int(value)
    return request


def _restamp(request: Any, start: int, total: int, versions: Sequence[str], ids: str) -> bytes:
    """The template with traces ``start``.. as the store mode would make them: ids, times, links."""
    from bench_scale import DAY_MS, SPAN_DAYS, time_ordered_id

    step = SPAN_DAYS * DAY_MS // max(total, 1)
    rnd = random.Random(start)
    spans = request.resource_spans[0].scope_spans[0].spans
    per = len(spans) // REQUEST
    for j in range(REQUEST):
        i = start + j
        when = ts.T0 + i * step
        tid = time_ordered_id(when, rnd) if ids == "time" else f"tr-{rnd.getrandbits(128):032x}"
        trace_id = bytes.fromhex(tid[3:])
        duration = rnd.randint(50, 5000) * 1_000_000
        root_id = rnd.getrandbits(64).to_bytes(8, "big")
        for k in range(per):
            p = spans[j * per + k]
            p.trace_id = trace_id
            p.span_id = root_id if k == 0 else rnd.getrandbits(64).to_bytes(8, "big")
            if k:
                p.parent_span_id = root_id
            p.start_time_unix_nano = when * 1_000_000 + k * 1000
            p.end_time_unix_nano = when * 1_000_000 + duration - k
            if k == 0:
                for kv in p.attributes:
                    if kv.key == "mlflow.modelId":
                        kv.value.string_value = versions[i % len(versions)]
    body: bytes = request.SerializeToString()
    return body


def _send(job: tuple[int, int, int, str, list[str], list[str]]) -> tuple[float, str]:
    """One request of traces ``start``..``start + REQUEST``; (client CPU s, its kind)."""
    index, start, total, ids, urls, versions = job
    import httpx

    from bench_scale import batch
    from genver.store.rest import RestStore

    cpu = time.process_time()
    url = urls[index % len(urls)]
    kind = "otlp" if (index // len(urls)) % 2 == 0 else "rest"
    if kind == "otlp":
        if "otlp" not in _state:
            _state["otlp"] = _otlp_template(versions)
            _state["http"] = httpx.Client(timeout=120)
        body = _restamp(_state["otlp"], start, total, versions, ids)
        resp = _state["http"].post(
            f"{url}/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
        )
        resp.raise_for_status()
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

        partial = ExportTraceServiceResponse.FromString(resp.content).partial_success
        if partial.rejected_spans:
            raise SystemExit(f"the server rejected {partial.rejected_spans} spans: {partial.error_message}")
    else:
        stores: dict[str, RestStore] = _state.setdefault("rest", {})
        if url not in stores:
            stores[url] = RestStore(url)
        stores[url].log_traces(batch(start, REQUEST, total, ids, versions))
    return time.process_time() - cpu, kind


def load_segment(
    pool: Pool, first: int, n: int, total: int, ids: str, urls: list[str], versions: list[str]
) -> dict[str, float]:
    """Traces ``first``..``first + n`` through the replicas: the wall time, and the clients' CPU."""
    jobs = [(s // REQUEST, s, total, ids, urls, versions) for s in range(first, first + n, REQUEST)]
    start = time.perf_counter()
    done = pool.map(_send, jobs, chunksize=1)
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "client_cpu_s": sum(cpu for cpu, _ in done),
        "otlp_requests": sum(1 for _, kind in done if kind == "otlp"),
        "rest_requests": sum(1 for _, kind in done if kind == "rest"),
    }
