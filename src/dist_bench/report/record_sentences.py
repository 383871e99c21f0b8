"""Each record's finding and warnings in words (``analysis.summarize``'s kinds with values).

The words follow what the workload declares its task does and how the backend ran it, so a
reason never names what cannot apply to the row, and a win says whether it is concurrency
or parallelism.
"""

from __future__ import annotations

from collections.abc import Sequence

from dist_bench.analysis import RecordWarning, RecordWarningKind, Summary
from dist_bench.execution import Execution, holds_gil
from dist_bench.findings import NO_REAL_SPEEDUP, UNHINDERED_TASK_RATIO, FindingKind
from dist_bench.units import format_bytes, format_seconds
from dist_bench.workload import TaskNature


def record_finding(summary: Summary) -> str:
    """One sentence naming the effect behind a record's number (``Summary.finding``).

    The words follow what the workload declares its task does and how the backend ran it, so a
    reason is never one that cannot apply to the row (the GIL on code that releases it, NumPy on a
    workload without arrays), and a win says whether it is concurrency or parallelism.
    """
    record = summary.record
    kind = summary.finding
    slots = summary.parallel_slots
    ratio = summary.task_time_ratio or 0.0
    overhead = summary.overhead_per_task_s or 0.0
    speedup = summary.speedup or 0.0
    if kind is FindingKind.FAILED:
        return f"failed: {record.error}"
    if kind is FindingKind.WRONG:
        return "WRONG ANSWER: differs from the serial answer, so this is no speedup"
    if kind is FindingKind.BASELINE:
        return (
            f"baseline: {record.tasks} tasks of {format_seconds(summary.grain_s)} one after another"
        )
    if kind is FindingKind.NO_BASELINE:
        return "no serial baseline for this size"
    if kind is FindingKind.GIL:
        return (
            f"tasks took turns: each ran {ratio:.1f}x slower than alone, so {slots} "
            f"workers gave concurrency, not parallelism: {_turns_cause(summary)}"
        )
    if kind is FindingKind.SLOWER_WORK:
        return (
            f"each task needed {summary.task_cpu_ratio or 0.0:.1f}x the CPU time it needs alone: "
            f"the work itself ran slower on the workers ({_slow_work_cause(summary)})"
        )
    if kind is FindingKind.CORE_WAIT:
        return (
            f"tasks waited for a core: each ran {ratio:.1f}x slower than alone for the same CPU "
            f"time, so the {slots} workers and the driver competed for the cores"
            f"{_core_wait_cause(summary)}"
        )
    if kind is FindingKind.ONE_AFTER_ANOTHER:
        return f"tasks ran one after another: {_one_at_a_time_cause(summary)}"
    if kind is FindingKind.BYTES:
        return (
            f"moving {format_bytes(record.bytes_per_task)} in and out of every task costs more "
            "than running it in parallel saves; threads share memory and move nothing"
        )
    if kind is FindingKind.DISPATCH:
        return (
            f"dispatch costs {format_seconds(overhead)} per task against "
            f"{format_seconds(summary.grain_s)} of work{dispatch_outweighs(summary)}: make "
            "tasks coarser (--grain) or send more per dispatch (--chunk)"
        )
    if kind is FindingKind.WAITS:
        return (
            f"overlapped waits: tasks use {summary.baseline_cpu_share or 0.0:.0%} CPU and wait "
            f"the rest, so {slots} workers gave {speedup:.1f}x (concurrency: the "
            "waits overlap, the cores idle)"
        )
    efficiency = summary.efficiency or 0.0
    won = _won_by(summary)
    if kind is FindingKind.PARALLEL:
        return (
            f"{won or 'faster'}: {speedup:.1f}x on {slots} "
            f"workers ({efficiency:.0%} of ideal); {_win(summary)}"
        )
    fraction = summary.serial_fraction
    fraction_text = f"; serial fraction {fraction:.2f} (Karp-Flatt)" if fraction is not None else ""
    interval = summary.speedup_interval
    if interval is not None and interval.low <= 1.0:
        # Karp-Flatt is undefined here (analysis hides it): "partly parallel, serial fraction
        # 1.00" would call a job no faster than serial parallel.
        return (
            f"no speedup beyond doubt: {speedup:.2f}x, its interval reaching 1x; overhead "
            f"{format_seconds(overhead)} per task; {_win(summary)}"
        )
    return (
        f"{f'partly {won}' if won else 'a speedup'}: {efficiency:.0%} of "
        f"ideal; overhead {format_seconds(overhead)} per task{fraction_text}; {_win(summary)}"
    )


#: CPython's default switch interval (``sys.getswitchinterval()``): how long a thread may keep
#: the GIL while others wait for it. The results file does not record the run's own value.
DEFAULT_SWITCH_INTERVAL_S = 0.005
_SWITCH_INTERVAL = "sys.getswitchinterval(), 5 ms by default"


def dispatch_outweighs(summary: Summary) -> str:
    """What a dispatch below the work outweighed: the time the workers save on each task.

    ``, more than the 413 µs 2 workers save on each task`` (``Summary.dispatch_outweighs_work``);
    empty where dispatch costs at least the work itself, which says enough.
    """
    overhead, grain = summary.overhead_per_task_s or 0.0, summary.grain_s
    if overhead >= grain:
        return ""
    slots = summary.parallel_slots
    return (
        f", more than the {format_seconds(summary.saving_per_task_s)} {worker_count(slots)} "
        "save on each task"
    )


def _overlaps(summary: Summary) -> bool:
    """Whether a win can only be concurrency: tasks that wait, or one event loop taking turns."""
    return summary.nature is TaskNature.WAITS or summary.execution is Execution.EVENT_LOOP


def _won_by(summary: Summary) -> str | None:
    """``overlapped`` or ``parallel`` as a row's lead word; ``None`` where neither can be true."""
    if (
        summary.execution is Execution.THREADS
        and summary.nature is TaskNature.PURE_PYTHON
        and summary.gil_enabled
    ):
        return None
    return "overlapped" if _overlaps(summary) else "parallel"


def _win(summary: Summary) -> str:
    """Concurrency or parallelism, and what made it so for this workload on this backend."""
    if _overlaps(summary):
        return "concurrency: the waits overlapped, taking turns on the cores"
    if summary.execution is Execution.THREADS and not summary.gil_enabled:
        return "parallelism: a free-threaded build has no GIL, so the threads ran side by side"
    if summary.execution is Execution.THREADS:
        if summary.nature is TaskNature.PURE_PYTHON:
            # Threads cannot run pure-Python code side by side: the number says more about the
            # serial baseline (or the machine's load) than about the threads.
            return (
                "not parallelism: pure-Python threads take turns on the GIL, so suspect a slow "
                "serial baseline or noise"
            )
        if summary.nature is None:
            return "parallelism where the code releases the GIL, so the threads ran side by side"
        return "parallelism: the native code releases the GIL, so the threads ran side by side"
    if summary.execution is Execution.NODES:
        return "parallelism: side by side on the nodes' own cores"
    if summary.execution is Execution.INTERPRETERS:
        return "parallelism: side by side in one process, an interpreter with its own GIL each"
    return "parallelism: side by side, an interpreter and a GIL per process"


def _turns_cause(summary: Summary) -> str:
    """Why tasks holding the GIL took turns (``FindingKind.GIL``), by how they were run."""
    code = "pure-Python code" if summary.nature is TaskNature.PURE_PYTHON else "Python code"
    if summary.execution is Execution.EVENT_LOOP:
        # Coroutines declared never to await ran one after another (``blocks_loop``): these
        # are an undeclared workload's, which took turns where they awaited.
        return "one event loop runs one coroutine at a time, switching where one awaits"
    return (
        f"{code} holds the GIL, and the interpreter hands it to the next thread every switch "
        f"interval ({_SWITCH_INTERVAL})"
    )


def _one_at_a_time_cause(summary: Summary) -> str:
    """Why tasks on a shared-memory backend ran one at a time at full speed."""
    if summary.execution is Execution.EVENT_LOOP:
        waits = (
            "their waits did not overlap"
            if summary.nature is TaskNature.WAITS
            else "they never wait"
        )
        return (
            f"{waits}, so there was nothing to overlap (an event loop runs one coroutine at a "
            f"time, switching only where one awaits){_not_turns(summary)}"
        )
    if holds_gil(summary.nature) and summary.gil_enabled:
        if summary.grain_s <= DEFAULT_SWITCH_INTERVAL_S:
            return (
                f"Python code holds the GIL, and a thread keeps it for up to a switch interval "
                f"({_SWITCH_INTERVAL}), longer than these tasks, so each ran to its end before "
                "the next began: neither concurrency nor parallelism"
            )
        return (
            f"Python code holds the GIL, handed between threads every switch interval "
            f"({_SWITCH_INTERVAL}), so the threads took turns and the job took as long as "
            "serial: neither concurrency nor parallelism"
        )
    return (
        "the workers gave no speedup although the tasks do not hold the GIL "
        "throughout: the Python around each task (calls, arguments, results) ran one at a time"
    )


def _not_turns(summary: Summary) -> str:
    """What a speedup or a longer task time on coroutines that never await was instead."""
    if not summary.blocks_loop:
        return ""
    text = ""
    ratio = summary.task_time_ratio
    if ratio is not None and ratio >= UNHINDERED_TASK_RATIO:
        # Coroutines that never await run each to its end: nothing else ran on the loop
        # while one did, so only the machine (or the timer) made it slower.
        text += (
            f"; each task took {ratio:.1f}x its time alone: the machine's load or noise, not "
            "turn-taking (a coroutine that never awaits runs to its end)"
        )
    speedup = summary.speedup or 0.0
    if speedup >= NO_REAL_SPEEDUP:
        text += (
            f"; its {speedup:.1f}x over serial is neither concurrency nor parallelism: suspect "
            "a slow serial baseline or noise"
        )
    return text


def _core_wait_cause(summary: Summary) -> str:
    """What the tasks did while they competed for the cores, when the workload declares it."""
    nature = summary.nature
    released = (
        "the native code releases the GIL, so they ran side by side: "
        if summary.execution is Execution.THREADS
        else ""
    )
    if nature is TaskNature.RELEASES_GIL or nature is TaskNature.PURE_PYTHON:
        # Pure-Python tasks reach this only off the driver's interpreter (threads on them took
        # turns on the GIL instead): an interpreter per worker, capped by the cores.
        return f" ({released}parallelism, capped by the cores)"
    if nature is TaskNature.MOVES_DATA:
        return f" and the memory bandwidth ({released}parallelism, capped by the machine)"
    if nature is TaskNature.WAITS:
        return (
            " (waits hold no core: the work around each wait queued, with whatever the driver "
            "runs beside it)"
        )
    return ""


def _slow_work_cause(summary: Summary) -> str:
    """The likeliest reason work needs more CPU on the workers, from what the backend reported."""
    trim = summary.malloc_trim_threshold
    if not summary.uses_numpy and summary.nature is not None:
        # Allocator and BLAS settings matter to large arrays; this workload declares none.
        return "cache and memory bandwidth shared with other workers, or the engine's own threads"
    if trim is not None:
        return (
            f"their MALLOC_TRIM_THRESHOLD_={trim}, set by the engine, makes every large NumPy "
            "array take fresh memory from the kernel"
        )
    return "allocator or BLAS settings, or cache and memory bandwidth shared with other workers"


def record_warnings(rows: Sequence[tuple[str, RecordWarning]]) -> str:
    """Warnings of one kind on several rows of a table, in one sentence naming each row's value."""
    kind = rows[0][1].kind
    if len(rows) == 1 or any(warning.kind is not kind for _, warning in rows):
        return "; ".join(record_warning(warning) for _, warning in rows)
    if kind is RecordWarningKind.UNSTABLE:
        each = ", ".join(f"{warning.value:.0%} ({label})" for label, warning in rows)
        return (
            f"unstable: runs vary by {each} of their mean; raise --repeats, or close other programs"
        )
    return record_warning(rows[0][1])


def record_warning(warning: RecordWarning) -> str:
    """A record's warning in words, with the flag to change."""
    if warning.kind is RecordWarningKind.UNSTABLE:
        return (
            f"unstable: runs vary by {warning.value:.0%} of their mean; raise --repeats, "
            "or close other programs"
        )
    return "a job under 1 ms is mostly timer noise; raise --tasks or --grain"


ROW_KINDS = {None: "baseline", True: "one interpreter", False: "an interpreter per worker"}

#: The two kinds of rows under a table: the driver's one interpreter, or one per worker.
ROW_GROUP_TITLES = {
    True: "one interpreter, shared memory (threads, asyncio): concurrency, or parallelism "
    "where native code releases the GIL",
    False: "an interpreter per worker (interpreters, processes, Dask, Ray): parallelism",
}


def worker_count(workers: int) -> str:
    """``1 worker``, ``200 workers``."""
    return f"{workers} worker" if workers == 1 else f"{workers} workers"


def placement_sentence(placements: Sequence[tuple[str, float]]) -> str:
    """How long placing the large inputs on the workers took, once per row, outside the median."""
    each = ", ".join(f"{format_seconds(seconds)} ({label})" for label, seconds in placements)
    return (
        "inputs placed once before the timed jobs (shared memory for processes, Dask scatter, "
        f"Ray put): {each}; "
        "not in the median, paid again by every new job that needs them (--no-place sends them "
        "with every task instead)"
    )
