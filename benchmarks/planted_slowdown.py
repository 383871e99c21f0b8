"""The cpu workload with a planted slowdown: benchmarks/compare_accuracy.py's A/B test.

Each task draws ``DIST_BENCH_PLANTED_SLOWDOWN`` (default 1) times the points cpu's would, so 1.2
makes every task do 20 % more work per unit while the job's shape (tasks, grain) stays the same,
as if the code had become 20 % slower. The run's calibration then gives each task fewer units to
fill the grain, so the time per unit of work (what ``compare`` compares) rises by 20 %.
"""

from __future__ import annotations

import os
from dataclasses import replace

from dist_bench.workload import builtin_workloads

CPU = builtin_workloads()["cpu"]

#: The environment variable holding the factor (read in each task, so workers see it too).
SLOWDOWN_VARIABLE = "DIST_BENCH_PLANTED_SLOWDOWN"


def slowed_count_hits(seed: int, samples: int) -> int:
    """cpu's task with its work multiplied by the planted factor."""
    factor = float(os.environ.get(SLOWDOWN_VARIABLE, "1"))
    return int(CPU.task(seed, round(samples * factor)))


WORKLOAD = replace(
    CPU,
    name="cpu-planted",
    summary="cpu with a planted slowdown (DIST_BENCH_PLANTED_SLOWDOWN)",
    task=slowed_count_hits,
)
