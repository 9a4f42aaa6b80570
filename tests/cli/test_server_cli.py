"""``genver server`` as a real subprocess on a loopback port, used through the REST store."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from genver.cli.server import is_loopback
from genver.exceptions import UnauthenticatedError
from genver.fluent import Genver
from genver.store.rest import RestStore
from tests.conftest import PgDatabases

pytestmark = pytest.mark.slow

_START_DEADLINE = 60.0  # seconds to wait for /health; a readiness bound, not an assertion on speed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without genver/MLflow settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENVER_", "MLFLOW_"))}
    env.update(extra or {})
    return env


@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    url: str

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then the exit code and everything the server printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        return self.proc.returncode, out


@contextlib.contextmanager
def genver_server(args: Sequence[str], env: Mapping[str, str] | None = None) -> Iterator[ServerProcess]:
    """``python -m genver server ARGS --port <free>`` running until /health answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "genver", "server", "--port", str(port), *args],
        env=clean_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = ServerProcess(proc, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + _START_DEADLINE
        while True:
            if proc.poll() is not None:
                pytest.fail(f"genver server exited with {proc.returncode}:\n{proc.communicate()[0]}")
            try:
                if httpx.get(server.url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"genver server did not answer /health:\n{proc.communicate()[0]}")
            time.sleep(0.1)
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize("workers", [1, 2], ids=["1-worker", "2-workers"])
def test_server_serves_a_sqlite_store_and_stops_cleanly(tmp_path: Path, workers: int) -> None:
    db = tmp_path / "served.db"
    with genver_server(["--backend-store-uri", f"sqlite:///{db}", "--workers", str(workers)]) as server:
        store = RestStore(server.url)
        try:
            exp_id = store.create_experiment("served")
            assert store.get_experiment_by_name("served") is not None
        finally:
            store.close()
        gv = Genver(environ={"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool")})
        gv.set_tracking_uri(server.url)
        model = gv.create_external_model(name="agent-v1", params={"llm": "gpt"}, experiment_id=exp_id)
        again = gv.get_logged_model(model.model_id)
        assert (again.name, again.params, again.experiment_id) == ("agent-v1", {"llm": "gpt"}, exp_id)
        gv.client.close()
        code, out = server.stop()
    assert code == 0, out
    plural = "s" if workers > 1 else ""
    assert f"listening on {server.url}, serving sqlite:///{db} ({workers} worker{plural}, no auth)" in out
    assert db.exists()


def test_default_backend_is_the_tracking_uri_setting(tmp_path: Path) -> None:
    db = tmp_path / "from-env.db"
    with genver_server([], env={"MLFLOW_TRACKING_URI": f"sqlite:///{db}"}) as server:
        code, out = server.stop()
    assert code == 0, out
    assert f"serving sqlite:///{db}" in out


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://127.0.0.1:5000", "expected sqlite:///path/to/file.db or postgresql://"),
        ("mysql://db/x", "expected sqlite:///path/to/file.db or postgresql://"),
        ("postgresql://u:s3cret@127.0.0.1:1/nodb", "cannot open backend store"),
    ],
    ids=["http", "mysql", "unreachable-postgres"],
)
def test_bad_backend_uri_exits_with_a_message_not_a_traceback(uri: str, expected: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "genver", "server", "--backend-store-uri", uri, "--port", str(free_port())],
        env=clean_env({"COLUMNS": "200"}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert expected in out
    assert "Traceback" not in out
    assert "s3cret" not in out


def test_token_file_turns_auth_on_in_every_worker(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("# CI writes, dashboards read\nci-" + "x" * 24 + " read-write ci\n")
    args = ["--backend-store-uri", f"sqlite:///{tmp_path / 'a.db'}", "--token-file", str(tokens)]
    with genver_server([*args, "--workers", "2"]) as server:
        anonymous = RestStore(server.url)
        for _ in range(4):  # whichever worker answers
            with pytest.raises(UnauthenticatedError, match="GENVER_TRACKING_TOKEN"):
                anonymous.get_experiment("0")
        anonymous.close()
        writer = RestStore(server.url, token="ci-" + "x" * 24)
        assert writer.get_experiment(writer.create_experiment("with-token")).name == "with-token"
        writer.close()
        code, out = server.stop()
    assert code == 0, out
    assert "(2 workers, 1 token(s))" in out
    assert "ci-" + "x" * 24 not in out


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "genver", "server", *args],
        env=clean_env({"COLUMNS": "200"}),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_non_loopback_host_without_tokens_is_refused(tmp_path: Path) -> None:
    proc = run_cli("--host", "0.0.0.0", "--backend-store-uri", f"sqlite:///{tmp_path / 'a.db'}")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Refusing to serve on '0.0.0.0' without auth tokens" in out
    assert "--token-file" in out and "--allow-unauthenticated" in out
    assert not (tmp_path / "a.db").exists()  # refused before opening anything


def test_bad_token_file_is_a_message(tmp_path: Path) -> None:
    proc = run_cli("--token-file", str(tmp_path / "missing"), "--port", str(free_port()))
    assert proc.returncode == 1
    assert "Cannot read token file" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.postgres
def test_a_postgres_store_with_settings_that_hurt_at_scale_is_warned_about(
    pg_databases: PgDatabases, tmp_path: Path
) -> None:
    from genver.store.sql.store import SqlStore
    from genver.store.sql.tuning import postgres_advice

    uri = pg_databases.create()
    store = SqlStore(uri)
    advice = postgres_advice(store.engine)
    store.close()
    with genver_server(["--backend-store-uri", uri]) as server:
        code, out = server.stop()
    assert code == 0, out
    assert ("warning: PostgreSQL runs with settings that will slow genver down" in out) == bool(advice)
    for item in advice:
        assert str(item) in out
    with genver_server(["--backend-store-uri", f"sqlite:///{tmp_path}/s.db"]) as server:
        code, out = server.stop()
    assert code == 0 and "warning: PostgreSQL" not in out
