"""Bad input on every public module-level function answers with a ``GenverError`` naming the value.

Each row calls one function with one bad argument; the error must be a ``GenverError`` (so also an
``MlflowException``) whose message contains ``repr()`` of the offending value (filter strings are
shown in their double-quoted ``repr`` form).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import genver
from genver.exceptions import GenverError, InvalidArgumentError, NotFoundError

M = "m-" + "0" * 32  # a well-formed id that does not exist
T = "tr-" + "0" * 32  # a well-formed trace id that does not exist
A = "a-" + "0" * 32  # and an assessment id
Call = Callable[[str], object]  # gets the id of an existing version


def _then_use(call: Call) -> Call:
    """Some bad settings surface on first use (e.g. an unsupported tracking URI)."""

    def run(model_id: str) -> object:
        call(model_id)
        return genver.get_logged_model(model_id)

    return run


def _in_run(call: Call) -> Call:
    def run(model_id: str) -> object:
        with genver.start_run():
            return call(model_id)

    return run


# (function, call, bad value, expected error class)
TABLE: list[tuple[str, Call, object, type[GenverError]]] = [
    # tracking store
    ("set_tracking_uri", lambda m: genver.set_tracking_uri(""), "", InvalidArgumentError),
    ("set_tracking_uri", lambda m: genver.set_tracking_uri(None), None, InvalidArgumentError),  # type: ignore[arg-type]
    ("set_tracking_uri", lambda m: genver.set_tracking_uri(42), 42, InvalidArgumentError),  # type: ignore[arg-type]
    (
        "set_tracking_uri",
        _then_use(lambda m: genver.set_tracking_uri("ftp://x")),
        "ftp://x",
        InvalidArgumentError,
    ),
    # experiments
    ("set_experiment", lambda m: genver.set_experiment(experiment_name=""), "", InvalidArgumentError),
    ("set_experiment", lambda m: genver.set_experiment(experiment_name="a\nb"), "a\nb", InvalidArgumentError),
    ("set_experiment", lambda m: genver.set_experiment(experiment_id="999"), "999", NotFoundError),
    ("set_experiment", lambda m: genver.set_experiment(experiment_id="abc"), "abc", InvalidArgumentError),
    ("create_experiment", lambda m: genver.create_experiment(""), "", InvalidArgumentError),
    ("create_experiment", lambda m: genver.create_experiment("Default"), "Default", GenverError),
    ("create_experiment", lambda m: genver.create_experiment(7), 7, InvalidArgumentError),  # type: ignore[arg-type]
    ("get_experiment", lambda m: genver.get_experiment("12345"), "12345", NotFoundError),
    ("get_experiment", lambda m: genver.get_experiment("abc"), "abc", InvalidArgumentError),
    ("get_experiment_by_name", lambda m: genver.get_experiment_by_name(123), 123, InvalidArgumentError),  # type: ignore[arg-type]
    ("delete_experiment", lambda m: genver.delete_experiment("999"), "999", NotFoundError),
    (
        "search_experiments",
        lambda m: genver.search_experiments(filter_string="name = "),
        "name = ",
        InvalidArgumentError,
    ),
    ("search_experiments", lambda m: genver.search_experiments(max_results=0), 0, InvalidArgumentError),
    (
        "search_experiments",
        lambda m: genver.search_experiments(view_type="bogus"),
        "bogus",
        InvalidArgumentError,
    ),  # type: ignore[arg-type]
    (
        "search_experiments",
        lambda m: genver.search_experiments(order_by=["bogus DESC"]),
        "bogus",
        InvalidArgumentError,
    ),
    # runs
    ("start_run", lambda m: genver.start_run(run_id="nope"), "nope", NotFoundError),
    ("start_run", lambda m: genver.start_run(experiment_id="999"), "999", NotFoundError),
    ("start_run", lambda m: genver.start_run(run_name=5), 5, InvalidArgumentError),  # type: ignore[arg-type]
    ("start_run", lambda m: genver.start_run(tags=["x"]), ["x"], InvalidArgumentError),  # type: ignore[arg-type]
    ("end_run", _in_run(lambda m: genver.end_run("DONE")), "DONE", InvalidArgumentError),
    ("end_run", lambda m: genver.end_run(None), None, InvalidArgumentError),  # type: ignore[arg-type]
    ("get_run", lambda m: genver.get_run("nope"), "nope", NotFoundError),
    ("get_run", lambda m: genver.get_run(""), "", InvalidArgumentError),
    (
        "search_runs",
        lambda m: genver.search_runs(filter_string="metrics.x >"),
        "metrics.x >",
        InvalidArgumentError,
    ),
    ("search_runs", lambda m: genver.search_runs(output_format="bogus"), "bogus", InvalidArgumentError),
    ("search_runs", lambda m: genver.search_runs(experiment_ids=["abc"]), "abc", InvalidArgumentError),
    ("search_runs", lambda m: genver.search_runs(max_results=0), 0, InvalidArgumentError),
    ("search_runs", lambda m: genver.search_runs(run_view_type=99), 99, InvalidArgumentError),  # type: ignore[arg-type]
    ("log_param", lambda m: genver.log_param("", "v"), "", InvalidArgumentError),
    ("log_param", lambda m: genver.log_param("k\n", "v"), "k\n", InvalidArgumentError),
    ("log_params", lambda m: genver.log_params({"": "v"}), "", InvalidArgumentError),
    ("log_params", lambda m: genver.log_params({"k": "v"}, run_id="nope"), "nope", NotFoundError),
    ("log_metric", lambda m: genver.log_metric("k", "abc"), "abc", InvalidArgumentError),  # type: ignore[arg-type]
    ("log_metric", lambda m: genver.log_metric("k", True), True, InvalidArgumentError),
    ("log_metric", lambda m: genver.log_metric("k", None), None, InvalidArgumentError),  # type: ignore[arg-type]
    ("log_metric", lambda m: genver.log_metric("", 1.0), "", InvalidArgumentError),
    ("log_metric", lambda m: genver.log_metric("k", 1.0, step="x"), "x", InvalidArgumentError),  # type: ignore[arg-type]
    ("log_metric", lambda m: genver.log_metric("k", 1.0, timestamp=1.5), 1.5, InvalidArgumentError),  # type: ignore[arg-type]
    ("log_metric", lambda m: genver.log_metric("k", 1.0, model_id=M), M, NotFoundError),
    ("log_metric", lambda m: genver.log_metric("k", 1.0, run_id="nope"), "nope", NotFoundError),
    ("log_metric", lambda m: genver.log_metric("k", 1.0, dataset="eval"), "eval", InvalidArgumentError),  # type: ignore[arg-type]
    ("log_metrics", lambda m: genver.log_metrics({"k": "abc"}), "abc", InvalidArgumentError),  # type: ignore[dict-item]
    ("log_metrics", lambda m: genver.log_metrics([1.0]), [1.0], InvalidArgumentError),  # type: ignore[arg-type]
    ("log_input", lambda m: genver.log_input("eval"), "eval", InvalidArgumentError),  # type: ignore[arg-type]
    ("set_tag", lambda m: genver.set_tag("", "v"), "", InvalidArgumentError),
    ("set_tag", lambda m: genver.set_tag("k", None), None, InvalidArgumentError),
    ("set_tags", lambda m: genver.set_tags({"": "v"}), "", InvalidArgumentError),
    # versions
    ("set_active_model", lambda m: genver.set_active_model(model_id=M), M, NotFoundError),
    ("set_active_model", lambda m: genver.set_active_model(model_id=""), "", InvalidArgumentError),
    ("set_active_model", lambda m: genver.set_active_model(name="\n"), "\n", InvalidArgumentError),
    ("set_active_model", lambda m: genver.set_active_model(name=3), 3, InvalidArgumentError),  # type: ignore[arg-type]
    (
        "set_active_model",
        lambda m: genver.set_active_model(name="other", model_id=m),
        "other",
        InvalidArgumentError,
    ),
    ("create_external_model", lambda m: genver.create_external_model(name="\n"), "\n", InvalidArgumentError),
    ("create_external_model", lambda m: genver.create_external_model(name=""), "", InvalidArgumentError),
    (
        "create_external_model",
        lambda m: genver.create_external_model(params={"t": 0.7}),
        0.7,
        InvalidArgumentError,
    ),  # type: ignore[dict-item]
    (
        "create_external_model",
        lambda m: genver.create_external_model(params=["t"]),
        ["t"],
        InvalidArgumentError,
    ),  # type: ignore[arg-type]
    (
        "create_external_model",
        lambda m: genver.create_external_model(tags="env"),
        "env",
        InvalidArgumentError,
    ),  # type: ignore[arg-type]
    (
        "create_external_model",
        lambda m: genver.create_external_model(tags={"k": None}),
        "k",
        InvalidArgumentError,
    ),
    ("create_external_model", lambda m: genver.create_external_model(model_type=5), 5, InvalidArgumentError),  # type: ignore[arg-type]
    (
        "create_external_model",
        lambda m: genver.create_external_model(source_run_id="nope"),
        "nope",
        NotFoundError,
    ),
    (
        "create_external_model",
        lambda m: genver.create_external_model(experiment_id="999"),
        "999",
        NotFoundError,
    ),
    (
        "initialize_logged_model",
        lambda m: genver.initialize_logged_model(name=" "),
        " ",
        InvalidArgumentError,
    ),
    (
        "initialize_logged_model",
        lambda m: genver.initialize_logged_model(params={"k": 5}),
        5,
        InvalidArgumentError,
    ),  # type: ignore[dict-item]
    (
        "finalize_logged_model",
        lambda m: genver.finalize_logged_model(m, "DONE"),
        "DONE",
        InvalidArgumentError,
    ),
    ("finalize_logged_model", lambda m: genver.finalize_logged_model(m, 99), 99, InvalidArgumentError),  # type: ignore[arg-type]
    ("finalize_logged_model", lambda m: genver.finalize_logged_model(M, "READY"), M, NotFoundError),
    ("finalize_logged_model", lambda m: genver.finalize_logged_model(m, "READY", 7), 7, InvalidArgumentError),  # type: ignore[arg-type]
    ("get_logged_model", lambda m: genver.get_logged_model(""), "", InvalidArgumentError),
    ("get_logged_model", lambda m: genver.get_logged_model(None), None, InvalidArgumentError),  # type: ignore[arg-type]
    ("get_logged_model", lambda m: genver.get_logged_model(M), M, NotFoundError),
    (
        "search_logged_models",
        lambda m: genver.search_logged_models(filter_string="name = "),
        "name = ",
        InvalidArgumentError,
    ),
    (
        "search_logged_models",
        lambda m: genver.search_logged_models(filter_string="a = 1 OR"),
        "a = 1 OR",
        InvalidArgumentError,
    ),
    ("search_logged_models", lambda m: genver.search_logged_models(filter_string=5), 5, InvalidArgumentError),  # type: ignore[arg-type]
    ("search_logged_models", lambda m: genver.search_logged_models(max_results=0), 0, InvalidArgumentError),
    (
        "search_logged_models",
        lambda m: genver.search_logged_models(max_results="5"),
        "5",
        InvalidArgumentError,
    ),  # type: ignore[arg-type]
    (
        "search_logged_models",
        lambda m: genver.search_logged_models(output_format="bogus"),
        "bogus",
        InvalidArgumentError,
    ),
    (
        "search_logged_models",
        lambda m: genver.search_logged_models(experiment_ids=["abc"]),
        "abc",
        InvalidArgumentError,
    ),
    (
        "search_logged_models",
        lambda m: genver.search_logged_models(datasets=[{"x": 1}]),
        {"x": 1},
        InvalidArgumentError,
    ),
    (
        "search_logged_models",
        lambda m: genver.search_logged_models(datasets="eval"),
        "eval",
        InvalidArgumentError,
    ),  # type: ignore[arg-type]
    (
        "search_logged_models",
        lambda m: genver.search_logged_models(order_by=[{"field_name": "params.x"}]),
        "params.x",
        InvalidArgumentError,
    ),
    ("log_model_params", lambda m: genver.log_model_params({"k": 1}, model_id=m), 1, InvalidArgumentError),  # type: ignore[dict-item]
    ("log_model_params", lambda m: genver.log_model_params({"k": "v"}, model_id=M), M, NotFoundError),
    ("log_model_params", lambda m: genver.log_model_params({"": "v"}, model_id=m), "", InvalidArgumentError),
    ("set_logged_model_tags", lambda m: genver.set_logged_model_tags(M, {"k": "v"}), M, NotFoundError),
    ("set_logged_model_tags", lambda m: genver.set_logged_model_tags(m, {"": "v"}), "", InvalidArgumentError),
    ("set_logged_model_tags", lambda m: genver.set_logged_model_tags(m, "k"), "k", InvalidArgumentError),  # type: ignore[arg-type]
    ("delete_logged_model_tag", lambda m: genver.delete_logged_model_tag(m, "nokey"), "nokey", NotFoundError),
    ("delete_logged_model_tag", lambda m: genver.delete_logged_model_tag(M, "k"), M, NotFoundError),
    ("delete_logged_model", lambda m: genver.delete_logged_model(M), M, NotFoundError),
    ("delete_logged_model", lambda m: genver.delete_logged_model(""), "", InvalidArgumentError),
    # tracing
    (
        "search_traces",
        lambda m: genver.search_traces(filter_string="state = "),
        "state = ",
        InvalidArgumentError,
    ),
    ("search_traces", lambda m: genver.search_traces(return_type="bogus"), "bogus", InvalidArgumentError),
    ("search_traces", lambda m: genver.search_traces(experiment_ids=["abc"]), "abc", InvalidArgumentError),
    ("get_trace", lambda m: genver.get_trace(""), "", InvalidArgumentError),
    (
        "delete_traces",
        lambda m: genver.delete_traces("abc", trace_ids=["tr-" + "0" * 32]),
        "abc",
        InvalidArgumentError,
    ),
    (
        "get_trace_stats",
        lambda m: genver.get_trace_stats(experiment_ids=["abc"]),
        "abc",
        InvalidArgumentError,
    ),
    ("set_model_prices", lambda m: genver.set_model_prices({"llm": "cheap"}), "cheap", InvalidArgumentError),
    ("start_span", lambda m: genver.start_span(name=""), "", InvalidArgumentError),
    ("trace", lambda m: genver.trace(name=5)(lambda: None), 5, InvalidArgumentError),  # type: ignore[arg-type]
    (
        "update_current_trace",
        lambda m: genver.update_current_trace(state="DONE"),
        "DONE",
        InvalidArgumentError,
    ),
    ("set_trace_tag", lambda m: genver.set_trace_tag("tr-1", "k", "v"), "tr-1", InvalidArgumentError),
    ("set_trace_tag", lambda m: genver.set_trace_tag(T, "k", "v"), T, NotFoundError),
    ("delete_trace_tag", lambda m: genver.delete_trace_tag(T, "k"), T, NotFoundError),
    # assessments
    ("log_feedback", lambda m: genver.log_feedback(trace_id=T, value=1), T, NotFoundError),
    ("log_feedback", lambda m: genver.log_feedback(trace_id="t-1", value=1), "t-1", InvalidArgumentError),
    (
        "log_expectation",
        lambda m: genver.log_expectation(trace_id=T, name="e", value=None),
        None,
        InvalidArgumentError,
    ),
    ("log_assessment", lambda m: genver.log_assessment(T, "good"), "good", InvalidArgumentError),  # type: ignore[arg-type]
    ("get_assessment", lambda m: genver.get_assessment(T, A), A, NotFoundError),
    ("update_assessment", lambda m: genver.update_assessment(T, A, "x"), "x", InvalidArgumentError),  # type: ignore[arg-type]
    ("delete_assessment", lambda m: genver.delete_assessment(T, "a-1"), "a-1", InvalidArgumentError),
    (
        "override_feedback",
        lambda m: genver.override_feedback(trace_id=T, assessment_id=A, value=1),
        A,
        NotFoundError,
    ),
    ("set_logged_model_alias", lambda m: genver.set_logged_model_alias(M, "prod"), M, NotFoundError),
    (
        "set_logged_model_alias",
        lambda m: genver.set_logged_model_alias(m, "a b"),
        "a b",
        InvalidArgumentError,
    ),
    ("delete_logged_model_alias", lambda m: genver.delete_logged_model_alias("nope"), "@nope", NotFoundError),
    ("get_logged_model_by_alias", lambda m: genver.get_logged_model_by_alias(""), "", InvalidArgumentError),
    ("get_logged_model_by_alias", lambda m: genver.get_logged_model_by_alias("nope"), "@nope", NotFoundError),
    ("get_logged_model_history", lambda m: genver.get_logged_model_history(M), M, NotFoundError),
    ("register_prompt", lambda m: genver.register_prompt("a b", "x"), "a b", InvalidArgumentError),
    ("register_prompt", lambda m: genver.register_prompt("qa", 7), 7, InvalidArgumentError),  # type: ignore[arg-type]
    ("load_prompt", lambda m: genver.load_prompt("prompts:/qa"), "prompts:/qa", InvalidArgumentError),
    ("load_prompt", lambda m: genver.load_prompt("nope", version=1), "nope", NotFoundError),
    ("search_prompts", lambda m: genver.search_prompts("nme = 'x'"), "nme", InvalidArgumentError),
    ("set_prompt_alias", lambda m: genver.set_prompt_alias("nope", "prod", 1), "nope", NotFoundError),
    ("set_prompt_alias", lambda m: genver.set_prompt_alias("qa", "a b", 1), "a b", InvalidArgumentError),
    ("delete_prompt_alias", lambda m: genver.delete_prompt_alias("nope", "prod"), "nope", NotFoundError),
]

#: Public functions with no argument that can be bad.
NO_ARGUMENTS = {
    "active_run",
    "clear_active_model",
    "get_active_model_id",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "last_active_run_id",
    "last_logged_model",
    "flush_trace_async_logging",
    "get_current_active_span",
    "get_last_active_trace_id",
    "get_trace_export_stats",
}


def _shown(bad: object) -> list[str]:
    """``repr(bad)``; filter messages may use its double-quoted form, since filters are full of
    single quotes (``"name = 'x'"`` reads better than ``'name = \\'x\\''``)."""
    forms = [repr(bad)]
    if isinstance(bad, str) and forms[0].startswith("'"):
        forms.append('"' + forms[0][1:-1] + '"')
    return forms


@pytest.mark.parametrize(
    ("call", "bad", "error"),
    [pytest.param(call, bad, error, id=f"{fn}-{i}") for i, (fn, call, bad, error) in enumerate(TABLE)],
)
def test_bad_input_names_the_value(call: Call, bad: object, error: type[GenverError]) -> None:
    model_id = genver.create_external_model(name="existing").model_id

    with pytest.raises(GenverError) as info:
        call(model_id)

    assert isinstance(info.value, error), repr(info.value)
    assert any(form in str(info.value) for form in _shown(bad)), (str(info.value), bad)
    assert info.value.error_code in (
        "INVALID_PARAMETER_VALUE",
        "RESOURCE_DOES_NOT_EXIST",
        "RESOURCE_ALREADY_EXISTS",
    )


def test_the_table_covers_every_public_function() -> None:
    functions = {
        name for name in genver.__all__ if name[0].islower() and callable(getattr(genver, name, None))
    }
    covered = {fn for fn, *_ in TABLE}
    assert covered <= functions
    assert functions - NO_ARGUMENTS == covered


def test_bad_input_stores_nothing() -> None:
    before: Any = genver.search_logged_models(output_format="list")
    for fn, call, _bad, _error in TABLE:
        if fn in ("create_external_model", "initialize_logged_model", "set_active_model"):
            with pytest.raises(GenverError):
                call(M)
    assert genver.search_logged_models(output_format="list") == before == []
