"""Opaque page tokens shared by every store: base64 of a small JSON document."""

from __future__ import annotations

import base64
import binascii
import json

from genver.exceptions import InvalidArgumentError


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    """The offset a token stands for; None → 0. A token genver did not make → error."""
    if token is None or token == "":
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = data["offset"]
        if isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0:
            return offset
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError, AttributeError):
        pass
    raise InvalidArgumentError(f"Invalid page token {token!r}: pass the token a previous search returned.")


def check_max_results(max_results: object, limit: int = 50_000) -> int:
    if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= limit:
        raise InvalidArgumentError(
            f"Invalid max_results {max_results!r}: expected an integer from 1 to {limit}."
        )
    return max_results
