"""Calibration: a task sized to the grain takes the grain, whatever the cost of one unit does."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace

import pytest

from dist_bench import measure
from dist_bench.measure import _step_to_grain, calibrate_units, shared_units
from dist_bench.workload import Job, TaskArgs, Workload, builtin_workloads


class _VirtualTask:
    """A task whose only cost is on a virtual clock: ``cost(units)`` seconds per call."""

    def __init__(self, cost: Callable[[int], float]) -> None:
        self.cost = cost
        self.now = 0.0
        self.calls = 0

    def run(self, units: int) -> int:
        self.now += self.cost(units)
        self.calls += 1
        return units


def _workload(task: _VirtualTask) -> Workload:
    def make_tasks(job: Job) -> list[TaskArgs]:
        return [(job.units,) for _ in range(job.tasks)]

    return replace(builtin_workloads()["cpu"], make_tasks=make_tasks, task=task.run)


Virtual = Callable[[_VirtualTask], None]


@pytest.fixture
def virtual(monkeypatch: pytest.MonkeyPatch) -> Virtual:
    """Calibration's timer replaced by the virtual task's clock."""

    def on(task: _VirtualTask) -> None:
        clock = SimpleNamespace(perf_counter=lambda: task.now, monotonic=time.monotonic)
        monkeypatch.setattr(measure, "time", clock)

    return on


@pytest.mark.parametrize(
    ("name", "cost"),
    [
        # A fixed cost per call beside the work: a long sample makes a unit look dearer.
        ("fixed cost per call", lambda units: 2e-3 + units * 1e-6),
        # A unit costs more the more there are (data outgrowing a cache).
        ("cost growing with the units", lambda units: 1e-7 * units**1.3),
    ],
)
def test_a_calibrated_task_takes_the_grain(
    virtual: Virtual, name: str, cost: Callable[[int], float]
) -> None:
    task = _VirtualTask(cost)
    virtual(task)
    grain = 5e-3
    units = calibrate_units(_workload(task), Job(tasks=4, grain_s=grain, bytes_per_task=0))
    assert task.cost(units) == pytest.approx(grain, rel=0.01), name


def test_jobs_differing_only_in_tasks_share_one_calibration(virtual: Virtual) -> None:
    task = _VirtualTask(lambda units: units * 1e-6)
    virtual(task)
    workload = _workload(task)
    cache: dict[tuple[str, float, int], int] = {}
    first = shared_units(cache, workload, Job(tasks=4, grain_s=1e-3, bytes_per_task=0))
    calls = task.calls
    again = shared_units(cache, workload, Job(tasks=64, grain_s=1e-3, bytes_per_task=0))
    assert (again, task.calls) == (first, calls)
    other_grain = shared_units(cache, workload, Job(tasks=4, grain_s=2e-3, bytes_per_task=0))
    assert task.calls > calls
    assert other_grain == pytest.approx(2 * first, rel=0.01)


def test_two_close_sizes_give_no_slope_only_their_noise() -> None:
    # 5 % apart in units, the later timed 1 % faster (noise): a slope through them would be
    # negative, kept at 0.5, and square the step to the grain; proportional, it is the ratio.
    timed = [(1000, 1.00e-3), (1050, 0.99e-3)]
    assert _step_to_grain(timed, 1.5e-3) == round(1050 * 1.5 / 0.99)
    # Far enough apart, the slope is followed: a cost growing as the units to the power 1.3.
    timed = [(units, 1e-7 * units**1.3) for units in (1000, 2000)]
    assert _step_to_grain(timed, 5.0e-3) == pytest.approx((5.0e-3 / 1e-7) ** (1 / 1.3), rel=0.01)
