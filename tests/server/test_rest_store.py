"""``RestStore`` on its own: error mapping, retries with backoff, timeouts."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from genver.exceptions import (
    AlreadyExistsError,
    InvalidFilterError,
    NotFoundError,
    StoreError,
    StoreUnavailableError,
)
from genver.store.rest import RestStore

EXP = {"experiment_id": "0", "name": "Default", "artifact_location": "/a/0", "lifecycle_stage": "active"}


def rest(handler: httpx.MockTransport, sleeps: list[float] | None = None, **kw: int) -> RestStore:
    client = httpx.Client(transport=handler, base_url="http://genver.test")
    return RestStore(http_client=client, sleep=(sleeps if sleeps is not None else []).append, **kw)


def replies(*responses: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.MockTransport(handle), seen


def err(status: int, code: str, kind: str, message: str = "boom") -> httpx.Response:
    return httpx.Response(status, json={"error_code": code, "message": message, "error_type": kind})


@pytest.mark.parametrize(
    ("response", "cls"),
    [
        (err(404, "RESOURCE_DOES_NOT_EXIST", "NotFoundError"), NotFoundError),
        (err(409, "RESOURCE_ALREADY_EXISTS", "AlreadyExistsError"), AlreadyExistsError),
        (err(400, "INVALID_PARAMETER_VALUE", "InvalidFilterError"), InvalidFilterError),
        (httpx.Response(404, text="no route"), NotFoundError),  # a proxy's bare 404
        (httpx.Response(500, text="oops"), StoreError),
    ],
)
def test_errors_map_back_to_genver_classes(response: httpx.Response, cls: type[Exception]) -> None:
    transport, _ = replies(response)
    with pytest.raises(cls) as info:
        rest(transport).get_experiment("0")
    assert type(info.value) is cls


def test_idempotent_calls_retry_with_backoff() -> None:
    transport, seen = replies(
        httpx.ConnectError("refused"),
        err(503, "TEMPORARILY_UNAVAILABLE", "StoreUnavailableError"),
        httpx.Response(200, json=EXP),
    )
    sleeps: list[float] = []
    assert rest(transport, sleeps, retries=3).get_experiment("0").name == "Default"
    assert len(seen) == 3 and sleeps == [0.25, 0.5]


def test_gives_up_with_store_unavailable() -> None:
    transport, seen = replies(*[httpx.ReadTimeout("slow")] * 3)
    with pytest.raises(StoreUnavailableError, match="timed out"):
        rest(transport, retries=2).get_experiment("0")
    assert len(seen) == 3


def test_non_idempotent_calls_are_sent_once() -> None:
    transport, seen = replies(httpx.ConnectError("refused"))
    with pytest.raises(StoreUnavailableError, match="Cannot reach"):
        rest(transport).create_experiment("x")
    assert len(seen) == 1


def test_requests_carry_the_wire_schema() -> None:
    transport, seen = replies(httpx.Response(201, json={"experiment_id": "7"}))
    assert rest(transport).create_experiment("x", tags={"n": 1}) == "7"  # type: ignore[dict-item]
    assert seen[0].method == "POST" and seen[0].url.path == "/api/v1/experiments"
    assert json.loads(seen[0].content) == {"name": "x", "artifact_location": None, "tags": {"n": "1"}}


def test_unreachable_server() -> None:
    store = RestStore("http://127.0.0.1:9", retries=1, timeout=2, sleep=lambda _: None)
    with pytest.raises(StoreUnavailableError, match="127.0.0.1:9"):
        store.get_experiment("0")
    store.close()


DATASET_ID = "d-" + "0" * 32
DATASET = {
    "dataset_id": DATASET_ID,
    "name": "n",
    "digest": "4f53cda18c2baa0c",
    "experiment_id": "0",
    "created_time": 1,
    "last_update_time": 1,
    "records": [],
}
EVAL_DATASET_CALLS = [
    ("get", lambda s: s.get_eval_dataset(DATASET_ID), 200, DATASET, True),
    ("search", lambda s: s.search_eval_datasets(experiment_ids=["0"]), 200, {"datasets": [DATASET]}, True),
    # a record replaces the one with its id: sending the same records twice adds nothing
    ("add", lambda s: s.add_eval_dataset_records(DATASET_ID, []), 200, DATASET, True),
    # each call makes a new dataset; a second delete would be a NotFoundError
    ("create", lambda s: s.create_eval_dataset(name="n", experiment_id="0"), 201, DATASET, False),
    ("delete", lambda s: s.delete_eval_dataset(DATASET_ID), 204, None, False),
]


@pytest.mark.parametrize(
    ("call", "status", "body", "idempotent"),
    [c[1:] for c in EVAL_DATASET_CALLS],
    ids=[c[0] for c in EVAL_DATASET_CALLS],
)
def test_eval_dataset_calls_are_retried_only_when_idempotent(
    call: Any, status: int, body: Any, idempotent: bool
) -> None:
    answer = httpx.Response(status, json=body) if body is not None else httpx.Response(status)
    transport, seen = replies(err(503, "TEMPORARILY_UNAVAILABLE", "StoreUnavailableError"), answer)
    if idempotent:
        call(rest(transport))
        assert len(seen) == 2
    else:
        with pytest.raises(StoreUnavailableError):
            call(rest(transport))
        assert len(seen) == 1
    assert {r.url.path for r in seen} <= {
        "/api/v1/eval-datasets",
        "/api/v1/eval-datasets/search",
        f"/api/v1/eval-datasets/{DATASET_ID}",
        f"/api/v1/eval-datasets/{DATASET_ID}/records",
    }
