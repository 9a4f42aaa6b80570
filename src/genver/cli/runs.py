"""``genver runs list|show``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from genver.cli.common import FormatOption, UriOption, console, experiment_id, genver_for, when
from genver.cli.tables import Col, print_list

app = typer.Typer(help="Runs: evaluations and other logged work.", no_args_is_help=True)


@app.command("list")
def runs_list(
    experiment: Annotated[str | None, typer.Option(help="Experiment name or id (default: Default).")] = None,
    filter_string: Annotated[
        str | None, typer.Option("--filter", help='e.g. "metrics.exact_match/mean > 0.5"')
    ] = None,
    max_results: Annotated[int, typer.Option(help="At most this many.")] = 50,
    fmt: FormatOption = "table",
    tracking_uri: UriOption = None,
) -> None:
    """List runs, newest first."""
    gv = genver_for(tracking_uri)
    exp_id = experiment_id(gv, experiment)
    runs = gv.search_runs(
        experiment_ids=[exp_id],
        filter_string=filter_string or "",
        max_results=max_results,
        output_format="list",
    )
    if fmt == "json":
        typer.echo(json.dumps([run_json(r) for r in runs], indent=2))
        return
    rows = []
    for r in runs:
        metrics = ", ".join(f"{k}={v:g}" for k, v in sorted(r.data.metrics.items()))
        rows.append(
            [
                r.info.run_id,
                escape(r.info.run_name or ""),
                r.info.status,
                when(r.info.start_time),
                escape(metrics),
            ]
        )
    columns = [Col("run id", key=True), Col("name", key=True), Col("status", drop=2), Col("started", drop=1)]
    print_list(f"Runs in experiment {experiment or exp_id}", [*columns, Col("metrics")], rows)


@app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id.")],
    fmt: FormatOption = "table",
    tracking_uri: UriOption = None,
) -> None:
    """Show one run: status, params, metrics, tags and dataset inputs."""
    run = genver_for(tracking_uri).get_run(run_id)
    if fmt == "json":
        typer.echo(json.dumps(run_json(run), indent=2))
        return
    table = Table(title=f"{run.info.run_name}  ({run.info.run_id})", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("status", run.info.status)
    table.add_row("experiment", run.info.experiment_id)
    table.add_row("started", when(run.info.start_time))
    table.add_row("ended", when(run.info.end_time))
    for k, v in sorted(run.data.params.items()):
        table.add_row(f"param {k}", v)
    for k, m in sorted(run.data.metrics.items()):
        table.add_row(f"metric {k}", f"{m:g}")
    for k, v in sorted(run.data.tags.items()):
        table.add_row(f"tag {k}", v)
    for d in run.inputs.dataset_inputs:
        table.add_row("dataset", f"{d.dataset.name} ({d.dataset.digest})")
    console.print(table)


def run_json(run: Any) -> dict[str, Any]:
    i, d = run.info, run.data
    return {
        "run_id": i.run_id,
        "run_name": i.run_name,
        "experiment_id": i.experiment_id,
        "status": i.status,
        "start_time": i.start_time,
        "end_time": i.end_time,
        "params": dict(d.params),
        "metrics": dict(d.metrics),
        "tags": dict(d.tags),
        "datasets": [{"name": x.dataset.name, "digest": x.dataset.digest} for x in run.inputs.dataset_inputs],
    }
