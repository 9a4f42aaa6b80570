"""genver: version tracking for GenAI applications, with MLflow 3's LoggedModel API.

``import genver as mlflow`` runs MLflow's examples for these APIs::

    import genver as mlflow

    mlflow.set_active_model(name="my-agent-v1.0")   # creates the version if missing
    model = mlflow.create_external_model(name="rag-v2.1", params={"llm": "gpt-4"})

Module-level functions are bound methods of one default ``Genver`` instance.
"""

from __future__ import annotations

from typing import Any

from genver import data, entities, exceptions, genai
from genver.client import GenverClient, MlflowClient
from genver.context import ActiveModel
from genver.entities import (
    Dataset,
    Experiment,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    Run,
    RunStatus,
    Span,
    SpanType,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
    TraceStats,
    ViewType,
)
from genver.exceptions import GenverError, MlflowException
from genver.fluent import ActiveRun, Genver
from genver.fluent.base import _default_holder

__version__ = "0.1.0"

_default = Genver()
_default_holder[0] = _default

# tracking store
set_tracking_uri = _default.set_tracking_uri
get_tracking_uri = _default.get_tracking_uri
is_tracking_uri_set = _default.is_tracking_uri_set
# experiments
set_experiment = _default.set_experiment
create_experiment = _default.create_experiment
get_experiment = _default.get_experiment
get_experiment_by_name = _default.get_experiment_by_name
delete_experiment = _default.delete_experiment
search_experiments = _default.search_experiments
# runs
start_run = _default.start_run
end_run = _default.end_run
active_run = _default.active_run
last_active_run_id = _default.last_active_run_id
get_run = _default.get_run
search_runs = _default.search_runs
log_param = _default.log_param
log_params = _default.log_params
log_metric = _default.log_metric
log_metrics = _default.log_metrics
log_input = _default.log_input
set_tag = _default.set_tag
set_tags = _default.set_tags
# versions
set_active_model = _default.set_active_model
get_active_model_id = _default.get_active_model_id
clear_active_model = _default.clear_active_model
create_external_model = _default.create_external_model
initialize_logged_model = _default.initialize_logged_model
finalize_logged_model = _default.finalize_logged_model
get_logged_model = _default.get_logged_model
last_logged_model = _default.last_logged_model
search_logged_models = _default.search_logged_models
log_model_params = _default.log_model_params
set_logged_model_tags = _default.set_logged_model_tags
delete_logged_model_tag = _default.delete_logged_model_tag
delete_logged_model = _default.delete_logged_model
set_logged_model_alias = _default.set_logged_model_alias
delete_logged_model_alias = _default.delete_logged_model_alias
get_logged_model_by_alias = _default.get_logged_model_by_alias
get_logged_model_history = _default.get_logged_model_history
# prompts (MLflow 3 keeps these five at top level too, as aliases of the mlflow.genai ones)
register_prompt = _default.register_prompt
load_prompt = _default.load_prompt
search_prompts = _default.search_prompts
set_prompt_alias = _default.set_prompt_alias
delete_prompt_alias = _default.delete_prompt_alias
# tracing
trace = _default.trace
start_span = _default.start_span
get_current_active_span = _default.get_current_active_span
update_current_trace = _default.update_current_trace
get_trace = _default.get_trace
search_traces = _default.search_traces
get_last_active_trace_id = _default.get_last_active_trace_id
flush_trace_async_logging = _default.flush_trace_async_logging
delete_traces = _default.delete_traces
get_trace_stats = _default.get_trace_stats
get_trace_export_stats = _default.get_trace_export_stats
set_model_prices = _default.set_model_prices
set_trace_tag = _default.set_trace_tag
delete_trace_tag = _default.delete_trace_tag
# assessments (feedback and expectations on traces)
log_assessment = _default.log_assessment
log_feedback = _default.log_feedback
log_expectation = _default.log_expectation
get_assessment = _default.get_assessment
update_assessment = _default.update_assessment
delete_assessment = _default.delete_assessment
override_feedback = _default.override_feedback

__all__ = [
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


def __getattr__(name: str) -> Any:
    """``genver.openai`` / ``anthropic`` / ``langchain`` (each with MLflow's ``autolog()``) and
    ``genver.autolog`` are loaded on first access, so ``import genver`` imports no integration
    and no provider library. MLflow modules and calls genver leaves out (``genver.pyfunc``,
    ``genver.utils``) raise a ``NotOfferedError`` naming what to use instead; other unknown names
    a plain AttributeError."""
    if name in ("openai", "anthropic", "langchain"):
        import importlib

        return importlib.import_module(f"genver.{name}")
    if name == "autolog":
        from genver.integrations import autolog

        return autolog
    from genver.not_offered import TOP_LEVEL, not_offered

    raise not_offered("genver", name, TOP_LEVEL)
