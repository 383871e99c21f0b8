"""What every benchmark here shares: the tiny task, the machine's load, and how a verdict prints.

The benchmarks ship this module to the engines' workers (``backend.start(ship=[common])``), as
dist-bench ships a user's workload file, so Dask and Ray workers can run ``spin``.
"""

from __future__ import annotations

import os
import statistics
import sys
from types import ModuleType

from dist_bench.backends.base import Backend
from dist_bench.measure import MeasureSettings, PreparedJob, measure
from dist_bench.results import Record
from dist_bench.units import ChunkMode
from dist_bench.workload import Job, TaskArgs, Workload


def spin(units: int) -> int:
    """Pure-Python work: ``units`` loop iterations (calibrated to a grain like any workload)."""
    total = 0
    for value in range(units):
        total += value & 7
    return total


def make_tasks(job: Job) -> list[TaskArgs]:
    """``job.tasks`` identical tasks of ``job.units`` iterations."""
    return [(job.units,)] * job.tasks


SPIN = Workload(
    name="spin",
    summary="pure-Python loop of a calibrated length",
    make_tasks=make_tasks,
    task=spin,
    combine=sum,
)


def this_module() -> ModuleType:
    """This module, to ship to workers that cannot import it by name."""
    return sys.modules[__name__]


def load() -> str:
    """The load average now, to print beside every figure (the CPU is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores"


def run_jobs(
    backend: Backend,
    prepared: PreparedJob,
    chunk: ChunkMode,
    repeats: int = 1,
    warmup: int = 0,
    dispatch_s: float | None = None,
) -> Record:
    """dist-bench's own measurement of ``prepared`` on ``backend``; its answers must be right.

    One call binds the task function once, as a real run does per job size: Ray then exports it
    and Dask pickles it once, in the first (warm-up) job, so pass ``warmup=1`` with repeats.
    """
    settings = MeasureSettings(repeats=repeats, warmup=warmup, chunk=chunk)
    tasks = prepared.workload.make_tasks(prepared.job)
    record = measure(backend, prepared, tasks, settings, dispatch_s=dispatch_s)
    if not record.verified:
        raise RuntimeError(f"{backend.name}: wrong answer")
    return record


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def verdict(name: str, figure: str, target: str, met: bool) -> bool:
    """Print one result line with its target and whether it was met; return ``met``."""
    print(f"{name}: {figure}; target {target}: {'met' if met else 'MISSED'}  [{load()}]")
    return met
