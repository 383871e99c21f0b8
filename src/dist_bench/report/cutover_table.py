"""The terminal summary of a cutover analysis: the answers first, the warnings grouped by kind.

A person reads it in about two screens (at most ``SUMMARY_LINES`` lines of 120 columns for the
default cutover): per workload, where each step up starts to win as the measurements show it
(crossings only the model has are counted, not listed), one line per fitted backend
and a line of the backends' METG(50 %); projections when asked for; then one line per kind of
warning (how many, the flag to change, where). Every crossover and warning in words, and every
column, stays in the HTML, Markdown and JSON. Builds rich renderables; the CLI prints them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dist_bench.costmodel import (
    AXIS_NAMES,
    LADDER,
    AnalysisWarning,
    Crossover,
    CrossoverKind,
    CutoverAnalysis,
    LadderStep,
    Metg,
    Prediction,
)
from dist_bench.report import cutover_content
from dist_bench.report.axis_text import format_location
from dist_bench.report.content import ReportData
from dist_bench.report.headline_sentences import METG_GRID_TITLE, ladder_cell, metg_cell
from dist_bench.report.lesson_sentences import LESSONS_HEADING, lesson_line
from dist_bench.report.sentences import flag_advice, reason_label
from dist_bench.report.table import columns_table
from dist_bench.results import Results
from dist_bench.units import format_bytes, format_seconds

#: The default cutover's summary fits in this many lines of a 120-column terminal.
SUMMARY_LINES = 120
#: Crossover rows per workload: only those the measurements show (reached, bracketed, about
#: equal); the rest, model-only crossings among them, are counted. Five workloads of six backends
#: leave room for about this many.
CROSSOVER_ROWS = 5


def cutover_summary(results: Results, analysis: CutoverAnalysis) -> RenderableType:
    """Each lesson's verdict, per workload its crossovers and fits, projections, warnings.

    Workloads in teaching order; the warnings one line per kind.
    """
    data = ReportData(results, analysis)
    parts: list[RenderableType] = []
    if data.lessons:
        parts.append(Text(LESSONS_HEADING, style="bold"))
        parts.extend(Text(lesson_line(item)) for item in data.lessons)
    if analysis.ladder:
        parts.append(_ladder_table(analysis.ladder))
    if analysis.metgs:
        parts.append(_metg_table(analysis.metgs))
    fitted = set(fit.workload for fit in analysis.fits)
    for workload in (w for w in data.workloads() if w in fitted):
        cutover = cutover_content.workload_cutover(data, workload)
        assert cutover is not None  # the workload has fits
        parts.append(_crossover_table(workload, cutover))
        parts.append(
            _compact(
                columns_table(
                    f"{workload}: fitted costs",
                    cutover_content.FIT_TABLE_COLUMNS,
                    cutover.fit_rows(),
                )
            )
        )
    projections = cutover_content.projection_rows(analysis)
    if projections:
        table = columns_table(
            cutover_content.PROJECTIONS_TITLE, cutover_content.PROJECTION_COLUMNS, projections
        )
        table.header_style = "bold yellow"
        table.caption = cutover_content.PROJECTIONS_NOTE
        table.caption_justify = "left"
        parts.append(_compact(table))
    parts.extend(warning_lines(analysis.warnings))
    return Group(*parts)


def _ladder_table(steps: Sequence[LadderStep]) -> RenderableType:
    """One row per workload, one column per step up: where it starts to pay, in few words."""
    pairs = [pair for pair in LADDER if any((s.lower, s.upper) == pair for s in steps)]
    table = Table(
        title="The ladder (along the grain)",
        title_justify="left",
        header_style="bold",
    )
    table.add_column("workload")
    for lower, upper in pairs:
        table.add_column(f"{lower} → {upper}", no_wrap=True)
    for workload in dict.fromkeys(s.workload for s in steps):
        cells = []
        for lower, upper in pairs:
            step = next(
                (s for s in steps if (s.workload, s.lower, s.upper) == (workload, lower, upper)),
                None,
            )
            cells.append("-" if step is None else ladder_cell(step))
        table.add_row(workload, *cells)
    return _compact(table)


def _metg_table(metgs: Sequence[Metg]) -> RenderableType:
    """One row per workload, one column per backend: its METG(50 %), or where it lies."""
    backends = list(dict.fromkeys(item.backend for item in metgs))
    # At least as wide as its title, which would otherwise wrap over a narrow grid.
    table = Table(
        title=METG_GRID_TITLE,
        title_justify="left",
        header_style="bold",
        min_width=len(METG_GRID_TITLE),
    )
    table.add_column("workload")
    for backend in backends:
        table.add_column(backend, no_wrap=True)
    for workload in dict.fromkeys(item.workload for item in metgs):
        found = {item.backend: item for item in metgs if item.workload == workload}
        table.add_row(workload, *(metg_cell(found[b]) if b in found else "-" for b in backends))
    return _compact(table)


def _compact(table: Table) -> Table:
    """A table with a rule under its header and no border: a line per row, nothing more."""
    table.box = box.SIMPLE_HEAD
    table.show_edge = False
    table.pad_edge = False
    return table


def _crossover_table(workload: str, cutover: cutover_content.WorkloadCutover) -> RenderableType:
    """The crossovers the measurements show; the rest (model only, never crossing) counted."""
    shown = cutover.measured[:CROSSOVER_ROWS]
    if not shown:
        return Group(
            _line(
                f"{workload}: no step up wins inside the measured range "
                "(no crossover the measurements show)"
            ),
            _line(_folded_line(cutover, shown)),
        )
    table = Table(
        title=f"{workload}: where each step up starts to win",
        title_justify="left",
        header_style="bold",
    )
    for title in ("step up", "along", "from", "why"):
        table.add_column(title, no_wrap=title != "from")
    for crossover in shown:
        table.add_row(
            f"{crossover.winner_below} → {crossover.winner_above}",
            AXIS_NAMES[crossover.axis],
            format_location(crossover),
            reason_label(crossover),
        )
    folded = len(cutover.crossovers) > len(shown)
    return Group(_compact(table), *([_line(_folded_line(cutover, shown))] if folded else []))


def _folded_line(cutover: cutover_content.WorkloadCutover, shown: Sequence[Crossover]) -> str:
    """The crossovers not listed, counted by what they are: the reports say each in words."""
    kinds = Counter(c.kind for c in cutover.crossovers if c not in shown)
    model_only = kinds.pop(CrossoverKind.UNSHOWN, 0)
    never = kinds.pop(CrossoverKind.NOT_REACHED, 0) + kinds.pop(CrossoverKind.LEVEL, 0)
    unsettled = kinds.pop(CrossoverKind.UNSETTLED, 0)
    counted = (
        (model_only, "crossing only in the model"),
        (never, "never crossing"),
        (unsettled, "unsettled"),
        # What is left: crossings the measurements show, beyond CROSSOVER_ROWS.
        (sum(kinds.values()), "more shown by the measurements"),
    )
    parts = ", ".join(f"{count} {what}" for count, what in counted if count)
    more = " more" if shown else ""
    total = sum(count for count, _ in counted)
    return f"{total}{more} pair(s) and axes: {parts}; the reports say each"


def _line(text: str) -> Text:
    """One line, cut with an ellipsis rather than wrapped."""
    return Text(text, no_wrap=True, overflow="ellipsis")


def warning_lines(warnings: Sequence[AnalysisWarning]) -> list[Text]:
    """One line per kind of warning: how many, the flag to change, and where (cut to fit)."""
    by_kind: dict[str, list[AnalysisWarning]] = {}
    for warning in warnings:
        by_kind.setdefault(warning.kind.name, []).append(warning)
    if not by_kind:
        return []
    lines = [Text(f"warnings ({len(warnings)}; each in words in the reports):", style="yellow")]
    for items in by_kind.values():
        kind = items[0].kind
        line = Text.assemble(
            ("  " + kind.value, "yellow"),
            f" ({len(items)}): {flag_advice(kind)}; {warning_places(items)}",
        )
        line.no_wrap = True
        line.overflow = "ellipsis"
        lines.append(line)
    return lines


def warning_places(warnings: Sequence[AnalysisWarning]) -> str:
    """Where warnings of one kind were, per backend: ``threads (cpu, io), processes (cpu)``."""
    by_backend: dict[str, list[str]] = {}
    for warning in warnings:
        if warning.backend:
            by_backend.setdefault(warning.backend, []).append(warning.workload)
        else:
            by_backend.setdefault(warning.where or "the whole run", [])
    return ", ".join(
        f"{place} ({', '.join(dict.fromkeys(workloads))})" if workloads else place
        for place, workloads in by_backend.items()
    )


def advice_table(workload: str, ranked: list[Prediction]) -> Table:
    """Backends ranked by predicted time for the user's job shape, with what to trust."""
    shape = ranked[0].shape
    title = (
        f"{workload}: {shape.tasks} tasks x {format_seconds(shape.grain_s)}"
        + (f", {format_bytes(shape.bytes_per_task)} per task" if shape.bytes_per_task else "")
        + " (predicted from the saved fit, tasks grouped as --chunk auto would)"
    )
    table = Table(title=title, title_justify="left", header_style="bold")
    columns = ("rank", "backend", "predicted time", "vs serial", "tasks/dispatch", "held-out error")
    for column in (*columns, "note"):
        table.add_column(column, justify="left" if column in ("backend", "note") else "right")
    for rank, item in enumerate(ranked, start=1):
        note = (
            "extrapolated in " + ", ".join(AXIS_NAMES[a] for a in item.extrapolated)
            if item.extrapolated
            else ""
        )
        table.add_row(
            str(rank),
            item.backend,
            format_seconds(item.predicted_s),
            f"{item.speedup:.2f}x" if item.speedup is not None else "-",
            str(item.chunk),
            f"{item.holdout_error:.0%}" if item.holdout_error is not None else "-",
            note,
        )
    return table
