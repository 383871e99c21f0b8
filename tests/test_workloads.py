"""Built-in workloads: deterministic, verifiable, documented; answers compare the right way."""

from __future__ import annotations

import numpy as np
import pytest

from dist_bench.measure import calibrate_units, prepare_job
from dist_bench.workload import Job, answers_match, builtin_workloads, started_environment

BUILTINS = builtin_workloads()


def test_the_five_teaching_workloads_are_there() -> None:
    assert set(BUILTINS) == {"cpu", "blas", "io", "data", "wordcount"}


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_each_workload_teaches_and_answers_deterministically(name: str) -> None:
    workload = BUILTINS[name]
    assert len(workload.lesson) > 200, "the lesson belongs in the module docstring"
    job = Job(tasks=3, grain_s=0.002, bytes_per_task=64 * 1024, units=3)
    with started_environment(workload, job) as running:
        first = workload.combine([workload.task(*args) for args in workload.make_tasks(running)])
        second = workload.combine([workload.task(*args) for args in workload.make_tasks(running)])
        fewer = workload.combine(
            [workload.task(*args) for args in workload.make_tasks(running)[:2]]
        )
    assert answers_match(first, second)
    assert not answers_match(first, fewer), "a lost task must change the answer"


def test_io_async_task_gives_the_same_answers() -> None:
    import asyncio

    workload = BUILTINS["io"]
    assert workload.async_task is not None
    job = Job(tasks=5, grain_s=0.01, bytes_per_task=0)
    with started_environment(workload, job) as running:
        tasks = workload.make_tasks(running)
        plain = [workload.task(*args) for args in tasks]

        async def all_async() -> list[int]:
            return list(await asyncio.gather(*(workload.async_task(*a) for a in tasks)))

        assert asyncio.run(all_async()) == plain


def test_calibration_reaches_the_grain() -> None:
    import time

    workload = BUILTINS["cpu"]
    job = Job(tasks=1, grain_s=0.05, bytes_per_task=0)
    units = calibrate_units(workload, job)
    (args,) = workload.make_tasks(job.with_units(units))
    started = time.perf_counter()
    workload.task(*args)
    elapsed = time.perf_counter() - started
    assert 0.5 * job.grain_s < elapsed < 2.0 * job.grain_s


def test_prepare_job_calibrates_and_answers() -> None:
    prepared = prepare_job(BUILTINS["wordcount"], Job(tasks=2, grain_s=0.005, bytes_per_task=0))
    assert prepared.job.units > 1
    assert sum(prepared.reference.values()) == 2 * prepared.job.units


@pytest.mark.parametrize(
    ("expected", "actual", "same"),
    [
        (1, 1, True),
        (1, 2, False),
        (0.1 + 0.2, 0.3, True),
        (1.0, 1.0 + 1e-6, False),
        ({"a": 1}, {"a": 1}, True),
        ({"a": 1}, {"a": 1, "b": 0}, False),
        ([1.0, 2.0], [1.0, 2.0 * (1 + 1e-12)], True),
        (np.arange(3.0), np.arange(3.0), True),
        (np.arange(3.0), np.arange(4.0), False),
        ([1, 2], [1], False),
    ],
)
def test_answers_match(expected: object, actual: object, same: bool) -> None:
    assert answers_match(expected, actual) is same
