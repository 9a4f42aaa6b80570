"""The HTTP surface of ``create_app``: health, docs, error statuses and bodies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import TestClient

API = "/api/v1"


def error(resp: Any, status: int, error_code: str) -> dict[str, str]:
    assert resp.status_code == status, resp.text
    body: dict[str, str] = resp.json()
    assert set(body) == {"error_code", "message", "error_type"}
    assert body["error_code"] == error_code
    return body


def test_health_and_docs(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    for path in ("/api/v1/experiments", "/api/v1/runs/log-batch", "/api/v1/models/search", "/api/v1/traces"):
        assert path in paths


@pytest.mark.parametrize(
    "path",
    [
        "/experiments/12345",
        "/runs/" + "f" * 32,
        "/models/m-" + "f" * 32,
        "/traces/tr-" + "f" * 32,
    ],
)
def test_unknown_ids_are_404(client: TestClient, path: str) -> None:
    body = error(client.get(API + path), 404, "RESOURCE_DOES_NOT_EXIST")
    assert body["error_type"] == "NotFoundError"
    assert path.rsplit("/", 1)[1] in body["message"]


def test_conflict_is_409(client: TestClient) -> None:
    assert client.post(API + "/experiments", json={"name": "dup"}).status_code == 201
    body = error(client.post(API + "/experiments", json={"name": "dup"}), 409, "RESOURCE_ALREADY_EXISTS")
    assert "dup" in body["message"]


def test_store_validation_is_400(client: TestClient) -> None:
    resp = client.post(API + "/models/search", json={"experiment_ids": ["0"], "filter_string": "name =="})
    body = error(resp, 400, "INVALID_PARAMETER_VALUE")
    assert body["error_type"] == "InvalidFilterError"
    resp = client.post(API + "/models", json={"experiment_id": "0", "status": "BOGUS"})
    assert "BOGUS" in error(resp, 400, "INVALID_PARAMETER_VALUE")["message"]


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/experiments", {"name": 3}, "name"),
        ("/experiments", {}, "name"),
        ("/experiments", {"name": "x", "surprise": 1}, "surprise"),
        ("/runs/search", {"experiment_ids": ["0"], "max_results": "ten"}, "max_results"),
        ("/experiments/search", {"view_type": 9}, "view_type"),
        (
            "/runs/log-batch",
            {"run_id": "r", "metrics": [{"key": "k", "value": "x", "timestamp": 1}]},
            "metrics.0.value",
        ),
        ("/traces", {"traces": [{"info": {"trace_id": "t"}}]}, "traces.0.info.experiment_id"),
    ],
)
def test_malformed_fields_are_400_naming_the_field(
    client: TestClient, path: str, payload: dict[str, Any], field: str
) -> None:
    method = client.put if path == "/traces" else client.post
    body = error(method(API + path, json=payload), 400, "INVALID_PARAMETER_VALUE")
    assert f"'{field}'" in body["message"]


def test_malformed_json_is_400(client: TestClient) -> None:
    resp = client.post(
        API + "/experiments", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert "Malformed JSON" in error(resp, 400, "INVALID_PARAMETER_VALUE")["message"]


def test_unexpected_errors_are_500_without_internals(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(store, "get_experiment", broken)
    body = error(client.get(API + "/experiments/0"), 500, "INTERNAL_ERROR")
    assert "secret" not in body["message"]


def test_nan_metrics_round_trip(client: TestClient) -> None:
    run_id = client.post(API + "/runs", json={"experiment_id": "0"}).json()["info"]["run_id"]
    resp = client.post(
        API + "/runs/log-batch",
        content=b'{"run_id": "%s", "metrics": [{"key": "k", "value": NaN, "timestamp": 1}]}'
        % run_id.encode(),
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 204, resp.text
    assert "NaN" in client.get(f"{API}/runs/{run_id}").text
