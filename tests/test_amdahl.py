"""Amdahl measured: a serial fraction fitted through several worker counts, sweeps kept out of fits.

Worker-count sweeps (``run -w 1,2,4``, the default cutover's Amdahl shapes) give one row per
worker count at one shape: the plot fits Amdahl's law through all of them, while the cost model
(one fit per backend as it was started) leaves the other worker counts out.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from dist_bench.analysis import summarize
from dist_bench.costmodel import collect_points
from dist_bench.report.workers_panel import amdahl_speedup, scaling_points
from dist_bench.results import Results
from dist_bench.stats import amdahl_fraction
from tests.test_analysis import record


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.35, 1.0])
def test_the_fit_recovers_the_serial_fraction_of_exact_points(fraction: float) -> None:
    points = [(p, amdahl_speedup(fraction, p)) for p in (1, 2, 4, 8)]
    assert amdahl_fraction(points) == pytest.approx(fraction, abs=1e-9)


def test_the_fit_needs_a_point_on_more_than_one_worker() -> None:
    assert amdahl_fraction([(1, 0.9)]) is None
    # Slower than serial everywhere: as serial as it gets, never above 1.
    assert amdahl_fraction([(2, 0.5), (4, 0.4)]) == 1.0


def sweep() -> Results:
    """Serial and processes at 1, 2 and 4 workers on one job, processes' f = 0.2 exactly."""
    serial = record("serial", 0.1, 0.1, workers=1)
    rows = [record("processes", 0.1 / amdahl_speedup(0.2, p), 0.1, workers=p) for p in (1, 2, 4)]
    small = record("processes", 0.01, 0.01, workers=4, grain_s=0.001)
    return Results({}, [], [serial, *rows, small, replace(small, backend="serial", workers=1)])


def test_the_scaling_panel_gathers_a_backends_worker_counts_at_its_largest_job() -> None:
    points = scaling_points(summarize(sweep()))["processes"]
    assert [s.record.workers for s in points] == [1, 2, 4]
    fraction = amdahl_fraction([(s.parallel_slots, s.speedup or 0.0) for s in points])
    assert fraction == pytest.approx(0.2, abs=0.01)


def test_the_cost_model_fits_each_backend_at_its_usual_worker_count_only() -> None:
    points = collect_points(sweep())[("w", "processes")]
    # Two shapes at 4 workers (the count most records used): the 1- and 2-worker rows stay out.
    assert sorted(p.record.workers for p in points) == [4, 4]


def test_batched_rows_stay_out_of_the_cost_model() -> None:
    results = sweep()
    batched = replace(results.records[-2], chunk=8, chunk_auto=True)
    points = collect_points(replace(results, records=[*results.records, batched]))
    assert all(p.record.chunk == 1 for p in points[("w", "processes")])
