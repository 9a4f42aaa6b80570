"""Property tests of the prompt URI and template parsers: every valid URI reads back as what
wrote it, every invalid one is an ``InvalidArgumentError`` (never another exception), and
formatting fills exactly the variables a template names."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from genver.entities.prompt import PromptRef, PromptVersion, parse_prompt_uri
from genver.exceptions import InvalidArgumentError

NAMES = st.text(string.ascii_letters + string.digits + "_.-", min_size=1, max_size=40).filter(
    lambda n: n not in (".", "..")
)
ALIASES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True).filter(
    lambda a: a.lower() != "latest"
)
IDENT = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)


@given(NAMES, st.integers(1, 2**31 - 1))
def test_version_uris_round_trip(name: str, version: int) -> None:
    ref = parse_prompt_uri(f"prompts:/{name}/{version}")
    assert (
        ref
        == PromptRef(name, version, None)
        == parse_prompt_uri(name, version)
        == parse_prompt_uri(name, str(version))
    )
    assert parse_prompt_uri(ref.uri) == ref


@given(NAMES, ALIASES)
def test_alias_uris_round_trip(name: str, alias: str) -> None:
    ref = parse_prompt_uri(f"prompts:/{name}@{alias}")
    assert ref == PromptRef(name, None, alias) and parse_prompt_uri(ref.uri) == ref


@given(st.text(max_size=60), st.one_of(st.none(), st.integers(), st.text(max_size=5)))
def test_anything_else_is_refused_by_value(text: str, version: object) -> None:
    try:
        ref = parse_prompt_uri(text, version)
    except InvalidArgumentError:
        return
    assert ref.name and (ref.version is None) != (ref.alias is None)


@given(
    st.lists(IDENT, min_size=1, max_size=5, unique=True),
    st.lists(st.text(max_size=10), min_size=5, max_size=5),
)
def test_format_fills_every_variable_once(names: list[str], values: list[str]) -> None:
    template = " | ".join(f"{n}={{{{ {n} }}}}" for n in names)
    prompt = PromptVersion("p", 1, template)
    assert prompt.variables == set(names)
    given_values = dict(zip(names, values, strict=False))
    assert prompt.format(**given_values) == " | ".join(f"{n}={given_values[n]}" for n in names)
    missing = names[0]
    try:
        prompt.format(**{k: v for k, v in given_values.items() if k != missing})
    except InvalidArgumentError as e:
        assert repr(missing) in str(e)
    else:
        raise AssertionError("a missing variable must be refused")


@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
        max_leaves=6,
    )
)
def test_templates_are_text_or_chat_messages_or_refused(template: object) -> None:
    try:
        prompt = PromptVersion("p", 1, template)  # type: ignore[arg-type]
    except InvalidArgumentError:
        return
    assert prompt.template == template
