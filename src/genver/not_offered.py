"""MLflow names genver does not offer, each with what to use instead.

``import genver as mlflow`` runs MLflow's GenAI examples; an example that reaches for a part of
MLflow genver leaves out (``mlflow.pyfunc.log_model``, labeling sessions) gets a
``NotOfferedError`` saying so and naming the replacement, not a bare ``AttributeError``. It is
still an ``AttributeError``, so ``hasattr(genver, "pyfunc")`` is False. ``docs/mlflow-compatibility.md``
lists the same names (a test keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Mapping

from genver.exceptions import NotOfferedError

_ARTIFACTS = (
    "genver stores no artifacts: record values as params, tags or metrics (log_param, set_tag, "
    "log_metric), or keep the file in your own storage and record its URI as a tag"
)
_MODELS = (
    "genver stores no model artifacts or flavors: a version of your app is a LoggedModel with "
    "params and tags. Use genver.create_external_model(name=..., params=...) or "
    "genver.set_active_model(name=...) to version the app, and genver.genai.evaluate(data, "
    "predict_fn=your_function) to evaluate the function itself"
)
_PROMPT_CONFIG = (
    "prompt versions are immutable in genver: register a new version with the new model_config "
    "(genver.genai.register_prompt(name, template, model_config=...))"
)
_LABELING = (
    "labeling sessions and the review app are Databricks features genver does not offer: log "
    "human labels with genver.log_feedback(trace_id=..., name=..., value=..., "
    "source=AssessmentSource(source_type='HUMAN', source_id='you@example.com')) or "
    "genver.log_expectation(...), and build datasets with genver.genai.datasets.create_dataset"
)

#: ``genver.<name>``: why it is missing and what to use instead.
TOP_LEVEL: Mapping[str, str] = {
    "pyfunc": _MODELS,
    "models": _MODELS,
    "log_model": _MODELS,
    "register_model": (
        "genver has no model registry: versions are LoggedModels (create_external_model, "
        "search_logged_models) and a version can be named by id, name or @alias"
    ),
    "utils": (
        "mlflow.utils is MLflow's internal helper package, not part of its GenAI API; genver has no "
        "equivalent (the public API is genver.*, genver.entities, genver.genai and MlflowClient)"
    ),
    "artifacts": _ARTIFACTS,
    "log_artifact": _ARTIFACTS,
    "log_artifacts": _ARTIFACTS,
    "log_dict": _ARTIFACTS,
    "log_text": _ARTIFACTS,
    "log_table": _ARTIFACTS,
    "log_image": _ARTIFACTS,
    "log_figure": _ARTIFACTS,
    "get_artifact_uri": _ARTIFACTS,
    "evaluate": "classic mlflow.evaluate is not offered: use genver.genai.evaluate(data, scorers=..., predict_fn=...)",
    "deployments": (
        "MLflow deployments and the AI gateway are not offered: call your model provider directly "
        "(LLM judges take any OpenAI-compatible endpoint through GENVER_JUDGE_BASE_URL)"
    ),
    "gateway": (
        "MLflow deployments and the AI gateway are not offered: call your model provider directly "
        "(LLM judges take any OpenAI-compatible endpoint through GENVER_JUDGE_BASE_URL)"
    ),
    "log_issue": (
        "issues are not offered: record the problem as feedback on the trace, "
        "genver.log_feedback(trace_id=..., name='issue', value=..., rationale=...)"
    ),
}

#: ``genver.genai.<name>``.
GENAI: Mapping[str, str] = {
    "labeling": _LABELING,
    "create_labeling_session": _LABELING,
    "get_labeling_session": _LABELING,
    "get_labeling_sessions": _LABELING,
    "delete_labeling_session": _LABELING,
    "get_review_app": _LABELING,
    "label_schemas": _LABELING,
    "create_label_schema": _LABELING,
    "set_prompt_model_config": _PROMPT_CONFIG,
    "delete_prompt_model_config": _PROMPT_CONFIG,
    "optimize_prompts": "prompt optimization is not offered: compare prompt versions with genver.genai.compare_models",
    "to_predict_fn": (
        "Databricks serving endpoints are not offered: pass any Python function as predict_fn "
        "(it is called with each record's inputs as keyword arguments)"
    ),
}

#: ``genver.genai.datasets.<name>``.
DATASETS: Mapping[str, str] = {
    "add_dataset_to_experiments": (
        "a genver evaluation dataset belongs to one experiment: create it there "
        "(create_dataset(name, experiment_id=...)); datasets are found by experiment with search_datasets"
    ),
    "remove_dataset_from_experiments": (
        "a genver evaluation dataset belongs to one experiment: create a copy in another "
        "experiment, or delete_dataset"
    ),
}


def not_offered(module: str, name: str, table: Mapping[str, str]) -> AttributeError:
    """The error for ``<module>.<name>``: a ``NotOfferedError`` saying what to use instead when
    the name is in ``table``, else Python's plain ``AttributeError``."""
    reason = table.get(name)
    if reason is None:
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    mlflow_name = "mlflow" + module.removeprefix("genver") + "." + name
    return NotOfferedError(
        f"{module}.{name} is not offered ({mlflow_name} in MLflow): {reason}. "
        "See docs/mlflow-compatibility.md."
    )
