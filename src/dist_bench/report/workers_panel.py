"""The speedup-vs-workers panel: each backend's largest job per worker count, Amdahl fitted.

The ideal line; the Amdahl curve fitted through each backend's points (least squares on
1/speedup), solid across the worker counts measured and dashed beyond; the analysis'
projections drawn hollow and labelled as projections.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dist_bench.analysis import Summary
from dist_bench.backends.base import BASELINE
from dist_bench.report.figures import colour, error_bar
from dist_bench.stats import amdahl_fraction

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from dist_bench.costmodel import CutoverAnalysis


def amdahl_speedup(serial_fraction: float, workers: float) -> float:
    """Amdahl's law: the speedup on ``workers`` when ``serial_fraction`` of the work is serial."""
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / workers)


def draw_workers(
    axis: Axes, *, workload: str, summaries: list[Summary], analysis: CutoverAnalysis | None
) -> None:
    """Speedup against workers at each backend's largest job: ideal, Amdahl, projections."""
    from matplotlib.ticker import FuncFormatter

    swept = scaling_points(summaries)
    projected = projection_points(analysis, workload)
    widest = max(
        [
            16,
            *(2 * s.parallel_slots for points in swept.values() for s in points),
            *(p for _, p, _ in projected),
        ]
    )
    workers = [1.0 * 2 ** (step / 4) for step in range(int(4 * widest.bit_length()) + 1)]
    workers = [w for w in workers if w <= widest]
    axis.plot(workers, workers, color="#bbbbbb", linestyle="--", linewidth=1, label="ideal")
    for backend, points in swept.items():
        slots = [float(s.parallel_slots) for s in points]
        fraction = amdahl_fraction([(s.parallel_slots, s.speedup or 0.0) for s in points])
        if fraction is not None:
            # Solid across the worker counts measured, dashed beyond: a projection.
            inside = [w for w in workers if min(slots) <= w <= max(slots)]
            for part, style in ((inside, "-"), ([w for w in workers if w >= max(slots)], "--")):
                axis.plot(
                    part,
                    [amdahl_speedup(fraction, w) for w in part],
                    color=colour(backend),
                    linestyle=style,
                    linewidth=1,
                    alpha=0.7,
                )
        errors = [error_bar(s) for s in points]
        axis.errorbar(
            slots,
            [s.speedup or 0.0 for s in points],
            yerr=[[low for low, _ in errors], [high for _, high in errors]],
            fmt="o",
            capsize=3,
            color=colour(backend),
            label=_scaling_label(backend, fraction, len(points)),
        )
    for backend in dict.fromkeys(name for name, _, _ in projected):
        predicted = sorted((n, speedup) for name, n, speedup in projected if name == backend)
        axis.plot(
            *zip(*predicted, strict=True),
            marker="o",
            markerfacecolor="white",
            linestyle=":",
            color=colour(backend),
            label=f"{backend}: PROJECTION",
        )

    axis.set_xscale("log", base=2)
    axis.set_yscale("log", base=2)
    for scale in (axis.xaxis, axis.yaxis):
        scale.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_xlabel("parallel workers")
    axis.set_ylabel("speedup over serial (x)")
    axis.set_title(f"{workload}: speedup vs workers, Amdahl fit\n(dashed: projected)")
    axis.legend()


def scaling_points(summaries: Sequence[Summary]) -> dict[str, list[Summary]]:
    """Per backend, its rows at its largest job (most serial work), one per worker count.

    Where fixed costs weigh least, so the Amdahl curve through them is the most favourable honest
    one; a worker-count sweep (``run -w 1,2``, the cutover's Amdahl shapes) gives several points.
    Batched rows are left out: they describe the batching, not the workers; so are node and weak
    worker sweeps' rows, each with its own panel (``scaling_plot``).
    """
    rows = [
        s
        for s in summaries
        if s.record.backend != BASELINE
        and s.speedup is not None
        and s.record.chunk == 1
        # A weak sweep's rows grow with the workers: Gustafson's, drawn with the sweeps.
        and s.record.scaling is None
    ]
    largest: dict[str, Summary] = {}
    for summary in rows:
        kept = largest.get(summary.record.backend)
        if kept is None or _serial_work(kept) < _serial_work(summary):
            largest[summary.record.backend] = summary
    return {
        backend: sorted(
            (s for s in rows if s.record.backend == backend and _same_job(s, top)),
            key=lambda s: s.parallel_slots,
        )
        for backend, top in largest.items()
    }


def _same_job(summary: Summary, other: Summary) -> bool:
    return summary.record.size_key() == other.record.size_key()


def _scaling_label(backend: str, fraction: float | None, points: int) -> str:
    if fraction is None:
        return f"{backend} (no Amdahl fit: one worker count)"
    return f"{backend}: f={fraction:.2f}, {points} point{'s' if points > 1 else ''}"


def _serial_work(summary: Summary) -> tuple[float, int]:
    record = summary.record
    return (record.tasks * record.grain_s, record.bytes_per_task)


def projection_points(
    analysis: CutoverAnalysis | None, workload: str
) -> list[tuple[str, int, float]]:
    """(backend, workers, PROJECTED speedup) of each projection for ``workload``."""
    if analysis is None:
        return []
    return [
        (item.backend, item.workers, item.predicted_speedup)
        for item in analysis.projections
        if item.workload == workload
    ]
