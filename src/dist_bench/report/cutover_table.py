"""The terminal summary of a cutover analysis: crossovers, cost fits, projections, warnings.

Builds rich renderables from a ``CutoverAnalysis`` (and the records it came from, for speedups);
the CLI prints them.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dist_bench.costmodel import AXIS_NAMES, CutoverAnalysis, Prediction
from dist_bench.report.content import (
    CROSSOVER_COLUMNS,
    FIT_TABLE_COLUMNS,
    PROJECTION_COLUMNS,
    PROJECTIONS_NOTE,
    PROJECTIONS_TITLE,
    ReportData,
    WorkloadCutover,
    projection_rows,
    workload_cutover,
)
from dist_bench.report.sentences import warning_sentence
from dist_bench.report.table import columns_table
from dist_bench.results import Results
from dist_bench.units import format_bytes, format_seconds


def cutover_summary(results: Results, analysis: CutoverAnalysis) -> RenderableType:
    """Per workload: its crossovers and findings, then its cost fits; then projections, warnings."""
    data = ReportData(results, analysis)
    parts: list[RenderableType] = []
    for workload in dict.fromkeys(fit.workload for fit in analysis.fits):
        cutover = workload_cutover(data, workload)
        assert cutover is not None  # the workload has fits
        parts.append(_crossover_table(workload, cutover))
        fits = columns_table(
            f"{workload}: fitted costs  T ≈ S + n·o + n·g/P_eff + n·b/B",
            FIT_TABLE_COLUMNS,
            cutover.fit_rows(),
        )
        fits.caption = (
            "speedup, efficiency and serial fraction (Karp–Flatt) at each backend's largest "
            "job; held-out error: median miss predicting each point from a fit without it"
        )
        fits.caption_justify = "left"
        parts.append(fits)
    projections = projection_rows(analysis)
    if projections:
        table = columns_table(PROJECTIONS_TITLE, PROJECTION_COLUMNS, projections)
        table.header_style = "bold yellow"
        table.caption = PROJECTIONS_NOTE
        table.caption_justify = "left"
        parts.append(table)
    for warning in analysis.warnings:
        parts.append(Text.assemble(("warning: ", "yellow"), warning_sentence(warning)))
    return Group(*parts)


def _crossover_table(workload: str, cutover: WorkloadCutover) -> Table:
    """The crossovers reached, with their sentences; the others are only counted."""
    rows = cutover.crossover_rows(reached_only=True)
    if not rows:
        rows = [["-", "-", "no crossover in the measured range", "-", "-", "-"]]
    table = columns_table(f"{workload}: where each step up starts to win", CROSSOVER_COLUMNS, rows)
    lines = [f"• {cutover.sentence(c)}" for c in cutover.reached]
    # A crossover the model claims but the measurements do not show is said, not just counted.
    unshown = [c for c in cutover.crossovers if c.unshown]
    lines += [f"• {cutover.sentence(c)}" for c in unshown]
    not_reached = len(cutover.crossovers) - len(cutover.reached) - len(unshown)
    if not_reached:
        lines.append(
            f"{not_reached} pair(s) and axes never crossed in the measured range "
            "(the full sentences are in the results' analysis; see 'dist-bench advise')"
        )
    table.caption = "\n".join(lines)
    table.caption_justify = "left"
    return table


def advice_table(workload: str, ranked: list[Prediction]) -> Table:
    """Backends ranked by predicted time for the user's job shape, with what to trust."""
    shape = ranked[0].shape
    title = (
        f"{workload}: {shape.tasks} tasks x {format_seconds(shape.grain_s)}"
        + (f", {format_bytes(shape.bytes_per_task)} per task" if shape.bytes_per_task else "")
        + " (predicted from the saved fit)"
    )
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in ("rank", "backend", "predicted time", "vs serial", "held-out error", "note"):
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
            f"{item.holdout_error:.0%}" if item.holdout_error is not None else "-",
            note,
        )
    return table
