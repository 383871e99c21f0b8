"""A waiting coroutine's and thread's memory, measured in fresh interpreters: in the io lesson of
the Markdown and HTML reports, and on the io lesson's line of the terminal summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from dist_bench.analysis import summarize
from dist_bench.costmodel import analyse
from dist_bench.lessons import Lesson, lessons
from dist_bench.memory import SlotMemory
from dist_bench.report import EXPORTERS
from dist_bench.report.content import ReportData
from dist_bench.report.lesson_sentences import lesson_line
from dist_bench.results import Record, Results, load_results
from tests.test_report_cutover_table import SUMMARY_LINES, WIDTH, summary_lines

WAITS, WAIT_S = 100, 0.002
MEMORY = SlotMemory(coroutine_bytes=1147, thread_bytes=16_589, slots=100, repeats=5)
SAID = (
    "a coroutine ~1.1 KiB, a thread ~16.2 KiB (measured in a fresh interpreter, 100 slots, "
    "median of 5)"
)


def waits(backend: str, job_s: float, workers: int, workload: str = "io") -> Record:
    """A hundred waits of 2 ms on ``backend``, its jobs ``job_s`` long."""
    return Record(
        workload,
        backend,
        WAITS,
        WAIT_S,
        0,
        1,
        workers,
        wall_s=[job_s * f for f in (0.99, 1.0, 1.01)],
        task_s=[WAITS * WAIT_S] * 3,
        task_cpu_s=[WAITS * 1e-4] * 3,
        verified=True,
    )


MANY_WAITS = [waits("serial", 0.25, 1), waits("asyncio", 0.008, WAITS), waits("threads", 0.009, 8)]


@pytest.mark.parametrize("name", ["md", "html"])
def test_the_io_lesson_gives_a_slots_memory_and_how_it_was_measured(name: str) -> None:
    results = Results({"slot_memory": MEMORY.to_json()}, [], MANY_WAITS)
    text = EXPORTERS[name].load()(ReportData(results)).decode()
    lesson = text[text.index("concurrency: waits overlap") :]
    assert f"Memory a waiting slot holds: {SAID}." in lesson
    assert "a fresh process has no freed memory to reuse" in lesson


def test_without_memory_figures_no_memory_is_said() -> None:
    results = Results({}, [], MANY_WAITS)
    text = EXPORTERS["md"].load()(ReportData(results)).decode()
    assert "Memory a waiting slot" not in text
    (io,) = lessons(summarize(results))
    assert "memory" not in lesson_line(io)


def test_only_the_concurrency_lesson_carries_the_memory() -> None:
    cpu = [waits("serial", 0.25, 1, "cpu"), waits("threads", 0.25, 8, "cpu")]
    summaries = summarize(Results({}, [], [*MANY_WAITS, *cpu]))
    taught = {item.lesson: item.memory for item in lessons(summaries, MEMORY)}
    assert taught[Lesson.CONCURRENCY] == MEMORY
    assert taught[Lesson.GIL] is None


def test_the_terminal_summary_says_it_on_the_io_lessons_line_within_two_screens() -> None:
    results = load_results(Path(__file__).parent / "data" / "default_cutover.json")
    results.records.extend(MANY_WAITS)
    results.metadata["slot_memory"] = MEMORY.to_json()
    lines = summary_lines(results, analyse(results))
    start = next(i for i, line in enumerate(lines) if "memory a slot" in line)
    assert lines[start].startswith("io — concurrency")
    # The line wraps once at 120 columns: joined, it ends with the figures and their method.
    said = " ".join(line.strip() for line in lines[start : start + 2])
    assert said.endswith(f"memory a slot: {SAID}")
    assert len(lines) <= SUMMARY_LINES
    assert max(len(line) for line in lines) <= WIDTH
