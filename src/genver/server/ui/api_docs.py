"""``/docs``: the REST API's reference, rendered on the server from the app's own OpenAPI
document. No script and nothing fetched from elsewhere, so it works on a server without
internet (FastAPI's Swagger page loads its JavaScript from a CDN, and was blank there); the
OpenAPI document it is built from is linked for Swagger UI, Postman or a client generator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from genver.server.ui.pages import render

router = APIRouter(include_in_schema=False)
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    where: str  # path, query, header
    required: bool
    type: str
    description: str


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    summary: str
    description: str
    params: tuple[Param, ...]
    body: str  # the request body's schema name, or ""
    responses: tuple[str, ...]  # status codes

    @property
    def anchor(self) -> str:
        return f"{self.method}-{self.path}".replace("/", "-").replace("{", "").replace("}", "")


def operations(spec: Mapping[str, Any]) -> dict[str, list[Operation]]:
    """The document's operations grouped by their first tag, in the document's order."""
    groups: dict[str, list[Operation]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = tuple(
                Param(
                    p.get("name", ""),
                    p.get("in", ""),
                    bool(p.get("required")),
                    _type(p.get("schema", {})),
                    p.get("description", ""),
                )
                for p in op.get("parameters", [])
            )
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            description = (op.get("description") or "").strip()
            groups.setdefault((op.get("tags") or ["other"])[0], []).append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=op.get("summary", ""),
                    description=description,
                    params=params,
                    body=_type(body),
                    responses=tuple(sorted(op.get("responses", {}))),
                )
            )
    return groups


def _type(schema: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list[{_type(schema.get('items', {}))}]"
    return str(schema.get("type", ""))


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    spec = request.app.openapi()
    context = {"spec": spec, "groups": operations(spec)}
    return render(request, "api_docs.html", context, twin="/openapi.json")
