"""The ``genver`` command line: thin commands over the fluent API, rendered with Rich."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from genver.cli import compare, db, history, prompts, runs, server, traces
from genver.cli.common import FormatOption, UriOption, console, experiment_id, find_model, genver_for, when
from genver.cli.tables import Col, print_list

# Help texts are plain text: "[label]" in a help must show, not be read as Rich markup.
app = typer.Typer(
    help="genver: version tracking for GenAI applications.", no_args_is_help=True, rich_markup_mode=None
)
models_app = typer.Typer(help="Versions (LoggedModels).", no_args_is_help=True)
experiments_app = typer.Typer(help="Experiments.", no_args_is_help=True)
db_app = typer.Typer(help="The tracking database.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(experiments_app, name="experiments")
app.add_typer(db_app, name="db")
app.add_typer(traces.app, name="traces")
app.add_typer(runs.app, name="runs")
app.add_typer(prompts.app, name="prompts")
models_app.command("compare")(compare.models_compare)
models_app.command("history")(history.models_history)
models_app.add_typer(history.alias_app, name="alias")
app.add_typer(history.audit_app, name="audit")
app.command("gate")(compare.gate_command)

#: ``--debug``: a genver error is raised with its traceback instead of printed as one line.
_debug = False


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"genver {version('genver')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")] = False,
) -> None:
    """genver: version tracking for GenAI applications."""
    global _debug
    _debug = debug


app.command("server")(server.server)
app.command("ui")(server.ui)
db_app.command("upgrade")(db.db_upgrade)
db_app.command("check")(db.db_check)
db_app.command("backup")(db.db_backup)
db_app.command("copy")(db.db_copy)


@app.command()
def quickstart(tracking_uri: UriOption = None) -> None:
    """Create three versions of a sample app, evaluate them and compare them (local SQLite)."""
    from genver import quickstart as qs

    gv = genver_for(tracking_uri)
    console.print(f"[bold]genver quickstart[/] — storing in [cyan]{gv.get_tracking_uri()}[/]")
    run = qs.run(gv)
    results = run.versions
    table = Table(
        title=f"faq-bot versions on {qs.DATASET_NAME} ({len(qs.QUESTIONS)} questions, one trace each)"
    )
    cols = ("version", "llm", "exact match (Δ)", "traces", "p50 ms", "$/1k req")
    for col in cols:
        table.add_column(col, justify="left" if col in ("version", "llm") else "right", no_wrap=True)
    best = max(results, key=lambda r: r.accuracy)
    baseline = results[0].accuracy
    for r in results:
        st = r.stats
        table.add_row(
            r.model.name,
            r.model.params.get("llm_model", ""),
            f"{r.accuracy:.2f} ({r.accuracy - baseline:+.2f})",
            str(st.trace_count) if st else "0",
            f"{st.latency_p50_ms:.0f}" if st and st.latency_p50_ms is not None else "",
            f"{st.cost_per_request * 1000:.3f}" if st else "",
            style="bold green" if r is best else "",
        )
    console.print(table)
    console.print(
        f"Best: [bold green]{best.model.name}[/] ({best.model.model_id}), exact match {best.accuracy:.2f}.\n",
        soft_wrap=True,
    )
    a, b = results[1].model.name, results[2].model.name
    console.print(f"[bold]Comparison of {a} (baseline) and {b}[/]")
    console.print(compare.comparison_renderable(run.comparison))
    console.print(
        "\nTry next:\n"
        f"  genver models compare {a} {b} --experiment genver-quickstart --format markdown\n"
        f"  genver gate --baseline {a} --candidate {b} --experiment genver-quickstart "
        "--max-drop exact_match=0.05 --max-increase p95_latency=50%\n"
        "  genver traces stats --experiment genver-quickstart\n"
        f"  genver traces list --experiment genver-quickstart --model {b}",
        soft_wrap=True,  # a command wrapped mid-token does not paste
    )
    exp = run.comparison.versions[0].experiment_id
    ids = "&".join(f"version={v.model_id}" for v in run.comparison.versions)
    uri = "" if tracking_uri is None else f" --backend-store-uri {tracking_uri}"
    needs = "" if _has_server_extra() else "pip install -e '.[server]' && "
    console.print(
        f"\nSee it in the browser: [bold]{needs}genver ui{uri}[/], then open\n"
        f"  http://127.0.0.1:5000/versions?experiment={exp}  (the versions)\n"
        f"  http://127.0.0.1:5000/compare?{ids}&experiment={exp}  (this comparison)",
        soft_wrap=True,
    )
    gv.client.close()


def _has_server_extra() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("fastapi", "uvicorn", "jinja2"))


@models_app.command("list")
def models_list(
    experiment: Annotated[str | None, typer.Option(help="Experiment name or id (default: Default).")] = None,
    filter_string: Annotated[
        str | None, typer.Option("--filter", help="e.g. \"params.llm = 'gpt-4'\"")
    ] = None,
    max_results: Annotated[int, typer.Option(help="At most this many.")] = 100,
    fmt: FormatOption = "table",
    tracking_uri: UriOption = None,
) -> None:
    """List versions, newest first."""
    gv = genver_for(tracking_uri)
    exp_id = experiment_id(gv, experiment)
    models = gv.search_logged_models([exp_id], filter_string, max_results=max_results, output_format="list")
    if fmt == "json":
        typer.echo(json.dumps([_model_json(m) for m in models], indent=2))
        return
    rows = []
    for m in models:
        params = ", ".join(f"{k}={v}" for k, v in sorted(m.params.items()))
        tags = ", ".join(f"{k}={v}" for k, v in sorted(m.tags.items()) if not k.startswith("mlflow."))
        rows.append(
            [
                escape(m.name),
                m.model_id,
                " ".join(f"@{a}" for a in m.aliases),
                m.status.value,
                when(m.creation_timestamp),
                escape(params),
                escape(tags),
            ]
        )
    columns = [
        Col("name", key=True),
        Col("model id", key=True),
        Col("aliases"),
        Col("status", drop=2),
        Col("created", drop=1),
    ]
    print_list(
        f"Versions in experiment {experiment or exp_id}", [*columns, Col("params"), Col("tags", drop=3)], rows
    )


@models_app.command("show")
def models_show(
    model: Annotated[str, typer.Argument(help="A model id (m-...), a version name or an @alias.")],
    experiment: Annotated[str | None, typer.Option(help="Experiment to look the name up in.")] = None,
    fmt: FormatOption = "table",
    tracking_uri: UriOption = None,
) -> None:
    """Show one version: status, params, tags and metrics."""
    gv = genver_for(tracking_uri)
    from genver.exceptions import NotFoundError

    try:
        found = find_model(gv, model, experiment_id(gv, experiment))
    except NotFoundError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    if fmt == "json":
        typer.echo(json.dumps(_model_json(found), indent=2))
        return
    table = Table(title=f"{found.name}  ({found.model_id})", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row(
        "status", found.status.value + (f" — {found.status_message}" if found.status_message else "")
    )
    table.add_row("aliases", " ".join(f"@{a}" for a in found.aliases))
    table.add_row("experiment", found.experiment_id)
    table.add_row("created", when(found.creation_timestamp))
    table.add_row("updated", when(found.last_updated_timestamp))
    table.add_row("model type", found.model_type or "")
    table.add_row("source run", found.source_run_id or "")
    for k, v in sorted(found.params.items()):
        table.add_row(f"param {k}", v)
    for k, v in sorted(found.tags.items()):
        table.add_row(f"tag {k}", v)
    for m in found.metrics or []:
        ds = f" on {m.dataset_name}" if m.dataset_name else ""
        table.add_row(f"metric {m.key}{ds}", f"{m.value:g} (step {m.step})")
    console.print(table)


@experiments_app.command("list")
def experiments_list(fmt: FormatOption = "table", tracking_uri: UriOption = None) -> None:
    """List active experiments."""
    gv = genver_for(tracking_uri)
    exps = gv.search_experiments()
    if fmt == "json":
        typer.echo(json.dumps([{"experiment_id": e.experiment_id, "name": e.name} for e in exps], indent=2))
        return
    rows = [[e.experiment_id, escape(e.name), when(e.creation_time)] for e in exps]
    print_list("Experiments", [Col("id", key=True), Col("name", key=True), Col("created", drop=1)], rows)


def _model_json(m: Any) -> dict[str, Any]:
    out: dict[str, Any] = m.to_dictionary()
    out["status"] = m.status.value
    out["metrics"] = [x.to_dictionary() for x in m.metrics or []]
    out["aliases"] = list(m.aliases)
    return out


def main() -> None:
    """Entry point: genver errors become a red one-line message and exit code 1."""
    from genver.exceptions import GenverError

    try:
        app()
    except GenverError as exc:
        if _debug:
            raise
        from rich.markup import escape

        # unwrapped, so a command or id in the message copies whole; escaped, so [x] stays text
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
        raise SystemExit(1) from None
