"""Prompts: named, versioned templates (MLflow 3's prompt registry), and how they are named.

A ``PromptVersion`` is immutable: its template (a text with ``{{variable}}`` placeholders, or a
chat: a list of ``{"role": ..., "content": ...}`` messages), commit message, model config and
response format never change once registered; only its tags and aliases do.

>>> p = PromptVersion("greet", 1, "Hello, {{ title }} {{name}}!")
>>> sorted(p.variables), p.format(title="Ms", name="Ada"), p.uri
(['name', 'title'], 'Hello, Ms Ada!', 'prompts:/greet/1')
>>> parse_prompt_uri("prompts:/greet@production")
PromptRef(name='greet', version=None, alias='production')
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from genver.exceptions import InvalidArgumentError

#: ``{{ name }}`` or ``{{ a.b }}`` (MLflow's variable pattern: Jinja2 identifiers, dotted).
VARIABLE = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*)\s*\}\}")
#: MLflow's prompt name rule; ``.`` and ``..`` alone are refused too (they are path segments).
NAME = re.compile(r"[a-zA-Z0-9_.-]+")
MAX_NAME_LENGTH = 255
URI_PREFIX = "prompts:/"
TEXT = "text"
CHAT = "chat"
#: A prompt's newest version, wherever an alias is accepted (never set as an alias).
LATEST = "latest"
#: The tag MLflow puts on a LoggedModel (and a trace, and a span attribute) listing the prompt
#: versions it used: JSON ``[{"name": ..., "version": "3"}, ...]``.
LINKED_PROMPTS_KEY = "mlflow.linkedPrompts"


def check_prompt_name(name: object) -> str:
    """A prompt name: ASCII letters, digits, ``_ . -`` (MLflow's rule), at most 255 characters."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or name in (".", ".."):
        raise InvalidArgumentError(
            f"Invalid prompt name {name!r}: a prompt name is ASCII letters, digits, '_', '.' and '-' "
            "(not '.' or '..' alone), e.g. 'support-agent.system'."
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgumentError(
            f"Invalid prompt name {name[:40]!r}... of {len(name)} characters: at most {MAX_NAME_LENGTH}."
        )
    return name


def check_prompt_version(version: object) -> int:
    """A version number: a positive int, or a string of digits (``"3"``)."""
    if isinstance(version, bool):
        number = None
    elif isinstance(version, int):
        number = version
    elif isinstance(version, str) and version.strip().isascii() and version.strip().isdigit():
        number = int(version.strip())
    else:
        number = None
    if number is None or not 1 <= number < 2**31:
        raise InvalidArgumentError(
            f"Invalid prompt version {version!r}: expected a version number such as 1 or '3'."
        )
    return number


class PromptRef(NamedTuple):
    """A prompt version named by number or by alias (``latest``: the newest version)."""

    name: str
    version: int | None
    alias: str | None

    @property
    def uri(self) -> str:
        return (
            f"{URI_PREFIX}{self.name}/{self.version}"
            if self.alias is None
            else f"{URI_PREFIX}{self.name}@{self.alias}"
        )


def parse_prompt_uri(name_or_uri: object, version: object = None) -> PromptRef:
    """Read ``prompts:/name/3``, ``prompts:/name@alias``, or a name with ``version`` (a name
    alone means its latest version, as in MLflow). Refuses a URI together with ``version``.

    >>> parse_prompt_uri("qa", 2), parse_prompt_uri("prompts:/qa/2") == parse_prompt_uri("qa", "2")
    (PromptRef(name='qa', version=2, alias=None), True)
    """
    from genver.validation import check_alias

    if not isinstance(name_or_uri, str):
        raise InvalidArgumentError(
            f"Invalid prompt {name_or_uri!r}: expected a name or a URI such as 'prompts:/qa/3' or "
            "'prompts:/qa@production'."
        )
    if not name_or_uri.startswith(URI_PREFIX):
        name = check_prompt_name(name_or_uri)
        if version is None:
            return PromptRef(name, None, LATEST)
        return PromptRef(name, check_prompt_version(version), None)
    if version is not None:
        raise InvalidArgumentError(
            f"Both a URI ({name_or_uri!r}) and version={version!r} were given: the version goes in the "
            "URI ('prompts:/name/3') or with a plain name (load_prompt('name', version=3))."
        )
    rest = name_or_uri[len(URI_PREFIX) :]
    name, at, alias = rest.partition("@")
    if at:
        if alias.lower() == LATEST:
            return PromptRef(_uri_name(name, name_or_uri), None, LATEST)
        try:
            return PromptRef(_uri_name(name, name_or_uri), None, check_alias(alias))
        except InvalidArgumentError:
            raise _bad_uri(name_or_uri) from None
    name, slash, number = rest.partition("/")
    if not slash:
        raise _bad_uri(name_or_uri)
    try:
        return PromptRef(_uri_name(name, name_or_uri), check_prompt_version(number), None)
    except InvalidArgumentError:
        raise _bad_uri(name_or_uri) from None


def _uri_name(name: str, uri: str) -> str:
    try:
        return check_prompt_name(name)
    except InvalidArgumentError:
        raise _bad_uri(uri) from None


def _bad_uri(uri: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"Invalid prompt URI {uri!r}: expected 'prompts:/<name>/<version>' (e.g. 'prompts:/qa/3') or "
        "'prompts:/<name>@<alias>' (e.g. 'prompts:/qa@production', 'prompts:/qa@latest')."
    )


def template_text(template: object) -> tuple[str, str]:
    """``(kind, text)`` of a template: ``("text", the string)`` or ``("chat", canonical JSON of
    the messages)``; anything else is refused by value."""
    if isinstance(template, str):
        if "\x00" in template:
            raise InvalidArgumentError("Invalid prompt template: NUL characters (\\x00) are not allowed.")
        return TEXT, template
    if isinstance(template, Sequence) and not isinstance(template, (bytes, bytearray)) and template:
        messages = []
        for i, message in enumerate(template):
            if (
                not isinstance(message, Mapping)
                or not isinstance(message.get("role"), str)
                or not isinstance(message.get("content"), str)
                or not message["role"]
            ):
                raise InvalidArgumentError(
                    f"Invalid chat template message {i} {message!r}: each message is a dict with a "
                    "'role' and a 'content' string, e.g. {'role': 'user', 'content': 'Hi {{name}}'}."
                )
            messages.append(dict(message))
        text = json.dumps(messages, ensure_ascii=False, separators=(",", ":"))
        if "\x00" in text:
            raise InvalidArgumentError("Invalid prompt template: NUL characters (\\x00) are not allowed.")
        return CHAT, text
    raise InvalidArgumentError(
        f"Invalid prompt template {template!r}: expected a string with {{{{variables}}}} or a non-empty "
        "list of chat messages such as [{'role': 'system', 'content': 'You are {{style}}.'}]."
    )


def json_object(value: Mapping[str, Any] | None, what: str) -> dict[str, Any] | None:
    """A model config or response format: None, or a dict that JSON can hold (a copy)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(
            f"Invalid {what} {value!r}: expected a dict such as {{'temperature': 0.2}}."
        )
    try:
        out: dict[str, Any] = json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"Invalid {what} {value!r}: it must be JSON ({e}).") from None
    return out


def template_variables(text: str) -> frozenset[str]:
    return frozenset(VARIABLE.findall(text))


def fill(text: str, values: Mapping[str, Any]) -> str:
    """Replace each ``{{var}}`` that ``values`` names, in one pass (a value containing
    ``{{x}}`` is inserted as it is, never filled again)."""

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        return str(values[key]) if key in values else m.group(0)

    return VARIABLE.sub(sub, text)


class PromptVersion:
    """One registered version of a prompt (``mlflow.entities.model_registry.PromptVersion``).

    Immutable: attributes cannot be set, and ``template`` returns a fresh copy of a chat's
    messages, so a cached version can be shared safely.
    """

    __slots__ = (
        "_aliases",
        "_kind",
        "_text",
        "_variables",
        "commit_message",
        "creation_timestamp",
        "last_updated_timestamp",
        "model_config",
        "name",
        "response_format",
        "tags",
        "user_id",
        "version",
    )
    _kind: str
    _text: str
    _variables: frozenset[str]
    _aliases: tuple[str, ...]
    name: str
    version: int
    commit_message: str | None
    creation_timestamp: int
    last_updated_timestamp: int | None
    tags: dict[str, str]
    user_id: str | None
    model_config: dict[str, Any] | None
    response_format: dict[str, Any] | None

    def __init__(
        self,
        name: str,
        version: int,
        template: str | list[dict[str, Any]],
        commit_message: str | None = None,
        creation_timestamp: int | None = None,
        tags: Mapping[str, str] | None = None,
        aliases: Sequence[str] | None = None,
        last_updated_timestamp: int | None = None,
        user_id: str | None = None,
        response_format: Mapping[str, Any] | None = None,
        model_config: Mapping[str, Any] | None = None,
    ) -> None:
        kind, text = template_text(template)
        put = object.__setattr__
        put(self, "name", name)
        put(self, "version", int(version))
        put(self, "_kind", kind)
        put(self, "_text", text)
        put(self, "_variables", template_variables(text))
        put(self, "commit_message", commit_message)
        put(self, "creation_timestamp", int(creation_timestamp or 0))
        put(self, "tags", dict(tags or {}))
        put(self, "_aliases", tuple(sorted(aliases or ())))
        put(self, "last_updated_timestamp", last_updated_timestamp)
        put(self, "user_id", user_id)
        put(self, "response_format", None if response_format is None else dict(response_format))
        put(self, "model_config", None if model_config is None else dict(model_config))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"PromptVersion is immutable: cannot set {name!r} (register a new version).")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"PromptVersion is immutable: cannot delete {name!r}.")

    @property
    def template(self) -> str | list[dict[str, Any]]:
        """The text, or a fresh list of the chat's messages."""
        if self._kind == TEXT:
            return self._text
        messages: list[dict[str, Any]] = json.loads(self._text)
        return messages

    @property
    def template_text(self) -> str:
        """The template as stored: the text, or the chat's messages as JSON."""
        return self._text

    @property
    def is_text_prompt(self) -> bool:
        return self._kind == TEXT

    @property
    def prompt_type(self) -> str:
        """``"text"`` or ``"chat"``."""
        return self._kind

    @property
    def variables(self) -> set[str]:
        """The names the template's ``{{variables}}`` use."""
        return set(self._variables)

    @property
    def aliases(self) -> list[str]:
        return list(self._aliases)

    @property
    def uri(self) -> str:
        return f"{URI_PREFIX}{self.name}/{self.version}"

    @property
    def description(self) -> str | None:
        """MLflow's other name for the commit message."""
        return self.commit_message

    def format(self, allow_partial: bool = False, **kwargs: Any) -> Any:
        """The template with its variables filled: a string, or a list of chat messages.

        A variable without a value is an ``InvalidArgumentError`` naming every missing one (and,
        for a chat, the messages that use it); with ``allow_partial=True`` a new ``PromptVersion``
        with the given ones filled is returned instead, as in MLflow."""
        missing = self._variables.difference(kwargs)
        if missing and not allow_partial:
            raise InvalidArgumentError(self._missing_message(missing))
        if self._kind == TEXT:
            filled: Any = fill(self._text, kwargs)
        else:
            filled = [{**m, "content": fill(m["content"], kwargs)} for m in json.loads(self._text)]
        if not missing:
            return filled
        return PromptVersion(
            self.name,
            self.version,
            filled,
            commit_message=self.commit_message,
            creation_timestamp=self.creation_timestamp,
            tags=self.tags,
            aliases=self._aliases,
            last_updated_timestamp=self.last_updated_timestamp,
            user_id=self.user_id,
            response_format=self.response_format,
            model_config=self.model_config,
        )

    def _missing_message(self, missing: frozenset[str]) -> str:
        names = ", ".join(repr(n) for n in sorted(missing))
        where = ""
        if self._kind == CHAT:
            uses = [
                f"message {i} ({m['role']})"
                for i, m in enumerate(json.loads(self._text))
                if missing.intersection(VARIABLE.findall(m["content"]))
            ]
            where = " used in " + ", ".join(uses)
        example = ", ".join(f"{n}=..." for n in sorted(missing))
        return (
            f"Missing variables {names}{where} to format prompt {self.uri!r}: pass format({example}), "
            "or allow_partial=True to fill only some."
        )

    def to_single_brace_format(self) -> str | list[dict[str, Any]]:
        """The template with ``{{var}}`` written ``{var}`` (LangChain's placeholders)."""
        if self._kind == TEXT:
            return VARIABLE.sub(r"{\1}", self._text)
        return [{**m, "content": VARIABLE.sub(r"{\1}", m["content"])} for m in json.loads(self._text)]

    def to_dictionary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "template": self.template,
            "prompt_type": self._kind,
            "commit_message": self.commit_message,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "user_id": self.user_id,
            "tags": dict(self.tags),
            "aliases": list(self._aliases),
            "model_config": self.model_config,
            "response_format": self.response_format,
        }

    def _key(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.version,
            self._kind,
            self._text,
            self.commit_message,
            self.creation_timestamp,
            tuple(sorted(self.tags.items())),
            self._aliases,
            self.last_updated_timestamp,
            self.user_id,
            json.dumps(self.model_config, sort_keys=True),
            json.dumps(self.response_format, sort_keys=True),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PromptVersion) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.name, self.version, self._text))

    def __repr__(self) -> str:
        shown = self._text if len(self._text) <= 30 else self._text[:30] + "..."
        return f"PromptVersion(name={self.name}, version={self.version}, template={shown})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Prompt:
    """A prompt (``mlflow.entities.model_registry.Prompt``): its name, tags and times, plus, in
    genver, its newest version number and its aliases (alias → version)."""

    name: str
    description: str | None = None
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    latest_version: int | None = None
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkedPrompt:
    """A prompt version a LoggedModel (or a trace) used."""

    name: str
    version: int

    @property
    def uri(self) -> str:
        return f"{URI_PREFIX}{self.name}/{self.version}"


def linked_prompts(value: str | None) -> list[LinkedPrompt]:
    """The prompt versions a ``mlflow.linkedPrompts`` tag lists (an unreadable value: none)."""
    if not value:
        return []
    try:
        items = json.loads(value)
    except ValueError:
        return []
    found = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            try:
                found.append(
                    LinkedPrompt(name=item["name"], version=check_prompt_version(item.get("version")))
                )
            except InvalidArgumentError:
                continue
    return found


def linked_prompts_value(current: str | None, added: Sequence[LinkedPrompt]) -> str:
    """``current`` (a ``mlflow.linkedPrompts`` value) with ``added`` appended, without duplicates,
    in MLflow's format (versions as strings)."""
    links = linked_prompts(current)
    for link in added:
        if link not in links:
            links.append(link)
    return json.dumps([{"name": p.name, "version": str(p.version)} for p in links], separators=(",", ":"))
