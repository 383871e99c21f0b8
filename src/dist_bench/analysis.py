"""From raw records to what a reader wants: speedups with intervals, efficiency, and the reason.

Everything here is derived from a results file, so an old file re-renders with today's statistics.
Each summary carries one finding: which effect explains the number (``findings.explain``), a kind
(``FindingKind``) that ``report.record_sentences`` puts in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from dist_bench.backends.base import BASELINE
from dist_bench.execution import Execution, execution_of
from dist_bench.findings import FindingKind, explain
from dist_bench.pooling import at_units, pool_records
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
from dist_bench.workload import TaskNature, declared_workload


class RecordWarningKind(Enum):
    """What makes one record's number shaky."""

    #: Its runs vary by more than ``stats.UNSTABLE_SPREAD``.
    UNSTABLE = "unstable"
    #: Its median job is shorter than ``stats.SHORTEST_TRUSTED_S``: mostly timer noise.
    TOO_SHORT = "too short"


@dataclass(frozen=True)
class RecordWarning:
    """A warning about one record: its kind and the value that raised it.

    Attributes:
        value: The runs' spread (``UNSTABLE``) or the median job in seconds (``TOO_SHORT``).
    """

    kind: RecordWarningKind
    value: float


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
    #: The work per task the serial run measured, in this record's units (``measured_grain_s``).
    serial_grain_s: float | None = None
    finding: FindingKind = FindingKind.FAILED
    #: The workers' MALLOC_TRIM_THRESHOLD_ as the engine set it (a cause of slower work).
    malloc_trim_threshold: str | None = None
    #: How the backend ran the tasks.
    execution: Execution = Execution.SERIAL
    #: What the workload declares its task does (``None``: not declared).
    nature: TaskNature | None = None
    #: Whether the workload declares NumPy arrays in its tasks.
    uses_numpy: bool = False
    #: Whether the interpreter that measured it had the GIL on (off: a free-threaded build).
    gil_enabled: bool = True
    warnings: list[RecordWarning] = field(default_factory=list)

    @property
    def parallel_slots(self) -> int:
        """Workers that could be busy at once: no more than there are tasks."""
        return parallel_slots(self.record)

    @property
    def grain_s(self) -> float:
        """The work per task: the serial run's measured grain (the heading's), else the asked.

        What was asked is only the calibration's target: on ``io`` a "40 µs" task waits 1.5 ms.
        """
        return self.serial_grain_s if self.serial_grain_s is not None else self.record.grain_s

    @property
    def blocks_loop(self) -> bool:
        """Whether the tasks block the event loop they run on: declared, and they never wait.

        Such coroutines run one after another, each to its end: they cannot take turns.
        """
        return (
            self.execution is Execution.EVENT_LOOP
            and self.nature is not None
            and self.nature is not TaskNature.WAITS
        )

    @property
    def saving_per_task_s(self) -> float:
        """What the slots save on each task: on P of them a task of grain g saves g (1 - 1/P)."""
        return self.grain_s * (1 - 1 / self.parallel_slots)

    @property
    def dispatch_outweighs_work(self) -> bool:
        """Whether dispatch costs at least what the workers save on each task.

        Dispatch at or above ``saving_per_task_s`` (half the grain on two slots) makes the job no
        faster than serial, however well the rest goes.
        """
        if self.overhead_per_task_s is None:
            return False
        return self.overhead_per_task_s >= self.saving_per_task_s


def parallel_slots(record: Record) -> int:
    """Workers of ``record`` that could be busy at once: no more than there are dispatches."""
    return max(1, min(record.workers, -(-record.tasks // max(1, record.chunk))))


def measured_grain_s(record: Record) -> float | None:
    """The work per task ``record`` measured (its tasks' median total time over their count).

    On the serial record this is the job's real grain: what was asked (``grain_s``) is only the
    calibration's target, and a task that waits on a server or copies arrays can take longer.
    """
    if record.error is not None or not record.verified or not record.task_s:
        return None
    return median(record.task_s) / record.tasks


def series_label(record: Record) -> str:
    """The backend, its interpreter if not the file's own, and how it grouped tasks.

    One name per line of a plot across job sizes: ``threads``, ``threads on 3.14.0, chunk 4``.
    """
    name = record.on_runtime
    if record.chunk_auto:
        return f"{name}, chunk auto"
    if record.chunk > 1:
        return f"{name}, chunk {record.chunk}"
    return name


def row_label(record: Record) -> str:
    """``series_label`` with the tasks per dispatch ``--chunk auto`` chose, when it grouped any."""
    if record.chunk_auto and record.chunk > 1:
        return f"{series_label(record)} ({record.chunk})"
    return series_label(record)


def summarize(results: Results) -> list[Summary]:
    """Summarise every shape each backend ran, in the order first measured.

    A shape measured more than once is one summary of all its samples (``pool_records``). Each
    interpreter's records are divided by its own serial record (the size key holds it), in the
    record's units of work (a round of its own may have calibrated another number).
    """
    records = pool_records(results.records)
    baselines = {
        record.size_key(): record
        for record in records
        if record.backend == BASELINE and record.wall_s and record.verified
    }
    # The latest start of each backend describes it (a file may hold several runs).
    runs = {(run.runtime, run.backend): run for run in results.backends}
    return [
        _summarize_one(
            record, baselines.get(record.size_key()), runs.get((record.runtime, record.backend))
        )
        for record in records
    ]


def _summarize_one(record: Record, baseline: Record | None, run: BackendRun | None) -> Summary:
    topology = run.topology if run is not None else {}
    workload = declared_workload(record.workload)
    traits: dict[str, Any] = {
        "execution": execution_of(record.backend, topology),
        "nature": workload.nature if workload is not None else None,
        "uses_numpy": workload is not None and workload.uses_numpy,
        "gil_enabled": bool(topology.get("gil_enabled", True)),
    }
    if record.error is not None or not record.wall_s:
        return Summary(record, finding=FindingKind.FAILED, **traits)
    median_s = median(record.wall_s)
    slots = parallel_slots(record)
    task_s = median(record.task_s)
    overhead = (median_s - task_s / slots) / record.tasks
    warnings = _warnings(record, median_s)
    speedup = speedup_interval = efficiency = fraction = task_ratio = cpu_share = None
    cpu_ratio = serial_grain = None
    if baseline is not None:
        baseline = at_units(baseline, record.units)
        if baseline.task_cpu_s and median(baseline.task_s) > 0:
            cpu_share = median(baseline.task_cpu_s) / median(baseline.task_s)
        speedup = median(baseline.wall_s) / median_s
        speedup_interval = ratio_interval(baseline.wall_s, record.wall_s)
        efficiency = speedup / slots
        fraction = _defined_serial_fraction(speedup, speedup_interval, slots)
        serial_grain = measured_grain_s(baseline) or None
        if serial_grain:
            task_ratio = (task_s / record.tasks) / serial_grain
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
        serial_grain_s=serial_grain,
        malloc_trim_threshold=_malloc_trim_threshold(topology),
        warnings=warnings,
        **traits,
    )
    return Summary(**{**summary.__dict__, "finding": explain(summary, topology)})


def _defined_serial_fraction(speedup: float, interval: Interval, slots: int) -> float | None:
    """Karp-Flatt's serial fraction where it means one: a speedup beyond doubt, at most ideal.

    Below 1x (or an interval reaching it) it exceeds 1 or sits at 1 (72.34 for a job 70 times
    slower), above ``slots`` it is negative: neither is a share of the work that ran serially.
    """
    if interval.low <= 1.0 or speedup > slots:
        return None
    return karp_flatt(speedup, slots)


def _ratio_of_medians(values: list[float], baseline: list[float]) -> float | None:
    """median(values) / median(baseline), or None when either is missing or not a number."""
    if not values or not baseline:
        return None
    top, bottom = median(values), median(baseline)
    if math.isnan(top) or math.isnan(bottom) or bottom <= 0:
        return None
    return top / bottom


def _warnings(record: Record, median_s: float) -> list[RecordWarning]:
    warnings = []
    variation = spread(record.wall_s)
    if variation > UNSTABLE_SPREAD:
        warnings.append(RecordWarning(RecordWarningKind.UNSTABLE, variation))
    if median_s < SHORTEST_TRUSTED_S:
        warnings.append(RecordWarning(RecordWarningKind.TOO_SHORT, median_s))
    return warnings


def _malloc_trim_threshold(topology: dict[str, Any]) -> str | None:
    """The workers' MALLOC_TRIM_THRESHOLD_ as the backend reported it, if it set one."""
    trim = (topology.get("worker_environment") or {}).get("MALLOC_TRIM_THRESHOLD_")
    return None if trim is None else str(trim)
