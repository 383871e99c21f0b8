"""The processes backend: start methods, user files in new interpreters, shared memory, cleanup."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from dist_bench.backends import BackendOptions, create_backend
from dist_bench.backends.processes import SHARED_MEMORY_DIR, SharedArray
from dist_bench.errors import UsageError
from dist_bench.workload import Job, load_workload_file
from tests.conftest import SQUARES_WORKLOAD


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
@pytest.mark.usefixtures("no_leftover_children")
def test_user_workload_runs_with_every_start_method(method: str, tmp_path: Path) -> None:
    path = tmp_path / f"squares_{method}.py"
    path.write_text(SQUARES_WORKLOAD)
    workload = load_workload_file(path)
    assert workload.module is not None
    backend = create_backend("processes", BackendOptions(workers=2, start_method=method))
    backend.start(ship=[workload.module])
    try:
        tasks = workload.make_tasks(Job(tasks=7, grain_s=0.001, bytes_per_task=0, units=5))
        assert backend.map(workload.task, tasks) == [i * i for i in range(7)]
        assert backend.describe()["start_method"] == method
    finally:
        backend.shutdown()


def test_an_unknown_start_method_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="start method"):
        create_backend("processes", BackendOptions(start_method="teleport"))


def _describe_array(array: np.ndarray) -> tuple[float, bool, bool]:
    return float(array.sum()), array.flags.writeable, array.flags.owndata


@pytest.mark.usefixtures("no_leftover_children")
def test_placed_arrays_travel_as_shared_memory_and_are_freed(tmp_path: Path) -> None:
    array = np.arange(1_000_000, dtype=np.float64)
    backend = create_backend("processes", BackendOptions(workers=2))
    backend.start()
    try:
        placed = backend.place(array)
        assert isinstance(placed, SharedArray)
        assert len(pickle.dumps(placed)) < 1_000  # the name, not the 8 MB
        segment = SHARED_MEMORY_DIR / placed.segment.name
        assert segment.exists()
        results = backend.map(_describe_array, [(placed,)] * 4)
        # The workers read the driver's bytes, through a read-only view they do not own.
        assert results == [(float(array.sum()), False, False)] * 4
    finally:
        backend.shutdown()
    assert not segment.exists()


def _import_numpy() -> None:
    import numpy  # noqa: F401 - the import is the point: it loads a BLAS after the first cap


def test_a_blas_loaded_after_the_first_task_is_capped_too() -> None:
    # A worker started by spawn (or 3.14's default forkserver) has no NumPy until a task needs
    # it; the cap set by the first task must reach the BLAS a later one loads.
    from threadpoolctl import threadpool_info

    from dist_bench.worker import timed_call

    backend = create_backend("processes", BackendOptions(workers=1, start_method="spawn"))
    backend.start()
    try:
        backend.map(timed_call, [(len, 1, "no NumPy yet")])
        backend.map(timed_call, [(_import_numpy, 1)])
        ((info, _, _, _),) = backend.map(timed_call, [(threadpool_info, 1)])
    finally:
        backend.shutdown()
    blas = [lib for lib in info if lib["user_api"] == "blas"]
    assert blas and all(lib["num_threads"] == 1 for lib in blas)
