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
    """A version by id (``m-...``) or, failing that, by name in the experiment; None if neither."""
    from genver.exceptions import NotFoundError

    if ref.startswith("m-"):
        try:
            return gv.get_logged_model(ref)
        except NotFoundError:
            pass
    return gv.client.store.find_logged_model(experiment_id=exp_id, name=ref)


def model_ref(gv: Any, ref: str, exp_id: str) -> str:
    from genver.exceptions import NotFoundError

    found = find_model(gv, ref, exp_id)
    if found is None:
        raise NotFoundError(f"No version {ref!r} (by id, or by name in experiment {exp_id!r}).")
    return str(found.model_id)
