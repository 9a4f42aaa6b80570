"""``GET /api/v1/compare`` and ``/api/v1/gate``: the server computes what the client would.

The same data compared on the SQL store directly and through the server (a ``RestStore`` over the
ASGI app; SQLite and PostgreSQL) gives the same JSON, in one request; the CLI against a real
``genver server`` process prints what it prints on the SQLite file that server serves; bad
parameters are 400s naming the value, unknown versions 404s naming them, never a 500.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi.routing
import httpx
import pytest
from fastapi import FastAPI

from genver.client import GenverClient
from genver.compare.core import compare_models, gate
from genver.compare.stats import MAX_RESAMPLES
from genver.exceptions import InvalidArgumentError, NotFoundError, StoreUnavailableError
from genver.fluent import Genver
from genver.server.app import create_app
from genver.server.auth import Token
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore
from tests.genai._compare_lab import dataset, evaluate, make_genver
from tests.server._processes import server_process, sqlite_uri
from tests.server.conftest import TestClient, asgi_client

N = 30
THRESHOLDS: dict[str, dict[str, Any]] = {
    "failing": {
        "max_drop": {"exact": 0.02, "judge": "5%"},
        "max_increase": {"p95_latency": "10%", "cost_per_request": 0.0005},
    },
    "passing": {"max_drop": {"exact": 0.5}, "max_increase": {"p95_latency": "150%", "error_rate": 0.1}},
}


def fill(gv: Genver) -> None:
    """Three versions (v1, v2 a regression, v3 the same answers as v1), evaluated on one dataset
    with per-row scores, a metric without per-row scores and a NaN metric, traced with known
    latency and cost, built from different commits."""
    ds = dataset(N, "sums")
    for i, (exact, latency, cost) in enumerate(
        (
            ([True] * N, 10, 0.001),
            ([j % 3 != 0 for j in range(N)], 15, 0.002),
            ([True] * N, 11, 0.001),
        ),
        start=1,
    ):
        model = gv.create_external_model(
            name=f"v{i}",
            params={"prompt": f"p{i}", "llm": "gpt-4o" if i == 2 else "gpt-4o-mini"},
            tags={"mlflow.source.git.commit": f"{i}" * 40, "team": "qa"},
        )
        judge = ["yes" if (j + i) % 4 else "no" for j in range(N)]
        evaluate(
            gv, model, {"exact": exact, "judge": judge}, ds=ds, errored=[i], latency_ms=latency, cost=cost
        )
        with gv.start_run(run_name="judge"):
            gv.log_metric("summary/mean", 0.5 + i / 10, model_id=model.model_id, dataset=ds)  # no rows
            gv.log_metric("flaky/mean", math.nan, model_id=model.model_id, dataset=ds)


def as_json(result: Any) -> str:
    """What ``--format json`` prints (NaN included, where ``==`` on dicts would fail)."""
    return json.dumps(result.to_dict(), indent=2)


@pytest.fixture
def gv(sql_store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    monkeypatch.chdir(tmp_path)  # not a git checkout: both sides add the same code-diff note
    environ = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool")}
    g = Genver(store=sql_store, environ=environ)
    yield g
    g.flush_trace_async_logging(terminate=True)


@pytest.fixture
def requests(client: TestClient) -> list[str]:
    """``METHOD path`` of every request the REST store sends."""
    sent: list[str] = []
    client.event_hooks["request"].append(lambda r: sent.append(f"{r.method} {r.url.path}"))
    return sent


@pytest.fixture
def local(sql_store: SqlStore) -> GenverClient:
    return GenverClient(store=sql_store)


@pytest.fixture
def remote(store: RestStore) -> GenverClient:
    return GenverClient(store=store)


# -- (a) the same answer locally and through the server --------------------------------------------
@pytest.mark.parametrize("refs", [("v1", "v2"), ("v1", "v2", "v3")], ids=["two", "three"])
def test_compare_through_the_server_equals_the_local_comparison(
    gv: Genver, local: GenverClient, remote: GenverClient, requests: list[str], refs: tuple[str, ...]
) -> None:
    fill(gv)
    here = compare_models(local, *refs)
    there = compare_models(remote, *refs)

    assert requests == ["GET /api/v1/compare"]  # one request, not one per version, run and trace
    assert as_json(there) == as_json(here)  # not there == here: NaN != NaN
    exact = here.metric("exact/mean")
    assert exact is not None and exact.bootstrap[1] is not None and exact.bootstrap[1].verdict == "worse"
    assert math.isnan(here.metric("flaky/mean").values[0])  # type: ignore[union-attr]
    assert [r.key for r in here.trace_stats][:1] == ["trace_count"]
    assert any("run inside the repository" in n for n in there.notes)  # the client's code-diff note


def test_every_parameter_reaches_the_server(gv: Genver, local: GenverClient, remote: GenverClient) -> None:
    fill(gv)
    ids = {name: local.find_logged_model("0", name).model_id for name in ("v1", "v2", "v3")}  # type: ignore[union-attr]
    with gv.start_run(run_name="later"):  # a later dataset all share: the default, unless dataset= says
        for model_id in ids.values():
            gv.log_metric("exact/mean", 0.1, model_id=model_id, dataset=dataset(3, "other"))
    args: dict[str, Any] = {"dataset": "sums", "confidence": 0.8, "n_resamples": 300, "seed": 11}
    here = compare_models(local, ids["v1"], "v2", ids["v3"], code_diffs=False, **args)
    there = compare_models(remote, ids["v1"], "v2", ids["v3"], code_diffs=False, **args)
    assert as_json(there) == as_json(here)
    assert here.confidence == 0.8 and here.n_resamples == 300
    assert here.versions[0].dataset_name == "sums"
    # a random seed gives a random interval, but the same row values on both sides
    assert compare_models(remote, "v1", "v2").versions[0].dataset_name == "other"
    unseeded = compare_models(remote, "v1", "v2", dataset="sums", seed=None, code_diffs=False)
    assert unseeded.metric("exact/mean").values == here.metric("exact/mean").values[:2]  # type: ignore[union-attr]


@pytest.mark.parametrize("case", sorted(THRESHOLDS))
def test_gate_through_the_server_equals_the_local_gate(
    gv: Genver, local: GenverClient, remote: GenverClient, requests: list[str], case: str
) -> None:
    fill(gv)
    here = gate(local, "v1", "v2", **THRESHOLDS[case])
    there = gate(remote, "v1", "v2", **THRESHOLDS[case])

    assert requests == ["GET /api/v1/gate"]
    assert there.passed is here.passed is (case == "passing")
    assert as_json(there) == as_json(here)
    if case == "failing":
        failed = {c.requested for c in here.failures}
        assert {"exact", "p95_latency", "cost_per_request"} <= failed


def test_experiment_by_id_or_name(
    gv: Genver, local: GenverClient, remote: GenverClient, client: TestClient
) -> None:
    exp_id = gv.set_experiment("agents").experiment_id
    gv.create_external_model(name="a", params={"k": "1"})
    gv.create_external_model(name="b", params={"k": "2"})
    here = compare_models(local, "a", "b", experiment_id=exp_id)
    assert as_json(compare_models(remote, "a", "b", experiment_id=exp_id)) == as_json(here)
    by_name = client.get(
        "/api/v1/compare", params={"baseline": "a", "candidate": "b", "experiment": "agents"}
    )
    assert by_name.status_code == 200, by_name.text
    assert by_name.json() == compare_models(local, "a", "b", experiment_id=exp_id, code_diffs=False).to_dict()
    with pytest.raises(NotFoundError, match="'a'"):  # not in the Default experiment
        compare_models(remote, "a", "b")


def test_the_routes_are_sync_so_the_bootstrap_runs_in_the_threadpool(app: FastAPI) -> None:
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = {r.path: r for r in (flatten(app.routes) if flatten else app.routes)}
    for path in ("/api/v1/compare", "/api/v1/gate"):
        assert not inspect.iscoroutinefunction(routes[path].endpoint), path  # type: ignore[attr-defined]


def test_the_openapi_document_lists_both_with_error_bodies(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/compare", "/api/v1/gate"):
        responses = paths[path]["get"]["responses"]
        assert "422" not in responses
        for status in ("400", "404", "500"):
            assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


# -- (b) the CLI against a real server process -----------------------------------------------------
def cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``genver ARGS`` as its own process, in a clean environment (no token, no tracking URI)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENVER_", "MLFLOW_", "PYTEST_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "genver", *args],
        cwd=cwd,
        env={**env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_cli_against_a_server_prints_what_it_prints_on_the_file(tmp_path: Path) -> None:
    g = make_genver(tmp_path, "served.db")
    try:
        fill(g)
    finally:
        g.flush_trace_async_logging(terminate=True)
        g.client.close()
    uri = sqlite_uri(tmp_path, "served.db")
    gate_v1 = ["gate", "--baseline", "v1", "--format", "json"]
    commands = {  # command -> its exit code
        ("models", "compare", "v1", "v2", "--format", "json"): 0,
        ("models", "compare", "v1", "v2", "v3", "--format", "json", "--confidence", "0.9"): 0,
        (*gate_v1, "--candidate", "v2", "--max-drop", "exact=0.02", "--max-increase", "p95_latency=10%"): 1,
        (*gate_v1, "--candidate", "v3", "--max-drop", "exact=0.02", "--max-drop", "judge=50%"): 0,
        (*gate_v1, "--candidate", "v3", "--max-increase", "p95_latency=5%"): 1,
        (*gate_v1, "--candidate", "nope", "--max-drop", "exact=0.02"): 2,
    }
    with server_process(uri) as server:
        for command, code in commands.items():
            procs = [cli(*command, "--tracking-uri", where, cwd=tmp_path) for where in (uri, server.url)]
            (file_out, file_err), (served_out, served_err) = (p.communicate(timeout=120) for p in procs)
            name = " ".join(command)
            assert [p.returncode for p in procs] == [code, code], (
                name,
                file_err,
                served_err,
                server.output(),
            )
            if code == 2:  # the unknown version, named either way (each message names its own store)
                assert "'nope'" in file_out + file_err and "'nope'" in served_out + served_err, name
                continue
            assert served_out == file_out, name
            assert served_err == file_err, name
            assert json.loads(served_out)


# -- (c) bad input: 400 or 404 naming the value, never a 500 ---------------------------------------
@pytest.mark.parametrize(
    ("path", "params", "status", "named"),
    [
        ("/api/v1/compare", {"baseline": "v1"}, 400, "got 0"),
        ("/api/v1/compare", {"baseline": "v1", "candidate": ["v2", "v3", "v2", "v3"]}, 400, "got 4"),
        (
            "/api/v1/gate",
            {"baseline": "v1", "candidate": ["v2", "v3"], "max_drop": "exact=0.1"},
            400,
            "got 2",
        ),
        ("/api/v1/compare", {"baseline": "v1", "candidate": "nope"}, 404, "'nope'"),
        ("/api/v1/compare", {"baseline": "m-" + "0" * 32, "candidate": "v2"}, 404, "'m-" + "0" * 32),
        ("/api/v1/compare", {"baseline": "v1", "candidate": "@prod"}, 404, "'@prod'"),
        ("/api/v1/gate", {"baseline": "v1", "candidate": "nope", "max_drop": "exact=0.1"}, 404, "'nope'"),
        ("/api/v1/compare", {"baseline": "v1", "candidate": "v2", "experiment": "lab"}, 404, "'lab'"),
        ("/api/v1/gate", {"baseline": "v1", "candidate": "v2", "max_drop": "exact=abc"}, 400, "'abc'"),
        ("/api/v1/gate", {"baseline": "v1", "candidate": "v2", "max_drop": "exact=-1"}, 400, "'-1'"),
        ("/api/v1/gate", {"baseline": "v1", "candidate": "v2", "max_increase": "p95"}, 400, "'p95'"),
        ("/api/v1/gate", {"baseline": "v1", "candidate": "v2", "max_drop": ["a=1", "a=2"]}, 400, "'a'"),
        ("/api/v1/gate", {"baseline": "v1", "candidate": "v2"}, 400, "at least one threshold"),
        ("/api/v1/compare", {"baseline": "v1", "candidate": "v2", "confidence": "abc"}, 400, "'abc'"),
        ("/api/v1/compare", {"baseline": "v1", "candidate": "v2", "confidence": "1.5"}, 400, "1.5"),
        (
            "/api/v1/gate",
            {"baseline": "v1", "candidate": "v2", "max_drop": "exact=0", "confidence": "nan"},
            400,
            "nan",
        ),  # fmt: skip
        ("/api/v1/compare", {"baseline": "v1", "candidate": "v2", "n_resamples": "0"}, 400, "0"),
        (
            "/api/v1/compare",
            {"baseline": "v1", "candidate": "v2", "n_resamples": str(MAX_RESAMPLES + 1)},
            400,
            str(MAX_RESAMPLES + 1),
        ),  # fmt: skip
        ("/api/v1/compare", {"baseline": "v1", "candidate": "v2", "n_resamples": "1.5"}, 400, "'1.5'"),
        ("/api/v1/compare", {"baseline": "v1", "candidate": "v2", "seed": "-1"}, 400, "'-1'"),
        ("/api/v1/compare", {"baseline": "v1", "candidate": "v2", "seed": "9" * 5000}, 400, "seed"),
        ("/api/v1/compare", {"baseline": " ", "candidate": "v2"}, 400, "' '"),
        ("/api/v1/compare", {"candidate": "v2"}, 400, "baseline"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_value(
    gv: Genver, client: TestClient, path: str, params: dict[str, Any], status: int, named: str
) -> None:
    for name in ("v1", "v2", "v3"):
        gv.create_external_model(name=name)
    resp = client.get(path, params=params)
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error_type"] == ("InvalidArgumentError" if status == 400 else "NotFoundError")
    assert named in body["message"], body["message"]


def test_a_missing_version_names_the_server_never_its_database(gv: Genver, client: TestClient) -> None:
    gv.create_external_model(name="v2")
    resp = client.get("/api/v1/compare", params={"baseline": "m-" + "0" * 32, "candidate": "v2"})
    message = resp.json()["message"]
    assert resp.status_code == 404 and "this genver server" in message
    assert "sqlite" not in message and "postgresql" not in message and ".db" not in message


def test_the_rest_store_raises_what_the_local_store_raises(gv: Genver, remote: GenverClient) -> None:
    fill(gv)
    with pytest.raises(NotFoundError, match="'nope'"):
        compare_models(remote, "v1", "nope")
    with pytest.raises(InvalidArgumentError, match="got 4"):  # the server's limit of 3 candidates
        compare_models(remote, "v1", "v2", "v3", "v2", "v3")
    with pytest.raises(InvalidArgumentError, match=str(MAX_RESAMPLES + 1)):
        compare_models(remote, "v1", "v2", n_resamples=MAX_RESAMPLES + 1)
    with pytest.raises(InvalidArgumentError, match="'nope'"):  # refused by the client, as locally
        gate(remote, "v1", "v2", max_drop={"exact": "nope"})
    with pytest.raises(InvalidArgumentError, match="kind"):
        remote.served_comparison("diff", {})


# -- (d) auth: both routes are reads ------------------------------------------------------------------
def test_a_read_only_token_can_compare_and_gate(gv: Genver, sql_store: SqlStore) -> None:
    fill(gv)
    ro, rw = "ro-" + "c" * 20, "rw-" + "d" * 20
    tokens = (Token.of(ro, can_write=False), Token.of(rw, can_write=True))
    with asgi_client(create_app(sql_store, tokens=tokens), raise_server_exceptions=False) as http:
        reader = GenverClient(store=RestStore(http_client=http, token=ro, sleep=lambda _: None))
        local = GenverClient(store=sql_store)
        assert as_json(compare_models(reader, "v1", "v2")) == as_json(compare_models(local, "v1", "v2"))
        assert not gate(reader, "v1", "v2", max_drop={"exact": 0.02}).passed
        anonymous = http.get("/api/v1/gate", params={"baseline": "v1", "candidate": "v2"})
        assert anonymous.status_code == 401


def test_a_server_that_cannot_be_reached_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.Client(base_url="http://genver.invalid", transport=httpx.MockTransport(refuse))
    store = RestStore(http_client=http, retries=2, sleep=lambda _: None)

    with pytest.raises(StoreUnavailableError, match="/compare"):
        compare_models(GenverClient(store=store), "v1", "v2")
