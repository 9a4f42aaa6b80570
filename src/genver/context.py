"""Where the active tracking URI, experiment, run and version live.

Active version (SPEC section 2):

* ``set_active_model(...)`` called plainly sets the **process default**: every thread and task
  sees it until it is changed.
* Used as ``with set_active_model(...):`` it is active in the block's **context**
  (a ``ContextVar``), so asyncio tasks and ``contextvars``-propagating executors started inside
  see it, other threads keep their own, and the previous model comes back on exit.
* A worker thread started inside a block without context propagation has no context value; for
  tracing it falls back to the model of the open block when exactly one distinct one is open
  (as MLflow's global fallback does).
* Otherwise the environment (``GENVER_ACTIVE_MODEL_ID`` / ``MLFLOW_ACTIVE_MODEL_ID``) is used;
  resolving it is the fluent layer's job, since it needs the store.

The active run stack is per context (thread or task); the active experiment and the tracking URI
are process-wide, as in MLflow.
"""

from __future__ import annotations

import contextvars
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from genver.config import DEFAULT_TRACKING_URI, TRACKING_URI
from genver.entities import LoggedModel

if TYPE_CHECKING:
    from types import TracebackType


def resolve_tracking_uri(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """Explicit URI > the process's ``set_tracking_uri`` > env > ``sqlite:///genver.db``."""
    if explicit:
        return explicit
    if _tracking_uri[0]:
        return _tracking_uri[0]
    return TRACKING_URI.get(environ) or DEFAULT_TRACKING_URI


_tracking_uri: list[str | None] = [None]


def set_process_tracking_uri(uri: str | None) -> None:
    _tracking_uri[0] = uri


@dataclass(frozen=True, slots=True)
class ModelFrame:
    """The active version as seen by one context: an id (or None) and who set it."""

    model_id: str | None
    set_by_user: bool = True


_UNSET: Any = object()


class ModelContext:
    """Holds the active version: process default, per-context frames, open ``with`` blocks.

    The process default is the newest *plain* activation. An activation stays a candidate until
    its ``ActiveModel`` enters a ``with`` block (then it is withdrawn, and the block's frame lives in
    the context instead). Keeping the candidates in a list, rather than saving "the previous
    default" in each activation, keeps two threads that open blocks at the same time from
    restoring each other's model as the process default.
    """

    def __init__(self) -> None:
        self._var: contextvars.ContextVar[ModelFrame | None] = contextvars.ContextVar(
            f"genver_active_model_{id(self)}", default=None
        )
        # Plain activations, oldest first; an entry whose Activation is gone can never enter a
        # block, so everything below the newest such entry is dropped.
        self._plain: list[tuple[weakref.ref[Activation], ModelFrame]] = []
        self._open: dict[int, str | None] = {}
        self._lock = threading.Lock()

    def _process(self) -> ModelFrame | None:
        plain = self._plain
        return plain[-1][1] if plain else None

    def current(self) -> ModelFrame | None:
        """The frame this context sees: its own ``with`` block's, else the process default."""
        frame = self._var.get()
        return frame if frame is not None else self._process()

    def for_tracing(self) -> ModelFrame | None:
        """Like ``current`` but, in a context with no frame of its own, a single open block wins."""
        frame = self._var.get()
        if frame is not None:
            return frame
        if not self._open:  # the common case: no block open anywhere
            return self._process()
        with self._lock:
            open_ids = set(self._open.values())
        if len(open_ids) == 1:
            (only,) = open_ids
            if only is not None:
                return ModelFrame(only, True)
        return self._process()

    def activate(self, frame: ModelFrame) -> Activation:
        """Make ``frame`` the process default (and this context's, if it has one)."""
        act = Activation()
        with self._lock:
            plain = [*self._plain, (weakref.ref(act), frame)]
            for i in range(len(plain) - 2, 0, -1):
                if plain[i][0]() is None:
                    del plain[:i]
                    break
            self._plain = plain
        if self._var.get() is not None:
            act.token = self._var.set(frame)
        return act

    def enter(self, act: Activation, frame: ModelFrame) -> None:
        """Turn a plain activation into a context-scoped one (``__enter__``)."""
        with self._lock:
            self._plain = [(ref, f) for ref, f in self._plain if ref() is not act]
            self._open[id(act)] = frame.model_id
        if act.token is None:
            act.token = self._var.set(frame)

    def exit(self, act: Activation) -> None:
        with self._lock:
            self._open.pop(id(act), None)
        if act.token is not None:
            try:
                self._var.reset(act.token)
            except ValueError:  # exited in another context (e.g. a generator moved threads)
                self._var.set(None)
            act.token = None

    def clear(self) -> None:
        """No active version anywhere (``clear_active_model``)."""
        with self._lock:
            self._plain = []
        if self._var.get() is not None:
            self._var.set(ModelFrame(None, False))


class Activation:
    """One ``set_active_model`` call; weakly referenced by the context while it is plain."""

    __slots__ = ("__weakref__", "token")

    def __init__(self) -> None:
        self.token: contextvars.Token[ModelFrame | None] | None = None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ActiveModel(LoggedModel):
    """The version ``set_active_model`` made active: a ``LoggedModel`` and a context manager.

    Creating it activates the version for the whole process; ``with`` scopes it to the block and
    restores the previous one on exit, even on exceptions.
    """

    set_by_user: bool = True
    _context: ModelContext | None = field(default=None, compare=False)
    _activation: Activation | None = field(default=None, compare=False)

    def __enter__(self) -> ActiveModel:
        if self._context is not None and self._activation is not None:
            self._context.enter(self._activation, ModelFrame(self.model_id, self.set_by_user))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._context is not None and self._activation is not None:
            self._context.exit(self._activation)


class RunContext:
    """The stack of active runs, per context (thread or asyncio task)."""

    def __init__(self) -> None:
        self._var: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
            f"genver_runs_{id(self)}", default=()
        )

    def stack(self) -> tuple[str, ...]:
        return self._var.get()

    def push(self, run_id: str) -> None:
        self._var.set((*self._var.get(), run_id))

    def pop(self, run_id: str | None = None) -> str | None:
        stack = self._var.get()
        if not stack:
            return None
        if run_id is not None:  # a run that already ended (end_run in its block) pops nothing
            if run_id not in stack:
                return None
            self._var.set(tuple(r for r in stack if r != run_id))
            return run_id
        self._var.set(stack[:-1])
        return stack[-1]


class ThreadLast(threading.local):
    """Per-thread memory of the last version created (``last_logged_model``)."""

    model_id: str | None = None
