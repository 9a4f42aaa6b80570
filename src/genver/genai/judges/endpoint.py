"""The chat endpoint a judge asks: any OpenAI-compatible ``POST {base_url}/chat/completions``.

Where it is, its key and the model come from the judge's arguments, else the environment
(``GENVER_JUDGE_BASE_URL`` / ``OPENAI_BASE_URL``, ``GENVER_JUDGE_API_KEY`` / ``OPENAI_API_KEY``,
``GENVER_JUDGE_MODEL``), read at each call, so a key set after the judge was built is used.

A call never takes longer than the timeout (``GENVER_JUDGE_TIMEOUT``, 60 s): within it, a
connection error, a timeout of the connection, 429 or 5xx is retried ``max_retries`` times with
exponential backoff and jitter (a 429/503 ``Retry-After`` is honoured when it fits). After
``BREAKER_THRESHOLD`` calls in a row could not reach the endpoint, calls fail at once, without a
request, for ``BREAKER_COOLDOWN`` seconds, so an evaluation of many rows against a dead endpoint
ends in seconds instead of rows x timeout. Failures raise the ``JudgeError`` that names them.

``ChatEndpoint`` is safe to share between threads (``genai.evaluate`` scores rows in a pool): its
only mutable state, the per-URL failure count, is behind a lock.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from genver.config import JUDGE_API_KEY, JUDGE_BASE_URL, JUDGE_MODEL, JUDGE_TIMEOUT, Setting
from genver.exceptions import InvalidArgumentError
from genver.genai.judges.errors import (
    JudgeAuthError,
    JudgeError,
    JudgeNotConfiguredError,
    JudgeParseError,
    JudgeTimeoutError,
    JudgeUnavailableError,
)

if TYPE_CHECKING:
    import ssl

    import httpx

__all__ = ["ChatEndpoint", "Resolved", "model_name"]

#: OpenAI's own endpoint: the default base URL, which needs a key.
OPENAI_BASE_URL = "https://api.openai.com/v1"
#: Calls in a row that could not reach an endpoint before calls to it fail without a request.
BREAKER_THRESHOLD = 5
#: Seconds those calls fail for, before the endpoint is tried again.
BREAKER_COOLDOWN = 30.0
#: Longest wait for a TCP/TLS connection, so a dead host leaves time to retry within the timeout.
CONNECT_TIMEOUT = 10.0
Message = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Resolved:
    """The endpoint of one call, and where each part came from (``"argument"``, an environment
    variable's name, or ``"default"``), so a failure can name the setting that fixes it."""

    url: str
    model: str
    api_key: str | None
    timeout: float
    base_url_from: str
    api_key_from: str | None
    model_from: str
    timeout_from: str


class ChatEndpoint:
    """Asks an OpenAI-compatible chat endpoint; see the module docstring.

    ``http_client`` (an ``httpx.Client``) replaces the per-call client — the seam tests and
    callers that pool connections use; ``sleep`` and ``clock`` are the backoff's.
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        extra_headers: Mapping[str, str] | None = None,
        inference_params: Mapping[str, Any] | None = None,
        http_client: httpx.Client | None = None,
        environ: Mapping[str, str] | None = None,
        breaker_threshold: int = BREAKER_THRESHOLD,
        breaker_cooldown: float = BREAKER_COOLDOWN,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if model is not None:
            model_name(model)  # a bad model fails now, not on every row
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InvalidArgumentError(f"Invalid max_retries {max_retries!r}: expected an integer >= 0.")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
        ):
            raise InvalidArgumentError(f"Invalid timeout {timeout!r}: expected a positive number of seconds.")
        if (
            isinstance(retry_backoff, bool)
            or not isinstance(retry_backoff, (int, float))
            or retry_backoff < 0
        ):
            raise InvalidArgumentError(f"Invalid retry_backoff {retry_backoff!r}: expected seconds >= 0.")
        self.model = model
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_backoff = float(retry_backoff)
        self.extra_headers = dict(extra_headers or {})
        self.inference_params = dict(inference_params or {})
        self.http_client = http_client
        self._environ = environ
        self._breaker_threshold = breaker_threshold
        self._breaker_cooldown = breaker_cooldown
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._unreachable: dict[str, tuple[int, float, str]] = {}  # url -> (calls in a row, open until, why)
        self._ssl: ssl.SSLContext | None = None

    # -- where to ----------------------------------------------------------------------------------------
    def resolve(self) -> Resolved:
        """The endpoint, key, model and timeout a call now uses."""
        env = os.environ if self._environ is None else self._environ
        base, base_from = _pick(self.base_url, JUDGE_BASE_URL, env)
        key, key_from = _pick(self.api_key, JUDGE_API_KEY, env)
        model, model_from = _pick(self.model, JUDGE_MODEL, env)
        raw_timeout, timeout_from = _pick(self.timeout, JUDGE_TIMEOUT, env)
        try:
            timeout = float(raw_timeout)
        except (TypeError, ValueError):
            timeout = math.nan
        if not (math.isfinite(timeout) and timeout > 0):
            raise InvalidArgumentError(
                f"Invalid value {raw_timeout!r} for {timeout_from}: expected a positive number of seconds, e.g. 60."
            )
        try:
            name = model_name(model)
        except InvalidArgumentError as exc:
            if model_from == "argument":
                raise
            raise InvalidArgumentError(f"{exc} (from {model_from})") from None
        return Resolved(
            url=f"{str(base or OPENAI_BASE_URL).rstrip('/')}/chat/completions",
            model=name,
            api_key=key,
            timeout=timeout,
            base_url_from=base_from,
            api_key_from=key_from if key is not None else None,
            model_from=model_from,
            timeout_from=timeout_from,
        )

    def fix(self, code: str) -> str | None:
        """The setting that fixes failures with error ``code``, in words: the judge's argument
        when it was given one, else the environment variables."""
        try:
            where = self.resolve()
        except InvalidArgumentError as exc:
            return str(exc)
        base = _where(where.base_url_from, "base_url", JUDGE_BASE_URL)
        key = _where(where.api_key_from or "default", "api_key", JUDGE_API_KEY)
        model = _where(where.model_from, "model", JUDGE_MODEL)
        if code == "JUDGE_NOT_CONFIGURED":
            return (
                f"set {setting_names(JUDGE_BASE_URL)} to your OpenAI-compatible endpoint "
                f"(e.g. http://localhost:11434/v1), or {setting_names(JUDGE_API_KEY)} for OpenAI's"
            )
        if code == "JUDGE_UNAVAILABLE":
            return f"set {base} to a reachable OpenAI-compatible endpoint"
        if code == "JUDGE_TIMEOUT":
            timeout = _where(where.timeout_from, "timeout", JUDGE_TIMEOUT)
            return f"check that the endpoint answers, or raise {timeout} (now {where.timeout:g} s)"
        if code == "JUDGE_AUTH_ERROR":
            return f"set {key} to a key the endpoint accepts"
        if code == "JUDGE_ERROR":
            return f"set {model} to a model the endpoint serves, or {base} to one that serves {where.model!r}"
        if code == "JUDGE_PARSE_ERROR":
            return (
                f"the model {where.model!r} did not reply with the JSON verdict asked for: choose "
                f"another with {model}"
            )
        return None

    # -- asking ------------------------------------------------------------------------------------------
    def complete(self, messages: Sequence[Message]) -> str:
        """The text of the endpoint's reply to ``messages``; raises the ``JudgeError`` that says
        why there is none."""
        where = self.resolve()
        url = where.url
        if where.api_key is None and url.startswith(OPENAI_BASE_URL + "/"):
            unset = (
                " (no judge endpoint is configured: this is the default)"
                if where.base_url_from == "default"
                else ""
            )
            raise JudgeNotConfiguredError(f"no API key for the judge endpoint {url}{unset}")
        self._check_breaker(url)
        body: dict[str, Any] = {
            "model": where.model,
            "messages": [dict(m) for m in messages],
            "temperature": 0,
            **self.inference_params,
        }
        headers = {**self.extra_headers}
        if where.api_key:
            headers["Authorization"] = f"Bearer {where.api_key}"
        deadline = self._clock() + where.timeout
        attempts = 0
        while True:
            attempts += 1
            remaining = deadline - self._clock()
            if remaining <= 0:
                failure = _Failure(
                    JudgeTimeoutError(f"judge endpoint {url} did not answer within {where.timeout:g} s"),
                    unreachable=True,
                )
                self._record(url, failure)
                raise type(failure.error)(f"{failure.error} ({_attempts(attempts - 1)})")
            reply = self._attempt(url, body, headers, remaining, where)
            if isinstance(reply, str):
                self._record(url, None)
                return reply
            if attempts > self.max_retries:
                self._record(url, reply)
                raise type(reply.error)(f"{reply.error} ({_attempts(attempts)})")
            delay = reply.retry_after if reply.retry_after is not None else self._backoff(attempts)
            if self._clock() + delay >= deadline:
                self._record(url, reply)
                if isinstance(reply.error, JudgeTimeoutError):  # it took the time itself
                    raise type(reply.error)(f"{reply.error} ({_attempts(attempts)})")
                raise type(reply.error)(
                    f"{reply.error} ({_attempts(attempts)}; no time left for another within {where.timeout:g} s)"
                )
            self._sleep(delay)

    def _attempt(
        self, url: str, body: dict[str, Any], headers: dict[str, str], remaining: float, where: Resolved
    ) -> str | _Failure:
        """One request: the reply's text, or a failure worth retrying; other failures raise."""
        import httpx

        connect = min(remaining, CONNECT_TIMEOUT)
        timeout = httpx.Timeout(remaining, connect=connect)
        try:
            if self.http_client is not None:
                resp = self.http_client.post(url, json=body, headers=headers, timeout=timeout)
            else:
                with httpx.Client(timeout=timeout, verify=self._ssl_context()) as client:
                    resp = client.post(url, json=body, headers=headers)
        except httpx.ConnectTimeout:
            return _Failure(
                JudgeTimeoutError(f"could not connect to judge endpoint {url} within {connect:.3g} s"),
                unreachable=True,
            )
        except httpx.TimeoutException:
            return _Failure(
                JudgeTimeoutError(f"judge endpoint {url} did not answer within {where.timeout:g} s"),
                unreachable=True,
            )
        except httpx.TransportError as exc:
            return _Failure(
                JudgeUnavailableError(f"could not reach judge endpoint {url} ({type(exc).__name__}: {exc})"),
                unreachable=True,
            )
        status = resp.status_code
        if status == 429 or status >= 500:
            return _Failure(
                JudgeUnavailableError(f"judge endpoint {url} answered HTTP {status}: {_body(resp)}"),
                retry_after=_retry_after(resp),
            )
        if status in (401, 403):
            raise JudgeAuthError(f"judge endpoint {url} refused the API key: HTTP {status}: {_body(resp)}")
        if status >= 400:
            raise JudgeError(
                f"judge endpoint {url} refused the request for model {where.model!r}: HTTP {status}: {_body(resp)}"
            )
        return _content(resp)

    def _backoff(self, attempt: int) -> float:
        return self.retry_backoff * 2.0 ** (attempt - 1) * random.uniform(0.5, 1.0)  # jitter

    def _ssl_context(self) -> ssl.SSLContext:
        """One TLS context for every call: building it (loading CA certificates) costs more than
        a request to a local endpoint."""
        with self._lock:
            if self._ssl is None:
                import httpx

                self._ssl = httpx.create_ssl_context()
            return self._ssl

    # -- the breaker -------------------------------------------------------------------------------------
    def _check_breaker(self, url: str) -> None:
        with self._lock:
            calls, open_until, why = self._unreachable.get(url, (0, 0.0, ""))
        if calls >= self._breaker_threshold and self._clock() < open_until:
            raise JudgeUnavailableError(
                f"judge endpoint {url} not called: the last {calls} calls could not reach it ({why}); "
                f"it is tried again {self._breaker_cooldown:g} s after the last of them"
            )

    def _record(self, url: str, failure: _Failure | None) -> None:
        """Count calls in a row that could not reach ``url``; any HTTP answer resets the count."""
        with self._lock:
            if failure is None or not failure.unreachable:
                self._unreachable.pop(url, None)
                return
            calls = self._unreachable.get(url, (0, 0.0, ""))[0] + 1
            self._unreachable[url] = (calls, self._clock() + self._breaker_cooldown, str(failure.error))


class _Failure(NamedTuple):
    """An attempt that may be retried: the error, a Retry-After, and whether the endpoint was
    not reached at all (what the breaker counts)."""

    error: JudgeUnavailableError
    retry_after: float | None = None
    unreachable: bool = False


def model_name(model: object) -> str:
    """``"openai:/gpt-4o-mini"`` or ``"gpt-4o-mini"`` → ``"gpt-4o-mini"``."""
    if not isinstance(model, str) or not model.strip():
        raise InvalidArgumentError(
            f"Invalid judge model {model!r}: expected a callable (prompt -> reply), 'openai:/<model>' "
            "or a model name served by base_url."
        )
    if ":/" in model:
        provider, _, name = model.partition(":/")
        if provider != "openai" or not name.strip("/"):
            raise InvalidArgumentError(
                f"Invalid judge model {model!r}: only 'openai:/<model>' (any OpenAI-compatible endpoint "
                "through base_url= or GENVER_JUDGE_BASE_URL) or a callable are supported."
            )
        return name.strip("/")
    return model.strip()


def setting_names(setting: Setting) -> str:
    """``"GENVER_JUDGE_BASE_URL (or OPENAI_BASE_URL)"``."""
    first, *rest = setting.env_vars
    return f"{first} (or {', '.join(rest)})" if rest else first


def _where(source: str, argument: str, setting: Setting) -> str:
    """How the user sets it: ``the judge's base_url=`` when given so, else the variables."""
    return f"the judge's {argument}=" if source == "argument" else setting_names(setting)


def _pick(given: Any, setting: Setting, env: Mapping[str, str]) -> tuple[Any, str]:
    if given is not None:
        return given, "argument"
    for name in setting.env_vars:
        value = env.get(name)
        if value is not None and value.strip():
            return value.strip(), name
    return setting.default, "default"


def _attempts(n: int) -> str:
    return f"after {n} attempt{'s' if n != 1 else ''}"


def _retry_after(resp: httpx.Response) -> float | None:
    raw = resp.headers.get("retry-after")
    try:
        seconds = float(raw) if raw is not None else None
    except ValueError:
        return None  # an HTTP date: the backoff decides
    return seconds if seconds is not None and 0 <= seconds < 3600 else None


def _body(resp: httpx.Response) -> str:
    text = resp.text
    return repr(text[:200] + ("..." if len(text) > 200 else ""))


def _content(resp: httpx.Response) -> str:
    try:
        content = resp.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise JudgeParseError(f"the judge endpoint's reply is not a chat completion: {_body(resp)}") from None
    if not isinstance(content, str):
        raise JudgeParseError(f"the judge endpoint's reply has no text content: {_body(resp)}")
    return content
