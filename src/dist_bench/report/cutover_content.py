"""What every report says about a cutover analysis: crossover, fit, projection and METG tables.

Like ``columns``, each table's columns (title, meaning, cell text) live here once; the
terminal summary, Markdown and HTML lay them out. ``WorkloadCutover`` is one workload's part.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dist_bench.analysis import Summary
from dist_bench.backends.base import BASELINE
from dist_bench.report.axis_text import format_axis, format_location, unsettled_text
from dist_bench.report.columns import DASH, MEASUREMENT_COLUMNS, Column
from dist_bench.report.content import ReportData
from dist_bench.report.headline_sentences import efficiency_text, ladder_sentence, metg_text
from dist_bench.report.sentences import crossover_sentence, reason_label
from dist_bench.units import format_bytes, format_seconds

if TYPE_CHECKING:
    from dist_bench.costmodel import (
        Axis,
        CostFit,
        Crossover,
        CutoverAnalysis,
        LadderStep,
        Metg,
        Projection,
    )

FITS_TITLE = "Fitted costs: T ≈ S + d·o + n·g / P_eff + n·b / B (d: dispatches)"
PROJECTIONS_TITLE = "PROJECTION, not a measurement: predicted speedup on more nodes"
PROJECTIONS_NOTE = (
    "From the fitted costs: the tasks' work spreads over more nodes at the measured efficiency; "
    "start-up, dispatch and moving bytes stay as measured (one driver). Amdahl bound: the work "
    "spread perfectly, only that fixed part serial. Not measured."
)


def _axis_name(axis: Axis) -> str:
    from dist_bench.costmodel import AXIS_NAMES

    return AXIS_NAMES[axis]


def _crossover_value(item: Crossover) -> str:
    low, high = (format_axis(item.axis, end) for end in item.searched)
    if item.unshown and item.model_value is not None:
        model = format_axis(item.axis, item.model_value)
        return f"not shown by the measurements between {low} and {high} (model: {model})"
    if item.equal_span is not None:
        return format_location(item)
    if item.unsettled:
        return unsettled_text(item)
    if item.value is None:
        low, high = (format_axis(item.axis, end) for end in item.shown_range)
        return f"not reached between {low} and {high}"
    return format_location(item)


def _evidence(item: Crossover) -> str:
    """Where each side's winner was measured clearly faster, or why the crossover is unshown."""
    shown = [
        f"{e.faster} at {format_axis(item.axis, e.value)}"
        for e in (item.evidence_below, item.evidence_above)
        if e is not None
    ]
    return "; ".join(shown) if shown else "-"


#: One row per crossover found (reached or not) of a workload.
CROSSOVER_COLUMNS: tuple[Column, ...] = (
    # The terminal summary names the pair in "faster below → above" and leaves the evidence to
    # the files, to stay within 120 columns without wrapping.
    Column(
        "pair",
        "the two backends compared",
        lambda c: " / ".join(c.backends),
        numeric=False,
        in_terminal=False,
    ),
    Column(
        "along",
        "the job size that varies (the other two held where the sweep measured them)",
        lambda c: _axis_name(c.axis),
        numeric=False,
    ),
    Column(
        "crossover (95 % interval)",
        "where the two fitted times meet, with a bootstrap interval (rounds and records "
        "resampled, each backend given a session speed drawn from its measured drift, costs "
        "refitted): where a fresh run's crossing would fall, kept between the measured "
        "evidence; 'not reached' when "
        "they do not meet inside the measured range, 'about equal' where they cross but differ "
        "by no more than the run-to-run drift, 'not shown' when the measurements do not show it",
        _crossover_value,
    ),
    Column(
        "measured evidence",
        "the measured shapes nearest the crossover where each side's winner was decisively "
        "faster (the two medians' intervals apart, by more than the run-to-run drift)",
        _evidence,
        numeric=False,
        in_terminal=False,
    ),
    Column(
        "faster below → above",
        "which backend wins at the small end, and which from the crossover on",
        lambda c: (
            f"{c.winner_below} → {c.winner_above}"
            if c.reached
            else f"{c.winner_below} ≈ {c.winner_above}"
            if c.equal_span is not None
            else f"{c.winner_below} → {c.winner_above} (model only)"
            if c.unshown
            else "neither throughout"
            if c.unsettled
            else f"{c.winner_below} throughout"
        ),
        numeric=False,
    ),
    Column("why", "the cost that decides it", reason_label, numeric=False),
)


def _or_not_varied(fit: CostFit, name: str, text: str) -> str:
    return "not varied" if name in fit.unidentified else text


#: A fitted P_eff this far above the workers is the model stretched, not noise (the fit's own
#: spread on 3 repeats reaches a few per cent).
PARALLELISM_SLACK = 1.05


def _parallelism_text(fit: CostFit) -> str:
    """P_eff, or why the fit cannot identify it."""
    value = fit.effective_parallelism
    if not math.isfinite(value):
        return "n/i (no work)"
    if value > fit.workers * PARALLELISM_SLACK:
        return f"n/i ({value:.1f}>{fit.workers})"
    return f"{value:.2f}"


def _bandwidth_text(fit: CostFit) -> str:
    """B, or nothing where the backend moves no bytes or none were varied."""
    if not fit.bandwidth_bytes_per_s:
        return DASH
    if fit.shares_memory:
        return "none (shared)"
    return f"{format_bytes(round(fit.bandwidth_bytes_per_s))}/s"


#: One row per fitted backend of a workload: T ≈ S + n·o + n·g/P_eff + n·b/B. The titles break
#: where the terminal's table does, so the widest (``data``: bandwidths, bytes in the job) keeps
#: a line a fit in 120 columns.
FIT_COLUMNS: tuple[Column, ...] = (
    Column("backend", "the backend fitted", lambda f: f.backend, numeric=False),
    Column(
        "S per\njob",
        "fixed cost of every job: submitting, gathering, waking workers",
        lambda f: _or_not_varied(f, "startup_s", format_seconds(f.startup_s)),
    ),
    Column(
        "o per\ndispatch",
        "cost of one dispatch (one task, or one chunk of tasks): pickling, a message, scheduling",
        lambda f: _or_not_varied(f, "per_task_overhead_s", format_seconds(f.per_task_overhead_s)),
    ),
    Column(
        "P_eff",
        "useful parallelism: how many tasks' work really ran side by side (1 for GIL-bound "
        "threads); 'n/i (9.0>2)': not identified, the fit putting it above the workers (the "
        "tasks ran faster than serially, which the model reads as more parallelism); 'n/i "
        "(no work)': the fit saw no cost of the work at all",
        _parallelism_text,
    ),
    Column(
        "B",
        "bandwidth of moving task data ('-': bytes never varied, or cost nothing measurable; "
        "'none (shared)': a backend sharing the driver's memory moves nothing, its per-byte "
        "cost is the work's)",
        _bandwidth_text,
    ),
    Column(
        "held-out\nerror",
        "median miss predicting each measured point from a fit made without it",
        lambda f: DASH if f.holdout_error is None else f"{f.holdout_error:.0%}",
    ),
    Column("points", "job shapes the fit used", lambda f: str(f.points), in_terminal=False),
)


def job_text(tasks: int, grain_s: float, bytes_per_task: int) -> str:
    """A job shape in few characters: ``16 x 5.0 ms, 4.0 MiB``."""
    job = f"{tasks} x {format_seconds(grain_s)}"
    return f"{job}, {format_bytes(bytes_per_task)}" if bytes_per_task else job


def _projected_job(item: Projection) -> str:
    return job_text(item.shape.tasks, item.shape.grain_s, item.shape.bytes_per_task)


#: One row per PROJECTED node count: never a measurement.
PROJECTION_COLUMNS: tuple[Column, ...] = (
    Column("workload", "the workload", lambda p: p.workload, numeric=False),
    Column("backend", "the backend projected", lambda p: p.backend, numeric=False),
    Column(
        "nodes",
        "nodes projected (and measured)",
        lambda p: f"{p.nodes} (measured {p.measured_nodes})",
    ),
    Column("workers", "parallel slots on that many nodes", lambda p: str(p.workers)),
    Column("job", "the job shape projected: the largest measured", _projected_job),
    Column(
        "projected speedup",
        "predicted from the fitted costs, not measured",
        lambda p: f"{p.predicted_speedup:.2f}x",
    ),
    Column(
        "Amdahl bound",
        "the speedup if the work spread perfectly and only the fixed costs stayed serial",
        lambda p: DASH if p.amdahl_bound is None else f"{p.amdahl_bound:.2f}x",
    ),
    Column(
        "held-out error",
        "how far projecting missed on this cluster: a node sweep of the same workload and "
        "backend in this file, fitted without its largest size, against that size (- : no "
        "sweep to check against; run dist-bench scale)",
        lambda p: DASH if p.held_out_error is None else f"{p.held_out_error:+.0%}",
    ),
)


METG_TITLE = "METG(50 %): the smallest grain each backend runs at 50 % efficiency or more"
METG_NOTE = (
    "Task Bench's minimum effective task granularity: efficiency is serial wall / (wall x "
    "parallel slots) along the grain series, interpolated where it first reaches 50 %; the "
    "interval is a bootstrap over rounds, with session speeds drawn from the measured drift "
    "(or over samples with one round)."
)

#: One row per backend's METG(50 %) on a workload.
METG_COLUMNS: tuple[Column, ...] = (
    Column("backend", "the backend", lambda m: m.backend, numeric=False),
    Column(
        "METG(50 %) (95 % interval)",
        "the smallest grain (serial seconds of work per task) at which the backend does at "
        "least half the work its workers could: interpolated between the measured grains",
        metg_text,
    ),
    Column("at", "the series' job: tasks per job", lambda m: f"{m.tasks} tasks"),
    Column(
        "efficiency measured",
        "serial wall / (wall x parallel slots) at each measured grain",
        efficiency_text,
        numeric=False,
    ),
    Column(
        "resampled",
        "what the bootstrap drew: whole rounds and session speeds (the drift between "
        "sessions included) or samples",
        lambda m: f"{m.resampled} ({m.rounds} round{'s' if m.rounds > 1 else ''})",
        numeric=False,
    ),
)


def largest_jobs(summaries: Sequence[Summary], workload: str) -> dict[str, Summary]:
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


def _job_text(summary: Summary) -> str:
    record = summary.record
    return job_text(record.tasks, summary.grain_s, record.bytes_per_task)


def _measured(title: str) -> Column:
    return next(column for column in MEASUREMENT_COLUMNS if column.title == title)


#: Beside each fit: what was measured at that backend's largest job.
LARGEST_JOB_COLUMNS: tuple[Column, ...] = (
    Column("largest job", "the backend's largest job (most serial work) measured", _job_text),
    _measured("speedup (95 % CI)"),
    # Efficiency and serial fraction stay in the files: the terminal summary keeps one line a fit.
    dataclasses.replace(_measured("effic."), in_terminal=False),
    _measured("Karp-\nFlatt"),
)
FIT_TABLE_COLUMNS = FIT_COLUMNS + LARGEST_JOB_COLUMNS


def rows_of(crossovers: Sequence[Crossover]) -> list[list[str]]:
    """``CROSSOVER_COLUMNS`` cells of each crossover."""
    return [[column.cell(c) for column in CROSSOVER_COLUMNS] for c in crossovers]


@dataclass(frozen=True)
class WorkloadCutover:
    """One workload's part of the cutover analysis, ready to lay out."""

    crossovers: list[Crossover]
    fits: list[CostFit]
    largest: dict[str, Summary]
    ladder: list[LadderStep] = field(default_factory=list)

    def ladder_sentences(self) -> list[str]:
        """Each of the ladder's steps on this workload in a sentence."""
        return [ladder_sentence(step) for step in self.ladder]

    metgs: list[Metg] = field(default_factory=list)

    def sentence(self, crossover: Crossover) -> str:
        """One of this workload's crossovers in one plain sentence."""
        return crossover_sentence(crossover, self.fits)

    @property
    def reached(self) -> list[Crossover]:
        """Crossovers inside the measured range."""
        return [c for c in self.crossovers if c.reached]

    @property
    def measured(self) -> list[Crossover]:
        """Crossings the measurements show: reached (located or bracketed), then about equal."""
        return self.reached + [
            c for c in self.crossovers if c.equal_span is not None and not c.reached
        ]

    @property
    def unshown(self) -> list[Crossover]:
        """Pairs with no answer claimed: about equal, model only, or unsettled when measured."""
        return [c for c in self.crossovers if c.unshown or c.equal_span is not None or c.unsettled]

    def crossover_rows(
        self, reached_only: bool = False, shown_only: bool = False
    ) -> list[list[str]]:
        """Reached crossovers first, then those not reached.

        With ``shown_only`` only those the model puts in the range; with ``reached_only`` none.
        """
        ordered = self.reached
        if shown_only:
            ordered += self.unshown
        elif not reached_only:
            ordered += [c for c in self.crossovers if not c.reached]
        return rows_of(ordered)

    def fit_rows(self) -> list[list[str]]:
        """``FIT_TABLE_COLUMNS`` cells, the serial fit first."""
        rows = []
        for fit in sorted(self.fits, key=lambda f: f.backend != BASELINE):
            summary = self.largest.get(fit.backend)
            measured = [
                DASH if summary is None else column.cell(summary) for column in LARGEST_JOB_COLUMNS
            ]
            rows.append([*(column.cell(fit) for column in FIT_COLUMNS), *measured])
        return rows

    def metg_rows(self) -> list[list[str]]:
        """``METG_COLUMNS`` cells of each backend's METG."""
        return [[column.cell(item) for column in METG_COLUMNS] for item in self.metgs]


def workload_cutover(data: ReportData, workload: str) -> WorkloadCutover | None:
    """``workload``'s crossovers and fits, or None when there is no analysis of it."""
    analysis = data.analysis
    if analysis is None:
        return None
    fits = [f for f in analysis.fits if f.workload == workload]
    if not fits:
        return None
    return WorkloadCutover(
        [c for c in analysis.crossovers if c.workload == workload],
        fits,
        largest_jobs(data.summaries, workload),
        [step for step in analysis.ladder if step.workload == workload],
        [m for m in analysis.metgs if m.workload == workload],
    )


def projection_rows(analysis: CutoverAnalysis | None) -> list[list[str]]:
    """Every projection's cells (none without an analysis or projections)."""
    if analysis is None:
        return []
    return [[column.cell(p) for column in PROJECTION_COLUMNS] for p in analysis.projections]
