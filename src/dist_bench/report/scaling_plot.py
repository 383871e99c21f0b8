"""Speedup against nodes or workers, one panel per sweep's workload, backend and axis.

Each series (strong, weak) is drawn as its measured points, with the fitted law through them
solid across the sizes measured and dashed (a PROJECTION, so labelled) to the sizes the report
projects to, and the ideal line: the picture of how speedup bends as nodes or workers are added,
beside the line it would follow if nothing stayed serial.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from dist_bench.report.content import ReportData
from dist_bench.report.figures import PANEL_SIZE, pyplot, save_figure
from dist_bench.report.scaling_content import default_projection_sizes
from dist_bench.report.scaling_sentences import SIZE_WORDS
from dist_bench.scaling import Law, ScaleAxis, Scaling, ScalingCurve

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Each series' colour and marker: strong and weak are told apart on one panel.
_STYLE = {Scaling.STRONG: ("#1f77b4", "o"), Scaling.WEAK: ("#d62728", "s")}


def scaling_panels(data: ReportData) -> list[partial[None]]:
    """One drawing per (workload, backend, axis) that has node or worker sweep series.

    Node sweeps are projected to ``--project-nodes`` (else twice and four times their largest
    size), worker sweeps to twice and four times their most workers.
    """
    grouped: dict[tuple[str, str, ScaleAxis], list[ScalingCurve]] = {}
    for curve in data.scaling:
        grouped.setdefault((curve.workload, curve.backend, curve.axis), []).append(curve)
    projected = {axis: default_projection_sizes(data.scaling, axis) for axis in ScaleAxis}
    if data.node_projections:
        projected[ScaleAxis.NODES] = list(data.node_projections)
    return [
        partial(_draw, curves=curves, projected=projected[axis])
        for (_, _, axis), curves in grouped.items()
    ]


def scaling_images(data: ReportData, image_format: str) -> list[bytes]:
    """Each panel as its own image (the HTML report lays them out)."""
    plt = pyplot()
    images = []
    for draw in scaling_panels(data):
        figure = plt.figure(figsize=PANEL_SIZE, layout="constrained")
        draw(figure.add_subplot())
        images.append(save_figure(figure, image_format))
    return images


def _draw(axis: Axes, *, curves: Sequence[ScalingCurve], projected: Sequence[int]) -> None:
    base = min(c.base_size for c in curves)
    measured_top = max(c.points[-1].size for c in curves)
    top = max([measured_top, *projected])
    span = [base + (top - base) * step / 64 for step in range(65)]
    # Dotted: the dashes are the projections'.
    axis.plot(span, [n / base for n in span], color="#bbbbbb", linestyle=":", label="ideal")
    for curve in curves:
        colour, marker = _STYLE[curve.scaling]
        sizes = [p.size for p in curve.points]
        axis.plot(
            sizes,
            [p.speedup for p in curve.points],
            marker=marker,
            linestyle="none",
            color=colour,
            label=f"{curve.scaling.value}: measured",
        )
        if curve.fit is None:
            continue
        law = "Amdahl" if curve.fit.law is Law.AMDAHL else "Gustafson"
        inside = [n for n in span if n <= measured_top]
        beyond = [n for n in span if n >= measured_top]
        axis.plot(
            inside,
            [curve.fit.speedup(n) for n in inside],
            color=colour,
            label=f"{curve.scaling.value}: {law}, f={curve.fit.serial_fraction:.3f}",
        )
        if len(beyond) > 1:
            axis.plot(
                beyond,
                [curve.fit.speedup(n) for n in beyond],
                color=colour,
                linestyle="--",
                label=f"{curve.scaling.value}: PROJECTION",
            )
    first = curves[0]
    _, several = SIZE_WORDS[first.axis]
    where = (
        f"{first.node_slice.cpus:g} CPU each"
        if first.axis is ScaleAxis.NODES
        else "on this machine"
    )
    axis.set_xlabel(f"{several} ({where})")
    axis.set_ylabel(f"speedup over {base} {several if base > 1 else SIZE_WORDS[first.axis][0]} (x)")
    axis.set_title(f"{first.workload} on {first.backend}: speedup vs {several}")
    axis.legend()
