"""Series: the records of a workload on one line along an axis, and what to run to extend one."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dist_bench.backends.base import BASELINE
from dist_bench.costmodel.shapes import AXES, Axis, JobShape, Point, requested
from dist_bench.results import Results
from dist_bench.stats import median

if TYPE_CHECKING:
    from dist_bench.costmodel.crossovers import Crossover


@dataclass(frozen=True)
class Series:
    """The records of one workload lying on a line along ``axis`` (the other axes fixed).

    Attributes:
        at: Where the line lies, with the serially measured grain (what the fits predict with).
        line: The same, as asked for (before calibration): what to run to add a point to it.
        low: The smallest value on ``axis`` measured on the line (measured grain for grains).
        high: The largest.
    """

    axis: Axis
    at: JobShape
    line: JobShape
    low: float
    high: float


def shape_to_ask(results: Results, crossover: Crossover, value: float) -> JobShape:
    """The shape to run to measure ``crossover``'s series at ``value`` on its axis.

    Grains on a series are *measured* serial grains, but a job is run by the grain it *asks*
    for; the two differ where calibration cannot hit the grain, most on the uncalibrated ``io``
    workload (its grain is a latency; each task adds connection costs on top). The asked grain
    is interpolated (log-log) from the serial records on the series' line; beyond them the
    nearest record's ratio is kept. Without serial records, the value is asked as is.
    """
    shape = crossover.line.along(crossover.axis, value)
    if crossover.axis != "grain_s":
        return shape
    pairs = sorted(
        (median(record.task_s) / record.tasks, record.grain_s)
        for record in results.records
        if record.backend == BASELINE
        and record.workload == crossover.workload
        and record.verified
        and record.task_s
        and record.tasks == crossover.line.tasks
        and record.bytes_per_task == crossover.line.bytes_per_task
    )
    if not pairs:
        return shape
    measured, asked = (np.log(np.array(column)) for column in zip(*pairs, strict=True))
    at = math.log(value)
    # np.interp holds the end values beyond the ends; the ratio is held there instead.
    if at <= measured[0]:
        grain = value * math.exp(asked[0] - measured[0])
    elif at >= measured[-1]:
        grain = value * math.exp(asked[-1] - measured[-1])
    else:
        grain = math.exp(float(np.interp(at, measured, asked)))
    return shape.along("grain_s", grain)


def find_series(points: Iterable[Point]) -> list[Series]:
    """For each axis, the line through the points with the most distinct values on it (≥ 2)."""
    points = list(points)
    found = []
    for axis in AXES:
        lines: dict[tuple[float, ...], list[Point]] = {}
        for point in points:
            others = tuple(requested(point.record, a) for a in AXES if a != axis)
            lines.setdefault(others, []).append(point)
        line = max(
            lines.values(),
            key=lambda members: (len({requested(p.record, axis) for p in members}), len(members)),
            default=[],
        )
        values = [p.shape.value(axis) for p in line]
        if len({requested(p.record, axis) for p in line}) < 2:
            continue
        first = line[0]
        grain = float(np.median([p.shape.grain_s for p in line]))
        at = JobShape(first.shape.tasks, grain, first.shape.bytes_per_task)
        asked = JobShape(first.record.tasks, first.record.grain_s, first.record.bytes_per_task)
        found.append(Series(axis, at, asked, min(values), max(values)))
    return found


def on_series(series: Series, points: Sequence[Point]) -> dict[float, list[Point]]:
    """``points`` lying on the series' line, grouped by their asked value on its axis."""
    grouped: dict[float, list[Point]] = {}
    for point in points:
        if all(
            requested(point.record, axis) == series.line.value(axis)
            for axis in AXES
            if axis != series.axis
        ):
            grouped.setdefault(requested(point.record, series.axis), []).append(point)
    return grouped
