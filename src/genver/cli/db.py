"""``genver db upgrade|check|backup``: the tracking database itself."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from genver.cli.common import console

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

    engine = create_engine(_target(uri))
    try:
        report = check(engine)
    finally:
        engine.dispose()
    for done in report.checks:
        console.print(f"[dim]checked:[/] {done}", highlight=False)
    if report.counts:
        console.print("rows: " + ", ".join(f"{k} {v:,}" for k, v in report.counts.items()), highlight=False)
    if report.ok:
        console.print(f"[green]ok[/]: {report.uri} (revision {report.revision})", soft_wrap=True)
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
