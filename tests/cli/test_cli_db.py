"""Damaged stores (issue 12, item 3): a random-bytes file, a truncated one and a corrupted page
give a ``StoreCorruptError`` naming the file and saying what to do, a one-line CLI error (a
traceback only with ``--debug``); ``genver db check`` finds the damage and exits 1;
``genver db backup`` copies a live store. Also ``--version`` and the psycopg hint."""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from genver.cli import main
from genver.exceptions import InvalidArgumentError, StoreCorruptError
from genver.fluent import Genver
from genver.store.sql.store import SqlStore


@pytest.fixture
def healthy(tmp_path: Path) -> Path:
    """A SQLite store of a few thousand rows (so a page in the middle holds data)."""
    path = tmp_path / "good.db"
    store = SqlStore(f"sqlite:///{path}")
    for i in range(300):
        m = store.create_logged_model(experiment_id="0", name=f"bot-{i}", params={"p": "x" * 200})
        store.set_logged_model_tags(m.model_id, {"t": "y" * 200})
    store.close()
    return path


def damaged(healthy: Path, how: str) -> Path:
    path = healthy.with_name(f"{how}.db")
    data = healthy.read_bytes()
    if how == "random":
        path.write_bytes(os.urandom(len(data)))
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 3])
    else:  # 8 KB overwritten in the middle
        middle = len(data) // 2
        path.write_bytes(data[:middle] + b"\xa5" * 8192 + data[middle + 8192 :])
    return path


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str]]:
    """Run ``genver ARGS`` through the console script's ``main()`` (which turns a genver error
    into one line and exit code 1): its exit code and output."""

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["genver", *args])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return code, capsys.readouterr().out

    return run


@pytest.mark.parametrize("how", ["random", "truncated"])
def test_a_damaged_file_is_a_clear_error_naming_it(healthy: Path, how: str) -> None:
    path = damaged(healthy, how)
    before = path.read_bytes()
    with pytest.raises(StoreCorruptError) as err:
        Genver(tracking_uri=f"sqlite:///{path}").search_logged_models(experiment_ids=["0"])
    message = str(err.value)
    assert str(path) in message and "genver db check" in message and "backup" in message
    assert path.read_bytes() == before  # nothing was changed


@pytest.mark.parametrize("how", ["random", "truncated"])
def test_the_cli_says_it_in_one_line_and_debug_shows_the_traceback(
    healthy: Path, how: str, cli: Callable[..., tuple[int, str]]
) -> None:
    path = damaged(healthy, how)
    code, out = cli("models", "list", "--tracking-uri", f"sqlite:///{path}")
    assert code == 1 and "Traceback" not in out
    (line,) = out.strip().splitlines()  # unwrapped: the command in it copies whole
    assert line.startswith("error: ") and f"genver db check sqlite:///{path}" in line
    with pytest.raises(StoreCorruptError):  # --debug: the error itself, with its traceback
        cli("--debug", "models", "list", "--tracking-uri", f"sqlite:///{path}")


@pytest.mark.parametrize("how", ["random", "truncated", "page"])
def test_db_check_finds_the_damage_and_exits_1(
    healthy: Path, how: str, cli: Callable[..., tuple[int, str]]
) -> None:
    path = damaged(healthy, how)
    code, out = cli("db", "check", f"sqlite:///{path}")
    assert code == 1 and "damaged" in out and "Traceback" not in out
    assert any(s in out for s in ("malformed", "not a database", "integrity_check")), out


def test_db_check_passes_a_sound_store(healthy: Path, cli: Callable[..., tuple[int, str]]) -> None:
    code, out = cli("db", "check", f"sqlite:///{healthy}")
    assert code == 0, out
    assert "ok:" in out and "logged_models 300" in out and "integrity_check" in out


def test_db_backup_copies_a_live_store(healthy: Path, cli: Callable[..., tuple[int, str]]) -> None:
    uri = f"sqlite:///{healthy}"
    stop = threading.Event()

    def write() -> None:  # a writer keeps writing during the copy
        store = SqlStore(uri)
        i = 0
        while not stop.is_set():
            store.create_logged_model(experiment_id="0", name=f"late-{i}")
            i += 1
        store.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        dest = healthy.with_name("copy.db")
        code, out = cli("db", "backup", str(dest), "--tracking-uri", uri)
    finally:
        stop.set()
        writer.join()
    assert code == 0, out
    assert "Copied" in out and dest.exists()
    assert sqlite3.connect(dest).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    copied = SqlStore(f"sqlite:///{dest}").search_logged_models(experiment_ids=["0"], max_results=1000)
    assert sum(m.name.startswith("bot-") for m in copied) == 300

    again, out = cli("db", "backup", str(dest), "--tracking-uri", uri)
    assert again == 1 and "exists" in out  # never overwrites


def test_a_damaged_store_is_not_backed_up(healthy: Path, cli: Callable[..., tuple[int, str]]) -> None:
    path = damaged(healthy, "random")
    dest = healthy.with_name("copy.db")
    code, out = cli("db", "backup", str(dest), "--tracking-uri", f"sqlite:///{path}")
    assert code == 1 and "damaged" in out and not dest.exists()


def test_version(cli: Callable[..., tuple[int, str]]) -> None:
    code, out = cli("--version")
    assert code == 0 and out.startswith("genver ")


def test_a_missing_postgres_driver_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ModuleNotFoundError
    with pytest.raises(InvalidArgumentError, match=r"pip install 'genver\[postgres\]'"):
        SqlStore("postgresql://user:secret@127.0.0.1:1/nowhere")


@pytest.mark.postgres
def test_db_check_and_backup_on_postgres(
    db_uri: str, backend: str, cli: Callable[..., tuple[int, str]]
) -> None:
    if backend != "postgres":
        pytest.skip("the SQLite variants are the tests above")
    SqlStore(db_uri).close()
    code, out = cli("db", "check", db_uri)
    assert code == 0, out
    assert "ok:" in out and ("amcheck" in out)
    code, out = cli("db", "backup", "/tmp/never.db", "--tracking-uri", db_uri)
    assert code == 1 and "pg_dump" in out


def test_help_texts_render_as_written(cli: Callable[..., tuple[int, str]]) -> None:
    """A help text's "[name]" is text, not Rich markup swallowed (issue 12 item 9)."""
    code, out = cli("server", "--help")
    assert code == 0 and "read-write|read-only [name]" in " ".join(out.split())


@pytest.mark.postgres
def test_db_check_names_postgres_settings_that_hurt_at_scale(
    db_uri: str, backend: str, cli: Callable[..., tuple[int, str]]
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite has no such settings")
    from genver.store.sql.tuning import postgres_advice

    store = SqlStore(db_uri)
    advice = postgres_advice(store.engine)
    store.close()
    code, out = cli("db", "check", db_uri)
    assert code == 0, out  # advice, not damage
    assert ("Tuning PostgreSQL" in out) == bool(advice)
    for item in advice:
        assert f"{item.setting} = {item.current} (set {item.recommended})" in out
