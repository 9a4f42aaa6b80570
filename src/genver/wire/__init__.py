"""The wire format of the genver server: Pydantic models for every request and response, with
converters to and from entities. The server (``genver.server``) and the REST store
(``genver.store.rest``) both import this one module, so they cannot drift.

Floats may be ``NaN`` or infinite (metric values): bodies are JSON with the ``NaN``/``Infinity``
constants Python's ``json`` reads and writes.

The models are split by resource (``base``, ``tracking``, ``traces``, ``datasets``), all re-exported:
import them from ``genver.server.schema``.
"""

from __future__ import annotations

from genver.server.schema.base import *  # noqa: F403
from genver.server.schema.datasets import *  # noqa: F403
from genver.server.schema.traces import *  # noqa: F403
from genver.server.schema.tracking import *  # noqa: F403
