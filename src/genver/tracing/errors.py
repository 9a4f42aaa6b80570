"""Internal tracing failures: logged once, never raised into the app — except under pytest."""

from __future__ import annotations

import logging
import threading

from genver.config import UNDER_PYTEST
from genver.exceptions import StoreUnavailableError

log = logging.getLogger("genver.tracing")
_seen: set[str] = set()
_lock = threading.Lock()


def under_pytest() -> bool:
    return UNDER_PYTEST.get() is not None  # read per call: pytest sets it per test


def is_operational(exc: BaseException) -> bool:
    """Failures of the outside world (store down, disk full), not bugs in genver."""
    return isinstance(exc, (StoreUnavailableError, OSError, TimeoutError))


def log_once(what: str, exc: BaseException) -> None:
    key = f"{what}:{type(exc).__name__}"
    with _lock:
        first = key not in _seen
        _seen.add(key)
    if first:
        log.warning(
            "genver tracing: %s: %s: %s (further occurrences are counted, not logged)",
            what,
            type(exc).__name__,
            exc,
        )


def internal_error(what: str, exc: BaseException) -> None:
    """A bug inside tracing: re-raise under pytest, else log once and carry on."""
    if under_pytest():
        raise exc
    log_once(what, exc)
