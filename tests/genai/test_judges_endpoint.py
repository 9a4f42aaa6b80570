"""The judges' chat endpoint client on its own: settings and where they come from, retries within
the timeout (backoff, Retry-After), the breaker for unreachable endpoints, and thread safety.
Time is a fake clock; requests go to ``httpx.MockTransport`` or the local fake endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from genver.exceptions import InvalidArgumentError
from genver.genai.judges.endpoint import BREAKER_COOLDOWN, BREAKER_THRESHOLD, ChatEndpoint
from genver.genai.judges.errors import (
    JudgeAuthError,
    JudgeNotConfiguredError,
    JudgeTimeoutError,
    JudgeUnavailableError,
)
from tests.genai._fake_judge import FakeJudge, closed_port_url

ASK = [{"role": "user", "content": "Is it fine?"}]
OK = {"choices": [{"message": {"content": '{"result": "yes"}'}}]}


class Clock:
    """A clock that moves only when slept on (or told to)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def endpoint(client: httpx.Client | None, clock: Clock, **kwargs: object) -> ChatEndpoint:
    kwargs.setdefault(
        "environ", {"GENVER_JUDGE_BASE_URL": "http://judge.test/v1", "GENVER_JUDGE_API_KEY": "k"}
    )
    return ChatEndpoint(http_client=client, sleep=clock.sleep, clock=clock, **kwargs)  # type: ignore[arg-type]


def test_settings_resolve_from_arguments_then_the_environment() -> None:
    env = {
        "OPENAI_BASE_URL": "http://a/v1/",
        "OPENAI_API_KEY": "sk-a",
        "MLFLOW_GENAI_JUDGE_DEFAULT_MODEL": "openai:/m",
    }
    where = ChatEndpoint(environ=env).resolve()
    assert (where.url, where.api_key, where.model, where.timeout) == (
        "http://a/v1/chat/completions",
        "sk-a",
        "m",
        60.0,
    )
    assert (where.base_url_from, where.api_key_from, where.model_from) == (
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "MLFLOW_GENAI_JUDGE_DEFAULT_MODEL",
    )
    env = {**env, "GENVER_JUDGE_BASE_URL": "http://b/v1", "GENVER_JUDGE_TIMEOUT": "5"}
    where = ChatEndpoint(model="x", base_url="http://c/v1", environ=env).resolve()
    assert (where.url, where.model, where.timeout, where.base_url_from) == (
        "http://c/v1/chat/completions",
        "x",
        5.0,
        "argument",
    )
    assert ChatEndpoint(environ={}).resolve().model == "gpt-4.1-mini"  # MLflow's default judge
    for raw in ("soon", "0", "-1", "inf"):
        with pytest.raises(InvalidArgumentError, match=f"Invalid value '{raw}' for GENVER_JUDGE_TIMEOUT"):
            ChatEndpoint(environ={"GENVER_JUDGE_TIMEOUT": raw}).resolve()
    for bad in ({"max_retries": -1}, {"timeout": -1}, {"retry_backoff": "1"}, {"model": "anthropic:/c"}):
        with pytest.raises(InvalidArgumentError):
            ChatEndpoint(**bad)


def test_no_key_for_openai_sends_nothing(clock: Clock) -> None:
    sent: list[httpx.Request] = []
    client = mock(lambda r: sent.append(r) or httpx.Response(200, json=OK))  # type: ignore[func-returns-value]
    with pytest.raises(
        JudgeNotConfiguredError, match="no API key for the judge endpoint https://api.openai.com/v1"
    ):
        endpoint(client, clock, environ={}).complete(ASK)
    assert sent == []
    assert endpoint(client, clock, environ={"OPENAI_API_KEY": "sk"}).complete(ASK) == '{"result": "yes"}'
    assert sent[0].headers["authorization"] == "Bearer sk"


def test_retries_back_off_and_honour_retry_after(clock: Clock) -> None:
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(502), httpx.Response(200, json=OK)]
    )
    ep = endpoint(mock(lambda r: next(answers)), clock, retry_backoff=1.0)
    assert ep.complete(ASK) == '{"result": "yes"}'
    assert clock.slept[0] == 7  # the server's Retry-After
    assert 1.0 <= clock.slept[1] <= 2.0  # backoff with jitter: 2 ** 1 * [0.5, 1]
    body = None

    def capture(r: httpx.Request) -> httpx.Response:
        nonlocal body
        body = json.loads(r.content)
        return httpx.Response(200, json=OK)

    endpoint(mock(capture), clock, model="openai:/gpt-x").complete(ASK)
    assert body == {"model": "gpt-x", "messages": ASK, "temperature": 0}


def test_retries_stop_at_the_timeout(clock: Clock) -> None:
    calls = 0

    def busy(r: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, text="busy", headers={"Retry-After": "40"})

    ep = endpoint(mock(busy), clock, timeout=60, max_retries=5)
    with pytest.raises(
        JudgeUnavailableError,
        match=r"HTTP 503: 'busy' \(after 2 attempts; no time left for another within 60 s\)",
    ):
        ep.complete(ASK)
    assert calls == 2 and clock.slept == [40]  # the second wait of 40 s would pass the 60 s timeout


def test_errors_that_retrying_cannot_fix_are_raised_at_once(clock: Clock) -> None:
    calls = 0

    def refuse(r: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(403, json={"error": "forbidden"})

    with pytest.raises(JudgeAuthError, match="refused the API key: HTTP 403"):
        endpoint(mock(refuse), clock).complete(ASK)
    assert calls == 1 and clock.slept == []


def test_timeouts_are_judge_timeouts(clock: Clock) -> None:
    def slow(r: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=r)

    with pytest.raises(JudgeTimeoutError, match="did not answer within 60 s"):
        endpoint(mock(slow), clock, retry_backoff=0).complete(ASK)

    def no_connect(r: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("syn", request=r)

    with pytest.raises(
        JudgeTimeoutError,
        match=r"could not connect to judge endpoint http://judge.test/v1/chat/completions within 10 s \(after 3 attempts\)",
    ):
        endpoint(mock(no_connect), clock, retry_backoff=0).complete(ASK)


def test_the_breaker_stops_calling_an_unreachable_endpoint(clock: Clock) -> None:
    calls = 0
    up = False

    def handler(r: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if not up:
            raise httpx.ConnectError("refused", request=r)
        return httpx.Response(200, json=OK)

    ep = endpoint(mock(handler), clock, max_retries=0)
    for _ in range(BREAKER_THRESHOLD):
        with pytest.raises(JudgeUnavailableError, match="could not reach"):
            ep.complete(ASK)
    assert calls == BREAKER_THRESHOLD
    with pytest.raises(
        JudgeUnavailableError, match=f"not called: the last {BREAKER_THRESHOLD} calls could not reach it"
    ):
        ep.complete(ASK)
    assert calls == BREAKER_THRESHOLD  # no request
    clock.now += BREAKER_COOLDOWN + 1
    up = True
    assert ep.complete(ASK) == '{"result": "yes"}'  # tried again after the cool-down, and closed
    up = False
    with pytest.raises(JudgeUnavailableError, match="could not reach"):
        ep.complete(ASK)  # one failure after a success does not open it


def test_http_errors_do_not_open_the_breaker(clock: Clock) -> None:
    calls = 0

    def down(r: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500)

    ep = endpoint(mock(down), clock, max_retries=0)
    for _ in range(BREAKER_THRESHOLD + 3):
        with pytest.raises(JudgeUnavailableError, match="HTTP 500"):
            ep.complete(ASK)
    assert calls == BREAKER_THRESHOLD + 3  # the endpoint answers: every call is tried


def test_one_endpoint_shared_by_threads() -> None:
    fake = FakeJudge()
    try:
        fake.delay = 0.01
        ep = ChatEndpoint(base_url=fake.base_url, api_key="k", model="m")
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(lambda i: ep.complete([{"role": "user", "content": str(i)}]), range(64)))
        assert len(replies) == 64 and len(fake.requests) == 64
        assert sorted(r["messages"][0]["content"] for r in fake.requests) == sorted(str(i) for i in range(64))
    finally:
        fake.close()


def test_the_breaker_counts_across_threads() -> None:
    ep = ChatEndpoint(base_url=closed_port_url(), api_key="k", model="m", max_retries=0)
    barrier = threading.Barrier(8)

    def call(_: int) -> str:
        barrier.wait()
        try:
            ep.complete(ASK)
        except JudgeUnavailableError as exc:
            return str(exc)
        return "answered"

    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(call, range(8)))
    tried = [m for m in first if m.startswith("could not reach")]
    assert len(tried) >= BREAKER_THRESHOLD  # the rest may have found the breaker open already
    assert all(m.startswith("could not reach") or "not called" in m for m in first)
    with pytest.raises(JudgeUnavailableError, match=f"not called: the last {len(tried)} calls"):
        ep.complete(ASK)


@pytest.fixture
def _no_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "GENVER_JUDGE_BASE_URL",
        "OPENAI_BASE_URL",
        "OPENAI_API_BASE",
        "GENVER_JUDGE_API_KEY",
        "OPENAI_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.mark.usefixtures("_no_env")
def test_settings_are_read_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeJudge()
    try:
        ep = ChatEndpoint(model="m")  # built before the environment is set, as a module-level judge is
        with pytest.raises(JudgeNotConfiguredError):
            ep.complete(ASK)
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        ep.complete(ASK)
        assert (
            len(fake.requests) == 1 and "authorization" not in fake.headers[0]
        )  # a local endpoint needs no key
    finally:
        fake.close()
