"""A page of search results with the token for the next page."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


class PagedList(list[T]):
    """A ``list`` of results; ``token`` is the next page's token, or None on the last page."""

    def __init__(self, items: Iterable[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def collect_pages(
    fetch: Callable[[int, str | None], PagedList[T]], max_results: int | None, page_size: int = 1000
) -> list[T]:
    """Every result of a paged search, up to ``max_results`` (None: all of them).

    ``fetch(size, token)`` returns one page of at most ``size`` items.
    """
    out: list[T] = []
    token: str | None = None
    while max_results is None or len(out) < max_results:
        page = fetch(page_size if max_results is None else min(page_size, max_results - len(out)), token)
        out.extend(page)
        token = page.token
        if not token:
            break
    return out
