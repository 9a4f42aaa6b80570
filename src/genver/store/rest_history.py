"""The aliases-and-history half of ``RestStore`` (``/api/v1/aliases``, ``/api/v1/history``,
``/api/v1/models/<id>/aliases|history``), kept apart to keep ``rest.py`` small.

Moving an alias is idempotent (``PUT``: setting it where it is changes nothing) and retried;
deleting one is sent once, since a retry after a lost answer would find it gone."""

from __future__ import annotations

from urllib.parse import quote

from genver import wire as w
from genver.entities import HistoryEntry, HistoryHead, LoggedModel, ModelAlias, PagedList
from genver.store.rest_transport import RestTransport, parse, path_id
from genver.validation import check_alias, check_id, check_int


class RestHistory(RestTransport):
    """Aliases and history over HTTP; mixed into ``RestStore``."""

    def set_logged_model_alias(self, model_id: str, alias: str) -> None:
        path = f"/models/{path_id(model_id, 'model id')}/aliases/{_alias(alias)}"
        self._call("PUT", path, idempotent=True)

    def delete_logged_model_alias(self, *, experiment_id: str, alias: str) -> None:
        params = {"experiment": check_id(experiment_id, "experiment id")}
        self._call("DELETE", f"/aliases/{_alias(alias)}", params=params, idempotent=False)

    def get_logged_model_by_alias(self, *, experiment_id: str, alias: str) -> LoggedModel:
        params = {"experiment": check_id(experiment_id, "experiment id")}
        data = self._call("GET", f"/aliases/{_alias(alias)}", params=params, idempotent=True)
        return parse(w.LoggedModelW, data).entity()

    def get_logged_model_aliases(self, *, experiment_id: str) -> list[ModelAlias]:
        params = {"experiment": check_id(experiment_id, "experiment id")}
        data = self._call("GET", "/aliases", params=params, idempotent=True)
        return [a.entity() for a in parse(w.AliasList, data).aliases]

    def get_logged_model_history(
        self,
        model_id: str,
        *,
        max_results: int = 1000,
        page_token: str | None = None,
        newest_first: bool = False,
    ) -> PagedList[HistoryEntry]:
        params = {"max_results": str(check_int(max_results, "max_results", minimum=1))}
        if page_token:
            params["page_token"] = page_token
        if newest_first:
            params["newest_first"] = "true"
        path = f"/models/{path_id(model_id, 'model id')}/history"
        page = parse(w.HistoryPage, self._call("GET", path, params=params, idempotent=True))
        return PagedList([e.entity() for e in page.entries], page.next_page_token)

    def get_alias_history(self, *, experiment_id: str, alias: str) -> list[HistoryEntry]:
        params = {"experiment": check_id(experiment_id, "experiment id")}
        data = self._call("GET", f"/aliases/{_alias(alias)}/history", params=params, idempotent=True)
        return [e.entity() for e in parse(w.HistoryList, data).entries]

    def read_history(self, *, after_seq: int = 0, max_results: int = 1000) -> list[HistoryEntry]:
        params = {
            "after_seq": str(check_int(after_seq, "after_seq", minimum=0)),
            "max_results": str(check_int(max_results, "max_results", minimum=1)),
        }
        data = self._call("GET", "/history", params=params, idempotent=True)
        return [e.entity() for e in parse(w.HistoryList, data).entries]

    def history_head(self) -> HistoryHead:
        return parse(w.HistoryHeadW, self._call("GET", "/history/head", idempotent=True)).entity()


def _alias(alias: object) -> str:
    """An alias for a URL path, checked as the local store checks it."""
    return quote(check_alias(alias), safe="")
