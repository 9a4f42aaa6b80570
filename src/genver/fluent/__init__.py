"""The module-level API as methods of one class, ``Genver``.

``genver/__init__.py`` binds the methods of a default instance, so ``genver.set_active_model``
and ``Genver(store=...).set_active_model`` run the same code. Tests build their own instance.
"""

from __future__ import annotations

from genver.fluent.assessments import AssessmentsAPI
from genver.fluent.models import ModelsAPI
from genver.fluent.prompts import PromptsAPI
from genver.fluent.runs import ActiveRun, RunsAPI
from genver.fluent.tracing import TracingAPI


class Genver(TracingAPI, ModelsAPI, RunsAPI, AssessmentsAPI, PromptsAPI):
    """One genver instance: a client (opened lazily from the tracking URI) and its context.

    Each topic sits directly on ``FluentBase`` in its own file: experiments and the tracking URI
    in ``base.py``, runs in ``runs.py``, versions in ``models.py``, tracing in ``tracing.py``,
    feedback and expectations on traces in ``assessments.py``, prompts in ``prompts.py``.
    """


def default_genver() -> Genver:
    """The instance behind the module-level API (``genver.set_active_model`` and friends)."""
    from genver.fluent.base import _default_holder

    instance = _default_holder[0]  # set by genver/__init__, which Python runs before any submodule
    assert isinstance(instance, Genver)
    return instance


__all__ = ["ActiveRun", "Genver", "default_genver"]
