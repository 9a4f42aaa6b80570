"""What every part of ``GenverClient`` shares: the store it is the door to, and argument checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from genver.entities import ViewType
from genver.exceptions import InvalidArgumentError
from genver.store.base import Store
from genver.validation import check_id


class ClientBase:
    """The store behind a client, opened from a tracking URI unless one is given."""

    def __init__(
        self, tracking_uri: str | None = None, *, store: Store | None = None, shown_as: str | None = None
    ) -> None:
        """``shown_as`` names the store in messages instead of its URI (a server answering a
        remote caller names itself, never its database)."""
        self._shown_as = shown_as
        if store is None:
            from genver.context import resolve_tracking_uri
            from genver.store import store_for_uri

            store = store_for_uri(resolve_tracking_uri(tracking_uri))
        self._store = store

    @property
    def store(self) -> Store:
        """The store this client calls. Only ``genver.client`` itself uses it; tests and tools may
        read it, genver's other layers go through the client's methods (a test checks)."""
        return self._store

    @property
    def tracking_uri(self) -> str:
        """The store's URI with any password hidden, for messages."""
        return self._shown_as or self._store.display_uri()

    def close(self) -> None:
        self._store.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.tracking_uri!r})"


def stringify(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def pairs(items: Mapping[str, Any] | Iterable[Any], what: str) -> dict[str, Any]:
    """A dict, or a list of objects with ``key`` and ``value`` (MLflow's ``Param``/``RunTag``)."""
    if isinstance(items, Mapping):
        return dict(items)
    out: dict[str, Any] = {}
    for item in items:
        key, value = getattr(item, "key", None), getattr(item, "value", None)
        if key is None:
            raise InvalidArgumentError(
                f"Invalid entry {item!r} in {what}: expected objects with key and value."
            )
        out[key] = value
    return out


def check_filter(filter_string: object) -> str | None:
    if filter_string is None or isinstance(filter_string, str):
        return filter_string
    raise InvalidArgumentError(
        f"Invalid filter_string {filter_string!r}: expected a string such as \"name = 'agent-v1'\"."
    )


def check_view_type(view_type: object) -> ViewType:
    if isinstance(view_type, int) and not isinstance(view_type, bool):
        for member in ViewType:
            if member.value == view_type:
                return member
    if isinstance(view_type, str) and view_type.upper() in ViewType.__members__:
        return ViewType[view_type.upper()]
    allowed = ", ".join(f"ViewType.{v.name}" for v in ViewType)
    raise InvalidArgumentError(f"Invalid view_type {view_type!r}: expected one of {allowed}.")


def str_list(items: Sequence[str] | None, what: str) -> list[str] | None:
    if items is None:
        return None
    if isinstance(items, str):
        return [items]
    return [check_id(i, what) for i in items]


def id_list(ids: str | int | Sequence[str | int] | None) -> list[str] | None:
    """Experiment ids as strings; one id (not a sequence of characters) becomes a list of one."""
    if ids is None:
        return None
    if isinstance(ids, (str, int)):
        return [str(ids)]
    return [str(i) for i in ids]
