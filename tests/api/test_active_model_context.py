"""The active model across threads, tasks and contexts (SPEC section 2, and reference section 1).

Plain ``set_active_model()`` is process-wide; a ``with`` block is scoped to its context (asyncio
tasks and ``contextvars``-propagating executors started inside see it), restores the previous
model on exit and nests like a stack; tracing in a plain worker thread falls back to the one
open block.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import genver
from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.fluent import Genver


def _in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a new plain thread (no context propagation) and return its result."""
    out: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join(timeout=30)
    if errors:
        raise errors[0]
    return out[0]


# -- plain set_active_model: the whole process ------------------------------------------------------


def test_plain_set_is_visible_from_a_new_thread() -> None:
    model = genver.set_active_model(name="agent-v1.0")
    assert _in_thread(genver.get_active_model_id) == model.model_id


def test_plain_set_is_visible_from_a_thread_pool_worker() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(lambda: None).result()  # the worker exists before the model is set
        model = genver.set_active_model(name="agent-v1.0")
        seen = [pool.submit(genver.get_active_model_id).result() for _ in range(4)]
    assert seen == [model.model_id] * 4


def test_plain_set_in_a_worker_thread_is_visible_to_the_main_thread() -> None:
    model = _in_thread(lambda: genver.set_active_model(name="agent-v1.0"))
    assert genver.get_active_model_id() == model.model_id


def test_plain_set_replaces_the_previous_model() -> None:
    genver.set_active_model(name="agent-v1.0")
    second = genver.set_active_model(name="agent-v2.0")
    assert genver.get_active_model_id() == second.model_id
    assert _in_thread(genver.get_active_model_id) == second.model_id


# -- with blocks: the block's context ---------------------------------------------------------------------


def test_with_block_is_visible_in_asyncio_tasks_started_inside() -> None:
    async def seen() -> str | None:
        await asyncio.sleep(0)
        return genver.get_active_model_id()

    async def main() -> tuple[str, list[str | None]]:
        with genver.set_active_model(name="agent-v2.0") as model:
            return model.model_id, list(await asyncio.gather(seen(), seen(), seen()))

    model_id, results = asyncio.run(main())
    assert results == [model_id] * 3
    assert genver.get_active_model_id() is None


def test_with_block_is_visible_through_asyncio_to_thread() -> None:
    async def main() -> tuple[str, str | None]:
        with genver.set_active_model(name="agent-v2.0") as model:
            return model.model_id, await asyncio.to_thread(genver.get_active_model_id)

    model_id, seen = asyncio.run(main())
    assert seen == model_id


def test_with_block_is_visible_in_a_copied_context() -> None:
    with genver.set_active_model(name="agent-v2.0") as model:
        snapshot = contextvars.copy_context()
        with ThreadPoolExecutor(max_workers=1) as pool:
            from_pool = pool.submit(snapshot.run, genver.get_active_model_id).result()
        assert snapshot.run(genver.get_active_model_id) == model.model_id
    assert from_pool == model.model_id
    # the copy keeps the block's model after the block closed; the main context does not
    assert snapshot.run(genver.get_active_model_id) == model.model_id
    assert genver.get_active_model_id() is None


def test_concurrent_tasks_with_their_own_blocks_are_isolated() -> None:
    async def task(name: str, both_inside: asyncio.Barrier) -> tuple[str, str | None]:
        with genver.set_active_model(name=name) as model:
            await both_inside.wait()
            return model.model_id, genver.get_active_model_id()

    async def main() -> list[tuple[str, str | None]]:
        barrier = asyncio.Barrier(2)
        return list(await asyncio.gather(task("agent-a", barrier), task("agent-b", barrier)))

    if not hasattr(asyncio, "Barrier"):  # Python 3.10
        pytest.skip("asyncio.Barrier needs Python 3.11")
    results = asyncio.run(main())
    assert [expected == seen for expected, seen in results] == [True, True]
    assert genver.get_active_model_id() is None


def test_a_thread_with_its_own_block_sees_its_own_model() -> None:
    main_model = genver.set_active_model(name="main-v1.0")
    inside = threading.Barrier(2, timeout=30)
    seen: dict[str, Any] = {}

    def worker() -> None:
        with genver.set_active_model(name="worker-v1.0") as model:
            seen["expected"] = model.model_id
            inside.wait()  # both threads are inside their blocks now
            seen["worker"] = genver.get_active_model_id()
            inside.wait()

    t = threading.Thread(target=worker)
    t.start()
    with genver.set_active_model(name="main-v2.0") as block:
        inside.wait()
        seen["main"] = genver.get_active_model_id()
        inside.wait()
    t.join(timeout=30)

    assert seen["worker"] == seen["expected"]
    assert seen["main"] == block.model_id
    assert genver.get_active_model_id() == main_model.model_id


def test_blocks_entered_in_two_threads_do_not_overwrite_the_process_default() -> None:
    """Creating an ActiveModel activates it process-wide until ``__enter__`` scopes it; two threads
    interleaving between those steps must still leave the process default as it was."""
    main_model = genver.set_active_model(name="main-v1.0")
    step = [threading.Event() for _ in range(4)]
    seen: dict[str, Any] = {}

    def first() -> None:
        cm = genver.set_active_model(name="first-v1.0")
        step[0].set()
        step[1].wait(30)
        with cm:
            step[2].set()
            step[3].wait(30)
            seen["first"] = (cm.model_id, genver.get_active_model_id())

    def second() -> None:
        step[0].wait(30)
        cm = genver.set_active_model(name="second-v1.0")
        step[1].set()
        step[2].wait(30)
        with cm:
            seen["second"] = (cm.model_id, genver.get_active_model_id())
        step[3].set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert seen["first"][0] == seen["first"][1]
    assert seen["second"][0] == seen["second"][1]
    assert genver.get_active_model_id() == main_model.model_id
    assert _in_thread(genver.get_active_model_id) == main_model.model_id


def test_nested_blocks_restore_like_a_stack() -> None:
    base = genver.set_active_model(name="base")
    with genver.set_active_model(name="a") as a:
        assert genver.get_active_model_id() == a.model_id
        with genver.set_active_model(name="b") as b:
            assert genver.get_active_model_id() == b.model_id
            with genver.set_active_model(model_id=a.model_id) as again:
                assert again.model_id == a.model_id
                assert genver.get_active_model_id() == a.model_id
            assert genver.get_active_model_id() == b.model_id
        assert genver.get_active_model_id() == a.model_id
    assert genver.get_active_model_id() == base.model_id


def test_exit_on_exception_restores_and_does_not_swallow() -> None:
    base = genver.set_active_model(name="base")
    with pytest.raises(RuntimeError, match="boom"), genver.set_active_model(name="failing") as model:
        assert genver.get_active_model_id() == model.model_id
        raise RuntimeError("boom")
    assert genver.get_active_model_id() == base.model_id


def test_clear_active_model_inside_a_block() -> None:
    genver.set_active_model(name="base")
    with genver.set_active_model(name="inner") as inner:
        assert genver.get_active_model_id() == inner.model_id
        genver.clear_active_model()
        assert genver.get_active_model_id() is None
        assert _in_thread(genver.get_active_model_id) is None
    # clear_active_model is a plain (process-wide) call like set_active_model: the process
    # default it removed does not come back when the block closes
    assert genver.get_active_model_id() is None
    again = genver.set_active_model(name="base")
    assert genver.get_active_model_id() == again.model_id


def test_clear_inside_a_nested_block_brings_back_the_outer_block_on_exit() -> None:
    with genver.set_active_model(name="outer") as outer:
        with genver.set_active_model(name="inner"):
            genver.clear_active_model()
            assert genver.get_active_model_id() is None
        assert genver.get_active_model_id() == outer.model_id
    assert genver.get_active_model_id() is None


# -- arguments ---------------------------------------------------------------------------------------------


def test_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        genver.set_active_model("agent-v1.0")  # type: ignore[misc]
    assert genver.search_logged_models(output_format="list") == []


def test_neither_name_nor_model_id() -> None:
    with pytest.raises(InvalidArgumentError, match="Either name or model_id must be provided") as info:
        genver.set_active_model()
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_name_and_model_id_that_do_not_match() -> None:
    other = genver.create_external_model(name="other-v1.0")
    base = genver.set_active_model(name="base-v1.0")

    with pytest.raises(InvalidArgumentError) as info:
        genver.set_active_model(name="base-v1.0", model_id=other.model_id)

    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    message = str(info.value)
    assert repr(other.model_id) in message
    assert "'other-v1.0'" in message and "'base-v1.0'" in message
    assert genver.get_active_model_id() == base.model_id


def test_name_and_model_id_that_match() -> None:
    model = genver.create_external_model(name="agent-v1.0")
    active = genver.set_active_model(name="agent-v1.0", model_id=model.model_id)
    assert active.model_id == model.model_id
    assert genver.get_active_model_id() == model.model_id


def test_unknown_model_id() -> None:
    base = genver.set_active_model(name="base-v1.0")
    missing = "m-" + "0" * 32

    with pytest.raises(NotFoundError) as info:
        genver.set_active_model(model_id=missing)

    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert str(info.value) == f"Logged model with ID {missing!r} not found."
    assert genver.get_active_model_id() == base.model_id
    assert len(genver.search_logged_models(output_format="list")) == 1  # never creates


def test_same_name_in_another_experiment_is_a_different_model() -> None:
    in_default = genver.set_active_model(name="agent-v1.0")
    exp = genver.set_experiment("other")

    in_other = genver.set_active_model(name="agent-v1.0")

    assert in_other.model_id != in_default.model_id
    assert in_other.experiment_id == exp.experiment_id
    assert in_default.experiment_id == "0"
    genver.set_experiment(experiment_id="0")
    assert genver.set_active_model(name="agent-v1.0").model_id == in_default.model_id


def test_set_active_model_by_name_uses_the_active_runs_experiment() -> None:
    exp_id = genver.create_experiment("runs-here")
    with genver.start_run(experiment_id=exp_id) as run:
        model = genver.set_active_model(name="agent-v1.0")
    assert model.experiment_id == exp_id
    assert model.source_run_id == run.info.run_id


def test_active_model_is_a_logged_model_snapshot() -> None:
    model = genver.set_active_model(name="agent-v1.0")
    stored = genver.get_logged_model(model.model_id)
    assert isinstance(model, genver.ActiveModel)
    assert model.set_by_user is True
    assert model.to_dictionary() == stored.to_dictionary()
    assert repr(model).startswith("ActiveModel(")


# -- the tracing fallback ------------------------------------------------------------------------------------


def test_tracing_fallback_in_a_plain_worker_thread_started_inside_a_block(
    make_genver: Callable[..., Genver],
) -> None:
    g = make_genver()
    with g.set_active_model(name="agent-v2.0") as model:
        seen = _in_thread(lambda: (g.get_active_model_id(), g.active_model_id_for_tracing()))
    # no context reached the worker, but its traces still link to the only open block
    assert seen == (None, model.model_id)
    assert _in_thread(g.active_model_id_for_tracing) is None  # the block has closed


def test_tracing_fallback_in_a_worker_prefers_the_open_block_to_the_process_default(
    make_genver: Callable[..., Genver],
) -> None:
    g = make_genver()
    base = g.set_active_model(name="base")
    with g.set_active_model(name="block") as block:
        assert g.active_model_id_for_tracing() == block.model_id
        seen = _in_thread(lambda: (g.get_active_model_id(), g.active_model_id_for_tracing()))
    # the worker sees the process default, but its traces belong to the block it was started in
    assert seen == (base.model_id, block.model_id)
    assert g.active_model_id_for_tracing() == base.model_id


def test_tracing_fallback_needs_exactly_one_open_block(make_genver: Callable[..., Genver]) -> None:
    g = make_genver()
    inside = threading.Barrier(2, timeout=30)
    done = threading.Event()

    def other_block() -> None:
        with g.set_active_model(name="other"):
            inside.wait()
            done.wait(30)

    t = threading.Thread(target=other_block)
    t.start()
    with g.set_active_model(name="mine") as mine:
        inside.wait()
        two_open = _in_thread(g.active_model_id_for_tracing)
        assert g.active_model_id_for_tracing() == mine.model_id
        done.set()
        t.join(timeout=30)
        one_open = _in_thread(g.active_model_id_for_tracing)
    assert two_open is None  # ambiguous: no link
    assert one_open == mine.model_id


def test_same_model_in_two_blocks_counts_as_one(make_genver: Callable[..., Genver]) -> None:
    g = make_genver()
    model = g.create_external_model(name="shared")
    with g.set_active_model(model_id=model.model_id), g.set_active_model(model_id=model.model_id):
        assert _in_thread(g.active_model_id_for_tracing) == model.model_id


def test_set_active_model_by_name_from_many_threads_creates_one_version() -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(lambda _: genver.set_active_model(name="agent-v1.0").model_id, range(16)))
    (model,) = genver.search_logged_models(output_format="list")
    assert ids == {model.model_id}
    assert genver.get_active_model_id() == model.model_id


def test_last_logged_model_is_per_thread() -> None:
    model = genver.create_external_model(name="agent-v1.0")
    assert _in_thread(genver.last_logged_model) is None
    other = _in_thread(lambda: genver.create_external_model(name="agent-v2.0"))
    last = genver.last_logged_model()
    assert last is not None and last.model_id == model.model_id != other.model_id


def test_active_run_is_per_thread() -> None:
    with genver.start_run() as run:
        assert _in_thread(genver.last_active_run_id) is None
        model = _in_thread(lambda: genver.create_external_model(name="agent-v1.0"))
    assert model.source_run_id is None
    assert genver.get_run(run.info.run_id).info.status == "FINISHED"
