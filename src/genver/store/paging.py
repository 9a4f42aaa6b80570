"""Opaque page tokens shared by every store: base64 of a small JSON document.

Most searches hand out offsets (``{"offset": n}``). Version search hands out keysets
(``{"after": [the last row's sort key values], "s": the search's fingerprint}``): the next page
starts after that row, so it costs what the first page costs; it still accepts offsets."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

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


def encode_keyset(values: Sequence[Any], search: str) -> str:
    """A token for the page after the row whose sort key is ``values`` in the search
    ``search`` (a fingerprint: a token is refused by any other search)."""
    return base64.urlsafe_b64encode(json.dumps({"after": list(values), "s": search}).encode()).decode()


def decode_page(token: str | None, search: str) -> int | list[Any]:
    """An offset (from ``encode_token``; None → 0) or a keyset's values (``encode_keyset`` of the
    same search). Anything else → ``InvalidArgumentError``."""
    if token is None or token == "":
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        after = data["after"] if isinstance(data, dict) and "after" in data else None
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError, AttributeError):
        after = None
    if after is None:
        return decode_token(token)
    if not isinstance(after, list) or not after or data.get("s") != search:
        raise InvalidArgumentError(
            f"Invalid page token {token!r}: pass the token a previous page of this search returned."
        )
    return after


def check_max_results(max_results: object, limit: int = 50_000) -> int:
    if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= limit:
        raise InvalidArgumentError(
            f"Invalid max_results {max_results!r}: expected an integer from 1 to {limit}."
        )
    return max_results
