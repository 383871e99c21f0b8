"""The lessons in words: what each workload teaches, what to expect, whether this run shows it."""

from __future__ import annotations

from dist_bench.lessons import Cause, Check, Expect, Lesson, Verdict, WorkloadLesson
from dist_bench.memory import SlotMemory
from dist_bench.report.record_sentences import dispatch_outweighs, worker_count
from dist_bench.units import format_bytes, format_seconds

LESSON_TEXTS: dict[Lesson, tuple[str, str, str]] = {
    Lesson.GIL: (
        "the GIL: pure-Python threads take turns",
        "Pure-Python code holds the GIL, so threads run it one at a time (concurrency, not "
        "parallelism) and an event loop runs it one coroutine at a time; an interpreter per "
        "worker (processes, Dask, Ray) runs it side by side.",
        "threads and asyncio no faster than serial; processes, Dask and Ray faster, towards "
        "the cores' count once tasks are coarse enough to pay for dispatch",
    ),
    Lesson.CONCURRENCY: (
        "concurrency: waits overlap",
        "Tasks that wait (here on a loopback server) hold no core while they wait: threads and "
        "coroutines overlap the waits, so the speedup is concurrency and can exceed the cores.",
        "threads, asyncio and processes all faster than serial, by up to their slot count",
    ),
    Lesson.NATIVE: (
        "native code releases the GIL",
        "NumPy's BLAS calls release the GIL, so threads run them side by side (parallelism, "
        "capped by the cores and by BLAS's own threads); a coroutine that never awaits blocks "
        "the one event loop.",
        "threads faster than serial, up to the cores; asyncio no faster",
    ),
    Lesson.TINY_TASKS: (
        "tiny tasks: dispatch costs more than the work",
        "Each dispatch to another process pickles, sends and schedules: at the smallest grain "
        "that costs more than the task itself. Sending many tasks per dispatch (--chunk auto) "
        "pays it once per batch.",
        "processes, Dask and Ray slower than serial at the smallest grain; their --chunk auto "
        "rows faster than their one-task-per-dispatch rows",
    ),
    Lesson.MOVING_DATA: (
        "moving data costs",
        "Threads share the driver's memory and move nothing; processes and clusters pickle and "
        "copy every task's arrays, which can cost more than running them in parallel saves.",
        "processes, Dask and Ray slower than threads at the most bytes per task",
    ),
    Lesson.AMDAHL: (
        "Amdahl: a serial part caps the speedup",
        "Counting words splits into parallel counts and one serial merge of the counts, timed "
        "with the job: the merge's share caps the speedup whatever the workers (Amdahl's law).",
        "processes below the ideal speedup of their workers (a Karp-Flatt serial fraction "
        "above 0); pure-Python threads no faster than serial",
    ),
}

_EXPECT_WORDS = {
    Expect.FASTER: "faster than {reference}",
    Expect.NOT_FASTER: "no faster than {reference}",
    Expect.SLOWER: "slower than {reference}",
    Expect.BELOW_IDEAL: "below ideal ({slots}x on {slots} workers)",
}

_VERDICT_MARKS = {Verdict.MATCHES: "✓", Verdict.DIFFERS: "✗", Verdict.NOT_SHOWN: "?"}

_CAUSE_WORDS = {
    Cause.NOISE: "the runs varied (a busy machine): raise --repeats, or measure when it is quiet",
    Cause.SLOW_BASELINE: (
        "the serial runs were slow (load or a cold start): no code runs faster than its cores "
        "and the GIL allow: raise --repeats"
    ),
    Cause.CORES_BUSY: "more busy workers (and the driver) than free cores: the machine was loaded",
    Cause.DISPATCH: "dispatch costs about as much as the work at this grain",
    Cause.SLOWER_WORK: "the work itself needed more CPU time on the workers",
    Cause.BYTES: "moving each task's bytes cost more than parallelism saved",
    Cause.UNKNOWN: "nothing in the row's own measurements explains it",
}


def lesson_title(item: WorkloadLesson) -> str:
    """``cpu — the GIL: pure-Python threads take turns``."""
    return f"{item.workload} — {LESSON_TEXTS[item.lesson][0]}"


def lesson_text(item: WorkloadLesson) -> str:
    """What the workload teaches."""
    return LESSON_TEXTS[item.lesson][1]


def lesson_expected(item: WorkloadLesson) -> str:
    """What you should see on a 2-core machine."""
    return f"What you should see: {LESSON_TEXTS[item.lesson][2]}."


def lesson_verdict(item: WorkloadLesson) -> str:
    """Whether this run shows the lesson, in a few words."""
    if not item.checks:
        return "not checked: the rows it needs were not measured"
    counts = {v: sum(c.verdict is v for c in item.checks) for v in Verdict}
    shown = f"{counts[Verdict.MATCHES]} of {len(item.checks)} expectations match"
    if counts[Verdict.DIFFERS]:
        shown += f", {counts[Verdict.DIFFERS]} differ"
    if counts[Verdict.NOT_SHOWN]:
        shown += f", {counts[Verdict.NOT_SHOWN]} not shown either way"
    return f"This run: {shown}."


def check_mark(check: Check) -> str:
    """✓ matches, ✗ differs, ? not shown."""
    return _VERDICT_MARKS[check.verdict]


def check_sentence(check: Check) -> str:
    """One expectation against the numbers: expected, measured, and why when it differs."""
    expectation = check.expectation
    record = check.row.record
    who = f"{record.backend} ({worker_count(record.workers)}"
    who += f", chunk {record.chunk})" if expectation.chunked else ")"
    reference = (
        f"its one-task-per-dispatch row ({record.backend})"
        if expectation.chunked
        else expectation.reference
    )
    expected = _EXPECT_WORDS[expectation.expect].format(reference=reference, slots=check.slots)
    interval = check.interval
    measured = (
        f"{check.ratio:.2f}x ({interval.low:.2f}-{interval.high:.2f}) at "
        f"{record.tasks} x {format_seconds(check.row.grain_s)}"
    )
    if record.bytes_per_task:
        measured += f", {format_bytes(record.bytes_per_task)}"
    text = f"{check_mark(check)} {who}: expected {expected}; measured {measured}"
    text += f": {check.verdict.value}"
    if check.cause is Cause.TOO_FINE:
        text += f": {_too_fine(check)}"
    elif check.cause is not None:
        text += f"; likely cause: {_CAUSE_WORDS[check.cause]}"
    return text


def _too_fine(check: Check) -> str:
    """Why a speedup was not shown: no grain measured was coarse enough to pay for dispatch."""
    row = check.row
    coarsest = check.coarsest_grain_s or row.grain_s
    return (
        f"measured only up to {format_seconds(coarsest)} per task; its dispatch costs "
        f"{format_seconds(row.overhead_per_task_s or 0.0)} per task{dispatch_outweighs(row)}: "
        "coarser tasks were not measured"
    )


LESSONS_HEADING = (
    "lessons: does this run show them? (✓ matches, ✗ differs, ? not shown; each in the reports)"
)

#: The report's opening line: why the sections come in the order they do.
TEACHING_NOTE = (
    "Sections in teaching order (cpu, io, blas, tiny tasks, data, wordcount): each opens with "
    "its lesson, what you should see on a 2-core machine, and whether this run shows it "
    "(✓ matches, ✗ differs with its likely cause, ? not shown either way)."
)


def lesson_line(item: WorkloadLesson) -> str:
    """A lesson and this run's verdict in one terminal line: ``1/5 ✓; ✗ threads, dask; 1 ?``.

    With a waiting slot's memory, where measured: ``memory a slot: a coroutine ~1.1 KiB, ...``.
    """
    if not item.checks:
        return f"{lesson_title(item)}: {lesson_verdict(item)}"
    differ = [c.row.record.backend for c in item.checks if c.verdict is Verdict.DIFFERS]
    matches = sum(c.verdict is Verdict.MATCHES for c in item.checks)
    unshown = sum(c.verdict is Verdict.NOT_SHOWN for c in item.checks)
    parts = [f"{matches}/{len(item.checks)} ✓"]
    parts += [f"✗ {', '.join(differ)}"] if differ else []
    parts += [f"{unshown} ?"] if unshown else []
    if item.memory is not None:
        # On the lesson's own line: the summary keeps to its two screens.
        parts.append(f"memory a slot: {slot_memory_text(item.memory)}")
    return f"{lesson_title(item)}: {'; '.join(parts)}"


def slot_memory_text(memory: SlotMemory) -> str:
    """``a coroutine ~1.1 KiB, a thread ~16.2 KiB (measured in a fresh interpreter, ...)``."""
    return (
        f"a coroutine ~{format_bytes(memory.coroutine_bytes)}, "
        f"a thread ~{format_bytes(memory.thread_bytes)} (measured in a fresh interpreter, "
        f"{memory.slots} slots, median of {memory.repeats})"
    )


def memory_sentence(item: WorkloadLesson) -> str | None:
    """What a waiting slot holds, coroutine beside thread (None: nothing measured)."""
    if item.memory is None:
        return None
    return (
        f"Memory a waiting slot holds: {slot_memory_text(item.memory)}. Measured apart from "
        "the timed jobs, in short-lived interpreters that start the slots all waiting on one "
        "event: a fresh process has no freed memory to reuse, and the timings are undisturbed."
    )
