"""Which effect explains a record's number: the finding kinds and the rule that picks one.

The finding is computed from the measurements, never assumed: the GIL, dispatch overhead, moving
bytes, parallelism. ``report.record_sentences`` puts each kind in words.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from dist_bench.backends.base import BASELINE
from dist_bench.execution import holds_gil

if TYPE_CHECKING:
    from dist_bench.analysis import Summary

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
