"""Datasets that metrics and evaluations are computed on, identified by a content digest."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """A named dataset with a content ``digest``; two datasets with equal content share it."""

    name: str
    digest: str
    source_type: str = "code"
    source: str = ""
    schema: str | None = None
    profile: str | None = None
