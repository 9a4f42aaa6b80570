"""The genver exception tree.

Every error genver raises on purpose is a :class:`GenverError`. Each subclass also inherits the
builtin that matches its meaning, so ``except ValueError`` keeps working for callers that do not
know genver::

    GenverError (Exception)                          error_code                defined in
     ├── InvalidArgumentError (ValueError)            INVALID_PARAMETER_VALUE
     │    ├── InvalidFilterError                      INVALID_PARAMETER_VALUE
     │    ├── UnsupportedMediaError                   INVALID_PARAMETER_VALUE   server.otlp.codec
     │    ├── BodyTooLargeError                       INVALID_PARAMETER_VALUE   server.otlp.codec
     │    └── _TooLarge (internal)                    INVALID_PARAMETER_VALUE   server.limits
     ├── NotFoundError (LookupError)                  RESOURCE_DOES_NOT_EXIST
     ├── AlreadyExistsError                           RESOURCE_ALREADY_EXISTS
     ├── PermissionDeniedError (PermissionError)      PERMISSION_DENIED
     │    └── UnauthenticatedError                    UNAUTHENTICATED
     ├── StoreError                                   INTERNAL_ERROR
     │    ├── StoreUnavailableError (ConnectionError) TEMPORARILY_UNAVAILABLE
     │    └── StoreCorruptError                       DATA_LOSS
     ├── TracingError                                 INTERNAL_ERROR
     ├── NotOfferedError (AttributeError)             NOT_IMPLEMENTED
     ├── MissingExpectationError (LookupError)        MISSING_EXPECTATION       genai.scorers.builtin
     ├── MissingTraceError (LookupError)              MISSING_TRACE             genai.scorers.builtin
     │    └── MissingSpanError                        MISSING_SPAN              genai.scorers.retrieval
     ├── JudgeError                                   JUDGE_ERROR               genai.judges.errors
     │    ├── JudgeUnavailableError                   JUDGE_UNAVAILABLE         genai.judges.errors
     │    │    └── JudgeTimeoutError                  JUDGE_TIMEOUT             genai.judges.errors
     │    ├── JudgeAuthError                          JUDGE_AUTH_ERROR          genai.judges.errors
     │    ├── JudgeNotConfiguredError                 JUDGE_NOT_CONFIGURED      genai.judges.errors
     │    └── JudgeParseError                         JUDGE_PARSE_ERROR         genai.judges.errors
     └── _GitUnavailable (internal)                   INTERNAL_ERROR            genai.git_versioning

Classes without a module are defined here; the others live beside the code that raises them
(modules under ``genver.``). Internal ones never reach the caller: they are caught in their module.
A test walks every genver module and fails on an exception class missing from this tree.

``MlflowException`` is an alias of :class:`GenverError` so that MLflow-style code such as
``except mlflow.exceptions.MlflowException as e: e.error_code`` runs unchanged.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "GenverError",
    "InvalidArgumentError",
    "InvalidFilterError",
    "MlflowException",
    "NotFoundError",
    "NotOfferedError",
    "PermissionDeniedError",
    "StoreError",
    "StoreUnavailableError",
    "TracingError",
    "UnauthenticatedError",
]


class GenverError(Exception):
    """Base class of every error genver raises on purpose.

    ``error_code`` is the MLflow-compatible code string, e.g. ``"INVALID_PARAMETER_VALUE"``.
    """

    default_error_code = "INTERNAL_ERROR"

    def __init__(self, message: object = "", error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        self.error_code = error_code or self.default_error_code

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(GenverError, ValueError):
    """An argument has a bad value; the message names it and says what is expected."""

    default_error_code = "INVALID_PARAMETER_VALUE"


class InvalidFilterError(InvalidArgumentError):
    """A filter or ``order_by`` string could not be parsed; the message gives position and token."""


class NotFoundError(GenverError, LookupError):
    """The experiment, run, model or trace does not exist (or was deleted)."""

    default_error_code = "RESOURCE_DOES_NOT_EXIST"


class AlreadyExistsError(GenverError):
    """Creating or writing would overwrite something that already exists."""

    default_error_code = "RESOURCE_ALREADY_EXISTS"


class PermissionDeniedError(GenverError, PermissionError):
    """A genver server refused the request: the token may not do this (a read-only token writing)."""

    default_error_code = "PERMISSION_DENIED"


class UnauthenticatedError(PermissionDeniedError):
    """A genver server needs a bearer token (``GENVER_TRACKING_TOKEN``) and got none it accepts."""

    default_error_code = "UNAUTHENTICATED"


class StoreError(GenverError):
    """The store failed in a way that is not the caller's fault."""

    default_error_code = "INTERNAL_ERROR"


class StoreUnavailableError(StoreError, ConnectionError):
    """The store cannot be reached right now; retrying later may succeed."""

    default_error_code = "TEMPORARILY_UNAVAILABLE"


class StoreCorruptError(StoreError):
    """The store's file is damaged or is not a genver database; the message names it and says
    what to do (``genver db check``, a backup). Retrying does not help."""

    default_error_code = "DATA_LOSS"


class TracingError(GenverError):
    """An internal tracing failure (only ever raised under pytest; logged otherwise)."""


class NotOfferedError(GenverError, AttributeError):
    """An MLflow name genver does not offer (``genver.pyfunc``); the message says what to use
    instead. An ``AttributeError``, so ``hasattr`` stays False."""

    default_error_code = "NOT_IMPLEMENTED"


MlflowException = GenverError
