"""Why a judge gave no verdict. Each class has its own ``error_code``, which is what an errored
row's assessment records, and what a judge's failure warning turns into a fix (which setting to
change). The tree is drawn in ``genver/exceptions.py``."""

from __future__ import annotations

from genver.exceptions import GenverError


class JudgeError(GenverError):
    """The judge could not give a verdict; as itself: the endpoint refused the request (an HTTP
    4xx other than 401, 403 and 429, e.g. a model it does not serve)."""

    default_error_code = "JUDGE_ERROR"


class JudgeUnavailableError(JudgeError):
    """The judge endpoint could not be reached, or answered 429/5xx on every attempt."""

    default_error_code = "JUDGE_UNAVAILABLE"


class JudgeTimeoutError(JudgeUnavailableError):
    """The judge endpoint did not answer within the judge's timeout (``GENVER_JUDGE_TIMEOUT``)."""

    default_error_code = "JUDGE_TIMEOUT"


class JudgeAuthError(JudgeError):
    """The judge endpoint refused the API key (HTTP 401 or 403)."""

    default_error_code = "JUDGE_AUTH_ERROR"


class JudgeNotConfiguredError(JudgeError):
    """No endpoint is configured that could work: the default OpenAI endpoint without an API key.
    Raised before any request is sent."""

    default_error_code = "JUDGE_NOT_CONFIGURED"


class JudgeParseError(JudgeError):
    """The judge answered, but no verdict of the expected type could be read from the reply."""

    default_error_code = "JUDGE_PARSE_ERROR"
