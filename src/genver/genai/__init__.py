"""GenAI evaluation: ``genai.evaluate``, scorers, evaluation datasets, versions from git.

Submodules load on first use, so ``import genver`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "evaluate": "genver.genai.evaluation",
    "EvaluationResult": "genver.genai.evaluation",
    "scorers": "genver.genai.scorers",
    "judges": "genver.genai.judges",
    "scorer": "genver.genai.scorers",
    "Scorer": "genver.genai.scorers",
    "enable_git_model_versioning": "genver.genai.git_versioning",
    "disable_git_model_versioning": "genver.genai.git_versioning",
    "GitContext": "genver.genai.git_versioning",
    "datasets": "genver.genai.datasets",
    "create_dataset": "genver.genai.datasets",
    "get_dataset": "genver.genai.datasets",
    "search_datasets": "genver.genai.datasets",
    "delete_dataset": "genver.genai.datasets",
    "set_dataset_tags": "genver.genai.datasets",
    "delete_dataset_tag": "genver.genai.datasets",
    "add_records": "genver.genai.datasets",
    "dataset_from_traces": "genver.genai.datasets",
    "compare_models": "genver.genai.compare",
    "gate": "genver.genai.compare",
    "prompts": "genver.genai.prompts",
    "register_prompt": "genver.genai.prompts",
    "load_prompt": "genver.genai.prompts",
    "search_prompts": "genver.genai.prompts",
    "set_prompt_alias": "genver.genai.prompts",
    "delete_prompt_alias": "genver.genai.prompts",
    "get_prompt_tags": "genver.genai.prompts",
    "set_prompt_tag": "genver.genai.prompts",
    "delete_prompt_tag": "genver.genai.prompts",
    "set_prompt_version_tag": "genver.genai.prompts",
    "delete_prompt_version_tag": "genver.genai.prompts",
    "delete_prompt_version": "genver.genai.prompts",
}

#: Exports that are modules themselves (``genai.scorers``, ``genai.judges``...), not names inside one.
_MODULES = frozenset({"scorers", "datasets", "judges", "prompts"})

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        from genver.not_offered import GENAI, not_offered

        raise not_offered("genver.genai", name, GENAI)
    mod = importlib.import_module(module)
    value = mod if name in _MODULES else getattr(mod, name)
    if module == "genver.genai.prompts":
        globals()[name] = value  # load_prompt is a hot path: later lookups skip this function
    return value
