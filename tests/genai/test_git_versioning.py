"""Versions from git, on real repositories made in ``tmp_path`` (no network, no global git config)."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import genver
from genver import context as ctx
from genver.entities import LoggedModel, LoggedModelStatus
from genver.exceptions import InvalidArgumentError
from genver.fluent import Genver
from genver.genai import git_versioning as gvm
from genver.genai.git_versioning import (
    BRANCH_TAG,
    COMMIT_TAG,
    DIFF_TAG,
    DIRTY_TAG,
    MAX_DIFF_CHARS,
    REPO_URL_TAG,
    TRUNCATED_MARKER,
    VERSION_KEY_TAG,
    GitContext,
    disable_git_model_versioning,
    enable_git_model_versioning,
)
from genver.validation import MAX_TAG_VALUE_LENGTH

AUTHOR = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **AUTHOR}, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str = "change") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user or system git config, no GIT_DIR from outside, no repository above ``tmp_path``."""
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return tmp_path


@pytest.fixture
def repo(git_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository on ``main`` with one commit (``app.py``), and the working directory in it."""
    path = git_env / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "app.py").write_text("def answer():\n    return 42\n")
    (path / "prompt.txt").write_text("You are helpful.\n")
    commit_all(path, "first")
    monkeypatch.chdir(path)
    return path


@pytest.fixture
def gv(tmp_path: Path) -> Iterator[Genver]:
    """A genver instance of its own, on a SQLite file outside the repository."""
    instance = Genver(
        tracking_uri=f"sqlite:///{tmp_path}/t.db",
        environ={"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"},
    )
    yield instance
    disable_git_model_versioning(genver=instance)
    instance.flush_trace_async_logging(terminate=True)
    instance.client.close()


def _reset_default() -> None:
    default = genver._default
    disable_git_model_versioning()
    if default._client is not None:
        default._client.close()
    ctx.set_process_tracking_uri(None)
    default.__init__()  # type: ignore[misc]


@pytest.fixture
def git_default_genver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    """The module-level default instance, clean, on ``<tmp>/default.db``; reset afterwards."""
    for name in list(os.environ):
        if name.startswith(("GENVER_", "MLFLOW_", "_MLFLOW_")):
            monkeypatch.delenv(name)
    _reset_default()
    genver.set_tracking_uri(f"sqlite:///{tmp_path}/default.db")
    yield genver._default
    _reset_default()


def enable(gv: Genver, remote_name: str = "origin") -> GitContext:
    return enable_git_model_versioning(remote_name, genver=gv)


def git_models(gv: Genver) -> list[LoggedModel]:
    found = gv.search_logged_models(filter_string=f"tags.`{VERSION_KEY_TAG}` LIKE '%'", output_format="list")
    assert isinstance(found, list)
    return found


# -- a clean repository ------------------------------------------------------------------------------
def test_clean_repo_makes_a_pending_version_with_git_tags(repo: Path, gv: Genver) -> None:
    head = git(repo, "rev-parse", "HEAD")
    git_ctx = enable(gv)
    assert git_ctx.info is not None and git_ctx.active_model is not None
    info = git_ctx.info
    assert (info.branch, info.commit, info.dirty, info.diff, info.repo_url) == (
        "main",
        head,
        False,
        None,
        None,
    )
    assert info.version_key == head[:12]
    model = gv.get_logged_model(git_ctx.active_model.model_id)
    assert model.status == LoggedModelStatus.PENDING
    assert model.name == f"main-{head[:8]}"
    assert model.tags[BRANCH_TAG] == "main"
    assert model.tags[COMMIT_TAG] == head
    assert model.tags[DIRTY_TAG] == "false"
    assert model.tags[VERSION_KEY_TAG] == head[:12]
    assert DIFF_TAG not in model.tags and REPO_URL_TAG not in model.tags
    assert gv.get_active_model_id() == model.model_id
    assert git_ctx.active_model.set_by_user is False


def test_same_state_reuses_the_version(repo: Path, gv: Genver) -> None:
    first = enable(gv).active_model
    second = enable(gv).active_model
    assert first is not None and second is not None
    assert first.model_id == second.model_id
    assert len(git_models(gv)) == 1


def test_a_new_commit_is_a_new_version(repo: Path, gv: Genver) -> None:
    first = enable(gv)
    (repo / "app.py").write_text("def answer():\n    return 43\n")
    head = commit_all(repo)
    second = enable(gv)
    assert first.active_model is not None and second.active_model is not None
    assert second.active_model.model_id != first.active_model.model_id
    assert second.active_model.tags[COMMIT_TAG] == head
    assert len(git_models(gv)) == 2


def test_branch_names_with_slashes_name_the_version(repo: Path, gv: Genver) -> None:
    git(repo, "checkout", "-q", "-b", "feature/better-prompt")
    git_ctx = enable(gv)
    assert git_ctx.active_model is not None and git_ctx.info is not None
    assert git_ctx.active_model.name == f"feature/better-prompt-{git_ctx.info.commit[:8]}"
    assert git_ctx.active_model.tags[BRANCH_TAG] == "feature/better-prompt"


def test_the_same_commit_on_another_branch_is_another_version(repo: Path, gv: Genver) -> None:
    on_main = enable(gv).active_model
    git(repo, "checkout", "-q", "-b", "other")
    on_other = enable(gv).active_model
    assert on_main is not None and on_other is not None
    assert on_main.model_id != on_other.model_id


# -- uncommitted changes -----------------------------------------------------------------------------
def test_a_tracked_change_is_dirty_with_its_diff(repo: Path, gv: Genver) -> None:
    clean = enable(gv)
    (repo / "app.py").write_text("def answer():\n    return 7\n")
    dirty = enable(gv)
    assert clean.active_model is not None and dirty.active_model is not None and dirty.info is not None
    assert dirty.active_model.model_id != clean.active_model.model_id
    assert dirty.info.dirty is True
    assert dirty.info.diff is not None and "+    return 7" in dirty.info.diff
    tags = gv.get_logged_model(dirty.active_model.model_id).tags
    assert tags[DIRTY_TAG] == "true"
    assert tags[DIFF_TAG] == dirty.info.diff
    key = tags[VERSION_KEY_TAG]
    commit = dirty.info.commit
    assert key.startswith(f"{commit[:12]}-dirty-") and len(key) == 12 + len("-dirty-") + 12
    assert dirty.active_model.name == f"main-{commit[:8]}-dirty-{key[-12:-6]}"


def test_two_diffs_on_one_commit_are_two_versions_and_each_is_reused(repo: Path, gv: Genver) -> None:
    (repo / "app.py").write_text("def answer():\n    return 1\n")
    a = enable(gv)
    (repo / "app.py").write_text("def answer():\n    return 2\n")
    b = enable(gv)
    assert a.info is not None and b.info is not None
    assert a.info.commit == b.info.commit
    assert a.info.version_key != b.info.version_key
    assert a.active_model is not None and b.active_model is not None
    assert a.active_model.model_id != b.active_model.model_id
    (repo / "app.py").write_text("def answer():\n    return 1\n")
    again = enable(gv)
    assert again.active_model is not None and again.active_model.model_id == a.active_model.model_id
    assert len(git_models(gv)) == 2


def test_staged_and_unstaged_changes_are_both_in_the_diff(repo: Path, gv: Genver) -> None:
    (repo / "app.py").write_text("def answer():\n    return 5\n")
    git(repo, "add", "app.py")
    (repo / "prompt.txt").write_text("You are terse.\n")
    git_ctx = enable(gv)
    assert git_ctx.info is not None and git_ctx.info.diff is not None
    unstaged, staged = git_ctx.info.diff.index("prompt.txt"), git_ctx.info.diff.index("app.py")
    assert unstaged < staged  # unstaged first, then staged, as MLflow
    assert "+    return 5" in git_ctx.info.diff and "+You are terse." in git_ctx.info.diff


def test_staging_a_change_keeps_its_version(repo: Path, gv: Genver) -> None:
    (repo / "app.py").write_text("def answer():\n    return 5\n")
    unstaged = enable(gv)
    git(repo, "add", "app.py")
    staged = enable(gv)
    assert unstaged.active_model is not None and staged.active_model is not None
    assert staged.active_model.model_id == unstaged.active_model.model_id


def test_an_untracked_file_leaves_the_tree_clean(repo: Path, gv: Genver) -> None:
    clean = enable(gv)
    (repo / "notes.txt").write_text("scratch\n")
    again = enable(gv)
    assert again.info is not None and again.info.dirty is False and again.info.diff is None
    assert clean.active_model is not None and again.active_model is not None
    assert again.active_model.model_id == clean.active_model.model_id


def test_binary_changes_with_the_same_size_are_told_apart(repo: Path, gv: Genver) -> None:
    (repo / "weights.bin").write_bytes(b"\x00\x01\x02")
    commit_all(repo)
    (repo / "weights.bin").write_bytes(b"\x00\x01\x03")
    a = enable(gv)
    (repo / "weights.bin").write_bytes(b"\x00\x01\x04")
    b = enable(gv)
    assert a.info is not None and b.info is not None
    assert a.info.version_key != b.info.version_key


def test_a_huge_diff_is_cut_in_the_tag_but_hashed_whole(repo: Path, gv: Genver) -> None:
    big = "".join(f"line {i:06d} of a long generated prompt\n" for i in range(20_000))  # ~740 KB
    (repo / "prompt.txt").write_text(big + "ending A\n")
    a = enable(gv)
    (repo / "prompt.txt").write_text(big + "ending B\n")  # differs only far past every cut
    b = enable(gv)
    assert a.info is not None and b.info is not None and a.info.diff is not None
    assert len(a.info.diff) <= MAX_DIFF_CHARS and a.info.diff.endswith(TRUNCATED_MARKER)
    assert "ending" not in a.info.diff and b.info.diff is not None
    assert a.info.diff.split("\n", 2)[2] == b.info.diff.split("\n", 2)[2]  # all but the index line
    assert a.info.version_key != b.info.version_key
    assert a.active_model is not None and b.active_model is not None
    assert a.active_model.model_id != b.active_model.model_id
    tag = gv.get_logged_model(a.active_model.model_id).tags[DIFF_TAG]
    assert len(tag) <= MAX_TAG_VALUE_LENGTH and tag.endswith(TRUNCATED_MARKER)
    assert tag.count(TRUNCATED_MARKER) == 1
    assert a.info.diff.startswith(tag[: -len(TRUNCATED_MARKER)])


# -- where it runs ------------------------------------------------------------------------------------
def test_works_from_a_subfolder(repo: Path, gv: Genver, monkeypatch: pytest.MonkeyPatch) -> None:
    from_root = enable(gv)
    sub = repo / "src" / "pkg"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    (repo / "app.py").write_text("def answer():\n    return 9\n")  # a change outside the subfolder
    from_sub = enable(gv)
    assert from_sub.info is not None and from_sub.info.dirty is True
    assert from_sub.info.diff is not None and "b/app.py" in from_sub.info.diff
    (repo / "app.py").write_text("def answer():\n    return 42\n")
    clean_from_sub = enable(gv)
    assert from_root.active_model is not None and clean_from_sub.active_model is not None
    assert clean_from_sub.active_model.model_id == from_root.active_model.model_id


def test_detached_head_warns_and_links_nothing(
    repo: Path, gv: Genver, caplog: pytest.LogCaptureFixture
) -> None:
    git(repo, "checkout", "-q", "--detach", "HEAD")
    with caplog.at_level(logging.WARNING, logger="genver"):
        git_ctx = enable(gv)
    assert git_ctx.info is None and git_ctx.active_model is None
    assert "detached HEAD" in caplog.text and "disabled" in caplog.text
    assert gv.get_active_model_id() is None
    assert git_models(gv) == []


def test_outside_git_warns_and_carries_on(
    git_env: Path, gv: Genver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    outside = git_env / "not-a-repo"
    outside.mkdir()
    monkeypatch.chdir(outside)
    with caplog.at_level(logging.WARNING, logger="genver"), enable(gv) as git_ctx:
        assert git_ctx.info is None and git_ctx.active_model is None
        assert gv.get_active_model_id() is None
    assert "not in a git repository" in caplog.text
    assert git_models(gv) == []


def test_git_not_installed_warns_and_carries_on(
    repo: Path, gv: Genver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-such-bin"))
    with caplog.at_level(logging.WARNING, logger="genver"):
        git_ctx = enable(gv)
    assert git_ctx.info is None and git_ctx.active_model is None
    assert "git is not installed" in caplog.text


def test_a_repository_without_commits_warns(
    git_env: Path, gv: Genver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    empty = git_env / "empty"
    empty.mkdir()
    git(empty, "init", "-q", "-b", "main")
    monkeypatch.chdir(empty)
    with caplog.at_level(logging.WARNING, logger="genver"):
        git_ctx = enable(gv)
    assert git_ctx.info is None
    assert "has no commit yet" in caplog.text


# -- the remote ---------------------------------------------------------------------------------------
def test_the_remote_url_is_captured_and_part_of_the_version(repo: Path, gv: Genver) -> None:
    without = enable(gv)
    git(repo, "remote", "add", "origin", "https://example.com/acme/agent.git")
    with_origin = enable(gv)
    assert with_origin.info is not None and with_origin.info.repo_url == "https://example.com/acme/agent.git"
    assert with_origin.active_model is not None and without.active_model is not None
    assert with_origin.active_model.tags[REPO_URL_TAG] == "https://example.com/acme/agent.git"
    assert with_origin.active_model.model_id != without.active_model.model_id
    assert enable(gv).active_model.model_id == with_origin.active_model.model_id  # type: ignore[union-attr]


def test_a_missing_remote_warns_and_another_remote_name_can_be_used(
    repo: Path, gv: Genver, caplog: pytest.LogCaptureFixture
) -> None:
    git(repo, "remote", "add", "upstream", "git@example.com:acme/agent.git")
    with caplog.at_level(logging.WARNING, logger="genver"):
        missing = enable(gv)
    assert missing.info is not None and missing.info.repo_url is None
    assert "No remote named 'origin'" in caplog.text
    upstream = enable(gv, remote_name="upstream")
    assert upstream.info is not None and upstream.info.repo_url == "git@example.com:acme/agent.git"


def test_credentials_never_reach_the_tag(repo: Path, gv: Genver) -> None:
    git(repo, "remote", "add", "origin", "https://bot:s3cret-token@example.com/acme/agent.git")
    git_ctx = enable(gv)
    assert git_ctx.active_model is not None
    assert git_ctx.active_model.tags[REPO_URL_TAG] == "https://example.com/acme/agent.git"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ghp_token@github.com/a/b.git", "https://github.com/a/b.git"),
        ("http://user:pw@host:8080/a/b", "http://host:8080/a/b"),
        ("ssh://git:pw@host/a/b.git", "ssh://git@host/a/b.git"),
        ("ssh://git@host/a/b.git", "ssh://git@host/a/b.git"),
        ("git@github.com:a/b.git", "git@github.com:a/b.git"),
        ("/srv/git/b.git", "/srv/git/b.git"),
    ],
)
def test_redacting_remote_urls(url: str, expected: str) -> None:
    assert gvm._redact(url) == expected


def test_a_bad_remote_name_is_refused(gv: Genver) -> None:
    with pytest.raises(InvalidArgumentError, match="remote_name"):
        enable_git_model_versioning(None, genver=gv)  # type: ignore[arg-type]


# -- turning it off -----------------------------------------------------------------------------------
def test_leaving_the_context_clears_the_active_model(repo: Path, gv: Genver) -> None:
    with enable(gv) as git_ctx:
        assert git_ctx.active_model is not None
        assert gv.get_active_model_id() == git_ctx.active_model.model_id
    assert gv.get_active_model_id() is None


def test_leaving_the_context_on_an_exception_clears_it_too(repo: Path, gv: Genver) -> None:
    with pytest.raises(RuntimeError), enable(gv):
        raise RuntimeError("boom")
    assert gv.get_active_model_id() is None


def test_disable_clears_the_active_model(repo: Path, gv: Genver) -> None:
    git_ctx = enable(gv)
    assert git_ctx.active_model is not None and gv.get_active_model_id() == git_ctx.active_model.model_id
    disable_git_model_versioning(genver=gv)
    assert gv.get_active_model_id() is None
    disable_git_model_versioning(genver=gv)  # twice is harmless


def test_disable_leaves_a_model_alone_when_git_versioning_is_off(gv: Genver) -> None:
    mine = gv.set_active_model(name="hand-made")
    disable_git_model_versioning(genver=gv)
    assert gv.get_active_model_id() == mine.model_id


def test_a_second_enable_replaces_the_first(repo: Path, gv: Genver) -> None:
    first = enable(gv)
    (repo / "app.py").write_text("def answer():\n    return 3\n")
    second = enable(gv)
    assert second.active_model is not None
    assert gv.get_active_model_id() == second.active_model.model_id
    with first:  # a replaced context's exit leaves the newer one in force
        pass
    assert gv.get_active_model_id() == second.active_model.model_id
    with second:
        pass
    assert gv.get_active_model_id() is None


def test_an_enable_that_fails_turns_off_the_previous_one(
    repo: Path, gv: Genver, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert enable(gv).active_model is not None
    monkeypatch.chdir(repo.parent)  # outside the repository
    assert enable(gv).active_model is None
    assert gv.get_active_model_id() is None


def test_versions_live_in_the_active_experiment(repo: Path, gv: Genver) -> None:
    default = enable(gv)
    exp = gv.set_experiment("other")
    other = enable(gv)
    assert default.active_model is not None and other.active_model is not None
    assert other.active_model.model_id != default.active_model.model_id
    assert other.active_model.experiment_id == exp.experiment_id


# -- traces, and the module-level API -----------------------------------------------------------------
def test_a_traced_call_links_to_the_git_version(repo: Path, gv: Genver) -> None:
    @gv.trace
    def answer(question: str) -> str:
        return "42"

    with enable(gv) as git_ctx:
        answer("what?")
    gv.flush_trace_async_logging()
    assert git_ctx.active_model is not None
    traces = gv.search_traces(model_id=git_ctx.active_model.model_id, return_type="list")
    assert len(traces) == 1


def test_module_level_functions_use_the_default_instance(repo: Path, git_default_genver: Genver) -> None:
    import genver.genai

    git_ctx = genver.genai.enable_git_model_versioning()
    assert git_ctx.active_model is not None
    assert genver.get_active_model_id() == git_ctx.active_model.model_id
    assert genver.get_logged_model(git_ctx.active_model.model_id).tags[BRANCH_TAG] == "main"
    genver.genai.disable_git_model_versioning()
    assert genver.get_active_model_id() is None
    assert isinstance(git_ctx, genver.genai.GitContext)


def test_truncating_keeps_one_marker_within_the_limit() -> None:
    assert gvm._truncate("short", 100) == "short"
    cut = gvm._truncate("x" * 500, 200)
    assert len(cut) == 200 and cut.endswith(TRUNCATED_MARKER)
    assert gvm._truncate(cut, 150).count(TRUNCATED_MARKER) == 1
    assert gvm._truncate("abc", 200, force=True) == "abc" + TRUNCATED_MARKER
