"""Running ``genai.evaluate``'s rows in worker threads so that Ctrl-C stops them.

Each row runs in a copy of the caller's context (so the evaluation run and the version being
evaluated reach the worker). The workers are daemon threads fed from a queue, not a
``ThreadPoolExecutor``: an executor's threads are joined when the interpreter exits, so a
process interrupted with 60 rows queued kept predicting every one of them (and paying for the
LLM calls) before it could exit.

The first Ctrl-C (a ``KeyboardInterrupt`` in the calling thread) stops starting rows at once,
then waits up to ``grace`` seconds for the rows already running; a second Ctrl-C stops waiting.
Either way the ``KeyboardInterrupt`` is raised again, with ``interrupt`` saying what was left,
for the caller to record; rows still running are abandoned with their daemon threads when the
process exits.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

R = TypeVar("R")
O = TypeVar("O")  # noqa: E741 - the outcome type, beside R

log = logging.getLogger("genver.genai")

#: How often the waiting thread wakes to notice a Ctrl-C (a blocking get may not see it).
_POLL = 0.1


@dataclass
class Interrupt:
    """What an interrupted ``run_rows`` left: rows never started, rows still running when it
    stopped waiting, and whether a second Ctrl-C cut the wait short."""

    not_started: int = 0
    still_running: int = 0
    immediate: bool = False


class RowRunner(Generic[R, O]):
    """Runs a task over rows with ``workers`` daemon threads; see the module docstring."""

    def __init__(self, workers: int, *, grace: float, name: str = "genver-eval") -> None:
        self.workers = workers
        self.grace = grace
        self.name = name
        self.interrupt: Interrupt | None = None

    def run(
        self,
        task: Callable[[R, O], None],
        rows: Sequence[R],
        outcomes: Sequence[O],
        advance: Callable[[], None],
        done: Callable[[O], None] = lambda _: None,
    ) -> None:
        """``task(row, outcome)`` for every row; ``done(outcome)`` after each that finished.
        A task's exception is raised here (tasks record their own failures; one that escapes is
        a bug)."""
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for i in range(len(rows)):
            todo.put(i)
        finished: queue.SimpleQueue[tuple[int, BaseException | None]] = queue.SimpleQueue()
        stop = threading.Event()
        contexts = [contextvars.copy_context() for _ in rows]

        def work() -> None:
            while not stop.is_set():
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    contexts[i].run(task, rows[i], outcomes[i])
                except BaseException as exc:  # handed to the calling thread; no row starts after it
                    stop.set()
                    finished.put((i, exc))
                else:
                    finished.put((i, None))

        threads = [
            threading.Thread(target=work, name=f"{self.name}-{n}", daemon=True)
            for n in range(min(self.workers, len(rows)))
        ]
        for t in threads:
            t.start()
        remaining = len(rows)
        try:
            while remaining:
                try:
                    i, exc = finished.get(timeout=_POLL)
                except queue.Empty:
                    continue
                remaining -= 1
                if exc is not None:
                    stop.set()
                    raise exc
                done(outcomes[i])
                advance()
        except KeyboardInterrupt:
            stop.set()
            self.interrupt = self._wind_down(todo, finished, remaining, outcomes, done)
            raise

    def _wind_down(
        self,
        todo: queue.SimpleQueue[int],
        finished: queue.SimpleQueue[tuple[int, BaseException | None]],
        remaining: int,
        outcomes: Sequence[O],
        done: Callable[[O], None],
    ) -> Interrupt:
        not_started = 0
        while True:
            try:
                todo.get_nowait()
                not_started += 1
            except queue.Empty:
                break
        running = remaining - not_started
        log.warning(
            "Interrupted: %d rows will not start; waiting up to %g s for the %d running "
            "(press Ctrl-C again to stop now).",
            not_started,
            self.grace,
            running,
        )
        deadline = time.monotonic() + self.grace
        try:
            while running and time.monotonic() < deadline:
                try:
                    i, exc = finished.get(timeout=min(_POLL, max(deadline - time.monotonic(), 0.001)))
                except queue.Empty:
                    continue
                running -= 1
                if exc is None:
                    done(outcomes[i])
        except KeyboardInterrupt:
            return Interrupt(not_started, running, immediate=True)
        return Interrupt(not_started, running)
