"""``genver models compare A B [C ...]`` and ``genver gate``: thin shells over ``genai.compare``,
plus the Rich rendering of their results."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from genver.cli.common import UriOption, console, experiment_id, genver_for

FORMATS = ("table", "json", "markdown")
ExperimentOption = Annotated[
    str | None, typer.Option(help="Experiment (name or id) to look version names up in.")
]
DatasetOption = Annotated[
    str | None,
    typer.Option(help="Dataset (name or digest) of the metrics; default: the latest all versions share."),
]
ConfidenceOption = Annotated[
    float, typer.Option(help="Confidence level of the bootstrap intervals.", min=0.5, max=0.999)
]


def _format(value: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(FORMATS)}.")
    return value


FormatOption = Annotated[str, typer.Option("--format", help="table, json or markdown.", callback=_format)]


def models_compare(
    models: Annotated[
        list[str],
        typer.Argument(help="Two to four versions (ids, names or @aliases); the first is the baseline."),
    ],
    experiment: ExperimentOption = None,
    dataset: DatasetOption = None,
    confidence: ConfidenceOption = 0.95,
    fmt: FormatOption = "table",
    tracking_uri: UriOption = None,
) -> None:
    """Compare versions side by side: params, tags, git, evaluation metrics (with a paired
    bootstrap verdict where per-row scores exist) and trace statistics."""
    from genver.genai.compare import compare_models

    if len(models) < 2:
        raise typer.BadParameter("give at least two versions to compare.", param_hint="MODELS")
    gv = genver_for(tracking_uri)
    exp_id = experiment_id(gv, experiment) if experiment else None
    result = compare_models(*models, experiment_id=exp_id, dataset=dataset, confidence=confidence, genver=gv)
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict(), indent=2))
    elif fmt == "markdown":
        typer.echo(result.to_markdown(), nl=False)
    else:
        console.print(comparison_renderable(result))


def gate_command(
    baseline: Annotated[str, typer.Option(help="The baseline version (id or name).")],
    candidate: Annotated[str, typer.Option(help="The candidate version (id or name).")],
    max_drop: Annotated[
        list[str] | None,
        typer.Option(
            help="METRIC=THRESHOLD the metric may drop by, e.g. exact=0.02 or accuracy=5%. Repeatable."
        ),
    ] = None,
    max_increase: Annotated[
        list[str] | None,
        typer.Option(
            metavar="METRIC=THRESHOLD",
            help="METRIC=THRESHOLD it may rise by, e.g. p95_latency=10% or cost_per_request=5%.",
        ),
    ] = None,
    experiment: ExperimentOption = None,
    dataset: DatasetOption = None,
    confidence: ConfidenceOption = 0.95,
    min_rows: Annotated[
        int | None,
        typer.Option(min=1, help="A check on fewer paired rows than this is inconclusive."),
    ] = None,
    fail_when_inconclusive: Annotated[
        bool,
        typer.Option(
            "--fail-when-inconclusive",
            help="Fail a check that passed on too few rows to see a regression of its threshold.",
        ),
    ] = False,
    fmt: FormatOption = "table",
    tracking_uri: UriOption = None,
) -> None:
    """Fail (exit 1) when the candidate regresses beyond a threshold: significantly, where per-row
    scores exist; by its point estimate otherwise. A metric missing on either version fails.
    Exit 0 when every check passes; 2 when the gate cannot run as asked (bad option, unknown
    version or metric)."""
    from genver.exceptions import InvalidArgumentError, NotFoundError
    from genver.genai.compare import gate

    drops = _thresholds(max_drop or [], "--max-drop")
    rises = _thresholds(max_increase or [], "--max-increase")
    if not drops and not rises:
        raise typer.BadParameter("give at least one --max-drop or --max-increase.")
    gv = genver_for(tracking_uri)
    try:
        exp_id = experiment_id(gv, experiment) if experiment else None
        result = gate(
            baseline,
            candidate,
            max_drop=drops,
            max_increase=rises,
            experiment_id=exp_id,
            dataset=dataset,
            confidence=confidence,
            min_rows=min_rows,
            fail_when_inconclusive=fail_when_inconclusive,
            genver=gv,
        )
    except (InvalidArgumentError, NotFoundError) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    if fmt == "table":
        console.print(gate_renderable(result))
        for check in result.checks:  # one unwrapped line per check, easy to grep in a CI log
            word, style = ("passed", "") if check.passed else ("FAILED", "red")
            if check.passed and check.inconclusive:
                word, style = ("INCONCLUSIVE (passed)", "yellow")
            console.print(Text(f"{word} {check.metric}: {check.reason}", style=style), soft_wrap=True)
        if result.passed and result.inconclusive:
            console.print(
                f"[green]Gate passed[/], [yellow]but {len(result.inconclusive)} check(s) rest on too few rows "
                "to tell[/]: evaluate on more rows, or add --fail-when-inconclusive to fail closed."
            )
        else:
            console.print("[green]Gate passed.[/]" if result.passed else "[bold red]Gate failed.[/]")
    else:  # stdout stays pure JSON / Markdown; why it failed goes to stderr
        typer.echo(
            json.dumps(result.to_dict(), indent=2) if fmt == "json" else result.to_markdown(),
            nl=fmt == "json",
        )
        for check in result.failures:
            typer.echo(f"FAILED {check.metric}: {check.reason}", err=True)
        for check in result.inconclusive:
            if check.passed:
                typer.echo(f"INCONCLUSIVE (passed) {check.metric}: {check.reason}", err=True)
    if not result.passed:
        raise typer.Exit(1)


def _thresholds(values: list[str], option: str) -> dict[str, str]:
    """``["exact=0.02", "p95_latency=10%"]`` → ``{"exact": "0.02", ...}``; bad syntax → exit 2."""
    from genver.compare.gating import parse_threshold
    from genver.exceptions import InvalidArgumentError

    out: dict[str, str] = {}
    for text in values:
        name, sep, value = text.rpartition("=")
        name = name.strip()
        if not sep or not name:
            raise typer.BadParameter(
                f"{text!r}: expected METRIC=THRESHOLD, e.g. exact=0.02 or p95_latency=10%.", param_hint=option
            )
        if name in out:
            raise typer.BadParameter(f"{name!r} is given twice.", param_hint=option)
        try:
            parse_threshold(value, name)
        except InvalidArgumentError as exc:
            raise typer.BadParameter(str(exc), param_hint=option) from None
        out[name] = value.strip()
    return out


# -- Rich rendering -----------------------------------------------------------------------------
def comparison_renderable(c: Any) -> RenderableType:
    """Tables for a ``Comparison``: versions, metrics, trace statistics, params, tags, code."""
    from genver.compare.result import dataset_label, fmt_time, git_summary

    labels = c.labels
    parts: list[RenderableType] = []
    versions = _table("Versions", "", labels)
    versions.add_row("id", *(v.model_id for v in c.versions))
    versions.add_row("status", *(v.status for v in c.versions))
    versions.add_row("created", *(fmt_time(v.created) for v in c.versions))
    versions.add_row("git", *(git_summary(v.git) for v in c.versions))
    if any(v.git.uncommitted for v in c.versions):
        versions.add_row("uncommitted diff", *(str(v.git.uncommitted or "—") for v in c.versions))
    versions.add_row("dataset", *(dataset_label(v) for v in c.versions))
    parts.append(versions)
    for title, rows in (("Evaluation metrics", c.metrics), ("Trace statistics", c.trace_stats)):
        if rows:
            table = _table(title, "metric", labels)
            for r in rows:
                table.add_row(r.label, *(_metric_cell(r, i) for i in range(len(labels))))
            parts.append(table)
    for title, diffs in (("Params that differ", c.params), ("Tags that differ", c.tags)):
        if diffs:
            table = _table(title, "key", labels)
            for d in diffs:
                table.add_row(d.key, *(Text("—", style="dim") if v is None else Text(v) for v in d.values))
            parts.append(table)
    for pd in c.prompt_diffs:
        shown = Text()
        for line in pd.diff:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
            shown.append(line + "\n", style=style)
        moved = f"{pd.base_version or '—'} → {pd.version or '—'}"
        parts.append(Panel(shown, title=f"prompt {pd.name} {moved} ({pd.model_id})", expand=False))
    for d in c.code_diffs:
        body = (
            Text(d.stat.rstrip()) if d.stat is not None else Text(f"not available: {d.error}", style="yellow")
        )
        parts.append(Panel(body, title=f"git diff --stat {d.base_commit[:12]} {d.commit[:12]}", expand=False))
    parts.extend(Text(f"note: {n}", style="yellow") for n in c.notes)
    return Group(*parts)


def gate_renderable(g: Any) -> RenderableType:
    """The checks of a ``GateResult`` as a table (the reasons are printed as lines after it)."""
    from genver.compare.result import fmt_number

    table = Table(title=f"Gate: {g.baseline.name} (baseline) → {g.candidate.name}", title_justify="left")
    for col in ("", "metric", "baseline", "candidate", "change", "allowed", f"{g.confidence:.0%} CI"):
        numeric = col in ("baseline", "candidate", "change")
        # numbers keep their digits; the metric name and the threshold wrap when space runs short
        table.add_column(
            col,
            justify="right" if numeric else "left",
            no_wrap=col not in ("metric", "allowed"),
            overflow="fold" if col == "metric" else "ellipsis",
        )
    for ch in g.checks:
        ci = None if ch.ci is None else (fmt_number(ch.ci[0], signed=True), fmt_number(ch.ci[1], signed=True))
        table.add_row(
            Text("pass", style="green") if ch.passed else Text("FAIL", style="bold red"),
            ch.metric,
            fmt_number(ch.baseline),
            fmt_number(ch.candidate),
            fmt_number(ch.delta, signed=True),
            f"{ch.direction} ≤ {ch.threshold}",
            "" if ci is None else f"[{ci[0]}, {ci[1]}]",
        )
    return Group(table, *(Text(f"note: {n}", style="yellow") for n in g.notes))


def _table(title: str, first: str, labels: list[str]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first, style="bold", overflow="fold")
    for i, label in enumerate(labels):
        table.add_column(f"{label} (baseline)" if i == 0 else label, overflow="fold")  # ids stay whole
    return table


def _metric_cell(row: Any, i: int) -> Text:
    from genver.compare.result import fmt_number

    value = row.values[i]
    if value is None:
        return Text("—", style="dim")
    text = Text(fmt_number(value))
    delta = row.deltas[i]
    if delta is not None and delta.absolute:
        improved = (delta.absolute > 0) == row.higher_is_better
        text.append(f" ({delta})", style="green" if improved else "red")
    boot = row.bootstrap[i]
    if boot is not None:
        style = {"better": "bold green", "worse": "bold red"}.get(boot.verdict, "dim")
        text.append(f"\n{boot.verdict}", style=style)
        low, high = fmt_number(boot.low, signed=True), fmt_number(boot.high, signed=True)
        text.append(f" {boot.confidence:.0%} CI [{low}, {high}] n={boot.n}", style="dim")
    return text
