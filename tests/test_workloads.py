"""Built-in workloads: deterministic, verifiable, documented; answers compare the right way."""

from __future__ import annotations

import numpy as np
import pytest

from dist_bench import measure
from dist_bench.measure import calibrate_units, prepare_job
from dist_bench.workload import (
    Job,
    Workload,
    answers_match,
    builtin_workloads,
    started_environment,
)

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


class _VirtualClock:
    """Stands in for ``time`` in ``dist_bench.measure``: tasks advance it, nothing sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


def _linear_workload(clock: _VirtualClock, second_per_unit: float, cold_s: float) -> Workload:
    """A task costs ``units * second_per_unit``; the very first call pays ``cold_s`` more."""
    calls = []

    def task(units: int) -> int:
        clock.now += units * second_per_unit + (cold_s if not calls else 0.0)
        calls.append(units)
        return units

    return Workload(
        name="linear", summary="", make_tasks=lambda job: [(job.units,)] * job.tasks, task=task
    )


@pytest.mark.parametrize("grain_s", [0.001, 0.05, 2.0])
def test_calibration_scales_the_units_to_the_grain_and_ignores_the_cold_run(
    grain_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A virtual clock, not a stopwatch: the maths is tested exactly, whatever the machine's load.
    clock = _VirtualClock()
    monkeypatch.setattr(measure, "time", clock)
    workload = _linear_workload(clock, second_per_unit=1e-6, cold_s=0.5)
    units = calibrate_units(workload, Job(tasks=1, grain_s=grain_s, bytes_per_task=0))
    assert units == round(grain_s / 1e-6)


def test_workloads_that_are_not_calibrated_run_one_unit() -> None:
    assert calibrate_units(BUILTINS["io"], Job(tasks=1, grain_s=0.5, bytes_per_task=0)) == 1


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
