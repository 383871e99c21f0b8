"""The efficiency-vs-grain panel: each backend's efficiency, the 50 % line, METG(50 %) marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dist_bench.report.figures import colour, tick_formatter

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from dist_bench.costmodel import Metg


def draw_efficiency(axis: Axes, *, workload: str, metgs: list[Metg]) -> None:
    """Each backend's efficiency along the grain, the 50 % line, and each METG with its band."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter

    from dist_bench.costmodel import METG_EFFICIENCY

    axis.axhline(METG_EFFICIENCY, color="grey", linewidth=0.8, linestyle="--", label="50 %")
    for item in metgs:
        grains = [p.grain_s for p in item.points]
        axis.plot(
            grains,
            [p.efficiency for p in item.points],
            marker="o",
            label=item.backend,
            color=colour(item.backend),
        )
        if item.grain_s is None:
            continue
        low, high = item.interval
        axis.axvspan(
            low if low is not None else grains[0],
            high if high is not None else grains[-1],
            color=colour(item.backend),
            alpha=0.1,
            linewidth=0,
        )
        axis.plot([item.grain_s], [METG_EFFICIENCY], marker="D", color=colour(item.backend))
    axis.set_xscale("log")
    # 1-2-5 steps: a grain series often spans about a decade, where decade ticks say little.
    axis.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.xaxis.set_major_formatter(FuncFormatter(tick_formatter("grain_s")))
    axis.xaxis.set_minor_formatter(NullFormatter())
    axis.yaxis.set_major_formatter(PercentFormatter(1.0))
    axis.set_ylim(bottom=0.0)
    axis.set_xlabel(f"grain: serial seconds of work per task (at {metgs[0].tasks} tasks)")
    axis.set_ylabel("efficiency: serial / (wall x slots)")
    axis.set_title(f"{workload}: efficiency vs grain, METG(50 %) marked")
    axis.legend()
