"""Aliases and history: ``/api/v1/aliases``, ``/api/v1/history``, and under
``/api/v1/models/<model_id>``. Where a route names an alias, ``experiment`` (an id, else a name;
default the Default experiment) says in which experiment: a server has no current one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from genver import wire as w
from genver.server.routes import StoreDep, experiment_id_of, ok, out

router = APIRouter(tags=["aliases and history"])
Experiment = Annotated[
    str, Query(description="The experiment the alias is in: an id, else a name (default: Default).")
]


@router.put("/models/{model_id}/aliases/{alias}", status_code=204)
def set_logged_model_alias(model_id: str, alias: str, store: StoreDep) -> Response:
    """Point ``alias`` at this version (in its experiment), moving it off the one holding it."""
    store.set_logged_model_alias(model_id, alias)
    return ok()


@router.get("/aliases", response_model=w.AliasList)
def list_aliases(store: StoreDep, experiment: Experiment = "0") -> Response:
    found = store.get_logged_model_aliases(experiment_id=experiment_id_of(store, experiment))
    return out(w.AliasList(aliases=[w.ModelAliasW.of(a) for a in found]))


@router.get("/aliases/{alias}", response_model=w.LoggedModelW)
def get_logged_model_by_alias(alias: str, store: StoreDep, experiment: Experiment = "0") -> Response:
    model = store.get_logged_model_by_alias(experiment_id=experiment_id_of(store, experiment), alias=alias)
    return out(w.LoggedModelW.of(model))


@router.delete("/aliases/{alias}", status_code=204)
def delete_logged_model_alias(alias: str, store: StoreDep, experiment: Experiment = "0") -> Response:
    store.delete_logged_model_alias(experiment_id=experiment_id_of(store, experiment), alias=alias)
    return ok()


@router.get("/aliases/{alias}/history", response_model=w.HistoryList)
def get_alias_history(alias: str, store: StoreDep, experiment: Experiment = "0") -> Response:
    """Every move of the alias, oldest first."""
    found = store.get_alias_history(experiment_id=experiment_id_of(store, experiment), alias=alias)
    return out(w.HistoryList(entries=[w.HistoryEntryW.of(e) for e in found]))


@router.get("/models/{model_id}/history", response_model=w.HistoryPage)
def get_logged_model_history(
    model_id: str,
    store: StoreDep,
    max_results: int = 1000,
    page_token: str | None = None,
    newest_first: bool = False,
) -> Response:
    """A version's history, oldest first unless ``newest_first`` (deleted versions too)."""
    page = store.get_logged_model_history(
        model_id, max_results=max_results, page_token=page_token or None, newest_first=newest_first
    )
    return out(w.HistoryPage(entries=[w.HistoryEntryW.of(e) for e in page], next_page_token=page.token))


@router.get("/history", response_model=w.HistoryList)
def read_history(store: StoreDep, after_seq: int = 0, max_results: int = 1000) -> Response:
    """The chain's entries after ``after_seq``, as stored: what ``genver audit verify`` checks."""
    found = store.read_history(after_seq=after_seq, max_results=max_results)
    return out(w.HistoryList(entries=[w.HistoryEntryW.of(e) for e in found]))


@router.get("/history/head", response_model=w.HistoryHeadW)
def history_head(store: StoreDep) -> Response:
    """The chain's entry count and last hash (keep it elsewhere to detect a rewritten chain)."""
    return out(w.HistoryHeadW.of(store.history_head()))
