"""REST routers, one per resource. Routes are thin: parse the body, call the store, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic_core import PydanticSerializationError

from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.base import Store
from genver.wire import Wire, dumps


def store_of(request: Request) -> Store:
    """The store the app was created with (``create_app(store)``)."""
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(store_of)]


def out(model: Wire, status_code: int = 200) -> Response:
    """A JSON response serialized by the wire model itself (NaN metric values survive).

    pydantic's serializer is ~4x faster than ``schema.dumps`` (``json.dumps`` of ``model_dump``)
    on a page of versions; it refuses lone surrogates, which span text may hold, and those
    responses take ``dumps``. (Requests keep ``dumps``: it refuses what JSON cannot carry, where
    pydantic would quietly turn a set into a list.)"""
    try:
        body = model.model_dump_json(by_alias=True)
    except PydanticSerializationError:
        body = dumps(model)
    return Response(body, status_code=status_code, media_type="application/json")


def ok() -> Response:
    return Response(status_code=204)


def experiment_id_of(store: Store, experiment: str) -> str:
    """The id of the experiment an ``experiment`` parameter names: an id, else a name (where no
    experiment is current, as on the server, this is how a route or page is told which)."""
    try:
        return store.get_experiment(experiment).experiment_id
    except (NotFoundError, InvalidArgumentError):  # not an id, or no experiment has it
        pass
    found = store.get_experiment_by_name(experiment)
    if found is None:
        raise NotFoundError(f"No experiment with id or name {experiment!r}.")
    return found.experiment_id
