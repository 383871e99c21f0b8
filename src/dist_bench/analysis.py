"""From raw records to what a reader wants: speedups with intervals, efficiency, and the reason.

Everything here is derived from a results file, so an old file re-renders with today's statistics.
Each summary carries one finding: which effect (the GIL, dispatch overhead, moving bytes,
parallelism) explains the number, computed from the measurements, never assumed. Findings are
kinds (``FindingKind``); ``report.record_sentences`` puts them in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from dist_bench.backends.base import BASELINE
from dist_bench.pooling import at_units, pool_records
from dist_bench.results import BackendRun, Record, Results, SizeKey
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

#: Efficiency (speedup / workers) from which a backend is said to run in parallel well.
GOOD_EFFICIENCY = 0.75
#: Tasks this much slower on workers than serially, with no speedup, took turns on one resource.
CONTENDED_TASK_RATIO = 1.5
#: Serial tasks using less CPU than this share of their time are waiting, not computing.
WAITING_CPU_SHARE = 0.2
#: A speedup below this is no real parallelism: the tasks took turns, or there was nothing to
#: overlap. Source: a judgement in the first version (commit 5c55bce), not tuned by a benchmark:
#: above the run-to-run spread of a loaded 2-core machine, below the 2x two cores can give.
NO_REAL_SPEEDUP = 1.3
#: Tasks at most this much slower on workers than alone were not held back by each other (the
#: same judgement and commit as ``NO_REAL_SPEEDUP``).
UNHINDERED_TASK_RATIO = 1.3


class FindingKind(Enum):
    """The effect behind a record's number; the value is its anchor in the HTML glossary."""

    BASELINE = "baseline"
    PARALLEL = "parallel"
    PARTLY_PARALLEL = "partly-parallel"
    GIL = "gil"
    WAITS = "waits"
    ONE_AFTER_ANOTHER = "one-after-another"
    DISPATCH = "dispatch"
    BYTES = "bytes"
    SLOWER_WORK = "slower-work"
    CORE_WAIT = "core-wait"
    WRONG = "wrong"
    FAILED = "failed"
    NO_BASELINE = "no-baseline"


class Execution(Enum):
    """How a backend runs tasks, which decides what can hold them back."""

    #: One task after another in the driver.
    SERIAL = "serial"
    #: OS threads in one interpreter: one GIL, handed over every switch interval.
    THREADS = "threads"
    #: Coroutines on one event loop: one runs at a time, switching only where it awaits.
    EVENT_LOOP = "event loop"
    #: An interpreter (and GIL) per worker on this machine: processes, embedded Dask or Ray.
    PROCESSES = "processes"
    #: Subinterpreters in the driver's process, each with its own GIL (``InterpreterPoolExecutor``).
    INTERPRETERS = "interpreters"
    #: Workers on other machines, reached over the network.
    NODES = "nodes"


#: Built-in backends that share the driver's memory, for files whose run lacks the flag.
_SHARED_MEMORY_BACKENDS = frozenset({BASELINE, "threads", "asyncio"})
#: Built-in backends that run coroutines (``Backend.runs_coroutines``; ``describe`` omits it).
_COROUTINE_BACKENDS = frozenset({"asyncio"})


def execution_of(backend: str, topology: dict[str, Any]) -> Execution:
    """How ``backend`` ran its tasks, from its ``describe()`` in the results file."""
    if topology.get("remote"):
        return Execution.NODES
    if backend == BASELINE:
        return Execution.SERIAL
    if topology.get("own_gil_per_interpreter"):
        return Execution.INTERPRETERS
    if not topology.get("shares_memory", backend in _SHARED_MEMORY_BACKENDS):
        return Execution.PROCESSES
    if topology.get("runs_coroutines", backend in _COROUTINE_BACKENDS):
        return Execution.EVENT_LOOP
    return Execution.THREADS


def holds_gil(nature: TaskNature | None) -> bool:
    """Whether tasks of ``nature`` hold the GIL while they run (undeclared: assumed, as Python)."""
    return nature in (TaskNature.PURE_PYTHON, None)


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
    def dispatch_outweighs_work(self) -> bool:
        """Whether dispatch costs at least what the workers save on each task.

        On P slots a task of grain g saves g (1 - 1/P) of the job's time (half of it on two):
        dispatch at or above that makes the job no faster than serial, however well the rest goes.
        """
        if self.overhead_per_task_s is None:
            return False
        return self.overhead_per_task_s >= self.grain_s * (1 - 1 / self.parallel_slots)


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


def explain(summary: Summary, topology: dict[str, Any]) -> FindingKind:
    """The effect behind the number, from the measurements alone.

    ``topology`` is the backend's ``describe()`` from the results file. The first reason that
    holds is the finding: coroutines that never await ran one after another, always; then
    dispatch at or above the (measured) work per task, before the tasks' own time (slower
    work, waiting for a core): a job whose dispatch dwarfs its work loses without them.
    """
    record = summary.record
    shares_memory = bool(topology.get("shares_memory"))
    if not record.verified:
        return FindingKind.WRONG
    if record.backend == BASELINE:
        return FindingKind.BASELINE
    speedup = summary.speedup
    if speedup is None:
        return FindingKind.NO_BASELINE
    if summary.blocks_loop:
        return FindingKind.ONE_AFTER_ANOTHER
    slots = summary.parallel_slots
    ratio = summary.task_time_ratio
    # Taking turns on the GIL needs code that holds it, and a GIL: native code and waits (and
    # threads of a free-threaded build) contend for cores.
    takes_turns = shares_memory and holds_gil(summary.nature) and summary.gil_enabled
    # The overhead per task assumes the slots ran side by side: on tasks taking turns it holds
    # their queueing for the GIL (about a grain each), which is no dispatch.
    if not takes_turns and (summary.overhead_per_task_s or 0.0) >= summary.grain_s:
        return _moving_or_dispatch(summary, shares_memory)
    contended = ratio is not None and ratio >= CONTENDED_TASK_RATIO and speedup < NO_REAL_SPEEDUP
    if contended and takes_turns:
        return FindingKind.GIL
    cpu_ratio = summary.task_cpu_ratio
    if cpu_ratio is not None and cpu_ratio >= CONTENDED_TASK_RATIO:
        return FindingKind.SLOWER_WORK
    if contended:
        return FindingKind.CORE_WAIT
    if (
        shares_memory
        and slots > 1
        and speedup < NO_REAL_SPEEDUP
        and (ratio is None or ratio < UNHINDERED_TASK_RATIO)
    ):
        return FindingKind.ONE_AFTER_ANOTHER
    if speedup < 1.0 and (summary.dispatch_outweighs_work or record.bytes_per_task):
        return _moving_or_dispatch(summary, shares_memory)
    cpu_share = summary.baseline_cpu_share
    if cpu_share is not None and cpu_share < WAITING_CPU_SHARE and speedup >= NO_REAL_SPEEDUP:
        return FindingKind.WAITS
    if (summary.efficiency or 0.0) >= GOOD_EFFICIENCY:
        return FindingKind.PARALLEL
    return FindingKind.PARTLY_PARALLEL


def _moving_or_dispatch(summary: Summary, shares_memory: bool) -> FindingKind:
    """Which fixed cost per task lost the job its speedup: moving its bytes, or dispatch."""
    if summary.record.bytes_per_task and not shares_memory:
        return FindingKind.BYTES
    return FindingKind.DISPATCH


def _malloc_trim_threshold(topology: dict[str, Any]) -> str | None:
    """The workers' MALLOC_TRIM_THRESHOLD_ as the backend reported it, if it set one."""
    trim = (topology.get("worker_environment") or {}).get("MALLOC_TRIM_THRESHOLD_")
    return None if trim is None else str(trim)


def runtime_serial_speedups(results: Results) -> dict[str, float]:
    """Per other runtime, how much faster its serial run did the same work than the host's.

    Each runtime calibrates its own units to the asked grain, so wall times compare nothing:
    the work per unit does, in CPU seconds (the runtimes run one after another, so a wall-time
    ratio would also hold any change in the machine's load between them). The median over the
    job sizes both measured serially (each the median of its rounds: every round calibrates its
    own units, so records are not pooled here); a runtime with none in common is left out.
    Above 1: that interpreter is faster on one thread.
    """
    samples: dict[SizeKey, list[float]] = {}
    for record in results.records:
        if (
            record.backend == BASELINE
            and record.verified
            and record.task_cpu_s
            and not math.isnan(median(record.task_cpu_s))
            and record.units
        ):
            per_unit_s = median(record.task_cpu_s) / (record.tasks * record.units)
            samples.setdefault(record.size_key(), []).append(per_unit_s)
    per_unit = {key: median(values) for key, values in samples.items()}
    ratios: dict[str, list[float]] = {}
    for key, seconds in per_unit.items():
        host = per_unit.get((*key[:4], ""))
        if key[4] and host is not None and seconds > 0:
            ratios.setdefault(key[4], []).append(host / seconds)
    return {label: median(values) for label, values in ratios.items()}
