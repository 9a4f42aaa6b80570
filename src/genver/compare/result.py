"""What ``compare_models`` returns: frozen dataclasses with ``to_dict()`` (JSON) and
``to_markdown()`` (a pull-request comment). They do no I/O.

Per-version sequences (``values``, ``deltas``, ``bootstrap``) are aligned with
``Comparison.versions``; index 0 is the baseline.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from genver.compare.stats import PairedBootstrap
from genver.gitinfo import BRANCH_TAG, COMMIT_TAG, DIFF_TAG, DIRTY_TAG, REPO_URL_TAG, VERSION_KEY_TAG

__all__ = [
    "CodeDiff",
    "Comparison",
    "Delta",
    "DiffSize",
    "GitState",
    "MetricRow",
    "ValueDiff",
    "VersionInfo",
    "fmt_number",
    "md_cell",
    "version_labels",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffSize:
    """Size of a version's uncommitted diff (the ``mlflow.source.git.diff`` tag)."""

    files: int
    insertions: int
    deletions: int

    def __str__(self) -> str:
        return f"{self.files} file{'s' if self.files != 1 else ''}, +{self.insertions} -{self.deletions}"

    @classmethod
    def of(cls, diff: str) -> DiffSize:
        """Files, added and removed lines of a unified diff."""
        lines = diff.splitlines()
        files = sum(1 for line in lines if line.startswith("diff --git "))
        if not files:
            files = sum(1 for line in lines if line.startswith("+++ "))
        added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
        return cls(files=files, insertions=added, deletions=removed)


@dataclass(frozen=True, slots=True, kw_only=True)
class GitState:
    """The git state a version was built from, read from its tags."""

    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None
    repo_url: str | None = None
    version_key: str | None = None
    uncommitted: DiffSize | None = None

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> GitState:
        """A version's git state from its tags (``mlflow.source.git.*``; else the ``git_commit`` and
        ``git_branch`` tags people set by hand)."""
        dirty = tags.get(DIRTY_TAG)
        diff = tags.get(DIFF_TAG)
        return cls(
            commit=tags.get(COMMIT_TAG) or tags.get("git_commit"),
            branch=tags.get(BRANCH_TAG) or tags.get("git_branch"),
            dirty=None if dirty is None else dirty.strip().lower() == "true",
            repo_url=tags.get(REPO_URL_TAG),
            version_key=tags.get(VERSION_KEY_TAG),
            uncommitted=DiffSize.of(diff) if diff else None,
        )

    def to_dict(self) -> dict[str, Any]:
        u = self.uncommitted
        return {
            "commit": self.commit,
            "branch": self.branch,
            "dirty": self.dirty,
            "repo_url": self.repo_url,
            "version_key": self.version_key,
            "uncommitted_diff": None
            if u is None
            else {"files": u.files, "insertions": u.insertions, "deletions": u.deletions},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GitState:
        u = d.get("uncommitted_diff")
        return cls(
            commit=d.get("commit"),
            branch=d.get("branch"),
            dirty=d.get("dirty"),
            repo_url=d.get("repo_url"),
            version_key=d.get("version_key"),
            uncommitted=None if u is None else DiffSize(**u),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionInfo:
    """One compared version, and the dataset its evaluation metrics were taken from."""

    model_id: str
    name: str
    status: str
    created: int  # ms since the epoch
    experiment_id: str
    git: GitState
    dataset_name: str | None = None
    dataset_digest: str | None = None
    has_metrics: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "name": self.name,
            "status": self.status,
            "created": self.created,
            "experiment_id": self.experiment_id,
            "dataset": None
            if not self.has_metrics
            else {"name": self.dataset_name, "digest": self.dataset_digest},
            "git": self.git.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VersionInfo:
        ds = d.get("dataset")
        return cls(
            model_id=d["model_id"],
            name=d["name"],
            status=d["status"],
            created=d["created"],
            experiment_id=d["experiment_id"],
            git=GitState.from_dict(d["git"]),
            dataset_name=None if ds is None else ds["name"],
            dataset_digest=None if ds is None else ds["digest"],
            has_metrics=ds is not None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueDiff:
    """A param or tag whose value differs between versions (None: the version lacks it)."""

    key: str
    values: tuple[str | None, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "values": list(self.values)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ValueDiff:
        return cls(key=d["key"], values=tuple(d["values"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class Delta:
    """A version's value minus the baseline's; ``relative`` is a fraction (None when the baseline
    is 0)."""

    absolute: float
    relative: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"absolute": self.absolute, "relative": self.relative}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Delta:
        return cls(absolute=d["absolute"], relative=d["relative"])

    def __str__(self) -> str:
        pct = "" if self.relative is None else f", {self.relative:+.1%}"
        return f"{fmt_number(self.absolute, signed=True)}{pct}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricRow:
    """One metric (or trace statistic) side by side, with deltas and, where per-row scores exist,
    the paired bootstrap of each version against the baseline."""

    key: str
    label: str
    higher_is_better: bool
    values: tuple[float | None, ...]
    deltas: tuple[Delta | None, ...]
    bootstrap: tuple[PairedBootstrap | None, ...]
    run_ids: tuple[str | None, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "higher_is_better": self.higher_is_better,
            "values": list(self.values),
            "deltas": [None if d is None else d.to_dict() for d in self.deltas],
            "bootstrap": [None if b is None else b.to_dict() for b in self.bootstrap],
            "run_ids": list(self.run_ids),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricRow:
        return cls(
            key=d["key"],
            label=d["label"],
            higher_is_better=d["higher_is_better"],
            values=tuple(d["values"]),
            deltas=tuple(None if x is None else Delta.from_dict(x) for x in d["deltas"]),
            bootstrap=tuple(None if x is None else PairedBootstrap.from_dict(x) for x in d["bootstrap"]),
            run_ids=tuple(d.get("run_ids", ())),
        )

    def cell(self, i: int, *, markdown: bool = False) -> str:
        """Value, delta and verdict of version ``i`` as one short text."""
        value = self.values[i]
        if value is None:
            return "—"
        text = fmt_number(value)
        delta = self.deltas[i] if i < len(self.deltas) else None
        if delta is not None:
            text += f" ({delta})"
        boot = self.bootstrap[i] if i < len(self.bootstrap) else None
        if boot is not None:
            mark = {"better": "▲ ", "worse": "▼ "}.get(boot.verdict, "")
            verdict = f"**{boot.verdict}**" if markdown and mark else boot.verdict
            text += (
                f" {mark}{verdict}, {boot.confidence:.0%} CI [{fmt_number(boot.low, signed=True)}, "
                f"{fmt_number(boot.high, signed=True)}] n={boot.n}"
            )
            if boot.inconclusive:
                text += f" ⚠ inconclusive: too few rows, a change under ±{fmt_number(boot.min_detectable)} cannot show"
        return text


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeDiff:
    """``git diff --stat`` between the baseline's commit and a version's (``stat`` None, with
    ``error`` saying why, when it could not be computed)."""

    model_id: str
    base_commit: str
    commit: str
    stat: str | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "base_commit": self.base_commit,
            "commit": self.commit,
            "stat": self.stat,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CodeDiff:
        return cls(
            model_id=d["model_id"],
            base_commit=d["base_commit"],
            commit=d["commit"],
            stat=d["stat"],
            error=d.get("error"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptDiff:
    """A prompt whose version differs between the baseline and a candidate (``model_id``): the
    two versions (None: that side did not use the prompt) and a unified diff of their text
    (a chat's messages as ``role: content`` lines)."""

    name: str
    model_id: str
    base_version: int | None
    version: int | None
    diff: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model_id": self.model_id,
            "base_version": self.base_version,
            "version": self.version,
            "diff": list(self.diff),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PromptDiff:
        return cls(
            name=d["name"],
            model_id=d["model_id"],
            base_version=d.get("base_version"),
            version=d.get("version"),
            diff=tuple(d.get("diff") or ()),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """Versions side by side; ``versions[0]`` is the baseline."""

    versions: tuple[VersionInfo, ...]
    params: tuple[ValueDiff, ...]
    tags: tuple[ValueDiff, ...]
    code_diffs: tuple[CodeDiff, ...]
    metrics: tuple[MetricRow, ...]
    trace_stats: tuple[MetricRow, ...]
    confidence: float
    n_resamples: int
    notes: tuple[str, ...] = ()
    prompt_diffs: tuple[PromptDiff, ...] = ()

    @property
    def baseline(self) -> VersionInfo:
        return self.versions[0]

    @property
    def labels(self) -> list[str]:
        return version_labels(self.versions)

    def metric(self, key: str) -> MetricRow | None:
        """The row of a metric (``exact/mean``) or trace statistic (``p95_latency``), or None."""
        return next((r for r in (*self.metrics, *self.trace_stats) if r.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.model_id,
            "versions": [v.to_dict() for v in self.versions],
            "params": [p.to_dict() for p in self.params],
            "tags": [t.to_dict() for t in self.tags],
            "code_diffs": [c.to_dict() for c in self.code_diffs],
            "metrics": [m.to_dict() for m in self.metrics],
            "trace_stats": [s.to_dict() for s in self.trace_stats],
            "confidence": self.confidence,
            "n_resamples": self.n_resamples,
            "notes": list(self.notes),
            "prompt_diffs": [p.to_dict() for p in self.prompt_diffs],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Comparison:
        """The comparison ``to_dict`` wrote (what ``GET /api/v1/compare`` returns)."""
        return cls(
            versions=tuple(VersionInfo.from_dict(v) for v in d["versions"]),
            params=tuple(ValueDiff.from_dict(p) for p in d["params"]),
            tags=tuple(ValueDiff.from_dict(t) for t in d["tags"]),
            code_diffs=tuple(CodeDiff.from_dict(c) for c in d["code_diffs"]),
            metrics=tuple(MetricRow.from_dict(m) for m in d["metrics"]),
            trace_stats=tuple(MetricRow.from_dict(s) for s in d["trace_stats"]),
            confidence=d["confidence"],
            n_resamples=d["n_resamples"],
            notes=tuple(d["notes"]),
            prompt_diffs=tuple(PromptDiff.from_dict(p) for p in d.get("prompt_diffs") or ()),
        )

    def to_markdown(self) -> str:
        """The comparison as GitHub-flavoured Markdown, for a pull-request comment."""
        labels = self.labels
        others = ", ".join(f"`{lab}`" for lab in labels[1:])
        out = [f"### genver: `{labels[0]}` (baseline) vs {others}"]

        def table(first: str, title: str | None = None) -> None:
            if title:
                out.extend(["", f"#### {title}"])
            cols = [first, *(f"{lab} (baseline)" if i == 0 else lab for i, lab in enumerate(labels))]
            out.extend(["", "| " + " | ".join(md_cell(c) for c in cols) + " |", "|---" * len(cols) + "|"])

        def row(title: str, cells: Sequence[str]) -> None:
            out.append("| " + " | ".join([md_cell(title), *(md_cell(c) for c in cells)]) + " |")

        table("")
        row("id", [f"`{v.model_id}`" for v in self.versions])
        row("status", [v.status for v in self.versions])
        row("created", [fmt_time(v.created) for v in self.versions])
        row("git", [git_summary(v.git) for v in self.versions])
        if any(v.git.uncommitted for v in self.versions):
            row("uncommitted diff", [str(v.git.uncommitted or "—") for v in self.versions])
        row("dataset", [dataset_label(v) for v in self.versions])
        for title, rows in (("Evaluation metrics", self.metrics), ("Trace statistics", self.trace_stats)):
            if rows:
                table("metric", title)
                for r in rows:
                    row(r.label, [r.cell(i, markdown=True) for i in range(len(labels))])
        for title, diffs in (("Params that differ", self.params), ("Tags that differ", self.tags)):
            if diffs:
                table("key", title)
                for d in diffs:
                    row(f"`{d.key}`", ["—" if v is None else f"`{v}`" for v in d.values])
        if self.prompt_diffs:
            out.extend(["", "#### Prompts that differ"])
            label = {v.model_id: lab for v, lab in zip(self.versions, labels, strict=True)}
            for pd in self.prompt_diffs:
                moved = f"{pd.base_version or '—'} → {pd.version or '—'}"
                title = f"prompt <code>{html.escape(pd.name)}</code> {moved} in {html.escape(label.get(pd.model_id, pd.model_id))}"
                longest = max((len(run) for run in re.findall(r"`+", "\n".join(pd.diff))), default=0)
                fence = "`" * max(3, longest + 1)  # a fence no line of the prompt can close
                out.extend(
                    ["", f"<details open><summary>{title}</summary>", "", fence + "diff", *pd.diff, fence]
                )
                out.append("</details>")
        if self.code_diffs:
            out.extend(["", "#### Code changes"])
            for c in self.code_diffs:
                title = f"git diff --stat {c.base_commit[:12]} {c.commit[:12]}"
                body = c.stat if c.stat is not None else f"not available: {c.error}"
                out.extend(["", f"<details><summary>{title}</summary>", "", "```", body.rstrip(), "```"])
                out.append("</details>")
        if self.notes:
            out.extend(["", "#### Notes", "", *(f"- {n}" for n in self.notes)])
        return "\n".join(out) + "\n"


# -- formatting helpers (shared with the gate and the CLI) ----------------------------------------
def version_labels(versions: Sequence[VersionInfo]) -> list[str]:
    """Version names, with a short id added where two versions share a name."""
    names = [v.name for v in versions]
    return [
        n if names.count(n) == 1 else f"{n} ({v.model_id[:10]})" for n, v in zip(names, versions, strict=True)
    ]


def fmt_number(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    if not math.isfinite(value):
        return str(value)
    sign = "+" if signed else ""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):{sign},d}"
    if abs(value) >= 1000:
        return f"{value:{sign},.0f}"
    if abs(value) >= 0.01:
        return f"{value:{sign}.4g}"
    decimals = 2 - math.floor(math.log10(abs(value)))  # three significant digits, no exponent
    return f"{value:{sign}.{decimals}f}".rstrip("0") if decimals <= 12 else f"{value:{sign}.3g}"


def fmt_time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def git_summary(git: GitState) -> str:
    if git.commit is None:
        return "—"
    text = git.commit[:8] + (f" ({git.branch})" if git.branch else "")
    return text + (" dirty" if git.dirty else "")


def dataset_label(v: VersionInfo) -> str:
    if not v.has_metrics:
        return "—"
    if v.dataset_digest is None:
        return v.dataset_name or "(no dataset)"
    return f"{v.dataset_name or 'dataset'} ({v.dataset_digest[:12]})"


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
