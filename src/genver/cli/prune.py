"""``genver traces prune``: delete old traces by a retention policy (``SqlStore.prune_traces``)."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.markup import escape

from genver.cli.common import FormatOption, UriOption, console, when
from genver.cli.tables import Col, print_list


def traces_prune(
    older_than: Annotated[
        str | None,
        typer.Option(help="Delete traces that started longer ago than this: 30d, 12h, 90m, 2w."),
    ] = None,
    keep_per_version: Annotated[
        int | None,
        typer.Option(min=0, help="Keep each version's newest N traces, however old."),
    ] = None,
    experiment: Annotated[
        list[str] | None,
        typer.Option(help="Only in this experiment (name or id); repeat for several (default: all)."),
    ] = None,
    include_evaluated: Annotated[
        bool,
        typer.Option(
            "--include-evaluated",
            help="Also delete traces an evaluation run or a dataset record refers to (kept by default).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be deleted; delete nothing.")
    ] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=10_000,
            help="Traces deleted per transaction (default: 100 on SQLite, 500 on PostgreSQL).",
        ),
    ] = None,
    fmt: FormatOption = "table",
    tracking_uri: UriOption = None,
) -> None:
    """Delete traces by age (--older-than) and/or beyond each version's newest N
    (--keep-per-version), oldest first in small transactions, so apps keep logging meanwhile.
    Versions, runs, metrics and evaluated traces stay; --dry-run shows what would go."""
    from genver.durations import parse_duration
    from genver.entities.retention import RetentionPolicy

    older_ms = None if older_than is None else parse_duration(older_than, "--older-than", allow_zero=False)
    if older_ms is None and keep_per_version is None:
        from genver.exceptions import InvalidArgumentError

        raise InvalidArgumentError(
            "Nothing to prune by: give --older-than (e.g. 30d) and/or --keep-per-version N."
        )
    store = open_sql_store(tracking_uri, "genver traces prune")
    try:
        ids = None if not experiment else tuple(_experiment_id(store, e) for e in experiment)
        policy = RetentionPolicy(
            older_than_ms=older_ms,
            keep_per_version=keep_per_version,
            experiment_ids=ids,
            include_evaluated=include_evaluated,
        )
        result = store.prune_traces(policy, dry_run=dry_run, batch_size=batch_size)
        names = _version_names(store, [v.model_id for v in result.by_version])
    finally:
        store.close()
    if fmt == "json":
        body = result.to_dict()
        body["by_version"] = [
            {
                "experiment_id": v.experiment_id,
                "model_id": v.model_id,
                "model_name": names.get(v.model_id),
                "deleted": v.deleted,
            }
            for v in result.by_version
        ]
        typer.echo(json.dumps(body, indent=2))
        return
    if result.skipped:
        console.print(
            "Another process is pruning this store (a genver server's retention?): nothing was "
            "done; try again when it is finished.",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    verb = "Would delete" if dry_run else "Deleted"
    if result.by_version:
        rows = [
            [
                v.experiment_id,
                escape(names.get(v.model_id, "") if v.model_id else "(no version)"),
                v.model_id or "",
                f"{v.deleted:,}",
            ]
            for v in result.by_version
        ]
        title = "Traces that would be deleted" if dry_run else "Traces deleted"
        columns = [Col("experiment", key=True), Col("version", key=True), Col("model id", key=True)]
        print_list(title, [*columns, Col("traces", numeric=True)], rows)
    cutoff = f" (started before {when(result.cutoff_ms)} UTC)" if result.cutoff_ms is not None else ""
    console.print(f"{verb} {result.deleted:,} trace(s): {escape(policy.describe())}{cutoff}.", soft_wrap=True)
    kept = result.kept_evaluated + result.kept_dataset
    if kept:
        console.print(
            f"Kept {result.kept_evaluated:,} evaluated trace(s) and {result.kept_dataset:,} that dataset "
            "records refer to (--include-evaluated deletes them too).",
            soft_wrap=True,
        )
    if result.stopped:
        console.print("Stopped before the end; run it again to finish.")
    if dry_run:
        console.print("Dry run: nothing was deleted.")


def open_sql_store(uri: str | None, command: str) -> Any:
    """The SQL store at ``uri`` (default: the tracking URI). A genver server's URI is refused:
    maintenance runs against its database."""
    from genver.context import resolve_tracking_uri
    from genver.exceptions import InvalidArgumentError
    from genver.store.sql.store import SqlStore

    target = uri or resolve_tracking_uri(None, os.environ)
    scheme = target.split(":", 1)[0].lower()
    if not (scheme.startswith("sqlite") or scheme.startswith("postgres")):
        raise InvalidArgumentError(
            f"`{command}` works on a database, not {target!r}: pass the server's database with "
            "--tracking-uri sqlite:///... or postgresql://... (a server can prune by itself: "
            "GENVER_RETENTION_OLDER_THAN / GENVER_RETENTION_KEEP_PER_VERSION)."
        )
    return SqlStore(target)


def _experiment_id(store: Any, ref: str) -> str:
    from genver.exceptions import NotFoundError

    if ref.isascii() and ref.isdigit():
        return ref
    found = store.get_experiment_by_name(ref)
    if found is None:
        raise NotFoundError(f"No experiment named {ref!r}.")
    return str(found.experiment_id)


def _version_names(store: Any, model_ids: list[str | None]) -> dict[str | None, str]:
    from genver.exceptions import GenverError

    names: dict[str | None, str] = {}
    for model_id in dict.fromkeys(m for m in model_ids if m):
        try:
            names[model_id] = store.get_logged_model(model_id).name
        except GenverError:  # a version id no version has (deleted, or from another store)
            names[model_id] = model_id
    return names
