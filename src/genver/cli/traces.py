"""``genver traces list|show|stats``."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.markup import escape

from genver.cli import prune, trace_tree
from genver.cli.common import FormatOption, UriOption, console, experiment_id, genver_for, model_ref, when
from genver.cli.tables import Col, print_list

app = typer.Typer(
    help="Traces: list, show the span tree, statistics per version, prune old ones.", no_args_is_help=True
)
app.command("prune")(prune.traces_prune)


@app.command("list")
def traces_list(
    experiment: Annotated[str | None, typer.Option(help="Experiment name or id (default: Default).")] = None,
    model: Annotated[str | None, typer.Option(help="Only traces of this version (id or name).")] = None,
    filter_string: Annotated[str | None, typer.Option("--filter", help="e.g. \"state = 'ERROR'\"")] = None,
    max_results: Annotated[int, typer.Option(help="At most this many.")] = 50,
    fmt: FormatOption = "table",
    tracking_uri: UriOption = None,
) -> None:
    """List traces, newest first."""
    gv = genver_for(tracking_uri)
    exp_id = experiment_id(gv, experiment)
    model_id = model_ref(gv, model, exp_id) if model else None
    clauses = [f"({filter_string})"] if filter_string else []
    if model_id:
        clauses.append(f"model_id = '{model_id}'")
    traces = gv.search_traces(
        experiment_ids=[exp_id],
        filter_string=" AND ".join(clauses) or None,
        max_results=max_results,
        include_spans=False,
        return_type="list",
    )
    names = _names(gv, [t.info.model_id for t in traces])
    if fmt == "json":
        listed = [{**_info_json(t.info), "model_name": names.get(t.info.model_id or "")} for t in traces]
        typer.echo(json.dumps(listed, indent=2))
        return
    rows = []
    for t in traces:
        i = t.info
        rows.append(
            [
                i.trace_id,
                escape(names.get(i.model_id or "", "")),
                when(i.request_time),
                "[red]ERROR[/]" if i.state.value == "ERROR" else i.state.value,
                str(i.execution_duration or 0),
                str(i.token_usage.total_tokens) if i.token_usage else "",
                f"{i.cost:.6f}" if i.cost is not None else "",
                escape((i.request_preview or "")[:60]),
            ]
        )
    columns = [
        Col("trace id", key=True),
        Col("version", key=True),
        Col("time", drop=2),
        Col("state"),
        Col("ms", numeric=True),
        Col("tokens", numeric=True, drop=3),
        Col("cost $", numeric=True, drop=4),
        Col("request", drop=1),
    ]
    print_list(f"Traces in experiment {experiment or exp_id}", columns, rows)


@app.command("show")
def traces_show(
    trace_id: Annotated[str, typer.Argument(help="A trace id (tr-...).")],
    depth: Annotated[
        int | None, typer.Option(min=0, help="Show spans down to this depth (0: the roots).")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Show at most this many spans (default {trace_tree.DEFAULT_LIMIT}).",
            show_default=False,
        ),
    ] = None,
    span: Annotated[str | None, typer.Option("--span", help="Show only this span's subtree.")] = None,
    fmt: FormatOption = "table",
    tracking_uri: UriOption = None,
) -> None:
    """Show one trace as a span tree with timings, tokens, cost, inputs and outputs. A big trace
    shows its first spans and a count of the rest; --depth, --limit and --span narrow it."""
    from genver.exceptions import NotFoundError

    gv = genver_for(tracking_uri)
    client = gv.client
    narrowed = depth is not None or limit is not None or span is not None
    if fmt == "json" and not narrowed:  # the whole trace, as before
        from genver.tracing.serialize import trace_to_dict

        trace = gv.get_trace(trace_id, silent=True)
        if trace is None:
            console.print(f"[red]No trace {trace_id!r}.[/]")
            raise typer.Exit(1)
        typer.echo(json.dumps(trace_to_dict(trace), indent=2, default=str))
        return
    try:
        outline = client.get_trace_outline(trace_id)
    except NotFoundError:
        console.print(f"[red]No trace {trace_id!r}.[/]")
        raise typer.Exit(1) from None
    index = trace_tree.Outline(outline)
    path = []
    if span is not None:
        path = index.path_to(span)
        if not path:
            console.print(f"[red]No span {span!r} in trace {trace_id!r}.[/]")
            raise typer.Exit(1)
    roots = [path[-1]] if path else index.children.get(None, [])
    shown = index.select(roots, depth=depth, limit=limit or trace_tree.DEFAULT_LIMIT)
    full = {s.span_id: s for s in client.get_spans(trace_id, [s.span_id for s, _ in shown.spans])}
    i = outline.info
    if fmt == "json":
        body = {
            "info": _info_json(i),
            "span_count": len(outline.spans),
            "spans": [{**full[s.span_id].to_dict(), "depth": d} for s, d in shown.spans if s.span_id in full],
            "not_shown": shown.total - len(shown.spans),
        }
        typer.echo(json.dumps(body, indent=2, default=str))
        return
    head = f"[bold]{i.trace_id}[/]  {i.state.value}  {i.execution_duration} ms  {len(outline.spans):,} spans"
    if i.model_id:
        head += f"  version {escape(_names(gv, [i.model_id])[i.model_id])} [dim]({i.model_id})[/]"
    if i.token_usage is not None:
        head += f"  {i.token_usage.total_tokens:,} tok"
    if i.cost is not None:
        head += f"  ${i.cost:.6f}"
    for line in trace_tree.render(head, shown, full, path[:-1]):
        console.print(line, soft_wrap=True, highlight=False)


@app.command("stats")
def traces_stats(
    experiment: Annotated[
        str | None, typer.Option(help="Experiment name or id (default: all of them).")
    ] = None,
    model: Annotated[list[str] | None, typer.Option(help="Version id or name; repeat for several.")] = None,
    since: Annotated[str | None, typer.Option(help="Only traces newer than this: 30m, 2h, 7d.")] = None,
    fmt: FormatOption = "table",
    tracking_uri: UriOption = None,
) -> None:
    """Per-version trace count, error rate, latency p50/p95/p99, tokens and cost."""
    gv = genver_for(tracking_uri)
    exp_ids = [experiment_id(gv, experiment)] if experiment else None
    model_ids = [model_ref(gv, m, exp_ids[0] if exp_ids else "0") for m in model] if model else None
    start = int(time.time() * 1000) - _duration_ms(since) if since else None
    stats = gv.get_trace_stats(model_ids=model_ids, experiment_ids=exp_ids, start_time=start, flush=False)
    if fmt == "json":
        typer.echo(json.dumps([s.to_dict() for s in stats], indent=2))
        return
    names = _names(gv, [s.model_id for s in stats])
    rows = [
        [
            escape(names.get(s.model_id or "", s.model_id or "(no version)")),
            str(s.trace_count),
            f"{s.error_rate:.1%}",
            _ms(s.latency_p50_ms),
            _ms(s.latency_p95_ms),
            _ms(s.latency_p99_ms),
            f"{s.tokens_per_request:.1f}",
            f"{s.cost_per_request:.6f}",
            f"{s.cost:.6f}",
        ]
        for s in stats
    ]
    columns = [Col("version", key=True)] + [
        Col(h, numeric=True, drop=d)
        for h, d in (
            ("traces", 0),
            ("errors", 0),
            ("p50 ms", 0),
            ("p95 ms", 0),
            ("p99 ms", 2),
            ("tokens/req", 3),
            ("cost/req $", 0),
            ("cost $", 1),
        )
    ]
    print_list("Trace statistics per version", columns, rows)


def _names(gv: Any, model_ids: list[str | None]) -> dict[str, str]:
    from genver.exceptions import GenverError

    out = {}
    for mid in dict.fromkeys(model_ids):  # one lookup per version
        if mid:
            try:
                out[mid] = gv.get_logged_model(mid).name
            except GenverError:
                out[mid] = mid
    return out


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _duration_ms(text: str) -> int:
    from genver.durations import parse_duration

    return parse_duration(text, "--since")


def _info_json(info: Any) -> dict[str, Any]:
    return {
        "trace_id": info.trace_id,
        "experiment_id": info.experiment_id,
        "request_time": info.request_time,
        "execution_duration": info.execution_duration,
        "state": info.state.value,
        "model_id": info.model_id,
        "request_preview": info.request_preview,
        "response_preview": info.response_preview,
        "token_usage": info.token_usage.to_dict() if info.token_usage else None,
        "cost": info.cost,
        "tags": dict(info.tags),
    }


@app.command("deliver-spool")
def traces_deliver_spool(
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for the store.")] = 60.0,
    tracking_uri: UriOption = None,
) -> None:
    """Deliver the traces spooled to disk while the store was down (normally delivered in the
    background by the next process that traces); exit 1 if some are left."""
    gv = genver_for(tracking_uri)
    rt = gv.tracing_runtime()
    if rt is None:
        console.print("Tracing is off (GENVER_TRACING_ENABLED): nothing to deliver.")
        return
    spool = rt.exporter.spool
    before = len(spool.pending())
    stored = gv.flush_trace_async_logging(timeout=timeout)
    stats = gv.get_trace_export_stats()
    left = len(spool.pending())
    delivered = stats.delivered_from_spool if stats is not None else 0
    console.print(
        f"Delivered {delivered:,} trace(s) from {before} batch file(s) in {spool.directory}; "
        f"{left} file(s) left.",
        soft_wrap=True,
        highlight=False,
    )
    gv.flush_trace_async_logging(terminate=True, timeout=5)
    if left or not stored:
        raise typer.Exit(1)
