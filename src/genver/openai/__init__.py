"""``genver.openai.autolog()``: MLflow's ``mlflow.openai.autolog()`` (see ``genver.integrations.openai``).
Importing this module does not import the ``openai`` library; ``autolog()`` does."""

from __future__ import annotations

from genver.integrations.openai import autolog

__all__ = ["autolog"]
