"""The terminal summary of a cutover analysis: crossovers, cost fits, projections, warnings.

Builds rich renderables from a ``CutoverAnalysis`` (and the records it came from, for speedups);
the CLI prints them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dist_bench.analysis import BASELINE, Summary, format_bytes, format_seconds, summarize
from dist_bench.costmodel import (
    AXIS_NAMES,
    CostFit,
    Crossover,
    CutoverAnalysis,
    Prediction,
    format_axis,
    format_interval,
)
from dist_bench.results import Results


def cutover_summary(results: Results, analysis: CutoverAnalysis) -> RenderableType:
    """Per workload: its crossovers and findings, then its cost fits; then projections, warnings."""
    parts: list[RenderableType] = []
    workloads = list(dict.fromkeys(fit.workload for fit in analysis.fits))
    summaries = summarize(results)
    for workload in workloads:
        crossovers = [c for c in analysis.crossovers if c.workload == workload]
        parts.append(_crossover_table(workload, crossovers))
        fits = [fit for fit in analysis.fits if fit.workload == workload]
        parts.append(_fit_table(workload, fits, summaries))
    if analysis.projections:
        parts.append(_projection_table(analysis))
    for warning in analysis.warnings:
        parts.append(Text.assemble(("warning: ", "yellow"), warning))
    return Group(*parts)


def _crossover_table(workload: str, crossovers: list[Crossover]) -> Table:
    table = Table(
        title=f"{workload}: where each step up starts to win",
        title_justify="left",
        header_style="bold",
    )
    table.add_column("pair")
    table.add_column("along")
    table.add_column("crossover (95 % interval)", no_wrap=True)
    table.add_column("faster below → above")
    table.add_column("why")
    reached = [c for c in crossovers if c.reached]
    for item in reached:
        value = format_axis(item.axis, item.value or 0.0)
        if item.interval is not None:
            value += f" ({format_interval(item)})"
        table.add_row(
            " / ".join(item.backends),
            AXIS_NAMES[item.axis],
            value,
            f"{item.winner_below} → {item.winner_above}",
            item.reason,
        )
    not_reached = len(crossovers) - len(reached)
    lines = [f"• {c.sentence}" for c in reached]
    if not_reached:
        lines.append(
            f"{not_reached} pair(s) and axes never crossed in the measured range "
            "(the full sentences are in the results' analysis; see 'dist-bench advise')"
        )
    if not reached:
        table.add_row("-", "-", "no crossover in the measured range", "-", "-")
    table.caption = "\n".join(lines)
    table.caption_justify = "left"
    return table


def _fit_table(workload: str, fits: list[CostFit], summaries: list[Summary]) -> Table:
    table = Table(
        title=f"{workload}: fitted costs  T ≈ S + n·o + n·g/P_eff + n·b/B",
        title_justify="left",
        header_style="bold",
    )
    table.add_column("backend", no_wrap=True)
    for column in ("S per job", "o per task", "P_eff", "B", "held-out error"):
        table.add_column(column, justify="right")
    for column in ("largest job", "speedup (95 % CI)", "effic.", "serial fraction"):
        table.add_column(column, justify="right", no_wrap=True)
    best = _largest_job(workload, summaries)
    for fit in sorted(fits, key=lambda f: f.backend != BASELINE):
        summary = best.get(fit.backend)
        table.add_row(
            fit.backend,
            _or_dash(fit.startup_s, format_seconds, "startup_s" in fit.unidentified),
            _or_dash(
                fit.per_task_overhead_s, format_seconds, "per_task_overhead_s" in fit.unidentified
            ),
            f"{fit.effective_parallelism:.2f}" if math.isfinite(fit.effective_parallelism) else "∞",
            f"{format_bytes(round(fit.bandwidth_bytes_per_s))}/s"
            if fit.bandwidth_bytes_per_s
            else "-",
            f"{fit.holdout_error:.0%}" if fit.holdout_error is not None else "-",
            *_speedup_cells(summary),
        )
    table.caption = (
        "speedup, efficiency and serial fraction (Karp–Flatt) at each backend's largest job; "
        "held-out error: median miss predicting each point from a fit without it"
    )
    table.caption_justify = "left"
    return table


def _largest_job(workload: str, summaries: list[Summary]) -> dict[str, Summary]:
    """Per backend, its summary at the largest job (most serial work) it ran with a baseline."""
    largest: dict[str, Summary] = {}
    for summary in summaries:
        record = summary.record
        if record.workload != workload or summary.speedup is None:
            continue
        best = largest.get(record.backend)
        if best is None or record.tasks * record.grain_s > best.record.tasks * best.record.grain_s:
            largest[record.backend] = summary
    return largest


def _speedup_cells(summary: Summary | None) -> list[str]:
    if summary is None or summary.speedup is None:
        return ["-", "-", "-", "-"]
    record = summary.record
    job = f"{record.tasks} x {format_seconds(record.grain_s)}"
    if record.bytes_per_task:
        job += f", {format_bytes(record.bytes_per_task)}"
    interval = summary.speedup_interval
    speedup = f"{summary.speedup:.2f}x"
    if interval is not None:
        speedup += f" ({interval.low:.2f}-{interval.high:.2f})"
    fraction = summary.serial_fraction
    return [
        job,
        speedup,
        f"{summary.efficiency:.0%}" if summary.efficiency is not None else "-",
        f"{fraction:.2f}" if fraction is not None else "-",
    ]


def _or_dash(value: float, fmt: Callable[[float], str], unidentified: bool) -> str:
    return "not varied" if unidentified else fmt(value)


def _projection_table(analysis: CutoverAnalysis) -> Table:
    table = Table(
        title="PROJECTION, not a measurement: predicted speedup on more nodes",
        title_justify="left",
        header_style="bold yellow",
    )
    for column in ("workload", "backend", "nodes", "workers", "job", "projected speedup"):
        table.add_column(column, justify="right" if column != "workload" else "left")
    table.add_column("Amdahl bound", justify="right")
    for item in analysis.projections:
        shape = item.shape
        job = f"{shape.tasks} x {format_seconds(shape.grain_s)}"
        if shape.bytes_per_task:
            job += f", {format_bytes(shape.bytes_per_task)}"
        table.add_row(
            item.workload,
            item.backend,
            f"{item.nodes} (measured {item.measured_nodes})",
            str(item.workers),
            job,
            f"{item.predicted_speedup:.2f}x",
            f"{item.amdahl_bound:.2f}x" if item.amdahl_bound is not None else "-",
        )
    table.caption = (
        "From the fitted costs: the tasks' work spreads over more nodes at the measured "
        "efficiency; start-up, dispatch and moving bytes stay as measured (one driver). "
        "Amdahl bound: the work spread perfectly, only that fixed part serial. Not measured."
    )
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
