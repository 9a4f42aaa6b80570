"""``genver.langchain.autolog()``: MLflow's ``mlflow.langchain.autolog()`` (see ``genver.integrations.langchain``).
Importing this module does not import the ``langchain`` library; ``autolog()`` does."""

from __future__ import annotations

from genver.integrations.langchain import autolog

__all__ = ["autolog"]
