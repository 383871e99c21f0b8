"""From raw records to what a reader wants: speedups with intervals, efficiency, and the reason.

Everything here is derived from a results file, so an old file re-renders with today's statistics.
Each summary carries one finding in plain words: which effect (the GIL, dispatch overhead, moving
bytes, parallelism) explains the number, computed from the measurements, never assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from dist_bench.results import BackendRun, Record, Results
from dist_bench.stats import (
    SHORTEST_TRUSTED_S,
    UNSTABLE_SPREAD,
    Interval,
    karp_flatt,
    median,
    median_interval,
    ratio_interval,
    spread,
)
from dist_bench.units import format_bytes, format_seconds

BASELINE = "serial"
#: Efficiency (speedup / workers) from which a backend is said to run in parallel well.
GOOD_EFFICIENCY = 0.75
#: Tasks this much slower on workers than serially, with no speedup, took turns on one resource.
CONTENDED_TASK_RATIO = 1.5
#: Serial tasks using less CPU than this share of their time are waiting, not computing.
WAITING_CPU_SHARE = 0.2


@dataclass(frozen=True)
class Summary:
    """One record, summarised against the serial record of the same job size."""

    record: Record
    median_s: float | None = None
    interval: Interval | None = None
    speedup: float | None = None
    speedup_interval: Interval | None = None
    efficiency: float | None = None
    serial_fraction: float | None = None
    task_time_ratio: float | None = None
    overhead_per_task_s: float | None = None
    #: Share of the serial tasks' time spent on the CPU (low: the tasks wait).
    baseline_cpu_share: float | None = None
    #: CPU time of a task on the workers over its CPU time alone (high: the work itself slowed).
    task_cpu_ratio: float | None = None
    finding: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def parallel_slots(self) -> int:
        """Workers that could be busy at once: no more than there are tasks."""
        return parallel_slots(self.record)


def parallel_slots(record: Record) -> int:
    """Workers of ``record`` that could be busy at once: no more than there are dispatches."""
    return max(1, min(record.workers, -(-record.tasks // max(1, record.chunk))))


def series_label(record: Record) -> str:
    """The backend and how it grouped tasks: one name per line of a plot across job sizes."""
    if record.chunk_auto:
        return f"{record.backend}, chunk auto"
    if record.chunk > 1:
        return f"{record.backend}, chunk {record.chunk}"
    return record.backend


def row_label(record: Record) -> str:
    """``series_label`` with the tasks per dispatch ``--chunk auto`` chose, when it grouped any."""
    if record.chunk_auto and record.chunk > 1:
        return f"{series_label(record)} ({record.chunk})"
    return series_label(record)


def summarize(results: Results) -> list[Summary]:
    """Summarise every record, in the order they were measured."""
    baselines = {
        record.size_key(): record
        for record in results.records
        if record.backend == BASELINE and record.wall_s and record.verified
    }
    # The latest start of each backend describes it (a file may hold several runs).
    runs = {run.backend: run for run in results.backends}
    return [
        _summarize_one(record, baselines.get(record.size_key()), runs.get(record.backend))
        for record in results.records
    ]


def _summarize_one(record: Record, baseline: Record | None, run: BackendRun | None) -> Summary:
    topology = run.topology if run is not None else {}
    if record.error is not None or not record.wall_s:
        return Summary(record, finding=f"failed: {record.error}")
    median_s = median(record.wall_s)
    slots = parallel_slots(record)
    task_s = median(record.task_s)
    overhead = (median_s - task_s / slots) / record.tasks
    warnings = _warnings(record, median_s)
    speedup = speedup_interval = efficiency = fraction = task_ratio = cpu_share = None
    cpu_ratio = None
    if baseline is not None:
        if baseline.task_cpu_s and median(baseline.task_s) > 0:
            cpu_share = median(baseline.task_cpu_s) / median(baseline.task_s)
        speedup = median(baseline.wall_s) / median_s
        speedup_interval = ratio_interval(baseline.wall_s, record.wall_s)
        efficiency = speedup / slots
        fraction = karp_flatt(speedup, slots)
        baseline_task = median(baseline.task_s) / baseline.tasks
        if baseline_task > 0:
            task_ratio = (task_s / record.tasks) / baseline_task
        cpu_ratio = _ratio_of_medians(record.task_cpu_s, baseline.task_cpu_s)
    summary = Summary(
        record=record,
        median_s=median_s,
        interval=median_interval(record.wall_s),
        speedup=speedup,
        speedup_interval=speedup_interval,
        efficiency=efficiency,
        serial_fraction=fraction,
        task_time_ratio=task_ratio,
        overhead_per_task_s=overhead,
        baseline_cpu_share=cpu_share,
        task_cpu_ratio=cpu_ratio,
        warnings=warnings,
    )
    return Summary(**{**summary.__dict__, "finding": explain(summary, topology)})


def _ratio_of_medians(values: list[float], baseline: list[float]) -> float | None:
    """median(values) / median(baseline), or None when either is missing or not a number."""
    if not values or not baseline:
        return None
    top, bottom = median(values), median(baseline)
    if math.isnan(top) or math.isnan(bottom) or bottom <= 0:
        return None
    return top / bottom


def _warnings(record: Record, median_s: float) -> list[str]:
    warnings = []
    variation = spread(record.wall_s)
    if variation > UNSTABLE_SPREAD:
        warnings.append(
            f"unstable: runs vary by {variation:.0%} of their mean; raise --repeats, "
            "or close other programs"
        )
    if median_s < SHORTEST_TRUSTED_S:
        warnings.append("a job under 1 ms is mostly timer noise; raise --tasks or --grain")
    return warnings


def explain(summary: Summary, topology: dict[str, Any]) -> str:
    """One sentence naming the effect behind the number, from the measurements alone.

    ``topology`` is the backend's ``describe()`` from the results file.
    """
    record = summary.record
    shares_memory = bool(topology.get("shares_memory"))
    if not record.verified:
        return "WRONG ANSWER: differs from the serial answer, so this is no speedup"
    if record.backend == BASELINE:
        per_task = (summary.median_s or 0.0) / record.tasks
        return f"baseline: {record.tasks} tasks of {format_seconds(per_task)} one after another"
    speedup = summary.speedup
    if speedup is None:
        return "no serial baseline for this size"
    slots = summary.parallel_slots
    ratio = summary.task_time_ratio
    overhead = summary.overhead_per_task_s or 0.0
    grain = record.grain_s
    contended = ratio is not None and ratio >= CONTENDED_TASK_RATIO and speedup < 1.3
    if contended and shares_memory:
        return (
            f"tasks took turns: each ran {ratio:.1f}x slower than alone, so {slots} workers "
            "gave concurrency, not parallelism (pure-Python code holds the GIL)"
        )
    cpu_ratio = summary.task_cpu_ratio
    if cpu_ratio is not None and cpu_ratio >= CONTENDED_TASK_RATIO:
        return (
            f"each task needed {cpu_ratio:.1f}x the CPU time it needs alone: the work itself "
            f"ran slower on the workers ({_slow_work_cause(topology)})"
        )
    if contended:
        return (
            f"tasks waited for a core: each ran {ratio:.1f}x slower than alone for the same CPU "
            f"time, so the {slots} workers and the driver competed for the cores"
        )
    if shares_memory and slots > 1 and speedup < 1.3 and (ratio is None or ratio < 1.3):
        return (
            "tasks ran one after another: they never wait, so there was nothing to overlap "
            "(an event loop runs one coroutine at a time)"
        )
    if speedup < 1.0 and record.bytes_per_task and not shares_memory:
        return (
            f"moving {format_bytes(record.bytes_per_task)} in and out of every task costs more "
            "than running it in parallel saves; threads share memory and move nothing"
        )
    if speedup < 1.0 or overhead > grain:
        return (
            f"dispatch costs {format_seconds(overhead)} per task against "
            f"{format_seconds(grain)} of work: make tasks coarser (--grain) or send more per "
            "dispatch (--chunk)"
        )
    efficiency = summary.efficiency or 0.0
    cpu_share = summary.baseline_cpu_share
    if cpu_share is not None and cpu_share < WAITING_CPU_SHARE and speedup >= 1.3:
        return (
            f"overlapped waits: tasks use {cpu_share:.0%} CPU and wait the rest, so {slots} "
            f"workers gave {speedup:.1f}x (concurrency: the waits overlap, the cores idle)"
        )
    if efficiency >= GOOD_EFFICIENCY:
        return f"parallel: {speedup:.1f}x on {slots} workers ({efficiency:.0%} of ideal)"
    fraction = summary.serial_fraction
    fraction_text = f"; serial fraction {fraction:.2f} (Karp-Flatt)" if fraction is not None else ""
    return (
        f"partly parallel: {efficiency:.0%} of ideal; overhead "
        f"{format_seconds(overhead)} per task{fraction_text}"
    )


def _slow_work_cause(topology: dict[str, Any]) -> str:
    """The likeliest reason work needs more CPU on the workers, from what the backend reported."""
    environment = topology.get("worker_environment") or {}
    trim = environment.get("MALLOC_TRIM_THRESHOLD_")
    if trim is not None:
        return (
            f"their MALLOC_TRIM_THRESHOLD_={trim}, set by the engine, makes every large NumPy "
            "array take fresh memory from the kernel"
        )
    return "allocator or BLAS settings, or cache and memory bandwidth shared with other workers"
