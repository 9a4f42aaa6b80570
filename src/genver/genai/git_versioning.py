"""Versions from git: ``enable_git_model_versioning()`` / ``disable_git_model_versioning()``.

``enable_git_model_versioning()`` reads the repository around the working folder (searching
parent folders) with the ``git`` command: branch, commit, dirty flag (tracked changes only),
diff and the remote's URL. It finds the version made for that state in the active experiment,
or creates one, and makes it active, so traces link to it::

    with genver.genai.enable_git_model_versioning() as git:
        print(git.active_model.name)  # main-1a2b3c4d, or main-1a2b3c4d-dirty-9f8e7d
        my_app()                      # traced calls link to that version

As MLflow does, the tags ``mlflow.source.git.{branch,commit,dirty,repoURL,diff}`` are set, a
version is created ``PENDING``, activated with ``set_by_user=False``, and leaving the block (or
``disable_git_model_versioning()``) clears the active model. genver differs in that
``genver.git.version_key`` (the commit, plus a hash of the full diff when dirty) picks the
version, so two different uncommitted diffs on one commit are two versions; MLflow reuses one.

Outside a repository, on a detached HEAD, or when git is missing or fails, a warning is logged
and versioning stays off: ``info`` and ``active_model`` are None and nothing raises.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import threading
import urllib.parse
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from genver.exceptions import GenverError, InvalidArgumentError
from genver.gitinfo import BRANCH_TAG, COMMIT_TAG, DIFF_TAG, DIRTY_TAG, REPO_URL_TAG, VERSION_KEY_TAG
from genver.search.parser import quote
from genver.validation import MAX_NAME_LENGTH, MAX_TAG_VALUE_LENGTH

if TYPE_CHECKING:
    from types import TracebackType

    from genver.context import ActiveModel
    from genver.entities import LoggedModel
    from genver.fluent import Genver

log = logging.getLogger("genver")


#: Characters of diff kept in ``GitInfo.diff``; the tag keeps at most ``MAX_TAG_VALUE_LENGTH``.
MAX_DIFF_CHARS = 100_000
#: Seconds allowed for each quick git command, and for each ``git diff``.
GIT_TIMEOUT = 10.0
DIFF_TIMEOUT = 60.0
TRUNCATED_MARKER = f"\n[diff truncated by genver; {VERSION_KEY_TAG} hashes the full diff]"

# Never take the index lock (the user's own git commands must not collide with ours), never
# prompt, answer in English (error messages are matched and logged). Fixed diff options make the
# diff, and so the version key, independent of the user's git config (colour, external diff
# tools, prefixes, algorithm, relative paths).
_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
_CONFIG = ("-c", "core.quotePath=true", "-c", "diff.relative=false")
_DIFF = (
    "diff",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--full-index",  # binary changes differ by their blob ids
    "--find-renames",
    "--diff-algorithm=myers",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--unified=3",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class GitInfo:
    """The state of a repository that one git version stands for.

    ``diff`` is the unstaged diff followed by the staged one (as MLflow), None when clean, and
    cut at ``MAX_DIFF_CHARS``. ``version_key`` is ``<commit[:12]>`` when clean and
    ``<commit[:12]>-dirty-<sha256[:12]>`` when dirty, hashing the full ``git diff HEAD``: the
    code as it is, whatever is staged.
    """

    branch: str
    commit: str
    dirty: bool = False
    diff: str | None = None
    repo_url: str | None = None
    version_key: str

    @property
    def version_name(self) -> str:
        """``<branch>-<commit[:8]>``, plus ``-dirty-<diff hash[:6]>`` when dirty (≤ 256 chars)."""
        suffix = f"-{self.commit[:8]}"
        if self.dirty:
            suffix += f"-dirty-{self.version_key.rsplit('-', 1)[-1][:6]}"
        return self.branch[: MAX_NAME_LENGTH - len(suffix)] + suffix

    def to_mlflow_tags(self) -> dict[str, str]:
        """MLflow's git tags (the diff cut to fit a tag value) plus ``genver.git.version_key``."""
        tags = {
            BRANCH_TAG: self.branch,
            COMMIT_TAG: self.commit,
            DIRTY_TAG: str(self.dirty).lower(),
            VERSION_KEY_TAG: self.version_key,
        }
        if self.repo_url is not None:
            tags[REPO_URL_TAG] = self.repo_url
        if self.diff is not None:
            tags[DIFF_TAG] = _truncate(self.diff, MAX_TAG_VALUE_LENGTH)
        return tags

    def to_search_filter_string(self) -> str:
        """The filter that finds this state's version: key, branch, commit and remote URL."""
        tags = {VERSION_KEY_TAG: self.version_key, BRANCH_TAG: self.branch, COMMIT_TAG: self.commit}
        if self.repo_url is not None:
            tags[REPO_URL_TAG] = self.repo_url
        return " AND ".join(f"tags.`{key}` = {quote(value)}" for key, value in tags.items())


class GitContext:
    """What ``enable_git_model_versioning`` found: ``info`` and the version it made ``active_model``.

    Both are None when versioning is off (outside git, detached HEAD, git missing). As a context
    manager it disables git versioning on exit, which clears the active model.
    """

    __slots__ = ("_owner", "active_model", "info")

    def __init__(self, info: GitInfo | None, active_model: ActiveModel | None, owner: Genver) -> None:
        self.info = info
        self.active_model = active_model
        self._owner = weakref.ref(owner)

    def __enter__(self) -> GitContext:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        owner = self._owner()
        if owner is not None:
            _disable(owner, only=self)

    def __repr__(self) -> str:
        model = self.active_model.model_id if self.active_model is not None else None
        return f"GitContext(info={self.info!r}, active_model={model!r})"


# The git context in force, per genver instance (one at a time; a new enable replaces it).
_contexts: weakref.WeakKeyDictionary[Genver, GitContext] = weakref.WeakKeyDictionary()
_lock = threading.RLock()


def enable_git_model_versioning(remote_name: str = "origin", *, genver: Genver | None = None) -> GitContext:
    """Make the version for the repository's current state active (created on first use).

    The same branch, commit, remote and diff give the same version again. Replaces any git
    versioning enabled before on the same genver instance.

    >>> git = genver.genai.enable_git_model_versioning()  # doctest: +SKIP
    >>> git.info.branch, git.info.dirty, git.active_model.name  # doctest: +SKIP
    ('main', False, 'main-1a2b3c4d')
    """
    if not isinstance(remote_name, str) or not remote_name:
        raise InvalidArgumentError(
            f"Invalid remote_name {remote_name!r}: expected a git remote name such as 'origin'."
        )
    owner = _instance(genver)
    try:
        info: GitInfo | None = _read(os.getcwd(), remote_name)
    except (_GitUnavailable, OSError) as exc:
        log.warning("Could not read git information: %s. Git model versioning is disabled.", exc)
        info = None
    with _lock:
        model = _find_or_create(owner, info) if info is not None else None
        previous = _contexts.pop(owner, None)
        if model is None:
            if previous is not None and previous.active_model is not None:
                owner.clear_active_model()  # the git state is unknown now: link nothing to the old one
            context = GitContext(info, None, owner)
        else:
            context = GitContext(info, owner.activate_model(model, set_by_user=False), owner)
        _contexts[owner] = context
    return context


def disable_git_model_versioning(*, genver: Genver | None = None) -> None:
    """Turn git versioning off and clear the active model (as MLflow); a no-op when it is off."""
    _disable(_instance(genver), only=None)


def _disable(owner: Genver, *, only: GitContext | None) -> None:
    with _lock:
        current = _contexts.get(owner)
        if current is None or (only is not None and current is not only):
            return  # off already, or ``only`` was replaced by a newer enable that stays in force
        del _contexts[owner]
        if current.active_model is not None:
            owner.clear_active_model()


def _instance(genver: Genver | None) -> Genver:
    if genver is not None:
        return genver
    from genver.fluent import default_genver

    return default_genver()


def _find_or_create(owner: Genver, info: GitInfo) -> LoggedModel:
    tags = info.to_mlflow_tags()
    found = owner.search_logged_models(
        filter_string=info.to_search_filter_string(),
        max_results=1,
        order_by=[{"field_name": "creation_timestamp", "ascending": False}],
        output_format="list",
    )
    assert isinstance(found, list)
    if found:
        model_id = found[0].model_id
        log.info("Using the existing version %s for git state %s.", model_id, info.version_key)
        owner.set_logged_model_tags(model_id, tags)  # refreshes the diff, as MLflow does
        return owner.get_logged_model(model_id)
    log.info("No version for git state %s yet: creating %r.", info.version_key, info.version_name)
    return owner.initialize_logged_model(name=info.version_name, tags=tags)


# -- reading the repository with the git command ------------------------------------------------
class _GitUnavailable(GenverError):
    """Git information cannot be read; the message says why. Never leaves this module.

    A plain ``GenverError``: none of the subclasses fits (git missing, not a repository, a command
    failing or timing out), and callers only ever see the warning it turns into.
    """


_NO_GIT = "git is not installed (no 'git' executable on PATH)"


def _read(start: str, remote_name: str) -> GitInfo:
    try:
        root = _git(start, "rev-parse", "--show-toplevel", fail=f"cannot use the git repository at {start!r}")
    except _GitUnavailable as exc:
        if "not a git repository" in str(exc):  # the usual case needs no git jargon
            raise _GitUnavailable(f"not in a git repository ({start!r} or above)") from None
        raise  # e.g. "detected dubious ownership": git's own words say what to do
    head = _git(
        root, "symbolic-ref", "--quiet", "HEAD", fail="in detached HEAD state, no branch name available"
    )
    branch = head.removeprefix("refs/heads/")
    commit = _git(
        root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", fail=f"branch {branch!r} has no commit yet"
    )
    status = _git(root, "status", "--porcelain", "--untracked-files=no", fail="'git status' failed")
    dirty = bool(status)
    diff: str | None = None
    version_key = commit[:12]
    if dirty:
        unstaged, cut_unstaged, _ = _stream(root, *_DIFF)
        staged, cut_staged, _ = _stream(root, *_DIFF, "--cached")
        _, _, digest = _stream(root, *_DIFF, "HEAD")  # the key: the code as it is, however staged
        text = "\n".join(part for part in (unstaged.rstrip("\n"), staged.rstrip("\n")) if part)
        # A NUL after git's 8,000-byte binary sniffing window can reach a "text" diff.
        diff = _truncate(text.replace("\x00", "\ufffd"), MAX_DIFF_CHARS, force=cut_unstaged or cut_staged)
        version_key = f"{commit[:12]}-dirty-{digest[:12]}"
    try:
        repo_url: str | None = _redact(
            _git(root, "config", "--get", f"remote.{remote_name}.url", fail="no such remote")
        )
    except _GitUnavailable:
        log.warning("No remote named %r found. Repository URL will not be set.", remote_name)
        repo_url = None
    return GitInfo(
        branch=branch, commit=commit, dirty=dirty, diff=diff, repo_url=repo_url, version_key=version_key
    )


def _command(*args: str) -> list[str]:
    return ["git", "--no-pager", *_CONFIG, *args]


def _env() -> dict[str, str]:
    return {**os.environ, **_ENV}


def _git(cwd: str, *args: str, fail: str) -> str:
    """The stripped output of a quick git command; ``_GitUnavailable`` when it fails."""
    try:
        done = subprocess.run(
            _command(*args),
            cwd=cwd,
            env=_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise _GitUnavailable(_NO_GIT) from None
    except subprocess.TimeoutExpired:
        raise _GitUnavailable(f"'git {args[0]}' timed out after {GIT_TIMEOUT:g} s") from None
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()
        raise _GitUnavailable(f"{fail} ({err})" if err else fail)
    return done.stdout.decode("utf-8", "replace").strip()


def _stream(cwd: str, *args: str) -> tuple[str, bool, str]:
    """Run a git diff: its first ``MAX_DIFF_CHARS`` bytes as text, whether there were more, and
    the SHA-256 of all of it, without holding a huge diff in memory."""
    try:
        proc = subprocess.Popen(
            _command(*args),
            cwd=cwd,
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise _GitUnavailable(_NO_GIT) from None
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(DIFF_TIMEOUT, kill)
    timer.daemon = True
    timer.start()
    digest = hashlib.sha256()
    head = bytearray()
    cut = False
    try:
        stdout = proc.stdout
        assert stdout is not None
        while chunk := stdout.read(65536):
            digest.update(chunk)
            room = max(MAX_DIFF_CHARS - len(head), 0)
            head += chunk[:room]
            cut = cut or len(chunk) > room
        code = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:  # an exception while reading: do not leave git running
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    if timed_out.is_set():
        raise _GitUnavailable(f"'git diff' timed out after {DIFF_TIMEOUT:g} s")
    if code != 0:
        raise _GitUnavailable(f"'git diff' failed with exit status {code}")
    return head.decode("utf-8", "replace"), cut, digest.hexdigest()


def _truncate(text: str, limit: int, *, force: bool = False) -> str:
    """``text`` cut to ``limit`` characters, ending with a marker when anything was cut."""
    if text.endswith(TRUNCATED_MARKER):  # cut already: keep one marker at the new end
        text, force = text[: -len(TRUNCATED_MARKER)], True
    if len(text) + (len(TRUNCATED_MARKER) if force else 0) <= limit:
        return text + TRUNCATED_MARKER if force else text
    return text[: limit - len(TRUNCATED_MARKER)] + TRUNCATED_MARKER


def _redact(url: str) -> str:
    """A remote URL without credentials: ``https://token@host/x`` → ``https://host/x``.

    For http(s) the whole user part goes (a token is often given as the user name); for other
    schemes only a password. ``git@host:org/repo.git`` is kept as it is.
    """
    if "://" not in url:
        return url
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if parts.scheme.lower() in ("http", "https", "ftp", "ftps"):
        netloc = hostport
    else:
        netloc = f"{userinfo.split(':', 1)[0]}@{hostport}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
