"""MLflow 3's prompt registry (``mlflow.genai.register_prompt``, ``load_prompt`` ...): the bound
methods of the default ``Genver`` instance (``genver.fluent.prompts``).

>>> import genver as mlflow
>>> mlflow.genai.register_prompt("qa", "Answer {{question}} in one sentence.")  # doctest: +SKIP
>>> mlflow.genai.load_prompt("prompts:/qa/1").format(question="Why is the sky blue?")  # doctest: +SKIP
"""

from __future__ import annotations

from genver.entities.prompt import LinkedPrompt, Prompt, PromptVersion
from genver.fluent import default_genver

_g = default_genver()
register_prompt = _g.register_prompt
load_prompt = _g.load_prompt
search_prompts = _g.search_prompts
set_prompt_alias = _g.set_prompt_alias
delete_prompt_alias = _g.delete_prompt_alias
get_prompt_tags = _g.get_prompt_tags
set_prompt_tag = _g.set_prompt_tag
delete_prompt_tag = _g.delete_prompt_tag
set_prompt_version_tag = _g.set_prompt_version_tag
delete_prompt_version_tag = _g.delete_prompt_version_tag
delete_prompt_version = _g.delete_prompt_version

__all__ = [
    "LinkedPrompt",
    "Prompt",
    "PromptVersion",
    "delete_prompt_alias",
    "delete_prompt_tag",
    "delete_prompt_version",
    "delete_prompt_version_tag",
    "get_prompt_tags",
    "load_prompt",
    "register_prompt",
    "search_prompts",
    "set_prompt_alias",
    "set_prompt_tag",
    "set_prompt_version_tag",
]
