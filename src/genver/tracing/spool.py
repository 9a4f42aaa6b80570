"""A local spool for traces the store could not take: JSON-lines files in one folder.

Files are written whole under a temporary name and renamed into place, so a reader never sees
half a batch. A deliverer claims a file by renaming it to ``<name>.claimed-<pid>``; rename is
atomic, so two processes never deliver the same file. A claim left by a dead process (killed
mid-delivery) is released by the next one. Store writes are idempotent per trace id, so a batch
delivered twice after a crash is stored once.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from genver.config import CACHE_HOME

_counter = itertools.count()


def default_spool_dir(tracking_uri: str) -> Path:
    """Beside a SQLite file (``genver.db-spool``), else under ``~/.cache/genver/spool``."""
    if tracking_uri.startswith("sqlite:///") and ":memory:" not in tracking_uri:
        db = tracking_uri[len("sqlite:///") :].split("?", 1)[0]
        if db:
            return Path(os.path.abspath(db) + "-spool")
    digest = hashlib.sha256(tracking_uri.encode()).hexdigest()[:16]
    base = CACHE_HOME.get() or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "genver" / "spool" / digest


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Spool:
    """Batches of serialized traces on disk, bounded by ``max_bytes``."""

    def __init__(self, directory: str | os.PathLike[str], *, max_bytes: int = 1 << 30) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._size: int | None = None  # bytes on disk, scanned once then kept up to date

    def write(self, docs: Sequence[dict[str, Any]]) -> bool:
        """Write one batch; False when the spool is full (the caller counts a drop)."""
        if not docs:
            return True
        self.directory.mkdir(parents=True, exist_ok=True)
        payload = "".join(
            json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n" for d in docs
        ).encode()
        if self._size is None:
            self._size = self.size()
        if self._size + len(payload) > self.max_bytes:
            self._size = self.size()  # other processes may have delivered files meanwhile
            if self._size + len(payload) > self.max_bytes:
                return False
        name = f"batch-{time.time_ns():020d}-{os.getpid()}-{next(_counter)}.jsonl"
        tmp = self.directory / (name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(payload)
        os.replace(tmp, self.directory / name)
        self._size += len(payload)
        return True

    def size(self) -> int:
        try:
            return sum(p.stat().st_size for p in self.directory.iterdir() if p.name.startswith("batch-"))
        except FileNotFoundError:
            return 0

    def pending(self) -> list[Path]:
        """Unclaimed batch files, oldest first (stale claims of dead processes released)."""
        try:
            entries = sorted(self.directory.iterdir())
        except FileNotFoundError:
            return []
        out = []
        for p in entries:
            if p.name.endswith(".jsonl"):
                out.append(p)
            elif ".jsonl.claimed-" in p.name:
                pid = p.name.rsplit("-", 1)[-1]
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    released = p.with_name(p.name.split(".claimed-", 1)[0])
                    try:
                        os.replace(p, released)
                        out.append(released)
                    except OSError:
                        pass
            elif p.name.endswith(".tmp"):
                pid = p.name.split("-")[2] if p.name.count("-") >= 3 else ""
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    p.unlink(missing_ok=True)  # half-written by a killed process: never renamed in
        return sorted(out)

    def claim(self) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
        """Yield (claimed path, docs) for each batch this process manages to claim. The caller
        calls ``done(path)`` after delivery or ``release(path)`` to give it back."""
        for path in self.pending():
            claimed = path.with_name(f"{path.name}.claimed-{os.getpid()}")
            try:
                os.rename(path, claimed)
            except OSError:
                continue  # another process got it
            docs = []
            try:
                with open(claimed, encoding="utf-8") as f:
                    for line in f:
                        line = line.strip()
                        if line:
                            docs.append(json.loads(line))
            except (OSError, ValueError):
                self.quarantine(claimed)
                continue
            yield claimed, docs

    def done(self, claimed: Path) -> None:
        if self._size is not None:
            with contextlib.suppress(OSError):
                self._size = max(0, self._size - claimed.stat().st_size)
        claimed.unlink(missing_ok=True)

    def release(self, claimed: Path) -> None:
        with contextlib.suppress(OSError):
            os.replace(claimed, claimed.with_name(claimed.name.split(".claimed-", 1)[0]))

    def quarantine(self, claimed: Path) -> None:
        """Keep an unreadable batch aside (``.corrupt``) instead of retrying it forever."""
        with contextlib.suppress(OSError):
            os.replace(claimed, claimed.with_name(claimed.name.split(".claimed-", 1)[0] + ".corrupt"))
