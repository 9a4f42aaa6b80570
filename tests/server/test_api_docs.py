"""``/docs`` is the REST API's reference rendered on the server from the OpenAPI document: no
script, nothing loaded from another host (issue 12 item 9: Swagger UI's CDN page was blank on a
server without internet), every API operation listed once."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from genver.server.ui.pages import CSP


def test_docs_list_every_operation_without_loading_anything_from_elsewhere(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-security-policy"] == CSP
    html = page.text
    assert not re.search(r"""(src|href)=["']https?://""", html)  # nothing from another host
    scripts = re.findall(r"<script([^>]*)>", html)
    assert all(re.search(r'src="/static/', s) for s in scripts)  # the UI's own, no inline or CDN one
    spec = client.get("/openapi.json").json()
    listed = re.findall(r'data-id="([A-Z]+ [^"]+)"', html)
    expected = [
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in ("get", "post", "put", "patch", "delete")
        if method in item
    ]
    assert sorted(listed) == sorted(expected) and len(listed) == len(set(listed))
    assert "GET /api/v1/traces/{trace_id}/outline" in listed
    assert '<a href="/openapi.json">OpenAPI document</a>' in html
    assert client.get("/redoc").status_code == 404  # FastAPI's CDN pages are gone
