"""HTTP status codes for genver errors, in one table; the REST store reads the same table back.

Every error body is ``{"error_code", "message", "error_type"}`` (``genver.wire.ErrorBody``). The
table is part of the wire format, so it lives here, beside the models both sides import.
"""

from __future__ import annotations

import genver.exceptions as exc

# Most specific first: the first class an error is an instance of gives its status.
STATUS_BY_ERROR: tuple[tuple[type[exc.GenverError], int], ...] = (
    (exc.InvalidArgumentError, 400),
    (exc.NotFoundError, 404),
    (exc.AlreadyExistsError, 409),
    (exc.UnauthenticatedError, 401),
    (exc.PermissionDeniedError, 403),
    (exc.StoreUnavailableError, 503),
    (exc.GenverError, 500),
)

# The classes a client may rebuild from ``error_type``; anything else falls back by status.
ERROR_TYPES: dict[str, type[exc.GenverError]] = {
    c.__name__: c
    for c in (
        exc.InvalidArgumentError,
        exc.InvalidFilterError,
        exc.NotFoundError,
        exc.AlreadyExistsError,
        exc.PermissionDeniedError,
        exc.UnauthenticatedError,
        exc.StoreError,
        exc.StoreUnavailableError,
        exc.StoreCorruptError,
        exc.TracingError,
        exc.GenverError,
    )
}


def status_for(error: exc.GenverError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500  # pragma: no cover - GenverError is the last row


def error_for(status: int, error_code: str | None, error_type: str | None, message: str) -> exc.GenverError:
    """The exception a response with this status and body stands for (the inverse of the table)."""
    cls = ERROR_TYPES.get(error_type or "")
    if cls is None:
        by_status = {s: c for c, s in STATUS_BY_ERROR if c is not exc.GenverError}
        cls = by_status.get(status, exc.StoreUnavailableError if status in (502, 504) else exc.StoreError)
    return cls(message, error_code)
