"""The processes backend: start methods, user files in fresh interpreters, cleanup."""

from __future__ import annotations

from pathlib import Path

import pytest

from dist_bench.backends import BackendOptions, create_backend
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
