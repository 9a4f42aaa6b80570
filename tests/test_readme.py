"""The README's commands and code are true: its first lines are the two commands, and its
Python example runs as written on a fresh folder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_starts_with_the_two_commands() -> None:
    bash = _blocks("bash")
    assert bash[0].strip() == "pip install -e . && genver quickstart"
    assert bash[1].strip() == 'pip install -e ".[dev]" && pytest -n auto'


def test_ci_runs_the_readme_test_command() -> None:
    ci = (README.parent / ".ci" / "run").read_text()
    assert "\npytest -n auto\n" in ci


def test_readme_python_examples_run(tmp_path: Path) -> None:
    for code in _blocks("python"):
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "genver.db").exists()
