"""The public surface: ``genver.__all__``, SPEC section 3 names, the error tree, lazy imports."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

import genver
from genver import exceptions
from genver.client import GenverClient

ALL = [
    "ActiveModel",
    "ActiveRun",
    "Dataset",
    "Experiment",
    "Genver",
    "GenverClient",
    "GenverError",
    "LoggedModel",
    "LoggedModelStatus",
    "Metric",
    "MlflowClient",
    "MlflowException",
    "Run",
    "RunStatus",
    "Span",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceState",
    "TraceStats",
    "ViewType",
    "active_run",
    "clear_active_model",
    "create_experiment",
    "create_external_model",
    "data",
    "delete_assessment",
    "delete_experiment",
    "delete_logged_model",
    "delete_logged_model_alias",
    "delete_logged_model_tag",
    "delete_prompt_alias",
    "delete_trace_tag",
    "delete_traces",
    "end_run",
    "entities",
    "exceptions",
    "finalize_logged_model",
    "flush_trace_async_logging",
    "genai",
    "get_active_model_id",
    "get_assessment",
    "get_current_active_span",
    "get_experiment",
    "get_experiment_by_name",
    "get_last_active_trace_id",
    "get_logged_model",
    "get_logged_model_by_alias",
    "get_logged_model_history",
    "get_run",
    "get_trace",
    "get_trace_export_stats",
    "get_trace_stats",
    "get_tracking_uri",
    "initialize_logged_model",
    "is_tracking_uri_set",
    "last_active_run_id",
    "last_logged_model",
    "load_prompt",
    "log_assessment",
    "log_expectation",
    "log_feedback",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_model_params",
    "log_param",
    "log_params",
    "override_feedback",
    "register_prompt",
    "search_experiments",
    "search_logged_models",
    "search_prompts",
    "search_runs",
    "search_traces",
    "set_active_model",
    "set_experiment",
    "set_logged_model_alias",
    "set_logged_model_tags",
    "set_model_prices",
    "set_prompt_alias",
    "set_tag",
    "set_tags",
    "set_trace_tag",
    "set_tracking_uri",
    "start_run",
    "start_span",
    "trace",
    "update_assessment",
    "update_current_trace",
]

SPEC_TRACKING = ["set_tracking_uri", "get_tracking_uri"]
SPEC_EXPERIMENTS = [
    "set_experiment",
    "create_experiment",
    "get_experiment",
    "get_experiment_by_name",
    "search_experiments",
]
SPEC_RUNS = [
    "start_run",
    "end_run",
    "active_run",
    "get_run",
    "search_runs",
    "log_param",
    "log_params",
    "log_metric",
    "log_metrics",
    "set_tag",
    "set_tags",
]
SPEC_VERSIONS = [
    "set_active_model",
    "get_active_model_id",
    "clear_active_model",
    "create_external_model",
    "initialize_logged_model",
    "finalize_logged_model",
    "get_logged_model",
    "search_logged_models",
    "last_logged_model",
    "log_model_params",
    "set_logged_model_tags",
    "delete_logged_model_tag",
    "delete_logged_model",
]
SPEC_VERSION_ENTITIES = ["LoggedModel", "ActiveModel", "LoggedModelStatus", "Metric"]
#: The versions API on the explicit client (explicit ids; the fluent-only ones need context).
CLIENT_VERSIONS = [
    "create_logged_model",
    "finalize_logged_model",
    "get_logged_model",
    "search_logged_models",
    "log_model_params",
    "set_logged_model_tags",
    "delete_logged_model_tag",
    "delete_logged_model",
    # genver: aliases and history
    "set_logged_model_alias",
    "delete_logged_model_alias",
    "get_logged_model_by_alias",
    "get_logged_model_aliases",
    "get_logged_model_history",
    "get_alias_history",
    "get_alias_holder_at",
    "get_history_head",
    "verify_history",
]


def test_all_is_pinned_and_sorted() -> None:
    assert genver.__all__ == ALL
    assert sorted(ALL) == ALL
    for name in ALL:
        assert hasattr(genver, name), name


@pytest.mark.parametrize("name", SPEC_TRACKING + SPEC_EXPERIMENTS + SPEC_RUNS + SPEC_VERSIONS)
def test_spec_functions_are_bound_methods_of_the_default_instance(name: str) -> None:
    assert name in genver.__all__
    fn = getattr(genver, name)
    assert inspect.ismethod(fn)
    assert isinstance(fn.__self__, genver.Genver)
    assert fn.__self__ is genver.set_active_model.__self__  # one default instance
    assert callable(getattr(genver.Genver, name))


@pytest.mark.parametrize("name", SPEC_VERSION_ENTITIES)
def test_spec_version_entities_are_exported(name: str) -> None:
    assert name in genver.__all__
    assert inspect.isclass(getattr(genver, name))
    assert issubclass(genver.ActiveModel, genver.LoggedModel)


@pytest.mark.parametrize("name", CLIENT_VERSIONS)
def test_versions_api_on_the_client(name: str) -> None:
    assert callable(getattr(GenverClient, name))


def test_client_alias() -> None:
    assert genver.MlflowClient is genver.GenverClient


def test_mlflow_exception_alias() -> None:
    assert exceptions.MlflowException is exceptions.GenverError
    assert genver.MlflowException is genver.GenverError is exceptions.GenverError


@pytest.mark.parametrize(
    ("cls", "bases", "code"),
    [
        (exceptions.InvalidArgumentError, (exceptions.GenverError, ValueError), "INVALID_PARAMETER_VALUE"),
        (
            exceptions.InvalidFilterError,
            (exceptions.InvalidArgumentError, ValueError),
            "INVALID_PARAMETER_VALUE",
        ),
        (exceptions.NotFoundError, (exceptions.GenverError, LookupError), "RESOURCE_DOES_NOT_EXIST"),
        (exceptions.AlreadyExistsError, (exceptions.GenverError,), "RESOURCE_ALREADY_EXISTS"),
        (exceptions.PermissionDeniedError, (exceptions.GenverError, PermissionError), "PERMISSION_DENIED"),
        (
            exceptions.UnauthenticatedError,
            (exceptions.PermissionDeniedError, PermissionError),
            "UNAUTHENTICATED",
        ),
        (exceptions.StoreError, (exceptions.GenverError,), "INTERNAL_ERROR"),
        (
            exceptions.StoreUnavailableError,
            (exceptions.StoreError, ConnectionError),
            "TEMPORARILY_UNAVAILABLE",
        ),
        (exceptions.TracingError, (exceptions.GenverError,), "INTERNAL_ERROR"),
    ],
)
def test_error_tree(cls: type[exceptions.GenverError], bases: tuple[type, ...], code: str) -> None:
    for base in bases:
        assert issubclass(cls, base)
    assert issubclass(cls, Exception)
    err = cls("bad value 'x'")
    assert err.error_code == code
    assert str(err) == err.message == "bad value 'x'"
    assert cls.__name__ in exceptions.__all__
    assert cls.__name__ in (exceptions.__doc__ or "")  # drawn in the module docstring
    assert cls("m", error_code="BAD_REQUEST").error_code == "BAD_REQUEST"


def test_genver_error_is_the_root() -> None:
    assert issubclass(exceptions.GenverError, Exception)
    assert not issubclass(exceptions.GenverError, ValueError)
    assert exceptions.GenverError("x").error_code == "INTERNAL_ERROR"


def test_import_genver_loads_no_heavy_dependency() -> None:
    code = (
        "import json, sys\n"
        "import genver\n"
        "print(json.dumps(sorted(m for m in ('sqlalchemy', 'alembic', 'pandas') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_version_string() -> None:
    assert isinstance(genver.__version__, str)
    assert genver.__version__.count(".") >= 2
