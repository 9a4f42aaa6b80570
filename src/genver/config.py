"""Every setting genver reads, declared once with its environment variables.

Precedence is always: explicit argument > environment > default. Settings are read from a
mapping passed in (``os.environ`` by default), so tests never have to mutate the real
environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: the environment variables that set it (first wins) and its default."""

    env_vars: tuple[str, ...]
    default: str | None
    doc: str

    def get(self, environ: Mapping[str, str] | None = None) -> str | None:
        env = os.environ if environ is None else environ
        for name in self.env_vars:
            value = env.get(name)
            if value is not None and value.strip() != "":
                return value.strip()
        return self.default

    def get_float(self, environ: Mapping[str, str] | None = None) -> float:
        from genver.exceptions import InvalidArgumentError

        raw = self.get(environ)
        try:
            return float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidArgumentError(
                f"Invalid value {raw!r} for {self.env_vars[0]}: expected a number, e.g. {self.default!r}."
            ) from None


DEFAULT_TRACKING_URI = "sqlite:///genver.db"

TRACKING_URI = Setting(
    ("GENVER_TRACKING_URI", "MLFLOW_TRACKING_URI"),
    None,
    "Where genver stores data: sqlite:///path, postgresql://..., or http(s)://host:port. "
    f"Default {DEFAULT_TRACKING_URI} in the working directory.",
)
ACTIVE_MODEL_ID = Setting(
    ("GENVER_ACTIVE_MODEL_ID", "MLFLOW_ACTIVE_MODEL_ID", "_MLFLOW_ACTIVE_MODEL_ID"),
    None,
    "The version traces link to when none is set in code: a model id, or a version name that is "
    "resolved (and created if missing) in the active experiment.",
)
EXPERIMENT_NAME = Setting(
    ("GENVER_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME"),
    None,
    "The experiment used when none is set in code (created if missing).",
)
EXPERIMENT_ID = Setting(
    ("GENVER_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID"),
    None,
    "The experiment id used when none is set in code; wins over the name.",
)
SQLITE_BUSY_TIMEOUT = Setting(
    ("GENVER_SQLITE_BUSY_TIMEOUT",),
    "60",
    "Seconds a SQLite writer waits for another writer before giving up.",
)
TRACKING_USER = Setting(
    ("GENVER_USER", "MLFLOW_TRACKING_USERNAME", "USER", "USERNAME"),
    None,
    "The user recorded on runs and versions (tag mlflow.user), and named in the versions' history "
    "for changes made through a local store (default: the OS account name).",
)

TRACE_FLUSH_INTERVAL = Setting(
    ("GENVER_TRACE_FLUSH_INTERVAL",),
    "0.5",
    "Seconds between background trace exports; a killed process loses at most this much.",
)
TRACE_BATCH_SIZE = Setting(("GENVER_TRACE_BATCH_SIZE",), "500", "Traces written to the store per batch.")
TRACE_MAX_QUEUE = Setting(
    ("GENVER_TRACE_MAX_QUEUE",),
    "10000",
    "Finished traces held in memory before the exporter spools the backlog to disk.",
)
TRACE_SPOOL_DIR = Setting(
    ("GENVER_TRACE_SPOOL_DIR",),
    None,
    "Where traces wait while the store is down (default: beside the SQLite file, else ~/.cache/genver/spool).",
)
TRACE_SPOOL_MAX_MB = Setting(
    ("GENVER_TRACE_SPOOL_MAX_MB",), "1024", "Largest size of the trace spool, in MB."
)
TRACE_EXIT_TIMEOUT = Setting(
    ("GENVER_TRACE_EXIT_TIMEOUT",),
    "10",
    "Seconds a normal exit waits to export queued traces; what is left is spooled.",
)
CACHE_HOME = Setting(
    ("XDG_CACHE_HOME",),
    None,
    "The user's cache folder (default ~/.cache); the trace spool of non-SQLite stores is under it.",
)
SERVICE_NAME = Setting(
    ("OTEL_SERVICE_NAME",),
    "genver-app",
    "The OpenTelemetry service.name of genver's spans (its tracer and the OTLP export).",
)
UNDER_PYTEST = Setting(
    ("PYTEST_CURRENT_TEST",),
    None,
    "Set by pytest during a test: internal tracing errors are raised there, not only logged. "
    "Read at each use, since pytest changes it per test.",
)
TRACING_ENABLED = Setting(
    ("GENVER_TRACING_ENABLED", "MLFLOW_TRACING_ENABLED"),
    "true",
    "Set to false to turn @trace and start_span into no-ops.",
)
OTLP_ENDPOINT = Setting(
    ("GENVER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    None,
    "Also send spans to this OTLP/HTTP collector (needs genver[otlp]).",
)
MODEL_PRICES_FILE = Setting(
    ("GENVER_MODEL_PRICES_FILE",),
    None,
    "A JSON file of model prices ($ per 1M tokens) that extends or overrides the defaults.",
)

EVAL_MAX_WORKERS = Setting(
    ("GENVER_EVAL_MAX_WORKERS", "MLFLOW_GENAI_EVAL_MAX_WORKERS"),
    None,
    "Threads that run predict_fn and the scorers (default: min(8, rows)).",
)

EVAL_ASYNC_TIMEOUT = Setting(
    ("GENVER_EVAL_ASYNC_TIMEOUT", "MLFLOW_GENAI_EVAL_ASYNC_TIMEOUT"),
    "300",
    "Seconds an async predict_fn may take on one row before the row fails.",
)

EVAL_INTERRUPT_GRACE = Setting(
    ("GENVER_EVAL_INTERRUPT_GRACE",),
    "10",
    "Seconds genai.evaluate lets running rows finish after a Ctrl-C (a second Ctrl-C stops at once).",
)

JUDGE_MODEL = Setting(
    ("GENVER_JUDGE_MODEL", "MLFLOW_GENAI_JUDGE_DEFAULT_MODEL"),
    "openai:/gpt-4.1-mini",
    "The judge model when a judge is built without model=: 'openai:/<model>' or a model name "
    "(MLflow's default, openai:/gpt-4.1-mini, unless set).",
)

JUDGE_BASE_URL = Setting(
    ("GENVER_JUDGE_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_BASE"),
    "https://api.openai.com/v1",
    "The OpenAI-compatible endpoint judges call (…/chat/completions is appended); the default, "
    "OpenAI's, needs GENVER_JUDGE_API_KEY or OPENAI_API_KEY.",
)

JUDGE_API_KEY = Setting(
    ("GENVER_JUDGE_API_KEY", "OPENAI_API_KEY"), None, "The bearer token sent to the judge endpoint."
)

JUDGE_TIMEOUT = Setting(
    ("GENVER_JUDGE_TIMEOUT",),
    "60",
    "Seconds one judge call may take, retries of 429/5xx and connection errors included.",
)

TRACKING_TOKEN = Setting(
    ("GENVER_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN"),
    None,
    "The bearer token sent to a genver server (http(s):// tracking URIs) that has auth tokens on.",
)

SERVER_BACKEND_STORE_URI = Setting(
    ("GENVER_SERVER_BACKEND_STORE_URI",),
    None,
    "The database `genver server` serves (default: the tracking URI setting, else "
    f"{DEFAULT_TRACKING_URI}); set by `genver server --backend-store-uri` for its workers.",
)
SERVER_TOKENS = Setting(
    ("GENVER_SERVER_TOKENS",),
    None,
    "Tokens `genver server` accepts, comma-separated '[name=]rw:TOKEN' (read-write) or "
    "'[name=]ro:TOKEN' (read-only); the name is who the versions' history says made a change with "
    "it. None (and no token file) means auth is off.",
)
SERVER_TOKEN_FILE = Setting(
    ("GENVER_SERVER_TOKEN_FILE",),
    None,
    "A file of tokens for `genver server`, one per line: '<token> read-write|read-only [name]' "
    "(the name, spaces allowed, is who the versions' history says made a change with it).",
)
SERVER_MAX_REQUEST_MB = Setting(
    ("GENVER_SERVER_MAX_REQUEST_MB",),
    "32",
    "Largest request body `genver server` accepts, in MB; larger requests get 413.",
)

RETENTION_OLDER_THAN = Setting(
    ("GENVER_RETENTION_OLDER_THAN",),
    None,
    "`genver server` deletes traces that started longer ago than this (30d, 12h), in the "
    "background; with neither retention setting, it deletes nothing.",
)
RETENTION_KEEP_PER_VERSION = Setting(
    ("GENVER_RETENTION_KEEP_PER_VERSION",),
    None,
    "The newest traces of each version `genver server`'s retention keeps, however old (with "
    "GENVER_RETENTION_OLDER_THAN: a trace goes only when both allow it).",
)
RETENTION_INTERVAL = Setting(
    ("GENVER_RETENTION_INTERVAL",),
    "1h",
    "How often `genver server` applies its retention policy (one replica at a time).",
)

PROMPT_CACHE_TTL = Setting(
    ("GENVER_PROMPT_CACHE_TTL_SECONDS", "MLFLOW_ALIAS_PROMPT_CACHE_TTL_SECONDS"),
    "60",
    "Seconds load_prompt keeps a prompt loaded by alias (prompts:/name@production, or a name "
    "alone: its latest version) before asking the store again; 0 asks every time.",
)
PROMPT_VERSION_CACHE_TTL = Setting(
    ("GENVER_PROMPT_VERSION_CACHE_TTL_SECONDS", "MLFLOW_VERSION_PROMPT_CACHE_TTL_SECONDS"),
    "inf",
    "Seconds load_prompt keeps a prompt loaded by version number (versions never change, so "
    "by default for the life of the process); 0 asks every time.",
)

#: Environment variables that ``clear_active_model()`` removes, as MLflow does.
ACTIVE_MODEL_ENV_VARS = ACTIVE_MODEL_ID.env_vars
