"""The plot exporter: each workload's times, speedups and scaling, as PNG, SVG or PDF.

One row of panels per workload:

- **time vs the swept size** (task grain, tasks per job or bytes per task), one line per backend
  with its interval band, log-log; where the cutover analysis found a crossover, a vertical line
  marks it. This is where a cutover shows: the size from which one backend's line drops under
  another's.
- **speedup vs the swept size**, with the 1x line; with a single size, a bar per backend instead.
- **speedup vs workers**: each backend's best measured point, the ideal line, and the Amdahl
  curve through that point (serial fraction from Karp-Flatt): what more workers could give at
  most if the serial part stays what it was. Projections from the analysis are drawn hollow and
  labelled as projections.

matplotlib is imported only here, and only when a plot is drawn, so ``--help`` stays instant.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from dist_bench.analysis import BASELINE, Summary, format_bytes, format_seconds
from dist_bench.errors import UsageError
from dist_bench.report.content import ReportData

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: One colour per backend in every panel and every plot (matplotlib's tab10, in a fixed order).
BACKEND_COLOURS = {
    "serial": "#7f7f7f",
    "threads": "#1f77b4",
    "asyncio": "#17becf",
    "processes": "#ff7f0e",
    "dask": "#2ca02c",
    "ray": "#d62728",
}
_OTHER_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#bcbd22")
#: Sizes a panel is drawn at, in inches; three panels side by side fill a wide page.
PANEL_SIZE = (5.0, 3.6)

#: The swept job sizes a panel can be drawn against: (record attribute, axis label).
SWEPT_SIZES = (
    ("grain_s", "grain: serial seconds of work per task"),
    ("tasks", "tasks per job"),
    ("bytes_per_task", "bytes per task"),
)


def colour(backend: str) -> str:
    """The backend's colour, stable across panels and plots."""
    if backend in BACKEND_COLOURS:
        return BACKEND_COLOURS[backend]
    return _OTHER_COLOURS[sum(map(ord, backend)) % len(_OTHER_COLOURS)]


def render_png(data: ReportData) -> bytes:
    """Every workload's panels as one PNG."""
    return _render(data, "png")


def render_svg(data: ReportData) -> bytes:
    """Every workload's panels as one SVG."""
    return _render(data, "svg")


def render_pdf(data: ReportData) -> bytes:
    """Every workload's panels as one PDF."""
    return _render(data, "pdf")


def _render(data: ReportData, image_format: str) -> bytes:
    workloads = plotted_workloads(data)
    if not workloads:
        raise UsageError("nothing to plot: no verified measurement with a serial baseline")
    plt = _pyplot()
    rows = [workload_summaries(data, workload) for workload in workloads]
    columns = max(len(_panels(summaries)) for summaries in rows)
    figure = plt.figure(
        figsize=(PANEL_SIZE[0] * columns, PANEL_SIZE[1] * len(rows)), layout="constrained"
    )
    for subfigure, workload, summaries in zip(
        figure.subfigures(len(rows), 1, squeeze=False)[:, 0], workloads, rows, strict=True
    ):
        _draw_row(subfigure, workload, summaries, data.analysis, columns)
    return _save(figure, image_format)


def panel_images(data: ReportData, workload: str, image_format: str) -> list[bytes]:
    """Each of one workload's panels as its own image (the HTML report lays them out)."""
    summaries = workload_summaries(data, workload)
    plt = _pyplot()
    images = []
    for draw in _panels(summaries):
        figure = plt.figure(figsize=PANEL_SIZE, layout="constrained")
        draw(figure.add_subplot(), workload, summaries, data.analysis)
        images.append(_save(figure, image_format))
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


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display needed; must precede pyplot
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#e5e5e5",
            "axes.titlesize": "medium",
            "axes.titleweight": "bold",
            "legend.fontsize": "small",
            "legend.frameon": False,
            "svg.fonttype": "none",  # text stays text in SVG: smaller, selectable, searchable
        }
    )
    return plt


def _save(figure: Figure, image_format: str) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    # Fixed metadata, so the same results always give the same bytes.
    metadata = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
    figure.savefig(buffer, format=image_format, dpi=110, metadata=metadata[image_format])
    plt.close(figure)
    return buffer.getvalue()


def swept_size(summaries: Sequence[Summary]) -> tuple[str, str] | None:
    """Which job size varies: (record attribute, axis label), or None for a single size."""
    for attribute, label in SWEPT_SIZES:
        if len({getattr(s.record, attribute) for s in summaries}) > 1:
            return attribute, label
    return None


PanelDrawer = Callable[["Axes", str, list[Summary], Any], None]


def _panels(summaries: list[Summary]) -> list[PanelDrawer]:
    if swept_size(summaries) is None:
        return [_draw_speedup_bars, _draw_scaling]
    return [_draw_times, _draw_speedup_lines, _draw_scaling]


def _draw_row(
    figure: Any, workload: str, summaries: list[Summary], analysis: Any, columns: int
) -> None:
    panels = _panels(summaries)
    axes = figure.subplots(1, columns, squeeze=False)[0]
    for axis, draw in zip(axes, panels, strict=False):
        draw(axis, workload, summaries, analysis)
    for axis in axes[len(panels) :]:
        axis.set_visible(False)


def _backends(summaries: list[Summary]) -> list[str]:
    return list(dict.fromkeys(s.record.backend for s in summaries))


def _series(summaries: list[Summary], backend: str, attribute: str) -> list[Summary]:
    return sorted(
        (s for s in summaries if s.record.backend == backend),
        key=lambda s: float(getattr(s.record, attribute)),
    )


def _size_axis(axis: Axes, summaries: list[Summary], attribute: str, label: str) -> None:
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_xscale("log")
    axis.set_xlabel(label)
    axis.set_xticks(sorted({float(getattr(s.record, attribute)) for s in summaries}))
    axis.xaxis.set_major_formatter(FuncFormatter(_tick_formatter(attribute)))
    axis.xaxis.set_minor_formatter(NullFormatter())


def _draw_times(axis: Axes, workload: str, summaries: list[Summary], analysis: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    swept = swept_size(summaries)
    assert swept is not None  # this panel is only drawn for a sweep
    attribute, label = swept
    for backend in _backends(summaries):
        points = _series(summaries, backend, attribute)
        xs = [float(getattr(s.record, attribute)) for s in points]
        axis.plot(
            xs,
            [s.median_s or 0.0 for s in points],
            marker="o",
            label=backend,
            color=colour(backend),
        )
        axis.fill_between(
            xs,
            [s.interval.low if s.interval else s.median_s or 0.0 for s in points],
            [s.interval.high if s.interval else s.median_s or 0.0 for s in points],
            alpha=0.18,
            color=colour(backend),
            linewidth=0,
        )
    for position, text in crossover_marks(analysis, workload, attribute):
        axis.axvline(position, color="#444444", linestyle=":", linewidth=1)
        axis.annotate(
            text,
            (position, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize="x-small",
        )
    _size_axis(axis, summaries, attribute, label)
    axis.set_yscale("log")
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: format_seconds(value)))
    axis.set_ylabel("median wall time per job")
    axis.set_title(f"{workload}: time per job (interval band)")
    axis.legend()


def _draw_speedup_lines(axis: Axes, workload: str, summaries: list[Summary], _: Any) -> None:
    swept = swept_size(summaries)
    assert swept is not None  # this panel is only drawn for a sweep
    attribute, label = swept
    axis.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    for backend in _backends(summaries):
        if backend == BASELINE:
            continue
        points = _series(summaries, backend, attribute)
        xs = [float(getattr(s.record, attribute)) for s in points]
        axis.plot(
            xs, [s.speedup or 0.0 for s in points], marker="o", label=backend, color=colour(backend)
        )
        axis.fill_between(
            xs,
            [s.speedup_interval.low if s.speedup_interval else 0.0 for s in points],
            [s.speedup_interval.high if s.speedup_interval else 0.0 for s in points],
            alpha=0.18,
            color=colour(backend),
            linewidth=0,
        )
    _size_axis(axis, summaries, attribute, label)
    axis.set_ylabel("speedup over serial (x)")
    axis.set_title(f"{workload}: speedup (95 % CI band)")
    axis.legend()


def _draw_speedup_bars(axis: Axes, workload: str, summaries: list[Summary], _: Any) -> None:
    shown = [s for s in summaries if s.record.backend != BASELINE]
    axis.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    axis.bar(
        [s.record.backend for s in shown],
        [s.speedup or 0.0 for s in shown],
        yerr=list(zip(*map(_error_bar, shown), strict=True)) if shown else None,
        capsize=4,
        color=[colour(s.record.backend) for s in shown],
    )
    first = summaries[0].record
    axis.set_ylabel("speedup over serial (x)")
    axis.set_title(
        f"{workload}: {first.tasks} tasks x {format_seconds(first.grain_s)}, speedup (95 % CI)"
    )


def amdahl_speedup(serial_fraction: float, workers: float) -> float:
    """Amdahl's law: the speedup on ``workers`` when ``serial_fraction`` of the work is serial."""
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / workers)


def _draw_scaling(axis: Axes, workload: str, summaries: list[Summary], analysis: Any) -> None:
    best: dict[str, Summary] = {}
    for summary in summaries:
        if summary.record.backend == BASELINE or summary.speedup is None:
            continue
        kept = best.get(summary.record.backend)
        if kept is None or (kept.speedup or 0.0) < summary.speedup:
            best[summary.record.backend] = summary
    projected = projection_points(analysis, workload)
    widest = max(
        [16, *(2 * s.parallel_slots for s in best.values()), *(p for _, p, _ in projected)]
    )
    workers = [1.0 * 2 ** (step / 4) for step in range(int(4 * widest.bit_length()) + 1)]
    workers = [w for w in workers if w <= widest]
    axis.plot(workers, workers, color="#bbbbbb", linestyle="--", linewidth=1, label="ideal")
    for backend, summary in best.items():
        # Karp-Flatt below 0 (better than ideal, e.g. caches) means no serial part to speak of.
        fraction = min(1.0, max(0.0, summary.serial_fraction or 0.0))
        axis.plot(
            workers,
            [amdahl_speedup(fraction, w) for w in workers],
            color=colour(backend),
            linewidth=1,
            alpha=0.7,
        )
        low, high = _error_bar(summary)
        axis.errorbar(
            [summary.parallel_slots],
            [summary.speedup or 0.0],
            yerr=[[low], [high]],
            fmt="o",
            capsize=3,
            color=colour(backend),
            label=f"{backend}: Amdahl f={fraction:.2f}",
        )
    for backend, count, speedup in projected:
        axis.plot(
            [count],
            [speedup],
            marker="o",
            markerfacecolor="none",
            color=colour(backend),
            linestyle="none",
        )
    if projected:
        axis.plot(
            [], [], marker="o", markerfacecolor="none", color="grey", ls="none", label="projection"
        )
    from matplotlib.ticker import FuncFormatter

    axis.set_xscale("log", base=2)
    axis.set_yscale("log", base=2)
    for scale in (axis.xaxis, axis.yaxis):
        scale.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_xlabel("parallel workers")
    axis.set_ylabel("speedup over serial (x)")
    axis.set_title(f"{workload}: speedup vs workers, Amdahl bound")
    axis.legend()


def crossover_marks(analysis: Any, workload: str, attribute: str) -> list[tuple[float, str]]:
    """(position, label) of each crossover the cutover analysis found along ``attribute``."""
    return []


def projection_points(analysis: Any, workload: str) -> list[tuple[str, int, float]]:
    """(backend, workers, predicted speedup) the cutover analysis projects for ``workload``."""
    return []


def _tick_formatter(attribute: str) -> Callable[[float, object], str]:
    if attribute == "grain_s":
        return lambda value, _: format_seconds(value)
    if attribute == "bytes_per_task":
        return lambda value, _: format_bytes(int(value))
    return lambda value, _: f"{value:g}"


def _error_bar(summary: Summary) -> tuple[float, float]:
    if summary.speedup is None or summary.speedup_interval is None:
        return (0.0, 0.0)
    return (
        max(0.0, summary.speedup - summary.speedup_interval.low),
        max(0.0, summary.speedup_interval.high - summary.speedup),
    )
