"""The plot exporter: speedup with its interval, per workload, against the swept size.

One panel per workload. With a single job size the panel is a bar per backend; with several grains
(or task counts, or byte sizes) it is a line per backend against that size on a log axis, which is
where a cutover shows: the grain from which a backend's line crosses 1x, and another's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from dist_bench.analysis import Summary, series_label, summarize
from dist_bench.errors import UsageError
from dist_bench.results import Results
from dist_bench.units import format_bytes, format_seconds

#: Formats matplotlib writes without extra software.
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_plot_path(path: Path) -> None:
    """Fail now, not after the run, on a path the plot could not be written to.

    Raises:
        UsageError: unsupported suffix, missing folder, or matplotlib not installed.
    """
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(f"plot {str(path)!r}: use one of {', '.join(PLOT_SUFFIXES)}")
    if not path.parent.is_dir():
        raise UsageError(f"cannot write plot {str(path)!r}: folder {str(path.parent)!r} is missing")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("plots need matplotlib: pip install 'dist-bench[plots]'") from None


def write_plot(results: Results, path: Path) -> None:
    """Draw every workload's speedups into ``path`` (PNG, SVG or PDF)."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed; must precede pyplot
    import matplotlib.pyplot as plt

    by_workload: dict[str, list[Summary]] = defaultdict(list)
    for summary in summarize(results):
        if summary.speedup is not None:
            by_workload[summary.record.workload].append(summary)
    if not by_workload:
        raise UsageError("nothing to plot: no verified measurement with a serial baseline")
    figure, axes = plt.subplots(
        len(by_workload), 1, figsize=(8, 3.2 * len(by_workload)), squeeze=False
    )
    for axis, (workload, summaries) in zip(axes[:, 0], by_workload.items(), strict=True):
        _draw_workload(axis, workload, summaries)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _swept_dimension(summaries: list[Summary]) -> tuple[str, str] | None:
    """Which job size varies: (record attribute, axis label), or None for a single size."""
    for attribute, label in (
        ("grain_s", "grain: serial seconds of work per task"),
        ("tasks", "tasks per job"),
        ("bytes_per_task", "bytes per task"),
    ):
        if len({getattr(s.record, attribute) for s in summaries}) > 1:
            return attribute, label
    return None


def _draw_workload(axis: object, workload: str, summaries: list[Summary]) -> None:
    from matplotlib.axes import Axes
    from matplotlib.ticker import FuncFormatter, NullFormatter

    assert isinstance(axis, Axes)
    swept = _swept_dimension(summaries)
    backends = list(dict.fromkeys(series_label(s.record) for s in summaries))
    axis.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    if swept is None:
        heights = [_first(summaries, b).speedup or 0.0 for b in backends]
        errors = [_error_bar(_first(summaries, b)) for b in backends]
        axis.bar(backends, heights, yerr=list(zip(*errors, strict=True)), capsize=4)
        first = summaries[0].record
        axis.set_title(f"{workload}: {first.tasks} tasks, speedup over serial (95 % CI)")
    else:
        attribute, label = swept
        for backend in backends:
            points = sorted(
                (s for s in summaries if series_label(s.record) == backend),
                key=lambda s: float(getattr(s.record, attribute)),
            )
            xs = [float(getattr(s.record, attribute)) for s in points]
            ys = [s.speedup or 0.0 for s in points]
            low = [
                s.speedup_interval.low if s.speedup_interval else y
                for s, y in zip(points, ys, strict=True)
            ]
            high = [
                s.speedup_interval.high if s.speedup_interval else y
                for s, y in zip(points, ys, strict=True)
            ]
            axis.plot(xs, ys, marker="o", label=backend)
            axis.fill_between(xs, low, high, alpha=0.2)
        axis.set_xscale("log")
        axis.set_xlabel(label)
        axis.set_xticks(sorted({float(getattr(s.record, attribute)) for s in summaries}))
        axis.xaxis.set_major_formatter(FuncFormatter(_tick_formatter(attribute)))
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.legend(fontsize="small")
        axis.set_title(f"{workload}: speedup over serial (95 % CI band)")
    axis.set_ylabel("speedup (x)")


def _tick_formatter(attribute: str) -> Callable[[float, object], str]:
    if attribute == "grain_s":
        return lambda value, _: format_seconds(value)
    if attribute == "bytes_per_task":
        return lambda value, _: format_bytes(int(value))
    return lambda value, _: f"{value:g}"


def _first(summaries: list[Summary], backend: str) -> Summary:
    return next(s for s in summaries if series_label(s.record) == backend)


def _error_bar(summary: Summary) -> tuple[float, float]:
    if summary.speedup is None or summary.speedup_interval is None:
        return (0.0, 0.0)
    return (
        max(0.0, summary.speedup - summary.speedup_interval.low),
        max(0.0, summary.speedup_interval.high - summary.speedup),
    )
