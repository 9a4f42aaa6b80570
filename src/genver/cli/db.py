"""``genver db upgrade|check|backup|copy``: the tracking database itself."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Annotated

import typer

from genver.cli.common import console

if TYPE_CHECKING:
    from rich.progress import TaskID

UriArgument = Annotated[str | None, typer.Argument(help="Database URI (default: the tracking URI).")]


def _target(uri: str | None) -> str:
    from genver.context import resolve_tracking_uri

    return uri or resolve_tracking_uri(None, os.environ)


def db_upgrade(uri: UriArgument = None) -> None:
    """Upgrade the database schema to the newest revision (never drops data)."""
    from genver.store.sql.engine import create_engine, safe_url
    from genver.store.sql.maintenance import guarded
    from genver.store.sql.migrate import upgrade

    target = _target(uri)
    engine = create_engine(target)
    try:
        before, after = guarded(target, lambda: upgrade(engine))
    finally:
        engine.dispose()
    if before == after:
        console.print(f"{safe_url(target)} is already at revision {after}.")
    else:
        console.print(f"Upgraded {safe_url(target)} from {before or 'empty'} to {after}.")


def db_check(uri: UriArgument = None) -> None:
    """Check the store for damage: SQLite's integrity_check (PostgreSQL: amcheck where installed),
    the schema revision, every table; exits 1 when anything is wrong."""
    from genver.store.sql.engine import create_engine
    from genver.store.sql.maintenance import check
    from genver.store.sql.tuning import postgres_advice

    engine = create_engine(_target(uri))
    try:
        report = check(engine)
        advice = postgres_advice(engine) if report.ok else []
    finally:
        engine.dispose()
    for done in report.checks:
        console.print(f"[dim]checked:[/] {done}", highlight=False)
    if report.counts:
        console.print("rows: " + ", ".join(f"{k} {v:,}" for k, v in report.counts.items()), highlight=False)
    if report.ok:
        console.print(f"[green]ok[/]: {report.uri} (revision {report.revision})", soft_wrap=True)
        if advice:
            console.print(
                "PostgreSQL settings that will slow genver down as traces grow (README, 'Tuning PostgreSQL'):",
                soft_wrap=True,
            )
            for item in advice:
                console.print(f"  {item}", markup=False, soft_wrap=True)
        return
    console.print(f"[red]damaged[/]: {report.uri}", soft_wrap=True)
    for problem in report.problems[:50]:
        console.print(f"  {problem}", markup=False, soft_wrap=True)
    if len(report.problems) > 50:
        console.print(f"  … and {len(report.problems) - 50} more")
    console.print("Restore a backup, or move the file aside to start a new store.")
    raise typer.Exit(1)


def db_backup(
    dest: Annotated[str, typer.Argument(help="The new file to write the copy to.")],
    uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="Store URI (default: the tracking URI).")
    ] = None,
) -> None:
    """Copy a live SQLite store to DEST: a consistent snapshot (SQLite's online backup API), safe
    while apps keep writing. PostgreSQL stores: use pg_dump."""
    from genver.store.sql.engine import create_engine, safe_url
    from genver.store.sql.maintenance import backup

    target = _target(uri)
    engine = create_engine(target)
    try:
        size = backup(engine, dest)
    finally:
        engine.dispose()
    console.print(f"Copied {safe_url(target)} to {dest} ({size:,} bytes).", soft_wrap=True, highlight=False)


def db_copy(
    source: Annotated[str, typer.Argument(help="The store to copy: sqlite:///path.db or postgresql://...")],
    destination: Annotated[
        str, typer.Argument(help="An empty store to copy into (or one this copy was interrupted in).")
    ],
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="Rows per transaction (each one a resume point).")
    ] = 5_000,
) -> None:
    """Copy every row of a store into an empty one, SQLite and PostgreSQL either way: experiments,
    runs, versions, metrics, traces with spans, assessments, datasets, aliases and history, ids
    kept. Interrupted (even killed), the same command resumes where it stopped. Every table's rows
    and checksum are verified at the end; exits 1 if any differs."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from genver.store.sql.copy import Progress as CopyProgress
    from genver.store.sql.copy import copy_store
    from genver.store.sql.engine import safe_url

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    started = time.monotonic()
    bar = Progress(*columns, console=console)  # started by the first batch: a refusal prints alone
    tasks: dict[str, TaskID] = {}

    def show(p: CopyProgress) -> None:
        if not tasks:
            bar.start()
        if p.phase not in tasks:
            tasks[p.phase] = bar.add_task(p.phase, total=p.total, rate="")
        elapsed = max(time.monotonic() - started, 1e-6)
        rate = f"{p.done / elapsed:,.0f} rows/s" if p.phase == "copy" else ""
        unit = "rows" if p.phase == "copy" else "tables"
        bar.update(tasks[p.phase], completed=p.done, description=f"{p.phase} {p.table:<20} {unit}", rate=rate)

    try:
        report = copy_store(source, destination, batch_rows=batch_size, progress=show)
    except KeyboardInterrupt:
        console.print("Interrupted: run the same command again to resume the copy.")
        raise typer.Exit(130) from None
    finally:
        if tasks:
            bar.stop()
    where = f"{safe_url(source)} to {safe_url(destination)}"
    if report.already_done:
        console.print(f"{where}: already copied; verified again.", soft_wrap=True, highlight=False)
    else:
        again = " (resumed)" if report.resumed else ""
        rate = report.copied_rows / report.seconds if report.seconds else 0.0
        console.print(
            f"Copied {report.copied_rows:,} rows{again} from {where} in {report.seconds:.1f} s ({rate:,.0f} rows/s).",
            soft_wrap=True,
            highlight=False,
        )
    total = sum(t.destination.rows for t in report.tables)
    if report.ok:
        console.print(
            f"[green]verified[/]: {len(report.tables)} tables, {total:,} rows, every row count and checksum equal.",
            highlight=False,
        )
        return
    for t in report.mismatched:
        console.print(
            f"[red]differs[/]: {t.name}: {t.source.rows:,} rows (checksum {t.source.digest}) in the source, "
            f"{t.destination.rows:,} (checksum {t.destination.digest}) in the copy",
            soft_wrap=True,
            highlight=False,
        )
    console.print(
        "The source changed after the copy began (stop its writers), or the copy was written to. "
        "Copy into an empty store again.",
        soft_wrap=True,
    )
    raise typer.Exit(1)
