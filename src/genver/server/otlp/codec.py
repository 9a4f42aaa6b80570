"""OTLP/HTTP bodies: ``ExportTraceServiceRequest`` in, ``ExportTraceServiceResponse`` or a
``google.rpc.Status`` out, as protobuf (``application/x-protobuf``) or OTLP/JSON
(``application/json``), optionally gzip-compressed.

OTLP/JSON differs from protobuf's generic JSON mapping in one way that matters here: trace and
span ids are hex strings, not base64. They are turned into base64 before
``json_format.ParseDict``, which already accepts both field spellings (``traceId`` /
``trace_id``), enum names or numbers and 64-bit integers as strings or numbers.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from genver.exceptions import InvalidArgumentError

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_BODY_BYTES = 64 * 1024 * 1024  # after decompression; an OTel SDK batch is far smaller
_ID_FIELDS = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id")
_STATUS_INVALID_ARGUMENT, _STATUS_NOT_FOUND = 3, 5


class UnsupportedMediaError(InvalidArgumentError):
    """A content type or content encoding the endpoint does not read (HTTP 415)."""


class BodyTooLargeError(InvalidArgumentError):
    """A body over ``MAX_BODY_BYTES`` (HTTP 413)."""


def media_type(content_type: str | None) -> str:
    """``PROTOBUF`` or ``JSON`` for a Content-Type header, else ``UnsupportedMediaError``."""
    value = (content_type or "").split(";", 1)[0].strip().lower()
    if value not in (PROTOBUF, JSON):
        raise UnsupportedMediaError(
            f"Unsupported content type {content_type!r}: expected {PROTOBUF!r} or {JSON!r}."
        )
    return value


def decode_request(body: bytes, *, media: str, content_encoding: str | None) -> ExportTraceServiceRequest:
    """The request in ``body``; an undecodable body is an ``InvalidArgumentError`` saying why."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        body = _gunzip(body)
    elif encoding != "identity":
        raise UnsupportedMediaError(
            f"Unsupported content encoding {content_encoding!r}: expected 'gzip' or none."
        )
    if media == PROTOBUF:
        try:
            request: ExportTraceServiceRequest = ExportTraceServiceRequest.FromString(body)
            return request
        except (DecodeError, RecursionError, ValueError) as exc:
            raise InvalidArgumentError(
                f"Undecodable OTLP protobuf body ({len(body)} bytes): {exc or 'not an ExportTraceServiceRequest'}."
            ) from None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidArgumentError(f"Malformed OTLP/JSON body: {exc}.") from None
    if not isinstance(document, dict):
        raise InvalidArgumentError(
            f"Invalid OTLP/JSON body: expected an object with 'resourceSpans', got {type(document).__name__}."
        )
    _hex_ids_to_base64(document)
    parsed = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(document, parsed, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, ValueError, TypeError) as exc:
        raise InvalidArgumentError(f"Invalid OTLP/JSON body: {exc}.") from None
    return parsed


def encode_response(rejected_spans: int, message: str, *, media: str) -> bytes:
    """An ``ExportTraceServiceResponse``, with ``partial_success`` when spans were rejected."""
    response = ExportTraceServiceResponse()
    if rejected_spans or message:
        response.partial_success.rejected_spans = rejected_spans
        response.partial_success.error_message = message
    if media == PROTOBUF:
        return bytes(response.SerializeToString())
    return str(json_format.MessageToJson(response, indent=None)).encode()


def encode_status(http_status: int, message: str, *, media: str) -> bytes:
    """The ``google.rpc.Status`` OTLP/HTTP sends with an error (``code``, ``message``)."""
    code = _STATUS_NOT_FOUND if http_status == 404 else _STATUS_INVALID_ARGUMENT
    if media != PROTOBUF:
        return json.dumps({"code": code, "message": message}).encode()
    # Encoded by hand: google.rpc.Status is two fields, not worth a googleapis dependency.
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _gunzip(body: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise InvalidArgumentError(f"Invalid gzip body ({len(body)} bytes): {exc}.") from None
    if len(out) > MAX_BODY_BYTES:
        raise BodyTooLargeError(f"The decompressed body is over {MAX_BODY_BYTES} bytes.")
    if not inflater.eof:
        raise InvalidArgumentError(
            f"Invalid gzip body ({len(body)} bytes): it ends before the gzip stream does."
        )
    return out


def _hex_ids_to_base64(document: dict[str, Any]) -> None:
    """Rewrite the hex ids of spans and their links in place, for ``json_format``."""
    for resource_spans in _items(document, "resourceSpans", "resource_spans"):
        for scope_spans in _items(resource_spans, "scopeSpans", "scope_spans"):
            for span in _items(scope_spans, "spans"):
                _convert_ids(span)
                for link in _items(span, "links"):
                    _convert_ids(link)


def _items(obj: object, *keys: str) -> list[Any]:
    if not isinstance(obj, dict):
        return []
    for key in keys:
        value = obj.get(key)
        if isinstance(value, list):
            return value
    return []


def _convert_ids(obj: object) -> None:
    if not isinstance(obj, dict):
        return
    for key in _ID_FIELDS:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidArgumentError(f"Invalid OTLP/JSON {key} {value!r}: expected a hex string.")
        try:
            obj[key] = base64.b64encode(bytes.fromhex(value)).decode()
        except (ValueError, binascii.Error):
            raise InvalidArgumentError(
                f"Invalid OTLP/JSON {key} {value[:80]!r}: expected a hex string (OTLP/JSON ids are hex, not base64)."
            ) from None
