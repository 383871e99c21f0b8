"""One contract suite, run against every registered backend (the way CPython tests executors)."""

from __future__ import annotations

import asyncio
import functools
import operator
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dist_bench.backends import BackendOptions, create_backend
from dist_bench.backends.base import Backend, TaskError
from dist_bench.chunking import Chunks
from dist_bench.worker import timed_call, timed_call_async
from dist_bench.workload import Job, load_workload_file
from tests.conftest import SQUARES_WORKLOAD, all_backend_params


@pytest.fixture(scope="module", params=all_backend_params())
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """Each backend started once for the whole suite (engines take seconds to start)."""
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "ray":  # an embedded ray.init writes ~/.ray/auth_token
            patch.setenv("HOME", str(tmp_path_factory.mktemp("ray-home")))
        started = create_backend(request.param, BackendOptions(workers=2))
        started.start()
        yield started
        started.shutdown()


def test_map_returns_results_in_task_order(backend: Backend) -> None:
    items = [(base, 2) for base in range(20)]
    assert backend.map(pow, items) == [base**2 for base in range(20)]


def test_submit_returns_a_future_with_the_result(backend: Backend) -> None:
    assert backend.submit(operator.mul, 6, 7).result(timeout=60) == 42


def test_a_failing_task_is_reported_with_its_index(backend: Backend) -> None:
    items = [(1, 1), (1, 1), (1, 0), (1, 1)]
    with pytest.raises(TaskError) as caught:
        backend.map(operator.floordiv, items)
    assert caught.value.index == 2
    assert "ZeroDivisionError" in str(caught.value)


def test_the_backend_still_works_after_a_failed_task(backend: Backend) -> None:
    with pytest.raises(TaskError):
        backend.map(operator.floordiv, [(1, 0)])
    assert backend.map(operator.add, [(1, 2), (3, 4)]) == [3, 7]


def test_workers_and_describe_report_the_topology(backend: Backend) -> None:
    workers = backend.workers()
    assert workers >= 1
    described = backend.describe()
    assert described["backend"] == backend.name
    assert described["workers"] == workers
    assert isinstance(described["shares_memory"], bool)


def test_timed_call_measures_on_the_worker(backend: Backend) -> None:
    timed = backend.map(timed_call, [(pow, 1, 3, 2), (pow, 1, 2, 10)])
    assert [value for value, _, _, _ in timed] == [9, 1024]
    assert all(seconds >= 0 and cpu >= 0 for _, seconds, cpu, _ in timed)
    assert all(isinstance(worker, str) and worker for _, _, _, worker in timed)


def _needs_numpy(backend: Backend) -> None:
    if not backend.runs_numpy:
        pytest.skip("NumPy cannot be imported in this backend's workers (subinterpreters)")


def test_placed_arrays_reach_the_task(backend: Backend) -> None:
    _needs_numpy(backend)
    array = np.arange(100_000, dtype=np.float64)
    placed = backend.place(array)
    assert backend.map(np.sum, [(placed,), (placed,)]) == [array.sum()] * 2


def test_blas_threads_are_capped_in_the_worker(backend: Backend) -> None:
    from threadpoolctl import threadpool_info

    _needs_numpy(backend)
    ((info, _, _, _),) = backend.map(timed_call, [(threadpool_info, 1)])
    blas = [lib for lib in info if lib["user_api"] == "blas"]
    assert blas, "numpy's BLAS should be visible to threadpoolctl"
    assert all(lib["num_threads"] == 1 for lib in blas)


def test_a_users_workload_file_runs(backend: Backend, tmp_path: Path) -> None:
    path = tmp_path / "contract_squares.py"
    path.write_text(SQUARES_WORKLOAD)
    workload = load_workload_file(path)
    assert workload.module is not None
    other = create_backend(backend.name, backend.options)
    other.start(ship=[workload.module])
    try:
        assert other.map(workload.task, workload.make_tasks(_job(5))) == [i * i for i in range(5)]
    finally:
        other.shutdown()


def _job(tasks: int) -> Job:
    return Job(tasks=tasks, grain_s=0.001, bytes_per_task=0, units=3)


async def _sleep_then(value: int) -> int:
    await asyncio.sleep(0.05)
    return value


def test_coroutines_overlap_only_where_declared(backend: Backend) -> None:
    if not backend.runs_coroutines:
        pytest.skip("this backend runs plain functions only")
    timed = backend.map(timed_call_async, [(_sleep_then, 1, i) for i in range(4)])
    assert [value for value, _, _, _ in timed] == [0, 1, 2, 3]


def test_process_backends_run_in_other_processes(backend: Backend) -> None:
    pids = set(backend.map(os.getpid, [() for _ in range(8)]))
    if backend.shares_memory or backend.own_interpreters:
        assert pids == {os.getpid()}
    else:
        assert os.getpid() not in pids


def test_chunked_tasks_keep_task_order_and_reach_placed_data(backend: Backend) -> None:
    _needs_numpy(backend)
    array = np.arange(1_000, dtype=np.float64)
    placed = backend.place(array)
    chunks = Chunks.of(7, 3)
    call = functools.partial(timed_call, chunks.wrap(np.dot, coroutine=False), 1)
    rows = chunks.rows([(placed, np.full(1_000, float(i))) for i in range(7)], {id(placed)})
    timed = chunks.per_task(chunks.dispatch(backend, call, rows))
    assert [value for value, _, _, _ in timed] == [pytest.approx(array.sum() * i) for i in range(7)]
    assert all(seconds >= 0 and isinstance(worker, str) for _, seconds, _, worker in timed)


def test_interpreter_backends_share_no_objects_with_the_driver(backend: Backend) -> None:
    if not backend.own_interpreters:
        pytest.skip("this backend's workers are threads of the driver's interpreter or processes")
    assert not backend.shares_memory
    # Each worker's interpreter has modules of its own: the driver's sys.modules is not theirs.
    assert all(backend.map(_main_is_fresh, [() for _ in range(4)]))


def _main_is_fresh() -> bool:
    import sys

    return not hasattr(sys.modules["__main__"], "pytest")


def test_a_task_failing_inside_a_chunk_is_named_by_its_index(backend: Backend) -> None:
    chunks = Chunks.of(6, 4)
    call = functools.partial(timed_call, chunks.wrap(operator.floordiv, coroutine=False), 1)
    rows = chunks.rows([(1, 1), (1, 1), (1, 1), (1, 1), (1, 0), (1, 1)])
    with pytest.raises(TaskError) as caught:
        chunks.per_task(chunks.dispatch(backend, call, rows))
    assert caught.value.index == 4
    assert isinstance(caught.value.cause, ZeroDivisionError)
