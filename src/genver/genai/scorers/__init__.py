"""Scorers for ``genai.evaluate``: the ``@scorer`` decorator, the ``Scorer`` base class, code
scorers and LLM judges.

>>> from genver.genai.scorers import scorer, ExactMatch, Latency
>>> @scorer
... def is_short(outputs) -> bool:
...     return len(outputs) < 200
"""

from genver.genai.scorers.base import AGGREGATIONS, FunctionScorer, Scorer, scorer, validate_scorers
from genver.genai.scorers.builtin import (
    Contains,
    Cost,
    ExactMatch,
    IsValidJson,
    Latency,
    MissingExpectationError,
    MissingTraceError,
    RegexMatch,
    TokenCount,
)
from genver.genai.scorers.judges import (
    Correctness,
    Guidelines,
    Judge,
    JudgeError,
    JudgeParseError,
    JudgeUnavailableError,
    RelevanceToQuery,
    parse_verdict,
)

__all__ = [
    "AGGREGATIONS",
    "Contains",
    "Correctness",
    "Cost",
    "ExactMatch",
    "FunctionScorer",
    "Guidelines",
    "IsValidJson",
    "Judge",
    "JudgeError",
    "JudgeParseError",
    "JudgeUnavailableError",
    "Latency",
    "MissingExpectationError",
    "MissingTraceError",
    "RegexMatch",
    "RelevanceToQuery",
    "Scorer",
    "TokenCount",
    "parse_verdict",
    "scorer",
    "validate_scorers",
]
