"""``Scorer`` and the ``@scorer`` decorator; turning what a scorer returns into ``Feedback``.

A scorer is called with any subset of ``inputs``, ``outputs``, ``expectations`` and ``trace``
(only the ones its signature names) and returns a bool, a number, a string, a ``Feedback`` or a
list of ``Feedback``. ``Scorer.run`` never raises: a failure becomes a ``Feedback`` whose
``error`` says why, so one broken scorer never stops an evaluation.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, overload

from genver.entities import AssessmentError, AssessmentSource, AssessmentSourceType, Feedback
from genver.exceptions import InvalidArgumentError

#: The arguments a scorer may ask for, by name.
SCORER_ARGS = ("inputs", "outputs", "expectations", "trace")
#: Aggregations a scorer may ask for; metrics are logged as ``<feedback name>/<aggregation>``.
AGGREGATIONS = ("min", "max", "mean", "median", "variance", "p90")
_DEFAULT_FEEDBACK_NAME = Feedback().name
_DEFAULT_SOURCE = AssessmentSource()


class Scorer:
    """Base class of every scorer: subclass it and implement ``__call__`` with keyword arguments
    named after what the scorer needs (any of ``inputs``, ``outputs``, ``expectations``, ``trace``).

    >>> class Short(Scorer):
    ...     def __call__(self, *, outputs):
    ...         return len(str(outputs)) < 100
    >>> Short().name
    'short'
    """

    #: ``CODE`` for scorers written in code, ``LLM_JUDGE`` for judges.
    source_type: str = AssessmentSourceType.CODE
    #: The name used when none is given (default: the class name in snake_case).
    default_name: str | None = None

    def __init__(self, *, name: str | None = None, aggregations: Sequence[str] | None = None) -> None:
        resolved = name if name is not None else self.default_name or _snake(type(self).__name__)
        if not isinstance(resolved, str) or not resolved.strip() or "/" in resolved:
            raise InvalidArgumentError(
                f"Invalid scorer name {resolved!r}: expected a non-empty string without '/'."
            )
        self.name: str = resolved
        self.aggregations: list[str] = _check_aggregations(aggregations)

    def __call__(
        self, *, inputs: Any = None, outputs: Any = None, expectations: Any = None, trace: Any = None
    ) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    # -- what evaluate() calls ----------------------------------------------------------------------
    def _target(self) -> Callable[..., Any]:
        """The callable whose signature says which arguments to pass."""
        return self.__call__

    def run(
        self, *, inputs: Any = None, outputs: Any = None, expectations: Any = None, trace: Any = None
    ) -> list[Feedback]:
        """Call the scorer with the arguments it asks for; its result (or failure) as Feedback."""
        available = {"inputs": inputs, "outputs": outputs, "expectations": expectations, "trace": trace}
        try:
            wanted = _wanted_args(self._target())
            value = self(**{k: available[k] for k in wanted})
            return to_feedbacks(value, self)
        except Exception as exc:
            return [self.error_feedback(exc)]

    def failure_summary(self, errors: Sequence[AssessmentError], total: int) -> str:
        """The one warning line ``evaluate`` logs when this scorer failed on some of ``total``
        rows (``errors``: one per failed row)."""
        _code, message = most_common_error(errors)
        return (
            f"Scorer {self.name!r} failed on {len(errors)} of {total} rows: {message}. {self._counted_note()}"
        )

    def _counted_note(self) -> str:
        return f"The failed rows are counted in the metric '{self.name}/error_count'."

    def error_feedback(self, exc: BaseException) -> Feedback:
        code = getattr(exc, "error_code", None)
        return Feedback(
            name=self.name,
            value=None,
            source=AssessmentSource(self.source_type, self.name),
            error=AssessmentError(
                code if isinstance(code, str) else type(exc).__name__, f"{type(exc).__name__}: {exc}"
            ),
        )


class FunctionScorer(Scorer):
    """A scorer made from a function with ``@scorer``; calling it calls the function."""

    def __init__(
        self, func: Callable[..., Any], *, name: str | None = None, aggregations: Sequence[str] | None = None
    ) -> None:
        _wanted_args(func)  # a bad signature fails at decoration time
        functools.update_wrapper(self, func)  # first: it copies the function's __dict__
        default = getattr(func, "__name__", type(func).__name__)
        super().__init__(name=name if name is not None else default, aggregations=aggregations)
        self.func = func

    def _target(self) -> Callable[..., Any]:
        return self.func

    def __call__(self, **kwargs: Any) -> Any:
        return self.func(**kwargs)


@overload
def scorer(func: Callable[..., Any]) -> FunctionScorer: ...


@overload
def scorer(
    func: None = None, *, name: str | None = None, aggregations: Sequence[str] | None = None
) -> Callable[[Callable[..., Any]], FunctionScorer]: ...


def scorer(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    aggregations: Sequence[str] | None = None,
) -> FunctionScorer | Callable[[Callable[..., Any]], FunctionScorer]:
    """Turn a function into a scorer. Its parameters may be any of ``inputs``, ``outputs``,
    ``expectations`` and ``trace``; it returns a bool, number, string, ``Feedback`` or a list of
    ``Feedback``. The metric is ``<name>/mean`` (name: the function's, unless given).

    >>> @scorer
    ... def exact_match(outputs, expectations):
    ...     return outputs == expectations["expected_response"]
    >>> exact_match(outputs="4", expectations={"expected_response": "4"})
    True
    """
    if func is None:
        return lambda f: FunctionScorer(f, name=name, aggregations=aggregations)
    if not callable(func):
        raise InvalidArgumentError(f"@scorer expects a function, got {func!r}.")
    return FunctionScorer(func, name=name, aggregations=aggregations)


def validate_scorers(scorers: object) -> list[Scorer]:
    """A list of ``Scorer`` with unique names; anything else raises, naming the bad object."""
    if isinstance(scorers, Scorer):
        return [scorers]
    if not isinstance(scorers, Sequence) or isinstance(scorers, (str, bytes)):
        raise InvalidArgumentError(
            f"Invalid scorers {scorers!r}: expected a list of scorers (@scorer functions or Scorer objects)."
        )
    out: list[Scorer] = []
    seen: set[str] = set()
    for s in scorers:
        if not isinstance(s, Scorer):
            hint = " Decorate it with @scorer." if callable(s) else ""
            raise InvalidArgumentError(f"Invalid scorer {s!r}: expected a Scorer instance.{hint}")
        if s.name in seen:
            raise InvalidArgumentError(
                f"Two scorers are named {s.name!r}: give one another name, e.g. {type(s).__name__}(name=...)."
            )
        seen.add(s.name)
        out.append(s)
    return out


# -- results -------------------------------------------------------------------------------------------
def to_feedbacks(value: Any, owner: Scorer) -> list[Feedback]:
    """What a scorer returned, as Feedback named after the scorer unless it names itself."""
    items = (
        value if isinstance(value, list) and value and all(isinstance(v, Feedback) for v in value) else None
    )
    if items is None:
        if isinstance(value, list) and any(isinstance(v, Feedback) for v in value):
            raise TypeError(f"scorer {owner.name!r} returned a list mixing Feedback and other values")
        items = [_one(value, owner)]
    out = [_named(f, owner) for f in items]
    names = [f.name for f in out]
    if len(set(names)) != len(names):
        raise ValueError(f"scorer {owner.name!r} returned several Feedback with the same name: {names}")
    return out


def _one(value: Any, owner: Scorer) -> Feedback:
    if isinstance(value, Feedback):
        return value
    if value is None or isinstance(value, (bool, int, float, str, dict)):
        return Feedback(name=owner.name, value=value)
    raise TypeError(
        f"scorer {owner.name!r} returned {value!r} of type {type(value).__name__}: expected a bool, "
        "number, string, Feedback or list of Feedback"
    )


def _named(fb: Feedback, owner: Scorer) -> Feedback:
    name = owner.name if fb.name == _DEFAULT_FEEDBACK_NAME else fb.name
    source = AssessmentSource(owner.source_type, owner.name) if fb.source == _DEFAULT_SOURCE else fb.source
    if name == fb.name and source is fb.source:
        return fb
    return Feedback(
        name=name,
        value=fb.value,
        rationale=fb.rationale,
        source=source,
        error=fb.error,
        metadata=fb.metadata,
        span_id=fb.span_id,
    )


def aggregate(values: Sequence[float], how: str) -> float:
    """One aggregation (see ``AGGREGATIONS``) of a non-empty list of numbers."""
    if how == "mean":
        return math.fsum(values) / len(values)
    if how == "min":
        return min(values)
    if how == "max":
        return max(values)
    if how == "median":
        return float(statistics.median(values))
    if how == "variance":
        return float(statistics.pvariance(values))
    if how == "p90":
        ordered = sorted(values)
        pos = 0.9 * (len(ordered) - 1)
        low = math.floor(pos)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
    raise InvalidArgumentError(f"Unknown aggregation {how!r}: expected one of {list(AGGREGATIONS)}.")


def most_common_error(errors: Sequence[AssessmentError]) -> tuple[str, str]:
    """The most frequent error code among ``errors`` (not empty) and the first message with it,
    on one line of at most 400 characters."""
    code = Counter(e.error_code for e in errors).most_common(1)[0][0]
    first = next(e for e in errors if e.error_code == code)
    message = " ".join((first.error_message or code).split())
    return code, message if len(message) <= 400 else message[:397] + "..."


# -- helpers -------------------------------------------------------------------------------------------
def _wanted_args(func: Callable[..., Any]) -> tuple[str, ...]:
    """The scorer arguments ``func`` takes (all of them when it takes ``**kwargs``)."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return SCORER_ARGS
    wanted: list[str] = []
    for pname, p in params.items():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            return SCORER_ARGS
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if pname not in SCORER_ARGS:
            if p.default is not inspect.Parameter.empty:
                continue
            raise InvalidArgumentError(
                f"Invalid scorer parameter {pname!r} of {getattr(func, '__name__', func)!r}: "
                f"a scorer's parameters must be among {list(SCORER_ARGS)}."
            )
        wanted.append(pname)
    return tuple(wanted)


def _check_aggregations(aggregations: Sequence[str] | None) -> list[str]:
    if aggregations is None:
        return ["mean"]
    if isinstance(aggregations, str) or not isinstance(aggregations, Sequence):
        raise InvalidArgumentError(
            f"Invalid aggregations {aggregations!r}: expected a list such as ['mean', 'p90']."
        )
    for a in aggregations:
        if a not in AGGREGATIONS:
            raise InvalidArgumentError(f"Invalid aggregation {a!r}: expected one of {list(AGGREGATIONS)}.")
    return list(aggregations)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
