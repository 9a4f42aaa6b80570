"""Which prompts two app versions used differently, and how their text differs.

An app version's prompts are its ``mlflow.linkedPrompts`` tag (written when the app loaded them
while the version was active, or by ``create_external_model(prompts=...)``). For each prompt name
either side used, the version it used last is compared; where they differ, the diff is a unified
diff of the two texts (a chat's messages as ``role: content`` lines), deleted versions included.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from genver.client import GenverClient
from genver.compare.result import PromptDiff
from genver.entities import LoggedModel
from genver.entities.prompt import LINKED_PROMPTS_KEY, PromptVersion, linked_prompts
from genver.exceptions import GenverError


def prompt_diffs(
    client: GenverClient, models: Sequence[LoggedModel], notes: list[str]
) -> tuple[PromptDiff, ...]:
    """A ``PromptDiff`` per candidate (``models[1:]``) and prompt whose version differs from the
    baseline's (``models[0]``)."""
    used = [_used(m) for m in models]
    if not any(used):
        return ()
    base, out = used[0], []
    for model, theirs in zip(models[1:], used[1:], strict=True):
        for name in sorted(set(base) | set(theirs)):
            a, b = base.get(name), theirs.get(name)
            if a == b:
                continue
            try:
                old = (
                    "" if a is None else prompt_text(client.get_prompt_version(name, a, include_deleted=True))
                )
                new = (
                    "" if b is None else prompt_text(client.get_prompt_version(name, b, include_deleted=True))
                )
            except GenverError as exc:
                notes.append(f"prompt {name!r}: no diff ({exc})")
                old = new = ""
            diff = difflib.unified_diff(
                old.splitlines(),
                new.splitlines(),
                fromfile="(none)" if a is None else f"prompts:/{name}/{a}",
                tofile="(none)" if b is None else f"prompts:/{name}/{b}",
                lineterm="",
            )
            out.append(
                PromptDiff(name=name, model_id=model.model_id, base_version=a, version=b, diff=tuple(diff))
            )
    return tuple(out)


def _used(model: LoggedModel) -> dict[str, int]:
    """Prompt name → the version the app version used last."""
    return {p.name: p.version for p in linked_prompts(model.tags.get(LINKED_PROMPTS_KEY))}


def prompt_text(prompt: PromptVersion) -> str:
    """A prompt's text for a diff: the text, or each chat message as ``role: content``."""
    if prompt.is_text_prompt:
        return str(prompt.template)
    return "\n".join(f"{m['role']}: {m['content']}" for m in prompt.template if isinstance(m, dict))
