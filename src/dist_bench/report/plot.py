"""The plot exporter: each workload's times, speedups and scaling, as PNG, SVG or PDF.

One row of panels per workload:

- **time vs the swept size** (task grain, tasks per job or bytes per task), one line per backend
  with its interval band, log-log; where the cutover analysis found a crossover, a vertical line
  marks it. This is where a cutover shows: the size from which one backend's line drops under
  another's.
- **speedup vs the swept size**, with the 1x line; with a single size, a bar per backend instead.
- **speedup vs workers**: each backend's rows at its largest job, one per worker count measured
  (a worker-count sweep gives several), the ideal line, and the Amdahl curve fitted through
  them (least squares on 1/speedup): solid across the worker counts measured, dashed beyond (what
  more workers could give at most if the serial part stays what it was; one worker count fits
  no curve). Projections from the analysis are drawn hollow and labelled as projections.
- **efficiency vs grain** (with a cutover analysis): each backend's efficiency along the grain
  series, the 50 % line, and where each backend's METG(50 %) lies, with its interval.

This module lays the panels out and draws the first two; ``workers_panel`` and
``efficiency_panel`` draw the others. matplotlib is imported (``figures``) only when a plot
is drawn, so ``--help`` stays instant.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from dist_bench.analysis import Summary
from dist_bench.backends.base import BASELINE
from dist_bench.errors import UsageError
from dist_bench.report.content import ReportData
from dist_bench.report.efficiency_panel import draw_efficiency
from dist_bench.report.figures import (
    PANEL_SIZE,
    colour,
    error_bar,
    pyplot,
    save_figure,
    tick_formatter,
)
from dist_bench.report.workers_panel import draw_workers
from dist_bench.units import format_bytes, format_seconds

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from dist_bench.costmodel import CutoverAnalysis

#: An axis label longer than this (characters) is wider than its panel at the default font.
MAX_LABEL_CHARS = 60
#: Crossover lines closer than this ratio along the log axis share one label place (rotated
#: labels of x-small text need about a tenth of a decade each on a 5-inch panel).
LABEL_SPACING = 1.35

#: The swept job sizes a panel can be drawn against: (record attribute, axis label).
SWEPT_SIZES = (
    ("grain_s", "grain: serial seconds of work per task"),
    ("tasks", "tasks per job"),
    ("bytes_per_task", "bytes per task"),
)


def render_png(data: ReportData) -> bytes:
    """Every workload's panels as one PNG."""
    return _render(data, "png")


def render_svg(data: ReportData) -> bytes:
    """Every workload's panels as one SVG."""
    return _render(data, "svg")


def render_pdf(data: ReportData) -> bytes:
    """Every workload's panels as one PDF."""
    return _render(data, "pdf")


#: Up to this many measured sizes each get a tick label; more get the axis' own ticks.
MAX_LABELLED_SIZES = 6
#: Up to this many crossovers on one panel get their interval drawn as a band.
MAX_CROSSOVER_BANDS = 2
#: Panels side by side in the one-image formats; a workload with more wraps onto more rows.
COLUMNS = 3


def _render(data: ReportData, image_format: str) -> bytes:
    from dist_bench.report.scaling_plot import scaling_panels  # it draws with this module

    workloads = plotted_workloads(data)
    scaling: list[Panel] = list(scaling_panels(data))
    if not workloads and not scaling:
        raise UsageError(
            "nothing to plot: no verified measurement with a serial baseline, and no node sweep"
        )
    plt = pyplot()
    panels = [_panels(workload_summaries(data, workload), data.analysis) for workload in workloads]
    panels += [scaling] if scaling else []
    heights = [math.ceil(len(drawers) / COLUMNS) for drawers in panels]
    figure = plt.figure(
        figsize=(PANEL_SIZE[0] * COLUMNS, PANEL_SIZE[1] * sum(heights)), layout="constrained"
    )
    subfigures = figure.subfigures(len(panels), 1, squeeze=False, height_ratios=heights)
    for subfigure, drawers, rows in zip(subfigures[:, 0], panels, heights, strict=True):
        axes = subfigure.subplots(rows, COLUMNS, squeeze=False).flatten()
        for axis, draw in zip(axes, drawers, strict=False):
            draw(axis)
        for axis in axes[len(drawers) :]:
            axis.set_visible(False)
    return save_figure(figure, image_format)


def panel_images(data: ReportData, workload: str, image_format: str) -> list[bytes]:
    """Each of one workload's panels as its own image (the HTML report lays them out)."""
    plt = pyplot()
    images = []
    for draw in _panels(workload_summaries(data, workload), data.analysis):
        figure = plt.figure(figsize=PANEL_SIZE, layout="constrained")
        draw(figure.add_subplot())
        images.append(save_figure(figure, image_format))
    return images


def plotted_workloads(data: ReportData) -> list[str]:
    """Workloads with at least one verified measurement against a serial baseline."""
    return list(dict.fromkeys(s.record.workload for s in data.summaries if s.speedup is not None))


def workload_summaries(data: ReportData, workload: str) -> list[Summary]:
    """The workload's summaries that can be drawn (measured, verified, with a baseline)."""
    return [
        s
        for s in data.summaries
        if s.record.workload == workload and s.speedup is not None and s.median_s is not None
    ]


@dataclass(frozen=True)
class Line:
    """Summaries along one swept size with the other two held fixed: one curve per backend."""

    attribute: str
    label: str
    summaries: list[Summary]


def lines(summaries: Sequence[Summary]) -> list[Line]:
    """For each size that varies, the line through the most distinct values of it (at least 2).

    A sweep may vary the grain at one task count and the task count at one grain; plotting all
    records against the grain would zigzag between task counts, so each line keeps the others
    fixed.
    """
    found = []
    for attribute, label in SWEPT_SIZES:
        others = [name for name, _ in SWEPT_SIZES if name != attribute]
        grouped: dict[tuple[float, ...], list[Summary]] = {}
        for summary in summaries:
            key = tuple(float(getattr(summary.record, name)) for name in others)
            grouped.setdefault(key, []).append(summary)
        best = max(
            grouped.values(),
            key=lambda members: len({getattr(m.record, attribute) for m in members}),
            default=[],
        )
        if len({getattr(m.record, attribute) for m in best}) >= 2:
            found.append(Line(attribute, label, best))
    return found


Panel = Callable[["Axes"], None]


def _panels(summaries: list[Summary], analysis: CutoverAnalysis | None) -> list[Panel]:
    """What to draw for one workload: times along each swept size, speedups, scaling."""
    workload = summaries[0].record.workload
    swept = lines(summaries)
    metgs = [m for m in analysis.metgs if m.workload == workload] if analysis else []
    efficiency = [partial(draw_efficiency, workload=workload, metgs=metgs)] if metgs else []
    if not swept:
        return [
            partial(_draw_speedup_bars, workload=workload, summaries=summaries),
            partial(draw_workers, workload=workload, summaries=summaries, analysis=analysis),
            *efficiency,
        ]
    return [
        *(partial(_draw_times, workload=workload, line=line, analysis=analysis) for line in swept),
        partial(_draw_speedup_lines, workload=workload, line=swept[0]),
        partial(draw_workers, workload=workload, summaries=summaries, analysis=analysis),
        *efficiency,
    ]


def _backends(summaries: list[Summary]) -> list[str]:
    return list(dict.fromkeys(s.record.backend for s in summaries))


def _size_axis(axis: Axes, line: Line) -> None:
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_xscale("log")
    label = f"{line.label} ({_held(line)})"
    # A label wider than its panel runs into the next one (the data panel's "at 16 tasks, 512.0
    # KiB per task"): what is held goes on a line of its own.
    axis.set_xlabel(label if len(label) <= MAX_LABEL_CHARS else f"{line.label}\n({_held(line)})")
    measured = sorted({float(getattr(s.record, line.attribute)) for s in line.summaries})
    # A tick at every measured size reads well for a plain sweep; a refined search measures
    # many close sizes, whose labels would overlap: then the decades are labelled instead.
    if len(measured) <= MAX_LABELLED_SIZES:
        axis.set_xticks(measured)
    axis.xaxis.set_major_formatter(FuncFormatter(tick_formatter(line.attribute)))
    axis.xaxis.set_minor_formatter(NullFormatter())


def _held(line: Line) -> str:
    """The sizes held fixed along ``line``: ``at 16 tasks, 4.0 MiB per task``."""
    record = line.summaries[0].record
    held = {
        "grain_s": f"{format_seconds(record.grain_s)} grain",
        "tasks": f"{record.tasks} tasks",
        "bytes_per_task": f"{format_bytes(record.bytes_per_task)} per task",
    }
    del held[line.attribute]
    if not record.bytes_per_task:
        held.pop("bytes_per_task", None)
    return "at " + ", ".join(held.values())


def _draw_bands(
    axis: Axes,
    line: Line,
    value: Callable[[Summary], tuple[float, float, float]],
    skip: str | None = None,
) -> None:
    """One curve per backend along ``line``: ``value`` gives (middle, low, high) per point."""
    for backend in _backends(line.summaries):
        if backend == skip:
            continue
        points = sorted(
            (s for s in line.summaries if s.record.backend == backend),
            key=lambda s: float(getattr(s.record, line.attribute)),
        )
        xs = [float(getattr(s.record, line.attribute)) for s in points]
        middle, low, high = zip(*map(value, points), strict=True)
        axis.plot(xs, middle, marker="o", label=backend, color=colour(backend))
        axis.fill_between(xs, low, high, alpha=0.18, color=colour(backend), linewidth=0)


def _time_band(summary: Summary) -> tuple[float, float, float]:
    middle = summary.median_s or 0.0
    interval = summary.interval
    return (middle, interval.low, interval.high) if interval else (middle, middle, middle)


def _speedup_band(summary: Summary) -> tuple[float, float, float]:
    middle = summary.speedup or 0.0
    interval = summary.speedup_interval
    return (middle, interval.low, interval.high) if interval else (middle, middle, middle)


def _draw_times(axis: Axes, *, workload: str, line: Line, analysis: CutoverAnalysis | None) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    _draw_bands(axis, line, _time_band)
    marks = crossover_marks(analysis, workload, line.attribute)
    for low, position, high, _ in marks:
        # Interval bands only when few: overlapping bands darken into one grey block.
        if len(marks) <= MAX_CROSSOVER_BANDS:
            axis.axvspan(low, high, color="#444444", alpha=0.06, linewidth=0)
        axis.axvline(position, color="#444444", linestyle=":", linewidth=1)
    for position, texts in label_groups(marks):
        # Labels of crossovers close together share one place, one column each, so they never
        # print over each other.
        axis.annotate(
            "\n".join(texts),
            (position, 0.02),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="bottom",
            ha="right",
            fontsize="x-small",
            color="#333333",
        )
    _size_axis(axis, line)
    axis.set_yscale("log")
    # 1-2-5 steps: times often span less than a decade, where decade ticks alone say nothing.
    axis.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: format_seconds(value)))
    axis.yaxis.set_minor_formatter(NullFormatter())
    axis.set_ylabel("median wall time per job")
    axis.set_title(f"{workload}: time per job vs {_SHORT[line.attribute]}")
    axis.legend()


#: The swept sizes in a title.
_SHORT = {"grain_s": "grain", "tasks": "tasks", "bytes_per_task": "bytes per task"}


def _draw_speedup_lines(axis: Axes, *, workload: str, line: Line) -> None:
    axis.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    _draw_bands(axis, line, _speedup_band, skip=BASELINE)
    _size_axis(axis, line)
    axis.set_ylabel("speedup over serial (x)")
    axis.set_title(f"{workload}: speedup vs {_SHORT[line.attribute]} (95 % CI band)")
    axis.legend()


def _draw_speedup_bars(axis: Axes, *, workload: str, summaries: list[Summary]) -> None:
    shown = [s for s in summaries if s.record.backend != BASELINE]
    axis.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    axis.bar(
        [s.record.backend for s in shown],
        [s.speedup or 0.0 for s in shown],
        yerr=list(zip(*map(error_bar, shown), strict=True)) if shown else None,
        capsize=4,
        color=[colour(s.record.backend) for s in shown],
    )
    first = summaries[0]
    axis.set_ylabel("speedup over serial (x)")
    axis.set_title(
        f"{workload}: {first.record.tasks} tasks x {format_seconds(first.grain_s)}, "
        "speedup (95 % CI)"
    )


def label_groups(marks: Sequence[tuple[float, float, float, str]]) -> list[tuple[float, list[str]]]:
    """Crossover labels grouped where their lines are closer than ``LABEL_SPACING`` (a ratio).

    Each group is placed at its first (leftmost) line, its labels in order along the axis.
    """
    groups: list[tuple[float, list[str]]] = []
    last = 0.0
    for _, position, _, text in sorted(marks, key=lambda mark: mark[1]):
        if groups and position <= last * LABEL_SPACING:
            groups[-1][1].append(text)
        else:
            groups.append((position, [text]))
        last = position
    return groups


def crossover_marks(
    analysis: CutoverAnalysis | None, workload: str, attribute: str
) -> list[tuple[float, float, float, str]]:
    """(interval low, value, interval high, label) of each crossover found along ``attribute``."""
    if analysis is None:
        return []
    marks = []
    for item in analysis.crossovers:
        if item.workload != workload or item.axis != attribute or item.value is None:
            continue
        low, high = (item.interval.low, item.interval.high) if item.interval else (item.value,) * 2
        marks.append((low, item.value, high, f"{item.winner_below} → {item.winner_above}"))
    return marks
