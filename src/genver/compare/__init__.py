"""Comparison and gating of versions, over a ``GenverClient``: what every front end shows alike.

The fluent API (``genai.compare_models`` / ``genai.gate``), the CLI (``genver models compare``,
``genver gate``) and the server (``GET /api/v1/compare``, ``/api/v1/gate``) all call
``core.compare_models`` / ``core.gate``; the results are plain frozen dataclasses
(``result.py``, ``gating.py``) with ``to_dict`` / ``from_dict`` (the JSON the server sends) and
``to_markdown``. ``stats.py`` holds the score conversion and the paired bootstrap,
``metric_rows.py`` which metrics are compared and how rows pair up.
"""

from __future__ import annotations

from genver.compare.core import TRACE_STATS, compare_models, gate
from genver.compare.gating import GateCheck, GateResult
from genver.compare.result import Comparison

__all__ = ["TRACE_STATS", "Comparison", "GateCheck", "GateResult", "compare_models", "gate"]
