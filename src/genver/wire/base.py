"""The base of every wire model, the JSON encoding and the error body."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from genver.validation import INT64_MAX, INT64_MIN

__all__ = [
    "ErrorBody",
    "Int64",
    "Page",
    "Wire",
    "dumps",
]


# An integer the databases can store (timestamps, steps, counts): a larger one is a 400, not a 500.
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]


class Wire(BaseModel):
    """Base of every wire model: unknown fields are refused, NaN survives the round trip."""

    model_config = ConfigDict(extra="forbid", strict=True, ser_json_inf_nan="constants")


def dumps(model: Wire) -> str:
    """The JSON text of a model: ASCII with escapes, so lone surrogates in span attributes
    survive, and NaN/Infinity as constants (read back by Python's ``json``)."""
    return json.dumps(model.model_dump(by_alias=True))


class ErrorBody(Wire):
    error_code: str
    message: str
    error_type: str = Field(description="The genver exception class, e.g. 'InvalidFilterError'.")


class Page(Wire):
    next_page_token: str | None = None
