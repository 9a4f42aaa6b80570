"""Scorers for ``genai.evaluate``: the ``@scorer`` decorator, the ``Scorer`` base class, code
scorers and LLM judges (MLflow 3's built-in judges, by the same names).

>>> from genver.genai.scorers import scorer, Correctness, Guidelines
>>> @scorer
... def is_short(outputs) -> bool:
...     return len(outputs) < 200
"""

from genver.genai.judges.errors import (
    JudgeAuthError,
    JudgeError,
    JudgeNotConfiguredError,
    JudgeParseError,
    JudgeTimeoutError,
    JudgeUnavailableError,
)
from genver.genai.judges.parsing import parse_verdict
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
from genver.genai.scorers.builtin_judges import (
    Correctness,
    Equivalence,
    ExpectationsGuidelines,
    Guidelines,
    RelevanceToQuery,
    Safety,
)
from genver.genai.scorers.judges import Judge
from genver.genai.scorers.retrieval import (
    MissingSpanError,
    RetrievalGroundedness,
    RetrievalRelevance,
    RetrievalSufficiency,
)
from genver.genai.scorers.tool_calls import ToolCallCorrectness

__all__ = [
    "AGGREGATIONS",
    "Contains",
    "Correctness",
    "Cost",
    "Equivalence",
    "ExactMatch",
    "ExpectationsGuidelines",
    "FunctionScorer",
    "Guidelines",
    "IsValidJson",
    "Judge",
    "JudgeAuthError",
    "JudgeError",
    "JudgeNotConfiguredError",
    "JudgeParseError",
    "JudgeTimeoutError",
    "JudgeUnavailableError",
    "Latency",
    "MissingExpectationError",
    "MissingSpanError",
    "MissingTraceError",
    "RegexMatch",
    "RelevanceToQuery",
    "RetrievalGroundedness",
    "RetrievalRelevance",
    "RetrievalSufficiency",
    "Safety",
    "Scorer",
    "TokenCount",
    "ToolCallCorrectness",
    "parse_verdict",
    "scorer",
    "validate_scorers",
]
