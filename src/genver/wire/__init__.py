"""The wire format of the genver server: Pydantic models for every request and response, with
converters to and from entities. The server (``genver.server``) and the REST store
(``genver.store.rest``) both import this one package, so they cannot drift; it sits beside both,
not inside the server, so the REST store imports nothing of ``genver.server``. Status codes for
errors are in ``genver.wire.errors``.

Floats may be ``NaN`` or infinite (metric values): bodies are JSON with the ``NaN``/``Infinity``
constants Python's ``json`` reads and writes.

The models are split by resource (``base``, ``tracking``, ``traces``, ``datasets``, ``history``, ``prompts``), all re-exported:
import them from ``genver.wire``.
"""

from __future__ import annotations

from genver.wire.base import *  # noqa: F403
from genver.wire.datasets import *  # noqa: F403
from genver.wire.history import *  # noqa: F403
from genver.wire.prompts import *  # noqa: F403
from genver.wire.traces import *  # noqa: F403
from genver.wire.tracking import *  # noqa: F403
