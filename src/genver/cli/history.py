"""``genver models alias set|rm|list``, ``genver models history`` and ``genver audit
verify|head``: thin shells over the client's aliases and history."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from genver.cli.common import FormatOption, UriOption, console, experiment_id, find_model, genver_for, when
from genver.cli.tables import Col, print_list

alias_app = typer.Typer(
    help="Aliases (@production): names unique in an experiment, each pointing at one version.",
    no_args_is_help=True,
)
audit_app = typer.Typer(help="The versions' history: verify its hash chain.", no_args_is_help=True)
ExperimentOption = Annotated[
    str | None, typer.Option(help="Experiment (name or id) of the alias and versions; default: Default.")
]


@alias_app.command("set")
def alias_set(
    version: Annotated[
        str, typer.Argument(help="The version: a model id, a name (its latest) or an @alias.")
    ],
    alias: Annotated[str, typer.Argument(help="The alias, e.g. production (with or without '@').")],
    experiment: ExperimentOption = None,
    tracking_uri: UriOption = None,
) -> None:
    """Point an alias at a version, moving it off the version that had it."""
    gv = genver_for(tracking_uri)
    model = find_model(gv, version, experiment_id(gv, experiment))
    gv.client.set_logged_model_alias(model.model_id, alias)
    name = alias.removeprefix("@")
    console.print(
        f"@{escape(name)} → {escape(model.name)} ({model.model_id})", soft_wrap=True, highlight=False
    )


@alias_app.command("rm")
def alias_rm(
    alias: Annotated[str, typer.Argument(help="The alias to remove.")],
    experiment: ExperimentOption = None,
    tracking_uri: UriOption = None,
) -> None:
    """Remove an alias (the version keeps everything else; the history records the removal)."""
    gv = genver_for(tracking_uri)
    gv.client.delete_logged_model_alias(experiment_id(gv, experiment), alias)
    console.print(f"Removed @{escape(alias.removeprefix('@'))}.", highlight=False)


@alias_app.command("list")
def alias_list(
    experiment: ExperimentOption = None, fmt: FormatOption = "table", tracking_uri: UriOption = None
) -> None:
    """The experiment's aliases and the versions they point to."""
    gv = genver_for(tracking_uri)
    exp_id = experiment_id(gv, experiment)
    aliases = gv.client.get_logged_model_aliases(exp_id)
    names = {a.model_id: gv.client.get_logged_model(a.model_id).name for a in aliases}
    if fmt == "json":
        rows = [
            {
                "alias": a.alias,
                "model_id": a.model_id,
                "name": names[a.model_id],
                "set_time": a.set_time,
                "set_by": a.set_by,
            }
            for a in aliases
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    cols = [
        Col("alias", key=True),
        Col("version", key=True),
        Col("model id", key=True),
        Col("set", drop=2),
        Col("by", drop=1),
    ]
    rows_text = [
        ["@" + escape(a.alias), escape(names[a.model_id]), a.model_id, when(a.set_time), escape(a.set_by)]
        for a in aliases
    ]
    print_list(f"Aliases in experiment {experiment or exp_id}", cols, rows_text)


def models_history(
    version: Annotated[
        str | None, typer.Argument(help="The version (model id, name or @alias) whose history to show.")
    ] = None,
    alias: Annotated[
        str | None, typer.Option(help="Show this alias's moves instead (e.g. production).")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            help="With --alias: which version held it at this time (ISO-8601, UTC unless an offset is given)."
        ),
    ] = None,
    experiment: ExperimentOption = None,
    fmt: FormatOption = "table",
    tracking_uri: UriOption = None,
) -> None:
    """A version's history (every change: who, when, before and after); or, with --alias, the
    alias's moves; with --alias and --at, which version held it then and how it differs from the
    one holding it now (params, tags, git)."""
    if (version is None) == (alias is None):
        raise typer.BadParameter("give a VERSION, or --alias (not both).")
    if at is not None and alias is None:
        raise typer.BadParameter("--at needs --alias: it asks which version held that alias then.")
    gv = genver_for(tracking_uri)
    exp_id = experiment_id(gv, experiment)
    if alias is not None and at is not None:
        from genver.compare.aliases import alias_at

        report = alias_at(gv.client, exp_id, alias, at)
        if fmt == "json":
            typer.echo(json.dumps(report.to_dict(), indent=2))
        else:
            _print_alias_report(report)
        return
    if alias is not None:
        entries = gv.client.get_alias_history(exp_id, alias)
        title = f"Moves of @{alias.removeprefix('@')}"
    else:
        assert version is not None
        from genver.client.refs import parse_model_ref

        # An id is read as is, so a deleted version's history shows too; a name or alias resolves.
        model = None if parse_model_ref(version).kind == "id" else find_model(gv, version, exp_id)
        model_id = model.model_id if model is not None else version
        entries = gv.client.get_logged_model_history(model_id)
        title = f"History of {model.name if model else model_id}"
    if fmt == "json":
        typer.echo(json.dumps([e.to_dictionary() for e in entries], indent=2))
        return
    by_alias = alias is not None  # an alias's moves span versions: name each entry's version
    rows = [
        [
            str(e.seq),
            when(e.time),
            escape(e.actor),
            e.kind,
            *([e.model_id] if by_alias else []),
            escape(e.summary()),
        ]
        for e in entries
    ]
    cols = [Col("#", numeric=True), Col("time", drop=2), Col("by", drop=1), Col("change")]
    cols += [Col("model id", key=True)] if by_alias else []
    cols.append(Col("detail"))
    print_list(title, cols, rows)


def _print_alias_report(report: Any) -> None:
    at = when(report.at) + " UTC"
    name = f"@{escape(report.alias)}"
    then, now = report.then, report.now
    if then.model_id is None:
        console.print(f"At {at}, no version held {name}.", highlight=False)
    else:
        console.print(f"At {at}, {name} was held by {_holder(then)}.", soft_wrap=True, highlight=False)
    if now.model_id is None:
        console.print(f"Now no version holds {name}.", highlight=False)
    elif report.same:
        console.print(f"It still does: {name} has not moved since.", highlight=False)
        return
    else:
        console.print(f"Now {name} is held by {_holder(now)}.", soft_wrap=True, highlight=False)
    diff = report.diff
    if diff is None:
        return
    rows = [["param", escape(d.key), escape(_v(d.values[0])), escape(_v(d.values[1]))] for d in diff.params]
    rows += [["tag", escape(d.key), escape(_v(d.values[0])), escape(_v(d.values[1]))] for d in diff.tags]
    git_then, git_now = diff.git
    for field in ("commit", "branch", "dirty"):
        a, b = getattr(git_then, field), getattr(git_now, field)
        if a != b:
            rows.append(["git", field, escape(_v(a)), escape(_v(b))])
    if not rows:
        console.print("Their params, tags and git state are the same.")
    else:
        cols = [Col("what"), Col("key", key=True), Col("then"), Col("now")]
        print_list(f"{name} then → now", cols, rows)
    if diff.code is not None and diff.code.stat:
        console.print(escape(diff.code.stat), highlight=False)
    for note in diff.notes:
        console.print(f"[dim]{escape(note)}[/]")


def _holder(holder: Any) -> str:
    label = holder.model_id if holder.model is None else f"{escape(holder.model.name)} ({holder.model_id})"
    if holder.model is None:
        label += " (deleted since)"
    since = holder.since
    if since is not None:
        label += f", set {when(since.time)} UTC by {escape(since.actor)} (history entry {since.seq})"
    return str(label)


def _v(value: object) -> str:
    return "(none)" if value is None else str(value)


@audit_app.command("verify")
def audit_verify(
    head: Annotated[
        str | None,
        typer.Option(
            help="A head kept elsewhere ('<count>:<hash>' from `genver audit head`): also detect a truncated or rewritten chain."
        ),
    ] = None,
    fmt: FormatOption = "table",
    tracking_uri: UriOption = None,
) -> None:
    """Check the history's hash chain entry by entry; exit 1 at the first entry edited, inserted
    or deleted (or, with --head, a chain truncated or rewritten since that head)."""
    gv = genver_for(tracking_uri)
    report = gv.client.verify_history(head)
    if fmt == "json":
        problem = report.problem
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "checked": report.checked,
                    "head": str(report.head),
                    "problem": None
                    if problem is None
                    else {"seq": problem.seq, "kind": problem.kind, "message": problem.message},
                },
                indent=2,
            )
        )
    elif report.ok:
        kept = " and reaches the head kept" if head else ""
        console.print(
            f"History intact: {report.checked} entries verified{kept}; head {report.head}",
            soft_wrap=True,
            highlight=False,
        )
    else:
        assert report.problem is not None
        console.print(
            f"[bold red]History tampered ({report.problem.kind}) at entry {report.problem.seq}:[/] "
            f"{escape(report.problem.message)} ({report.checked} entries before it verified.)",
            soft_wrap=True,
            highlight=False,
        )
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("head")
def audit_head(tracking_uri: UriOption = None) -> None:
    """Print the chain's head as '<count>:<hash>': keep it somewhere else and pass it to
    `genver audit verify --head` later."""
    gv = genver_for(tracking_uri)
    typer.echo(str(gv.client.get_history_head()))
