"""LLM judges, as ``mlflow.genai.judges``: ``make_judge(name, instructions, model)``, the ``Judge``
base class, and what they share — the OpenAI-compatible chat endpoint (``endpoint``), reading
replies (``parsing``) and the errors (``errors``). The built-in judges (``Correctness``,
``Guidelines``, ...) are scorers: ``genver.genai.scorers``.

Names load on first use: ``genver.genai.scorers`` imports the modules here, and ``make_judge``
imports the scorers, so nothing here is imported eagerly.

>>> from genver.genai.judges import make_judge
>>> judge = make_judge(name="polite", instructions="Is {{ outputs }} polite?", model="openai:/gpt-4o-mini")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genver.genai.judges.errors import JudgeAuthError as JudgeAuthError
    from genver.genai.judges.errors import JudgeError as JudgeError
    from genver.genai.judges.errors import JudgeNotConfiguredError as JudgeNotConfiguredError
    from genver.genai.judges.errors import JudgeParseError as JudgeParseError
    from genver.genai.judges.errors import JudgeTimeoutError as JudgeTimeoutError
    from genver.genai.judges.errors import JudgeUnavailableError as JudgeUnavailableError
    from genver.genai.judges.instructions import InstructionsJudge as InstructionsJudge
    from genver.genai.judges.instructions import make_judge as make_judge
    from genver.genai.scorers.judges import Judge as Judge

_EXPORTS = {
    "InstructionsJudge": "genver.genai.judges.instructions",
    "Judge": "genver.genai.scorers.judges",
    "JudgeAuthError": "genver.genai.judges.errors",
    "JudgeError": "genver.genai.judges.errors",
    "JudgeNotConfiguredError": "genver.genai.judges.errors",
    "JudgeParseError": "genver.genai.judges.errors",
    "JudgeTimeoutError": "genver.genai.judges.errors",
    "JudgeUnavailableError": "genver.genai.judges.errors",
    "make_judge": "genver.genai.judges.instructions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'genver.genai.judges' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
