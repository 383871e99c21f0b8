"""Series: what to ask for to measure a series at a measured value."""

from __future__ import annotations

import dataclasses

import pytest

from dist_bench.costmodel import JobShape, shape_to_ask
from dist_bench.results import Record, Results
from tests.scripted_costs import grain_crossover, grain_series


def test_a_measured_grain_is_asked_for_as_the_grain_that_gave_it() -> None:
    # io-like: every task measured 1 ms longer than the latency asked for (connection costs).
    asked = (0.001, 0.002, 0.004, 0.008)
    serial = [
        Record("io", "serial", 16, grain, 0, 1, 1, wall_s=[1.0], task_s=[16 * (grain + 0.001)],
               verified=True)
        for grain in asked
    ]  # fmt: skip
    other_line = Record("io", "serial", 64, 0.1, 0, 1, 1, task_s=[64 * 0.3], verified=True)
    results = Results({}, [], [*serial, other_line])
    line = JobShape(16, 0.004, 0)
    crossing = dataclasses.replace(grain_crossover(grain_series(spread=1.01)), line=line)
    crossing = dataclasses.replace(crossing, workload="io")
    # Measured 3 ms was asked as 2 ms; between records, log-log interpolation.
    asked_for = shape_to_ask(results, crossing, 0.003)
    assert (asked_for.tasks, asked_for.bytes_per_task) == (16, 0)
    assert asked_for.grain_s == pytest.approx(0.002)
    between = shape_to_ask(results, crossing, 0.004).grain_s
    assert 0.002 < between < 0.004
    # Beyond the records the nearest record's ratio holds (8 ms asked gave 9 ms).
    assert shape_to_ask(results, crossing, 0.018).grain_s == pytest.approx(0.016)
    # The tasks axis needs no translation; no serial records, no translation.
    tasks = dataclasses.replace(crossing, axis="tasks")
    assert shape_to_ask(results, tasks, 40) == JobShape(40, 0.004, 0)
    assert shape_to_ask(Results({}, [], []), crossing, 0.003) == JobShape(16, 0.003, 0)
