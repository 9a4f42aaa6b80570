"""Shared pieces of the CLI: the console, common options, and lookups by name or id."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()
UriOption = Annotated[
    str | None,
    typer.Option("--tracking-uri", envvar=["GENVER_TRACKING_URI", "MLFLOW_TRACKING_URI"], help="Store URI."),
]
FormatOption = Annotated[str, typer.Option("--format", help="table or json.")]


def genver_for(uri: str | None) -> Any:
    from genver.fluent import Genver

    return Genver(tracking_uri=uri) if uri else Genver()


def when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def experiment_id(gv: Any, experiment: str | None) -> str:
    """An experiment given by name or id (None → the Default experiment)."""
    from genver.exceptions import NotFoundError

    if experiment is None:
        return "0"
    if experiment.isdigit():
        return experiment
    exp = gv.get_experiment_by_name(experiment)
    if exp is None:
        raise NotFoundError(f"No experiment named {experiment!r}.")
    return str(exp.experiment_id)


def find_model(gv: Any, ref: str, exp_id: str) -> Any:
    """A version by id, alias or name (latest of that name in the experiment); one that does not
    exist is a ``NotFoundError`` naming it (``main`` prints it in one line)."""
    from genver.client.refs import resolve_model

    return resolve_model(gv.client, ref, experiment_id=exp_id)


def model_ref(gv: Any, ref: str, exp_id: str) -> str:
    return str(find_model(gv, ref, exp_id).model_id)
