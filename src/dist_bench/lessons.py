"""What each built-in workload teaches, and whether this run's numbers show it.

Every built-in workload is there for one lesson (the GIL, concurrency, native code, tiny tasks,
moving data, Amdahl's serial part). Each lesson expects a pattern: backends that should speed up,
ones that should not, ones that should lose to another. ``lessons`` checks each expectation
against the measured speedup and its interval, and says whether it matches, differs (with the
likeliest cause, read off the row's own measurements) or is not shown either way. Data only;
``report.lesson_sentences`` words it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

from dist_bench.analysis import RecordWarningKind, Summary
from dist_bench.backends.base import BASELINE
from dist_bench.findings import FindingKind
from dist_bench.memory import SlotMemory
from dist_bench.pooling import at_units
from dist_bench.stats import Interval, median, ratio_interval


class Lesson(Enum):
    """The lesson of a built-in workload; the value is its HTML anchor."""

    #: cpu: pure-Python threads take turns on the GIL; processes run side by side.
    GIL = "gil"
    #: io: tasks that wait overlap their waits on threads and asyncio (concurrency).
    CONCURRENCY = "concurrency"
    #: blas: native code releases the GIL, so threads run in parallel; one event loop does not.
    NATIVE = "native"
    #: The smallest grain: dispatch costs more than the work, unless tasks are batched.
    TINY_TASKS = "tiny-tasks"
    #: data: moving arrays to other processes costs more than running them in parallel saves.
    MOVING_DATA = "moving-data"
    #: wordcount: the serial merge caps every speedup (Amdahl).
    AMDAHL = "amdahl"


#: The lessons in teaching order, each with the workload that shows it (tiny tasks: cpu's
#: smallest grain).
TEACHING_ORDER: tuple[tuple[Lesson, str], ...] = (
    (Lesson.GIL, "cpu"),
    (Lesson.CONCURRENCY, "io"),
    (Lesson.NATIVE, "blas"),
    (Lesson.TINY_TASKS, "cpu"),
    (Lesson.MOVING_DATA, "data"),
    (Lesson.AMDAHL, "wordcount"),
)


class Expect(Enum):
    """What a lesson expects of one row against its reference row."""

    #: Faster beyond doubt (the ratio's interval above 1x).
    FASTER = "faster"
    #: Not faster beyond doubt (the interval reaches 1x or below).
    NOT_FASTER = "not faster"
    #: Slower beyond doubt (the interval below 1x).
    SLOWER = "slower"
    #: Below ideal: the interval under the workers that could be busy (a serial part shows).
    BELOW_IDEAL = "below ideal"


class Verdict(Enum):
    """How the measurement compares with the expectation."""

    MATCHES = "matches"
    DIFFERS = "differs"
    #: The interval straddles the line: this run neither shows nor refutes it.
    NOT_SHOWN = "not shown"


class Cause(Enum):
    """The likeliest cause of a row that differs from its lesson, from its own measurements."""

    #: The runs varied (``RecordWarningKind.UNSTABLE``): the machine was busy.
    NOISE = "noise"
    #: A shared-memory backend beat serial on GIL-holding code: the serial runs were slow.
    SLOW_BASELINE = "slow baseline"
    #: More busy workers (and the driver) than cores.
    CORES_BUSY = "cores busy"
    #: Dispatch cost about as much as the work.
    DISPATCH = "dispatch"
    #: The work itself needed more CPU on the workers.
    SLOWER_WORK = "slower work"
    #: Moving each task's bytes cost more than parallelism saved.
    BYTES = "bytes"
    #: Not shown: at every grain measured, dispatch cost at least what the workers save on a
    #: task (``Summary.dispatch_outweighs_work``); the lesson holds for coarser tasks only.
    TOO_FINE = "too fine"
    #: Nothing in the row's measurements explains it.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Expectation:
    """One row a lesson expects something of: ``backend`` against ``reference``.

    ``chunked``: the row of ``backend`` whose tasks ``--chunk auto`` batched, against the same
    backend's one-task-per-dispatch row (``reference`` is then ``backend``).
    """

    backend: str
    expect: Expect
    reference: str = BASELINE
    chunked: bool = False


#: Backends with an interpreter per worker on this machine or a cluster.
_PER_WORKER = ("processes", "dask", "ray")

#: Each lesson's expectations; a backend not measured is passed over.
EXPECTATIONS: dict[Lesson, tuple[Expectation, ...]] = {
    Lesson.GIL: (
        Expectation("threads", Expect.NOT_FASTER),
        Expectation("asyncio", Expect.NOT_FASTER),
        *(Expectation(name, Expect.FASTER) for name in _PER_WORKER),
    ),
    Lesson.CONCURRENCY: (
        Expectation("threads", Expect.FASTER),
        Expectation("asyncio", Expect.FASTER),
        Expectation("processes", Expect.FASTER),
    ),
    Lesson.NATIVE: (
        Expectation("threads", Expect.FASTER),
        Expectation("asyncio", Expect.NOT_FASTER),
    ),
    Lesson.TINY_TASKS: (
        *(Expectation(name, Expect.SLOWER) for name in _PER_WORKER),
        *(Expectation(name, Expect.FASTER, reference=name, chunked=True) for name in _PER_WORKER),
    ),
    Lesson.MOVING_DATA: tuple(
        Expectation(name, Expect.SLOWER, reference="threads") for name in _PER_WORKER
    ),
    Lesson.AMDAHL: (
        Expectation("processes", Expect.BELOW_IDEAL),
        Expectation("threads", Expect.NOT_FASTER),
    ),
}


@dataclass(frozen=True)
class Check:
    """One expectation against this run's numbers.

    Attributes:
        row: The row checked (its pooled samples).
        against: The reference row at the same shape.
        ratio: ``against``'s median over ``row``'s: its speedup over the reference.
        interval: Bootstrap 95 % interval of ``ratio``.
        slots: Workers of ``row`` that could be busy at once.
        coarsest_grain_s: With ``Cause.TOO_FINE``, the coarsest grain (work per task) the
            row's backend was measured at on the workload.
    """

    expectation: Expectation
    row: Summary
    against: Summary
    ratio: float
    interval: Interval
    slots: int
    verdict: Verdict
    cause: Cause | None = None
    coarsest_grain_s: float | None = None


@dataclass(frozen=True)
class WorkloadLesson:
    """A lesson, the workload that shows it, and its checks on this run.

    ``memory``: what a waiting coroutine and thread hold, on the concurrency lesson of a run
    that measured it (the default cutover, beside its hundred waits on each).
    """

    lesson: Lesson
    workload: str
    checks: tuple[Check, ...]
    memory: SlotMemory | None = None

    @property
    def matches(self) -> bool:
        """Whether no check differs."""
        return all(c.verdict is not Verdict.DIFFERS for c in self.checks)


def lessons(summaries: Sequence[Summary], memory: SlotMemory | None = None) -> list[WorkloadLesson]:
    """The lessons of the workloads measured, in teaching order, each checked.

    ``memory`` (a waiting slot's, from the results' metadata) goes to the concurrency lesson.
    """
    measured = {s.record.workload for s in summaries}
    return [
        WorkloadLesson(
            lesson,
            workload,
            tuple(_checks(lesson, workload, summaries)),
            memory if lesson is Lesson.CONCURRENCY else None,
        )
        for lesson, workload in TEACHING_ORDER
        if workload in measured
    ]


def lesson_of(workload: str) -> Lesson | None:
    """The main lesson ``workload`` teaches (``None`` for a user's workload)."""
    return next((lesson for lesson, name in TEACHING_ORDER if name == workload), None)


def _checks(lesson: Lesson, workload: str, summaries: Sequence[Summary]) -> list[Check]:
    # The lessons' expectations are the file's own interpreter's: another runtime (run --python)
    # can change them (threads on a free-threaded build), and its rows say so themselves.
    usable = [
        s
        for s in summaries
        if s.record.workload == workload
        and s.record.verified
        and s.record.wall_s
        and not s.record.runtime
    ]
    checks = []
    for expectation in EXPECTATIONS[lesson]:
        pair = _pair(lesson, expectation, usable)
        if pair is None:
            continue
        check = _check(expectation, *pair)
        if _too_fine(check):
            coarsest = max(s.grain_s for s in usable if s.record.backend == expectation.backend)
            check = replace(
                check, verdict=Verdict.NOT_SHOWN, cause=Cause.TOO_FINE, coarsest_grain_s=coarsest
            )
        checks.append(check)
    return checks


def _awaits_coarse_tasks(expectation: Expectation) -> bool:
    """Whether the expectation holds only once tasks pay for their dispatch: faster than serial."""
    return (
        expectation.expect is Expect.FASTER
        and expectation.reference == BASELINE
        and not expectation.chunked
    )


def _too_fine(check: Check) -> bool:
    """A "faster" not seen where dispatch outweighed the work: not shown, rather than differs.

    The lesson expects the speedup once tasks are coarse enough to pay for dispatch (``_pair``
    checks at such a shape where there is one): a row slower than serial at a grain its
    dispatch outweighs shows nothing about it, and "the runs varied" would blame the machine
    for a grain that was never measured.
    """
    row = check.row
    if not (
        _awaits_coarse_tasks(check.expectation)
        and check.verdict is not Verdict.MATCHES
        and row.dispatch_outweighs_work
    ):
        return False
    # The overhead per task is the job's time the tasks do not explain, so runs that vary put
    # their noise in it too: there, only an overhead at or above the work itself is dispatch.
    return not _unstable(row) or (row.overhead_per_task_s or 0.0) >= row.grain_s


def _unstable(row: Summary) -> bool:
    return any(w.kind is RecordWarningKind.UNSTABLE for w in row.warnings)


def _pair(
    lesson: Lesson, expectation: Expectation, usable: list[Summary]
) -> tuple[Summary, Summary] | None:
    """The row and its reference at the shape the lesson looks at, if both were measured.

    Tiny tasks: the smallest grain; moving data: the most bytes; the others: the largest job,
    where fixed costs weigh least, of those whose tasks pay for their dispatch where a lesson
    expects a speedup (the lesson's promise: faster once tasks are coarse enough).
    """

    def rows(backend: str, chunked: bool) -> dict[tuple[int, float, int, str], Summary]:
        # Of a worker-count sweep's rows, the one with the most workers: the backend as started.
        ordered = sorted(usable, key=lambda s: s.record.workers)
        return {
            s.record.size_key()[1:]: s
            for s in ordered
            if s.record.backend == backend and (s.record.chunk > 1) == chunked
        }

    mine = rows(expectation.backend, expectation.chunked)
    theirs = rows(expectation.reference, False)
    shared = [shape for shape in mine if shape in theirs]
    if not shared:
        return None
    if lesson is Lesson.TINY_TASKS:
        shape = min(shared, key=lambda s: (s[1], -s[0]))
    elif lesson is Lesson.MOVING_DATA:
        shape = max(shared, key=lambda s: (s[2], s[0] * s[1]))
    else:
        coarse = _awaits_coarse_tasks(expectation)
        shape = max(
            shared,
            key=lambda s: (coarse and not mine[s].dispatch_outweighs_work, s[0] * s[1], s[2]),
        )
    return mine[shape], theirs[shape]


def _check(expectation: Expectation, row: Summary, against: Summary) -> Check:
    # In the row's units of work: the two may be first measured in rounds calibrated apart.
    reference = at_units(against.record, row.record.units).wall_s
    ratio = median(reference) / median(row.record.wall_s)
    interval = ratio_interval(reference, row.record.wall_s)
    slots = row.parallel_slots
    if expectation.reference == BASELINE and interval.low > slots:
        # Faster than serial by more than its slots, beyond doubt: no lesson is shown by a
        # number the workers cannot give (8.9x on 2 processes): the serial runs were slow.
        return Check(
            expectation, row, against, ratio, interval, slots, Verdict.DIFFERS, Cause.SLOW_BASELINE
        )
    verdict = _verdict(expectation.expect, interval, slots)
    cause = _cause(expectation, row) if verdict is Verdict.DIFFERS else None
    return Check(expectation, row, against, ratio, interval, slots, verdict, cause)


def _verdict(expect: Expect, interval: Interval, slots: int) -> Verdict:
    faster, slower = interval.low > 1.0, interval.high < 1.0
    if expect is Expect.NOT_FASTER:
        return Verdict.DIFFERS if faster else Verdict.MATCHES
    if expect is Expect.BELOW_IDEAL:
        if interval.high < slots:
            return Verdict.MATCHES
        return Verdict.DIFFERS if interval.low >= slots else Verdict.NOT_SHOWN
    wanted, opposite = (faster, slower) if expect is Expect.FASTER else (slower, faster)
    return Verdict.MATCHES if wanted else Verdict.DIFFERS if opposite else Verdict.NOT_SHOWN


#: The finding behind a row's number, as the cause of a lesson it does not show.
_FINDING_CAUSES = {
    FindingKind.CORE_WAIT: Cause.CORES_BUSY,
    FindingKind.DISPATCH: Cause.DISPATCH,
    FindingKind.SLOWER_WORK: Cause.SLOWER_WORK,
    FindingKind.BYTES: Cause.BYTES,
}


def _cause(expectation: Expectation, row: Summary) -> Cause:
    if _unstable(row):
        return Cause.NOISE
    if expectation.reference == BASELINE and expectation.expect in (
        Expect.NOT_FASTER,
        Expect.BELOW_IDEAL,
    ):
        # Code that cannot run side by side came out faster, or more workers gave more than
        # their count: the baseline it divides was slow.
        return Cause.SLOW_BASELINE
    return _FINDING_CAUSES.get(row.finding, Cause.UNKNOWN)
