"""Datasets for metrics: ``genver.data.from_pandas`` and ``genver.data.from_dict``.

A dataset has a ``name`` and a content ``digest``: the same rows give the same digest, so
metrics logged on "the same data" can be found and compared across versions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from genver.entities import Dataset
from genver.exceptions import InvalidArgumentError

__all__ = ["Dataset", "digest_of", "from_dict", "from_pandas"]


def digest_of(payload: Any) -> str:
    """A 16-hex-digit digest of a JSON-serializable payload (keys sorted)."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def from_dict(
    data: object,
    *,
    name: str | None = None,
    source: str | None = None,
    targets: str | None = None,
) -> Dataset:
    """A dataset from columns (``{"q": [...], "a": [...]}``) or records (``[{"q": ..}, ..]``)."""
    if isinstance(data, Mapping):
        payload: Any = {str(k): list(v) if isinstance(v, Sequence) else [v] for k, v in data.items()}
        columns = sorted(payload)
    elif isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        records = [r for r in data if isinstance(r, Mapping)]
        if len(records) != len(data):
            raise InvalidArgumentError("from_dict expects a dict of columns or a list of dicts (records).")
        payload = [dict(r) for r in records]
        columns = sorted({str(k) for r in records for k in r})
    else:
        raise InvalidArgumentError(
            f"from_dict expects a dict of columns or a list of dicts, got {type(data).__name__}."
        )
    return _dataset(payload, columns, name, source, targets)


def from_pandas(
    df: Any, *, name: str | None = None, source: str | None = None, targets: str | None = None
) -> Dataset:
    """A dataset from a pandas DataFrame; the digest covers columns and values."""
    to_dict = getattr(df, "to_dict", None)
    if to_dict is None or not hasattr(df, "columns"):
        raise InvalidArgumentError(f"from_pandas expects a pandas DataFrame, got {type(df).__name__}.")
    return _dataset(to_dict(orient="split"), [str(c) for c in df.columns], name, source, targets)


def _dataset(
    payload: Any, columns: list[str], name: str | None, source: str | None, targets: str | None
) -> Dataset:
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise InvalidArgumentError(f"Invalid dataset name {name!r}: expected a non-empty string.")
    if targets is not None and targets not in columns:
        raise InvalidArgumentError(f"Invalid targets {targets!r}: not one of the columns {columns}.")
    digest = digest_of(payload)
    schema = json.dumps({"columns": columns, "targets": targets})
    rows = len(payload) if isinstance(payload, list) else len(next(iter(payload.values()), []))
    if isinstance(payload, dict) and "data" in payload and "columns" in payload:
        rows = len(payload["data"])
    return Dataset(
        name=name or "dataset",
        digest=digest,
        source_type="code" if source is None else "external",
        source=source or "",
        schema=schema,
        profile=json.dumps({"num_rows": rows}),
    )
