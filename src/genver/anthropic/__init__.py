"""``genver.anthropic.autolog()``: MLflow's ``mlflow.anthropic.autolog()`` (see ``genver.integrations.anthropic``).
Importing this module does not import the ``anthropic`` library; ``autolog()`` does."""

from __future__ import annotations

from genver.integrations.anthropic import autolog

__all__ = ["autolog"]
