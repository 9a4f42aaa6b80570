"""``genver prompts list|show|diff|alias set``: thin commands over the client's prompt calls."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.text import Text

from genver.cli.common import UriOption, console, genver_for, when
from genver.cli.tables import Col, print_list
from genver.compare.prompt_diffs import prompt_text

app = typer.Typer(
    help="Prompts: versioned templates (prompts:/name/3, prompts:/name@alias).", no_args_is_help=True
)
alias_app = typer.Typer(help="Prompt aliases.", no_args_is_help=True)
app.add_typer(alias_app, name="alias")

PromptArg = Annotated[str, typer.Argument(help="NAME, NAME@alias, NAME/version or a prompts:/ URI.")]


def _uri(ref: str) -> str:
    return ref if ref.startswith("prompts:/") else f"prompts:/{ref}" if ("@" in ref or "/" in ref) else ref


@app.command("list")
def list_prompts(
    filter_string: Annotated[str | None, typer.Option("--filter", help="e.g. \"name LIKE 'qa%'\".")] = None,
    tracking_uri: UriOption = None,
) -> None:
    """Every prompt: its latest version, aliases and tags."""
    from rich.markup import escape

    gv = genver_for(tracking_uri)
    rows = [
        [
            escape(p.name),
            str(p.latest_version or "—"),
            escape(", ".join(f"@{a}→{v}" for a, v in p.aliases.items())),
            escape(", ".join(f"{k}={v}" for k, v in p.tags.items())),
            when(p.last_updated_timestamp),
        ]
        for p in gv.client.search_prompts(filter_string=filter_string)
    ]
    columns = [
        Col("name", key=True),
        Col("latest", numeric=True),
        Col("aliases"),
        Col("tags", drop=2),
        Col("updated", drop=1),
    ]
    print_list("Prompts", columns, rows)


@app.command("show")
def show(ref: PromptArg, tracking_uri: UriOption = None) -> None:
    """One version's template, variables, commit message and model config (a name: the latest)."""
    p = genver_for(tracking_uri).client.load_prompt(_uri(ref), cache_ttl_seconds=0)
    console.print(Text(f"{p.uri}  ({p.prompt_type}; aliases: {', '.join(p.aliases) or '—'})", style="bold"))
    console.print(f"registered {when(p.creation_timestamp)} by {p.user_id or '—'}: {p.commit_message or '—'}")
    console.print(f"variables: {', '.join(sorted(p.variables)) or '—'}")
    if p.model_config:
        console.print(f"model config: {json.dumps(p.model_config)}")
    console.print(Text(prompt_text(p)))


@app.command("diff")
def diff(a: PromptArg, b: PromptArg, tracking_uri: UriOption = None) -> None:
    """A unified diff of two prompt versions' texts (``qa/1 qa@production``)."""
    import difflib

    client = genver_for(tracking_uri).client
    old, new = (client.load_prompt(_uri(r), cache_ttl_seconds=0) for r in (a, b))
    for line in difflib.unified_diff(
        prompt_text(old).splitlines(), prompt_text(new).splitlines(), old.uri, new.uri, lineterm=""
    ):
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        console.print(Text(line, style=style))


@alias_app.command("set")
def alias_set(
    name: Annotated[str, typer.Argument(help="The prompt.")],
    alias: Annotated[str, typer.Argument(help="The alias (production or @production).")],
    version: Annotated[int, typer.Argument(help="The version it points to.")],
    tracking_uri: UriOption = None,
) -> None:
    """Point NAME@ALIAS at VERSION (recorded in the history chain)."""
    genver_for(tracking_uri).client.set_prompt_alias(name, alias, version)
    console.print(f"prompts:/{name}@{alias.lstrip('@')} → version {version}")
