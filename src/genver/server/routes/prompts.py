"""Prompts: ``/api/v1/prompts``. Thin: parse, call the store, return the wire model."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from genver import wire as w
from genver.exceptions import NotFoundError
from genver.server.routes import StoreDep, ok, out

router = APIRouter(tags=["prompts"])


@router.get("/prompts", response_model=w.PromptPage)
def search_prompts(
    store: StoreDep, filter: str | None = None, max_results: int = 100, page_token: str | None = None
) -> Response:
    page = store.search_prompts(
        filter_string=filter or None, max_results=max_results, page_token=page_token or None
    )
    return out(w.PromptPage(prompts=[w.PromptW.of(p) for p in page], next_page_token=page.token))


@router.get("/prompts/{name}", response_model=w.PromptW)
def get_prompt(name: str, store: StoreDep) -> Response:
    found = store.get_prompt(name)
    if found is None:
        raise NotFoundError(f"Prompt {name!r} not found.")
    return out(w.PromptW.of(found))


@router.post("/prompts/{name}/versions", response_model=w.PromptVersionW, status_code=201)
def create_prompt_version(name: str, body: w.CreatePromptVersion, store: StoreDep) -> Response:
    """Register the next version (the first creates the prompt)."""
    created = store.create_prompt_version(
        name,
        template=body.template,
        commit_message=body.commit_message,
        tags=body.tags,
        model_config=body.model_settings,
        response_format=body.response_format,
    )
    return out(w.PromptVersionW.of(created), 201)


@router.get("/prompts/{name}/versions", response_model=w.PromptVersionList)
def list_prompt_versions(name: str, store: StoreDep) -> Response:
    return out(
        w.PromptVersionList(versions=[w.PromptVersionW.of(v) for v in store.get_prompt_versions(name)])
    )


@router.get("/prompts/{name}/versions/{version}", response_model=w.PromptVersionW)
def get_prompt_version(name: str, version: int, store: StoreDep, include_deleted: bool = False) -> Response:
    return out(w.PromptVersionW.of(store.get_prompt_version(name, version, include_deleted=include_deleted)))


@router.delete("/prompts/{name}/versions/{version}", status_code=204)
def delete_prompt_version(name: str, version: int, store: StoreDep) -> Response:
    store.delete_prompt_version(name, version)
    return ok()


@router.get("/prompts/{name}/aliases/{alias}", response_model=w.PromptVersionW)
def get_prompt_version_by_alias(name: str, alias: str, store: StoreDep) -> Response:
    """The version an alias points to (``latest``: the newest)."""
    return out(w.PromptVersionW.of(store.get_prompt_version_by_alias(name, alias)))


@router.put("/prompts/{name}/aliases/{alias}", status_code=204)
def set_prompt_alias(name: str, alias: str, version: int, store: StoreDep) -> Response:
    store.set_prompt_alias(name, alias, version)
    return ok()


@router.delete("/prompts/{name}/aliases/{alias}", status_code=204)
def delete_prompt_alias(name: str, alias: str, store: StoreDep) -> Response:
    store.delete_prompt_alias(name, alias)
    return ok()


@router.patch("/prompts/{name}/tags", status_code=204)
def set_prompt_tags(name: str, body: w.PromptTags, store: StoreDep, version: int | None = None) -> Response:
    """Set tags on the prompt, or with ``version`` on that version."""
    store.set_prompt_tags(name, body.tags, version=version)
    return ok()


@router.delete("/prompts/{name}/tags/{key}", status_code=204)
def delete_prompt_tag(name: str, key: str, store: StoreDep, version: int | None = None) -> Response:
    store.delete_prompt_tag(name, key, version=version)
    return ok()


@router.get("/prompts/{name}/history", response_model=w.PromptHistory)
def get_prompt_history(name: str, store: StoreDep) -> Response:
    return out(w.PromptHistory.of(store.get_prompt_history(name)))


@router.post("/models/{model_id}/prompts", status_code=204)
def link_prompts_to_model(model_id: str, body: w.LinkPrompts, store: StoreDep) -> Response:
    """Add prompt versions to the version's ``mlflow.linkedPrompts`` tag."""
    store.link_prompts_to_model(model_id, [p.entity() for p in body.prompts])
    return ok()
