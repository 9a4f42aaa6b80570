"""The comparison half of ``RestStore``: ``GET /api/v1/compare`` and ``/api/v1/gate``, which a
genver server computes with ``genver.compare`` over its own store (one request, where computing
here would read every version, run and assessment over HTTP)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from genver.exceptions import InvalidArgumentError, StoreError
from genver.store.rest_transport import RestTransport

KINDS = ("compare", "gate")


class RestComparisons(RestTransport):
    """Served comparisons over HTTP; mixed into ``RestStore``."""

    def served_comparison(self, kind: str, query: Mapping[str, Any]) -> dict[str, Any] | None:
        """The server's ``GET /api/v1/<kind>?<query>`` as JSON (``Comparison.to_dict()`` or
        ``GateResult.to_dict()``); list values go as repeated parameters. Retried like any read."""
        if kind not in KINDS:
            raise InvalidArgumentError(f"Invalid comparison kind {kind!r}: expected one of {KINDS!r}.")
        params = {key: _param(value) for key, value in query.items() if value is not None}
        content = self._call("GET", f"/{kind}", params=params, idempotent=True)
        try:
            data = json.loads(content)  # NaN arrives as the constant, as it left
        except ValueError as e:
            raise StoreError(f"GET /{kind}: the server's answer is not JSON ({e}).") from None
        if not isinstance(data, dict):
            raise StoreError(
                f"GET /{kind}: expected a JSON object from the server, got {type(data).__name__}."
            )
        return data


def _param(value: object) -> str | list[str]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [str(v) for v in value]
    return str(value)
