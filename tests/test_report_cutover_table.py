"""The terminal summary of a cutover: the answers first, one line per kind of warning, two screens.

Rendered from saved real cutovers (tests/data: the golden one on three backends, and a default
``dist-bench cutover`` on all six) at the 120 columns the summary is laid out for, and counted.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

from dist_bench.costmodel import CrossoverKind, CutoverAnalysis, analyse
from dist_bench.report.cutover_table import SUMMARY_LINES, cutover_summary
from dist_bench.report.sentences import flag_advice
from dist_bench.results import Results, load_results
from dist_bench.units import format_seconds

DATA = Path(__file__).parent / "data"
WIDTH = 120
#: The warnings' heading and one line per kind, however many warnings.
WARNING_LINES = 8


@pytest.fixture(scope="module")
def golden() -> tuple[Results, CutoverAnalysis]:
    results = load_results(DATA / "golden_cutover.json")
    return results, analyse(results)


def summary_lines(results: Results, analysis: CutoverAnalysis) -> list[str]:
    """The summary as a 120-column terminal shows it, line by line."""
    console = Console(width=WIDTH, record=True, file=io.StringIO(), color_system=None)
    console.print(cutover_summary(results, analysis))
    return console.export_text().splitlines()


def warning_part(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith("warnings ("))
    return lines[start:]


@pytest.mark.parametrize(
    "name", ["golden_cutover.json", "default_cutover.json", "lessons_cutover.json"]
)
def test_the_summary_fits_two_screens_of_120_columns(name: str) -> None:
    # default_cutover.json: the default `dist-bench cutover` (6 backends, 120 s) under load,
    # whose summary before issue 12 took 371 lines, 91 of them warnings. lessons_cutover.json:
    # one with the lesson shapes (2026-12-01), whose summary took 126 lines while it listed the
    # crossings only the model has, and whose `data` fits wrapped to two lines a row.
    results = load_results(DATA / name)
    analysis = analyse(results)
    lines = summary_lines(results, analysis)
    assert len(lines) <= SUMMARY_LINES
    assert max(len(line) for line in lines) <= WIDTH
    assert len(warning_part(lines)) <= WARNING_LINES


def test_warnings_are_one_line_per_kind_with_count_and_flag(
    golden: tuple[Results, CutoverAnalysis],
) -> None:
    results, analysis = golden
    counts = Counter(warning.kind for warning in analysis.warnings)
    assert len(analysis.warnings) > len(counts)  # several of a kind: grouping is tested
    heading, *kinds = warning_part(summary_lines(results, analysis))
    assert heading.startswith(f"warnings ({len(analysis.warnings)};")
    assert len(kinds) == len(counts)
    for line, (kind, count) in zip(kinds, counts.items(), strict=True):
        assert line.strip().startswith(f"{kind.value} ({count}): {flag_advice(kind)}")
    outliers = next(line for line in kinds if "outlier runs" in line)
    assert "serial (blas, cpu, data, wordcount)" in outliers


def test_only_the_crossovers_the_measurements_show_are_listed_the_rest_counted(
    golden: tuple[Results, CutoverAnalysis],
) -> None:
    results, analysis = golden
    lines = summary_lines(results, analysis)
    io_rows = lines[lines.index(next(x for x in lines if x.startswith("io: where"))) :]
    assert " ".join(io_rows[3].split()) == (
        "serial → processes tasks between 4 tasks and 16 tasks (measured; model outside) "
        "dispatch overhead"
    )
    # The crossing only the model has (2.2 ms) is counted, not listed.
    io_crossovers = [c for c in analysis.crossovers if c.workload == "io"]
    model_only = sum(c.kind is CrossoverKind.UNSHOWN for c in io_crossovers)
    assert model_only == 1
    assert io_rows[4] == (
        f"{len(io_crossovers) - 1} more pair(s) and axes: 1 crossing only in the model, "
        f"{len(io_crossovers) - 2} never crossing; the reports say each"
    )
    assert not any("model only" in line for line in lines)
    # The ladder comes after the lessons: a row per workload, a column per step up measured.
    ladder = lines.index(next(x for x in lines if x.startswith("The ladder (along the grain)")))
    assert lines[ladder + 1].split() == [
        "workload", "serial", "→", "threads", "serial", "→", "processes",
    ]  # fmt: skip
    # blas: serial's median was the lower at some grains, threads' at others (unsettled).
    assert lines[ladder + 3].split()[:2] == ["blas", "unclear"]
    assert lines.index(next(x for x in lines if x.startswith("lessons:"))) < ladder
    # A workload where the measurements show no crossing says so, counts the rest, then fits.
    blas = lines.index(next(x for x in lines if x.startswith("blas: no step up wins")))
    assert lines[blas + 1] == (
        "6 pair(s) and axes: 4 never crossing, 2 unsettled; the reports say each"
    )
    assert lines[blas + 2].rstrip() == "blas: fitted costs"


def test_a_default_cutovers_model_only_crossings_are_counted_not_listed() -> None:
    # Before: up to five rows a workload of "model only: X, not shown by the measurements".
    results = load_results(DATA / "lessons_cutover.json")
    analysis = analyse(results)
    lines = summary_lines(results, analysis)
    by_kind = Counter((c.workload, c.kind) for c in analysis.crossovers)
    assert sum(n for (_, kind), n in by_kind.items() if kind is CrossoverKind.UNSHOWN) >= 10
    counted: dict[str, str] = {}
    workload = ""
    for line in lines:
        workload = next(
            (w for w in by_kind_workloads(by_kind) if line.startswith(f"{w}: ")), workload
        )
        if " pair(s) and axes: " in line:
            counted[workload] = line
    for workload in by_kind_workloads(by_kind):
        unshown = by_kind[(workload, CrossoverKind.UNSHOWN)]
        assert f": {unshown} crossing only in the model, " in counted[workload]
    # The rows listed (``below → above`` first) are those the measurements show, none model only.
    listed = [line for line in lines if line.split()[1:2] == ["→"]]
    shown = (CrossoverKind.REACHED, CrossoverKind.BRACKETED, CrossoverKind.ABOUT_EQUAL)
    assert len(listed) == sum(n for (_, kind), n in by_kind.items() if kind in shown) >= 1
    assert not any("model only" in line for line in lines)


def by_kind_workloads(by_kind: Counter[tuple[str, CrossoverKind]]) -> list[str]:
    """The workloads with crossovers, in the summary's order."""
    return list(dict.fromkeys(workload for workload, _ in by_kind))


def test_the_fitted_costs_keep_a_line_a_backend_at_120_columns() -> None:
    results = load_results(DATA / "lessons_cutover.json")
    lines = [line.rstrip() for line in summary_lines(results, analyse(results))]
    data = lines.index("data: fitted costs")
    header = [line.split() for line in lines[data + 1 : data + 3]]
    assert header == [
        ["S", "per", "o", "per", "held-out"],
        ["backend", "job", "dispatch", "P_eff", "B", "error", "largest", "job", "speedup", "(95",
         "%", "CI)"],
    ]  # fmt: skip
    rows = lines[data + 4 : data + 10]
    assert [row.split()[0] for row in rows] == [
        "serial", "threads", "asyncio", "processes", "dask", "ray",
    ]  # fmt: skip
    assert all("512.0 KiB" in row for row in rows)


def test_the_summary_opens_with_each_lesson_in_teaching_order(
    golden: tuple[Results, CutoverAnalysis],
) -> None:
    lines = summary_lines(*golden)
    assert lines[0].startswith("lessons: does this run show them?")
    taught = [line.split(" — ")[0] for line in lines[1:7]]
    assert taught == ["cpu", "io", "blas", "cpu", "data", "wordcount"]
    # The workloads' tables follow in the same order.
    order = [line.split(":")[0] for line in lines if line.rstrip().endswith("fitted costs")]
    assert order == ["cpu", "io", "blas", "data", "wordcount"]


def test_the_metg_grid_reads_each_kind_and_sits_under_the_ladder(
    golden: tuple[Results, CutoverAnalysis],
) -> None:
    from dist_bench.costmodel import MetgKind
    from dist_bench.report.headline_sentences import METG_GRID_TITLE, metg_cell

    results, analysis = golden
    assert analysis.metgs
    for item in analysis.metgs:
        cell = metg_cell(item)
        grains = [point.grain_s for point in item.points]
        expected = {
            MetgKind.REACHED: format_seconds(item.grain_s or 0.0),
            MetgKind.BELOW_RANGE: f"< {format_seconds(min(grains))}",
            MetgKind.NOT_REACHED: f"> {format_seconds(max(grains))}",
        }[item.kind]
        assert cell == expected
    lines = [line.rstrip() for line in summary_lines(results, analysis)]
    title = lines.index(METG_GRID_TITLE)
    assert lines[title - 1].split()[0] in {item.workload for item in analysis.metgs}
    assert lines[title + 1].split() == [
        "workload",
        *dict.fromkeys(m.backend for m in analysis.metgs),
    ]
