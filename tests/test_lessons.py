"""Each workload's lesson checked against scripted numbers: matches, differs (and why), not shown.

Hand-made records stand for one backend against serial (or threads, or its own unbatched row) at
the shape the lesson looks at; the verdict and the cause must follow from the numbers alone.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from dist_bench.analysis import summarize
from dist_bench.lessons import Cause, Lesson, Verdict, lessons
from dist_bench.report.content import ReportData
from dist_bench.report.lesson_sentences import check_sentence, lesson_verdict
from dist_bench.results import Record, Results
from tests.test_analysis import record as make_record

TASKS, GRAIN = 16, 0.025
#: Five repeats, spread 1 %: a bootstrap interval about 1 % wide around the ratio.
JITTER = (0.99, 0.995, 1.0, 1.005, 1.01)
#: Runs that vary by about 30 % of their mean (an unstable record).
NOISY = (0.6, 0.8, 1.0, 1.2, 1.4)


def rec(
    workload: str,
    backend: str,
    speedup: float = 1.0,
    *,
    grain: float = GRAIN,
    chunk: int = 1,
    task_factor: float = 1.0,
    spread: tuple[float, ...] = JITTER,
) -> Record:
    """``backend`` at ``speedup`` over a serial job of ``TASKS`` x ``grain``."""
    serial_s = TASKS * grain
    walls = [serial_s / speedup * f for f in spread]
    shape = {"workload": workload, "tasks": TASKS, "grain_s": grain, "chunk": chunk}
    return make_record(
        backend,
        0.0,
        serial_s * task_factor,
        1 if backend == "serial" else 2,
        **shape,
        wall_s=walls,
        task_s=[serial_s * task_factor] * len(spread),
        task_cpu_s=[serial_s] * len(spread),
        chunk_auto=chunk > 1,
    )


def only_check(records: list[Record], lesson: Lesson, backend: str):  # type: ignore[no-untyped-def]
    found = [item for item in lessons(summarize(Results({}, [], records))) if item.lesson is lesson]
    assert len(found) == 1
    checks = [c for c in found[0].checks if c.row.record.backend == backend]
    assert len(checks) == 1, [check_sentence(c) for c in found[0].checks]
    return checks[0]


CASES = [
    # workload, lesson, backend, speedup, extra options, verdict, cause
    ("cpu", Lesson.GIL, "threads", 1.0, {}, Verdict.MATCHES, None),
    ("cpu", Lesson.GIL, "threads", 0.7, {}, Verdict.MATCHES, None),
    ("cpu", Lesson.GIL, "threads", 1.3, {}, Verdict.DIFFERS, Cause.SLOW_BASELINE),
    ("cpu", Lesson.GIL, "threads", 1.3, {"spread": NOISY}, Verdict.MATCHES, None),
    ("cpu", Lesson.GIL, "processes", 1.8, {}, Verdict.MATCHES, None),
    # Faster than its 2 workers can make it: the expectation is met by an impossible number.
    ("cpu", Lesson.GIL, "processes", 8.9, {}, Verdict.DIFFERS, Cause.SLOW_BASELINE),
    ("io", Lesson.CONCURRENCY, "threads", 3.0, {}, Verdict.DIFFERS, Cause.SLOW_BASELINE),
    ("cpu", Lesson.GIL, "processes", 0.6, {"task_factor": 2.5}, Verdict.DIFFERS, Cause.CORES_BUSY),
    ("cpu", Lesson.GIL, "processes", 0.8, {"spread": NOISY}, Verdict.NOT_SHOWN, None),
    # Tasks 3.5x slower account for the loss (its dispatch, 6 ms a 25 ms task, does not):
    # runs that vary say the machine was busy.
    (
        "cpu",
        Lesson.GIL,
        "ray",
        0.5,
        {"spread": (0.85, 0.9, 1.0, 1.1, 1.15), "task_factor": 3.5},
        Verdict.DIFFERS,
        Cause.NOISE,
    ),
    ("io", Lesson.CONCURRENCY, "asyncio", 1.9, {}, Verdict.MATCHES, None),
    ("io", Lesson.CONCURRENCY, "threads", 1.0, {"spread": NOISY}, Verdict.NOT_SHOWN, None),
    ("blas", Lesson.NATIVE, "threads", 1.7, {}, Verdict.MATCHES, None),
    ("blas", Lesson.NATIVE, "asyncio", 1.0, {}, Verdict.MATCHES, None),
    ("wordcount", Lesson.AMDAHL, "processes", 1.5, {}, Verdict.MATCHES, None),
    ("wordcount", Lesson.AMDAHL, "processes", 2.2, {}, Verdict.DIFFERS, Cause.SLOW_BASELINE),
]


@pytest.mark.parametrize(
    ("workload", "lesson", "backend", "speedup", "options", "verdict", "cause"), CASES
)
def test_a_lesson_checks_each_row_against_serial(
    workload: str,
    lesson: Lesson,
    backend: str,
    speedup: float,
    options: dict[str, object],
    verdict: Verdict,
    cause: Cause | None,
) -> None:
    row = rec(workload, backend, speedup, **options)  # type: ignore[arg-type]
    check = only_check([rec(workload, "serial"), row], lesson, backend)
    assert (check.verdict, check.cause) == (verdict, cause)
    assert check_sentence(check).startswith(
        {"matches": "✓", "differs": "✗", "not shown": "?"}[verdict.value]
    )
    if cause is not None:
        assert "likely cause" in check_sentence(check)


@pytest.mark.parametrize(("ratio", "verdict"), [(0.4, Verdict.MATCHES), (1.5, Verdict.DIFFERS)])
def test_moving_data_compares_processes_with_threads(ratio: float, verdict: Verdict) -> None:
    records = [
        rec("data", "serial"),
        rec("data", "threads", 1.6),
        rec("data", "processes", 1.6 * ratio),
    ]
    check = only_check(records, Lesson.MOVING_DATA, "processes")
    assert check.verdict is verdict
    # Faster than threads with nothing in its own row to say why: no cause is made up.
    assert check.cause is (Cause.UNKNOWN if verdict is Verdict.DIFFERS else None)


def test_tiny_tasks_look_at_the_smallest_grain_and_at_batching() -> None:
    tiny = 1e-5
    records = [
        rec("cpu", "serial"),
        rec("cpu", "processes", 1.8),
        rec("cpu", "serial", grain=tiny),
        rec("cpu", "processes", 0.2, grain=tiny),
        rec("cpu", "processes", 0.9, grain=tiny, chunk=8),
    ]
    found = next(
        i for i in lessons(summarize(Results({}, [], records))) if i.lesson is Lesson.TINY_TASKS
    )
    by_reference = {(c.expectation.chunked, c.row.record.grain_s): c for c in found.checks}
    unbatched, batched = by_reference[(False, tiny)], by_reference[(True, tiny)]
    assert unbatched.verdict is Verdict.MATCHES and unbatched.ratio == pytest.approx(0.2)
    # Batched against unbatched: 0.9x of serial against 0.2x is 4.5x faster.
    assert batched.verdict is Verdict.MATCHES and batched.ratio == pytest.approx(4.5)
    assert "one-task-per-dispatch" in check_sentence(batched)
    assert lesson_verdict(found).startswith("This run: 2 of 2 expectations match")


def test_sections_follow_the_teaching_order_whatever_was_measured_first() -> None:
    records = [
        rec("wordcount", "serial"),
        rec("blas", "serial"),
        rec("cpu", "serial"),
        rec("cpu", "processes", 1.8),
        rec("my_workload", "serial"),
    ]
    sections = ReportData(Results({}, [], records)).sections()
    assert [(s.workload, s.lesson.lesson if s.lesson else None) for s in sections] == [
        ("cpu", Lesson.GIL),
        ("blas", Lesson.NATIVE),
        ("cpu", Lesson.TINY_TASKS),
        ("wordcount", Lesson.AMDAHL),
        ("my_workload", None),
    ]
    # The tiny-tasks lesson reads cpu's rows: no tables of its own.
    assert sections[2].groups == [] and sections[0].groups


def test_a_lesson_without_the_rows_it_needs_says_so() -> None:
    item = next(iter(lessons(summarize(Results({}, [], [rec("io", "serial")])))))
    assert item.checks == () and "not checked" in lesson_verdict(item)


def test_a_check_divides_times_per_unit_when_serial_was_calibrated_apart() -> None:
    # Serial's row was first measured in a round calibrated to half the units of processes'
    # (jobs half as long): per unit of work, processes is still 1.8x.
    serial = rec("cpu", "serial")
    serial = replace(serial, units=50, wall_s=[t / 2 for t in serial.wall_s])
    processes = replace(rec("cpu", "processes", 1.8), units=100)
    check = only_check([serial, processes], Lesson.GIL, "processes")
    assert check.ratio == pytest.approx(1.8)
    assert check.verdict is Verdict.MATCHES


#: Runs that vary by about 12 % of their mean, the interval still clear of 1x at a loss.
UNSTEADY = (0.85, 0.9, 1.0, 1.1, 1.15)


def dispatched(
    workload: str,
    backend: str,
    tasks: int,
    grain: float,
    overhead: float,
    *,
    ratio: float = 1.0,
    spread: tuple[float, ...] = JITTER,
) -> list[Record]:
    """Serial and ``backend`` (2 workers) at ``tasks`` x ``grain``, its overhead per task known."""
    work = tasks * grain
    wall = ratio * work / min(2, tasks) + tasks * overhead
    shape = {"workload": workload, "tasks": tasks, "grain_s": grain}
    return [
        make_record("serial", work, work, 1, **shape, wall_s=[work * f for f in JITTER]),
        make_record(backend, wall, work * ratio, 2, **shape, wall_s=[wall * f for f in spread]),
    ]


TOO_FINE_CASES = [
    # lesson, workload, backend, shapes (tasks, grain, overhead, ratio, spread), verdict, cause,
    # words of the check's sentence
    (
        # Ray on cpu at 64 x 1 ms, its dispatch 2.5 ms a task, runs varying by 20 %: the
        # lesson's speedup needs coarser tasks than were measured; not the machine's fault.
        Lesson.GIL,
        "cpu",
        "ray",
        [(64, 1e-3, 2.5e-3, 1.8, NOISY)],
        Verdict.NOT_SHOWN,
        Cause.TOO_FINE,
        "at 64 x 1.0 ms: not shown: measured only up to 1.0 ms per task; its dispatch costs 2.5 "
        "ms per task: coarser tasks were not measured",
    ),
    (
        # Below the work, above the half of it two workers save: still too fine.
        Lesson.GIL,
        "cpu",
        "dask",
        [(16, 5e-3, 3.6e-3, 1.0, JITTER)],
        Verdict.NOT_SHOWN,
        Cause.TOO_FINE,
        "its dispatch costs 3.6 ms per task, more than the 2.5 ms 2 workers save on each task",
    ),
    (
        # The same with runs that vary: the noise may be in the overhead, and is named.
        Lesson.GIL,
        "cpu",
        "dask",
        [(16, 5e-3, 3.6e-3, 1.0, UNSTEADY)],
        Verdict.DIFFERS,
        Cause.NOISE,
        "likely cause: the runs varied",
    ),
    (
        Lesson.CONCURRENCY,
        "io",
        "processes",
        [(16, 1.5e-3, 1e-3, 1.0, JITTER)],
        Verdict.NOT_SHOWN,
        Cause.TOO_FINE,
        "measured only up to 1.5 ms per task; its dispatch costs 1.0 ms per task, more than",
    ),
    (
        # The coarsest grain measured is named, though a larger job was the one checked.
        Lesson.GIL,
        "cpu",
        "ray",
        [(64, 1e-3, 2.5e-3, 1.0, JITTER), (2, 2e-3, 2.5e-3, 1.0, JITTER)],
        Verdict.NOT_SHOWN,
        Cause.TOO_FINE,
        "at 64 x 1.0 ms: not shown: measured only up to 2.0 ms per task",
    ),
    (
        # Measured too at a grain that pays for dispatch (a smaller job): checked there.
        Lesson.GIL,
        "cpu",
        "ray",
        [(64, 1e-3, 2.5e-3, 1.0, JITTER), (2, 25e-3, 2.5e-3, 1.0, JITTER)],
        Verdict.MATCHES,
        None,
        "✓ ray (2 workers): expected faster than serial; measured 1.67x",
    ),
]


@pytest.mark.parametrize(
    ("lesson", "workload", "backend", "shapes", "verdict", "cause", "words"), TOO_FINE_CASES
)
def test_a_speedup_tasks_too_fine_for_their_dispatch_cannot_show_is_not_shown(
    lesson: Lesson,
    workload: str,
    backend: str,
    shapes: list[tuple[int, float, float, float, tuple[float, ...]]],
    verdict: Verdict,
    cause: Cause | None,
    words: str,
) -> None:
    records = [
        record
        for tasks, grain, overhead, ratio, spread in shapes
        for record in dispatched(
            workload, backend, tasks, grain, overhead, ratio=ratio, spread=spread
        )
    ]
    check = only_check(records, lesson, backend)
    assert (check.verdict, check.cause) == (verdict, cause), check_sentence(check)
    assert words in check_sentence(check)


def test_a_check_names_the_grain_serial_measured_not_the_one_asked() -> None:
    serial, processes = rec("cpu", "serial"), rec("cpu", "processes", 1.8)
    # Asked 10 ms; the serial run measured 25 ms a task (TASKS x GRAIN over TASKS).
    asked = {"grain_s": 0.01}
    check = only_check(
        [replace(serial, **asked), replace(processes, **asked)], Lesson.GIL, "processes"
    )
    assert "at 16 x 25.0 ms" in check_sentence(check)
