"""The memory of a hundred threads and a hundred coroutines, beside their times: in the io
lesson of the Markdown and HTML reports, and on the io lesson's line of the terminal summary."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dist_bench.analysis import summarize
from dist_bench.costmodel import analyse
from dist_bench.lessons import lessons
from dist_bench.report import EXPORTERS
from dist_bench.report.content import ReportData
from dist_bench.report.lesson_sentences import lesson_line
from dist_bench.results import Record, Results, load_results
from tests.test_report_cutover_table import SUMMARY_LINES, WIDTH, summary_lines

KIB = 1024
WAITS, WAIT_S = 100, 0.002


def waits(backend: str, job_s: float, workers: int, peak: int | None) -> Record:
    """A hundred waits of 2 ms on ``backend``, its jobs ``job_s`` long, its peak growth kept."""
    return Record(
        "io",
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
        peak_rss_growth_bytes=peak,
    )


MANY_WAITS = [
    waits("serial", 0.25, 1, 40 * KIB),
    waits("asyncio", 0.008, WAITS, 160 * KIB),
    waits("threads", 0.009, WAITS, 2040 * KIB),
]


@pytest.mark.parametrize("name", ["md", "html"])
def test_the_io_lesson_gives_each_sides_memory_beside_its_time(name: str) -> None:
    text = EXPORTERS[name].load()(ReportData(Results({}, [], MANY_WAITS))).decode()
    lesson = text[text.index("concurrency: waits overlap") :]
    assert "Memory of the slots" in lesson
    # Beyond serial's 40 KiB, per slot: 1.2 KiB a coroutine, 20 KiB a thread; fewest first.
    coroutines = lesson.index("100 coroutines: 8.0 ms a job (31.2x), 1.2 KiB a slot")
    threads = lesson.index("100 threads: 9.0 ms a job (27.8x), 20.0 KiB a slot")
    assert coroutines < threads


def test_without_memory_figures_no_memory_is_said() -> None:
    results = Results({}, [], [replace(r, peak_rss_growth_bytes=None) for r in MANY_WAITS])
    text = EXPORTERS["md"].load()(ReportData(results)).decode()
    assert "Memory of the slots" not in text
    (io,) = lessons(summarize(results))
    assert "memory" not in lesson_line(io)


def test_the_terminal_summary_says_it_on_the_io_lessons_line_within_two_screens() -> None:
    results = load_results(Path(__file__).parent / "data" / "default_cutover.json")
    results.records.extend(MANY_WAITS)
    lines = summary_lines(results, analyse(results))
    said = [line for line in lines if "memory a slot" in line]
    assert len(said) == 1 and said[0].startswith("io — concurrency")
    assert said[0].endswith("memory a slot: coroutine 1.2 KiB, thread 20.0 KiB")
    assert len(lines) <= SUMMARY_LINES
    assert max(len(line) for line in lines) <= WIDTH
