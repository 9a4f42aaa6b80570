"""LangChain autolog: chains, chat models, LLMs, retrievers and tools become nested spans (CHAIN,
CHAT_MODEL, LLM, RETRIEVER, TOOL), as MLflow 3's ``mlflow.langchain.autolog()`` records them.

As MLflow does, a callback handler is added to every LangChain callback manager when it is
built (``BaseCallbackManager.__init__`` is patched); one handler instance is shared, so a manager
never holds it twice. Each run's span nests under its parent run's span, or under the span the
run was started in (a ``@genver.trace`` function, or the LLM span of a patched OpenAI client
nests under the chat model's span). LangChain itself is imported only by ``autolog()``.
"""

from __future__ import annotations

from typing import Any

from genver.integrations.base import Integration, missing_library

INTEGRATION = Integration("langchain", "langchain_core")
_handler: list[Any] = []  # the one handler instance, made at the first autolog()


def autolog(
    disable: bool = False,
    silent: bool = False,
    log_traces: bool = True,
    **mlflow_options: Any,
) -> None:
    """Trace LangChain runs (``mlflow.langchain.autolog()``).

    ``disable=True`` removes the patch (managers built afterwards get no handler; a handler
    already attached records nothing); ``log_traces=False`` keeps it but records nothing;
    ``silent=True`` turns genver's autolog warnings into debug logs. MLflow's other options
    (``exclusive``, ``disable_for_unsupported_versions``, ``run_tracer_inline``) are accepted and
    have no effect: genver's handler always runs inline, so async chains nest correctly.

    >>> genver.langchain.autolog()  # doctest: +SKIP
    """
    unknown = sorted(
        set(mlflow_options) - {"exclusive", "disable_for_unsupported_versions", "run_tracer_inline"}
    )
    if unknown:
        raise TypeError(f"autolog() got unexpected keyword arguments {unknown}")
    INTEGRATION.configure(_install, disable=disable, log_traces=log_traces, silent=silent)


def _install(integration: Integration) -> None:
    try:
        from langchain_core.callbacks import BaseCallbackManager
    except ImportError:
        raise missing_library("langchain", "langchain-core") from None
    from genver.integrations.langchain_tracer import GenverCallbackHandler

    if not _handler:
        _handler.append(GenverCallbackHandler(integration))
    handler = _handler[0]

    def make(original: Any) -> Any:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            try:
                if integration.tracing and handler not in self.inheritable_handlers:
                    self.add_handler(handler, inherit=True)
            except Exception as exc:  # a manager of an unexpected shape: leave it untraced
                integration.warn("genver autolog could not attach to a LangChain callback manager: %s", exc)

        return __init__

    integration.patch(BaseCallbackManager, "__init__", make)
