"""``POST /v1/traces``: OTLP/HTTP trace ingest, at the standard OTLP path (not under /api/v1).

Answers as OTLP/HTTP specifies, in the request's encoding: 200 with an
``ExportTraceServiceResponse`` (``partial_success`` naming what was rejected), else a
``google.rpc.Status`` with 400 (undecodable body, invalid or deleted id in a header), 404
(unknown id in a header), 413 (body too large) or 415 (content type or encoding not read).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from genver.config import MODEL_PRICES_FILE
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.server.otlp import codec
from genver.server.otlp.convert import Headers
from genver.server.otlp.ingest import ingest
from genver.server.routes import StoreDep
from genver.trace_summary import PriceTable

router = APIRouter(tags=["otlp"])
log = logging.getLogger("genver.server")
MODEL_HEADER = "x-genver-model-id"
EXPERIMENT_HEADERS = ("x-genver-experiment-id", "x-mlflow-experiment-id")


# Not in the OpenAPI document: the body and answers are OpenTelemetry's protobuf messages
# (opentelemetry-proto), which that document cannot describe.
@router.post("/v1/traces", include_in_schema=False)
async def export_traces(request: Request, store: StoreDep) -> Response:
    media = codec.JSON
    try:
        media = codec.media_type(request.headers.get("content-type"))
        body = await _body(request)
        otlp = codec.decode_request(
            body, media=media, content_encoding=request.headers.get("content-encoding")
        )
        headers = Headers(
            model_id=request.headers.get(MODEL_HEADER) or None,
            experiment_id=next((v for h in EXPERIMENT_HEADERS if (v := request.headers.get(h))), None),
        )
        rejected, message = await run_in_threadpool(
            ingest, store, otlp, headers=headers, prices=_prices(request)
        )
    except (InvalidArgumentError, NotFoundError) as exc:
        status = _status(exc)
        log.warning("OTLP ingest: refused a whole request (%d): %s", status, exc.message)
        return Response(codec.encode_status(status, exc.message, media=media), status, media_type=media)
    return Response(codec.encode_response(rejected, message, media=media), 200, media_type=media)


async def _body(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > codec.MAX_BODY_BYTES:
            raise codec.BodyTooLargeError(f"The request body is over {codec.MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _status(exc: Exception) -> int:
    if isinstance(exc, codec.UnsupportedMediaError):
        return 415
    if isinstance(exc, codec.BodyTooLargeError):
        return 413
    return 404 if isinstance(exc, NotFoundError) else 400


def _prices(request: Request) -> PriceTable:
    """The app's price table for span costs: the defaults and ``GENVER_MODEL_PRICES_FILE``."""
    prices: PriceTable | None = getattr(request.app.state, "otlp_prices", None)
    if prices is None:
        prices = PriceTable()
        path = MODEL_PRICES_FILE.get()
        if path:
            prices.load_file(path)
        request.app.state.otlp_prices = prices
    return prices
