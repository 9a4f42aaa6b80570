"""The git commit and branch of the working folder, read from ``.git`` without a subprocess."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

#: Tags a version's git state is recorded in (``genai.enable_git_model_versioning``, MLflow's
#: ``mlflow.source.git.*``) and read back from (comparison).
BRANCH_TAG = "mlflow.source.git.branch"
COMMIT_TAG = "mlflow.source.git.commit"
DIRTY_TAG = "mlflow.source.git.dirty"
REPO_URL_TAG = "mlflow.source.git.repoURL"
DIFF_TAG = "mlflow.source.git.diff"
VERSION_KEY_TAG = "genver.git.version_key"


@dataclass(frozen=True, slots=True)
class GitInfo:
    commit: str
    branch: str | None
    root: str


def find_git_dir(start: str) -> str | None:
    path = os.path.abspath(start)
    while True:
        candidate = os.path.join(path, ".git")
        if os.path.isdir(candidate):
            return candidate
        if os.path.isfile(candidate):  # a worktree or submodule: "gitdir: <path>"
            with open(candidate, encoding="utf-8") as f:
                line = f.read().strip()
            if line.startswith("gitdir:"):
                return os.path.normpath(os.path.join(path, line[len("gitdir:") :].strip()))
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def read_git_info(start: str) -> GitInfo | None:
    """Commit and branch of the repository containing ``start``, or None outside git."""
    try:
        git_dir = find_git_dir(start)
        if git_dir is None:
            return None
        with open(os.path.join(git_dir, "HEAD"), encoding="utf-8") as f:
            head = f.read().strip()
        if not head.startswith("ref:"):
            return GitInfo(commit=head, branch=None, root=os.path.dirname(git_dir))
        ref = head[len("ref:") :].strip()
        commit = _resolve_ref(git_dir, ref)
        if commit is None:
            return None
        branch = ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else ref
        return GitInfo(commit=commit, branch=branch, root=os.path.dirname(git_dir))
    except OSError:
        return None


def _resolve_ref(git_dir: str, ref: str) -> str | None:
    common = git_dir
    commondir_file = os.path.join(git_dir, "commondir")
    if os.path.isfile(commondir_file):
        with open(commondir_file, encoding="utf-8") as f:
            common = os.path.normpath(os.path.join(git_dir, f.read().strip()))
    for base in (git_dir, common):
        path = os.path.join(base, ref)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
    packed = os.path.join(common, "packed-refs")
    if os.path.isfile(packed):
        with open(packed, encoding="utf-8") as f:
            for line in f:
                parts = line.strip().split(" ")
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    return None


@functools.lru_cache(maxsize=8)
def cached_git_info(start: str) -> GitInfo | None:
    return read_git_info(start)
