"""Job shapes: the three axes a job varies on, and records reduced to points on them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from dist_bench.backends.base import BASELINE
from dist_bench.pooling import at_units, pool_records
from dist_bench.results import Record, Results, SizeKey
from dist_bench.stats import median

#: The three job-shape axes a crossover can lie on.
Axis = Literal["grain_s", "tasks", "bytes_per_task"]
AXES: tuple[Axis, ...] = ("grain_s", "tasks", "bytes_per_task")
#: Each axis in words.
AXIS_NAMES: dict[Axis, str] = {"grain_s": "grain", "tasks": "tasks", "bytes_per_task": "bytes/task"}


@dataclass(frozen=True)
class JobShape:
    """A job's size on the three axes: tasks, serial seconds per task, bytes per task."""

    tasks: int
    grain_s: float
    bytes_per_task: int

    def along(self, axis: Axis, value: float) -> JobShape:
        """The same shape with ``axis`` set to ``value``."""
        if axis == "tasks":
            return JobShape(max(1, round(value)), self.grain_s, self.bytes_per_task)
        if axis == "grain_s":
            return JobShape(self.tasks, value, self.bytes_per_task)
        return JobShape(self.tasks, self.grain_s, max(0, round(value)))

    def value(self, axis: Axis) -> float:
        """The shape's coordinate on ``axis``."""
        return float(getattr(self, axis))


@dataclass(frozen=True)
class Point:
    """One record reduced to what the fit needs: its shape, measured serial grain and samples."""

    record: Record
    shape: JobShape
    samples: tuple[float, ...]


def requested(record: Record, axis: Axis) -> float:
    """The record's asked-for value on ``axis`` (lines are found on these, not measured grains)."""
    return float(getattr(record, axis))


def collect_points(results: Results) -> dict[tuple[str, str], list[Point]]:
    """Usable records grouped by (workload, backend), each with its serially measured grain.

    A node sweep's records are left out: each size is another cluster, which one fit per
    backend cannot describe (``scaling`` fits them as a series instead).

    The grain of a shape is what one task took in the serial run at that size (the calibration
    aims at the asked grain but cannot always hit it, e.g. when one pass over a large array
    already takes longer), per unit of work times the record's own units (a round may calibrate
    anew); without a serial record the asked grain is used. A shape measured
    more than once in a round is one point with all its samples (``pool_records``); each round
    its own point, so the rounds' spread stays visible to the bootstrap and the decisive rule.

    One fit describes one backend as it was started and sending one task per dispatch: the
    records of a worker-count sweep (``run -w 1,2``, the cutover's Amdahl shapes) at other
    worker counts than the backend's usual one, and batched records (``--chunk``), are left out.
    """
    records = [r for r in pool_records(results.records, by_round=True) if r.chunk == 1]
    usual = _usual_workers(records)
    records = [r for r in records if r.workers == usual[(r.workload, r.backend)]]
    serial: dict[SizeKey, Record] = {}
    for record in records:
        if record.backend == BASELINE and record.verified and record.task_s:
            serial[record.size_key()] = record
    grouped: dict[tuple[str, str], list[Point]] = {}
    for record in records:
        if record.error is not None or not record.verified or not record.wall_s:
            continue
        if record.nodes is not None:
            continue  # a node sweep's sizes are clusters of their own (``scaling`` fits them)
        baseline = serial.get(record.size_key())
        grain = (
            median(at_units(baseline, record.units).task_s) / record.tasks
            if baseline is not None
            else record.grain_s
        )
        shape = JobShape(record.tasks, grain, record.bytes_per_task)
        point = Point(record, shape, tuple(record.wall_s))
        grouped.setdefault((record.workload, record.backend), []).append(point)
    return grouped


def _usual_workers(records: list[Record]) -> dict[tuple[str, str], int]:
    """Per (workload, backend), the worker count most of its records ran with (ties: the most)."""
    counts: dict[tuple[str, str], Counter[int]] = {}
    for record in records:
        counts.setdefault((record.workload, record.backend), Counter())[record.workers] += 1
    return {
        key: max(counter, key=lambda workers: (counter[workers], workers))
        for key, counter in counts.items()
    }
