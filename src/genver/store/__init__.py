"""Stores: one interface (``base.Store``), resolved from a tracking URI by ``store_for_uri``.

The SQL store (and SQLAlchemy with it) and the REST store (with pydantic) are imported only when a
store is first opened, which keeps ``import genver`` fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from genver.store.base import Store


def store_for_uri(uri: str, *, environ: Mapping[str, str] | None = None) -> Store:
    """Open the store a tracking URI names: ``sqlite:///...``, ``postgresql://...``,
    ``http(s)://host:port`` (a genver server, sent ``GENVER_TRACKING_TOKEN`` from ``environ``)."""
    from genver.exceptions import InvalidArgumentError

    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    if scheme.startswith("sqlite") or scheme.startswith("postgres"):
        from genver.store.sql.store import SqlStore

        return SqlStore(uri)
    if scheme in ("http", "https"):
        from genver.config import TRACKING_TOKEN
        from genver.store.rest import RestStore  # httpx and pydantic: core dependencies

        return RestStore(uri, token=TRACKING_TOKEN.get(environ))
    raise InvalidArgumentError(
        f"Unsupported tracking URI {uri!r}: expected sqlite:///path/to/file.db, "
        "postgresql://user@host:port/db or http(s)://host:port."
    )
