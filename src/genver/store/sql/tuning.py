"""PostgreSQL settings that hurt a trace store as it grows (``genver server`` warns at start,
``genver db check`` lists them).

PostgreSQL's defaults are sized for a small machine shared with other programs: 128 MB of
buffer cache, 4 MB per sort, 1 GB of WAL between checkpoints, random reads priced for spinning
disks. A genver store taking production traffic has tables and indexes of many gigabytes,
statistics that sort a version's latencies, and a steady stream of inserts, so those defaults
turn cached index lookups into disk reads, in-memory sorts into temporary files, and ingest into
a checkpoint every few seconds. What to set instead is in the README ("Tuning PostgreSQL").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

_KB = 1024
_MB = 1024 * _KB
_GB = 1024 * _MB


@dataclass(frozen=True, slots=True)
class Advice:
    """One setting below what genver needs at scale: its value now, what to set, and why."""

    setting: str
    current: str
    recommended: str
    why: str

    def __str__(self) -> str:
        return f"{self.setting} = {self.current} (set {self.recommended}): {self.why}"


@dataclass(frozen=True, slots=True)
class _Rule:
    setting: str
    minimum: float | None  # in bytes for memory settings; None: ``maximum`` applies
    maximum: float | None
    recommended: str
    why: str


_RULES = (
    _Rule(
        "shared_buffers",
        1 * _GB,
        None,
        "at least 1GB, about 25% of the database host's memory",
        "the trace and span indexes stop fitting in PostgreSQL's cache long before a million traces",
    ),
    _Rule(
        "work_mem",
        16 * _MB,
        None,
        "16MB to 64MB",
        "per-version latency percentiles sort in memory instead of in temporary files",
    ),
    _Rule(
        "maintenance_work_mem",
        256 * _MB,
        None,
        "at least 256MB",
        "vacuum and index builds on big span tables finish in fewer passes",
    ),
    _Rule(
        "max_wal_size",
        4 * _GB,
        None,
        "at least 4GB",
        "steady trace ingest otherwise forces a checkpoint every few seconds",
    ),
    _Rule(
        "random_page_cost",
        None,
        2.0,
        "1.1 on SSD or cloud storage",
        "the planner otherwise prefers scanning whole tables to using their indexes",
    ),
    _Rule(
        "autovacuum",
        1,
        None,
        "on (PostgreSQL's default)",
        "nothing else keeps the planner's statistics, the visibility map that index-only scans "
        "need and the BRIN summary of trace times up to date as traces arrive",
    ),
)
#: Boolean settings as ``pg_settings`` reports them.
_SWITCHES = {"on": "1", "off": "0"}

#: ``pg_settings.unit`` as bytes (memory settings are reported in these units).
_UNITS = {"B": 1, "kB": _KB, "8kB": 8 * _KB, "16kB": 16 * _KB, "MB": _MB, "GB": _GB}


def postgres_advice(engine: Engine) -> list[Advice]:
    """The settings of the PostgreSQL server behind ``engine`` that will slow genver down at
    scale (empty for SQLite, and when every setting is at or past the recommendation)."""
    if engine.dialect.name != "postgresql":
        return []
    names = [rule.setting for rule in _RULES]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT name, setting, unit FROM pg_settings WHERE name = ANY(:names)"),
            {"names": names},
        ).all()
    return advise({name: (setting, unit) for name, setting, unit in rows})


def advise(settings: Mapping[str, tuple[str, str | None]]) -> list[Advice]:
    """The advice for ``settings`` as ``pg_settings`` reports them: name -> (setting, unit)."""
    advice: list[Advice] = []
    for rule in _RULES:
        if rule.setting not in settings:
            continue
        setting, unit = settings[rule.setting]
        try:
            number = float(_SWITCHES.get(setting, setting)) * _UNITS.get(unit or "", 1)
        except ValueError:  # not a number: nothing to compare
            continue
        low = rule.minimum is not None and number < rule.minimum
        high = rule.maximum is not None and number > rule.maximum
        if low or high:
            shown = _bytes(number) if unit in _UNITS else setting
            advice.append(Advice(rule.setting, shown, rule.recommended, rule.why))
    return advice


def _bytes(n: float) -> str:
    for unit, size in (("GB", _GB), ("MB", _MB), ("kB", _KB)):
        if n >= size and n % size == 0:
            return f"{int(n // size)}{unit}"
    return f"{int(n)}B"
