"""MLflow names genver leaves out raise ``NotOfferedError`` (an ``AttributeError``) naming what to
use instead, and docs/mlflow-compatibility.md lists every one of them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import genver as mlflow
from genver.exceptions import GenverError, NotOfferedError
from genver.not_offered import DATASETS, GENAI, TOP_LEVEL

DOC = Path(__file__).parents[2] / "docs" / "mlflow-compatibility.md"


def test_pyfunc_log_model_says_what_to_use_instead() -> None:
    with pytest.raises(
        NotOfferedError, match=r"genver\.pyfunc is not offered.*create_external_model"
    ) as info:
        mlflow.pyfunc.log_model(name="agent", python_model=object())  # type: ignore[attr-defined]
    assert isinstance(info.value, AttributeError) and isinstance(info.value, GenverError)
    assert info.value.error_code == "NOT_IMPLEMENTED"
    with pytest.raises(NotOfferedError, match=r"genver\.utils is not offered \(mlflow\.utils in MLflow\)"):
        mlflow.utils  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(mlflow, "pyfunc")


def test_labeling_sessions_and_dataset_experiment_links() -> None:
    with pytest.raises(NotOfferedError, match=r"labeling sessions.*log_feedback"):
        mlflow.genai.create_labeling_session  # noqa: B018
    with pytest.raises(NotOfferedError, match="one experiment"):
        mlflow.genai.datasets.add_dataset_to_experiments  # noqa: B018


@pytest.mark.parametrize("module", [mlflow, mlflow.genai])
def test_unknown_names_stay_plain_attribute_errors(module: object) -> None:
    with pytest.raises(AttributeError) as info:
        module.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    assert type(info.value) is AttributeError
    assert "no attribute 'no_such_name'" in str(info.value)


def test_every_name_is_in_the_compatibility_record() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Not offered", 1)[1]
    listed = set(re.findall(r"`(?:mlflow\.)?([\w.]+)`", section))
    expected = set(TOP_LEVEL) | {f"genai.{n}" for n in GENAI} | {f"genai.datasets.{n}" for n in DATASETS}
    missing = sorted(n for n in expected if n not in listed)
    assert not missing, f"docs/mlflow-compatibility.md 'Not offered' misses {missing}"


def test_importing_genver_stays_light() -> None:
    code = "import sys, genver; print(sorted(m for m in ('pandas', 'sqlalchemy', 'genver.not_offered') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
