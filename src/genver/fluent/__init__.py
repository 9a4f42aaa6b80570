"""The module-level API as methods of one class, ``Genver``.

``genver/__init__.py`` binds the methods of a default instance, so ``genver.set_active_model``
and ``Genver(store=...).set_active_model`` run the same code. Tests build their own instance.
"""

from __future__ import annotations

from genver.fluent.runs import ActiveRun
from genver.fluent.tracing import TracingAPI


class Genver(TracingAPI):
    """One genver instance: a store (opened lazily from the tracking URI) and its context."""


__all__ = ["ActiveRun", "Genver"]
