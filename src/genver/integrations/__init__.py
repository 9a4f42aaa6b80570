"""Autolog integrations: ``genver.openai``, ``genver.anthropic``, ``genver.langchain`` (each
with MLflow's ``autolog()``), and ``genver.autolog()`` for every one whose library is installed.

Nothing here imports a provider library until its ``autolog()`` runs, and ``import genver``
imports none of these modules (``genver.openai`` and friends are loaded on first access).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any

# integration name -> (its module, the library it needs)
INTEGRATIONS = {
    "openai": ("genver.integrations.openai", "openai"),
    "anthropic": ("genver.integrations.anthropic", "anthropic"),
    "langchain": ("genver.integrations.langchain", "langchain_core"),
}


def autolog(
    log_traces: bool = True,
    disable: bool = False,
    silent: bool = False,
    exclude_flavors: Sequence[str] | None = None,
    **mlflow_options: Any,
) -> list[str]:
    """Enable (or with ``disable=True`` undo) autolog for every integration whose library is
    installed, except ``exclude_flavors``; returns the integrations configured.

    MLflow's model-logging options (``log_models``, ``log_input_examples``,
    ``log_model_signatures``, ``log_datasets``, ``exclusive``,
    ``disable_for_unsupported_versions``, ``extra_tags``) are accepted and have no effect: genver
    logs no models.

    >>> genver.autolog()  # doctest: +SKIP
    ['openai', 'langchain']
    """
    unknown = sorted(set(mlflow_options) - _MLFLOW_OPTIONS)
    if unknown:
        raise TypeError(f"autolog() got unexpected keyword arguments {unknown}")
    excluded = set(exclude_flavors or ())
    done = []
    for name, (module, library) in INTEGRATIONS.items():
        if name in excluded or importlib.util.find_spec(library) is None:
            continue
        integration = importlib.import_module(module)
        integration.autolog(log_traces=log_traces, disable=disable, silent=silent)
        done.append(name)
    return done


_MLFLOW_OPTIONS = {
    "log_input_examples",
    "log_model_signatures",
    "log_models",
    "log_datasets",
    "exclusive",
    "disable_for_unsupported_versions",
    "extra_tags",
}
