"""What every report says about node and worker sweeps: a table per series, its fit, projections.

Like ``columns``, the columns (title, meaning, cell text) live here once; the terminal, Markdown
and HTML lay them out, the CSV carries each record's node count, slice, workers and scaling, and
the plots draw speedup against nodes or workers with the ideal line and the fitted law.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dist_bench.report.columns import DASH, Column
from dist_bench.report.content import ReportData
from dist_bench.report.scaling_sentences import SIZE_WORDS, node_slice_text, scaling_sentence
from dist_bench.scaling import NodeProjection, ScaleAxis, ScalePoint, ScalingCurve, project_nodes
from dist_bench.units import format_seconds

NODE_PROJECTIONS_TITLE = "Projected speedups on more nodes (PROJECTIONS, not measurements)"


@dataclass(frozen=True)
class _Row:
    """One size of one series, with the fitted law's value there."""

    curve: ScalingCurve
    point: ScalePoint


def _fitted(row: _Row) -> str:
    fit = row.curve.fit
    return DASH if fit is None else f"{fit.speedup(row.point.size):.2f}x"


def scaling_columns(axis: ScaleAxis) -> tuple[Column, ...]:
    """One row per size of a series: of a node sweep (with each node's slice) or a worker sweep."""
    one, several = SIZE_WORDS[axis]
    size = Column(
        several,
        "worker containers (nodes) the job ran on"
        if axis is ScaleAxis.NODES
        else "workers the backend was started with, on this machine",
        lambda r: str(r.point.size),
    )
    node_slice = Column(
        "slice",
        "what each node had: CPUs (a fraction is a CFS quota) and memory",
        lambda r: node_slice_text(r.curve.node_slice.cpus, r.curve.node_slice.memory_bytes),
        numeric=False,
    )
    return (
        size,
        *([node_slice] if axis is ScaleAxis.NODES else []),
        Column(
            "tasks",
            f"tasks in the job (strong: the same on every size; weak: the same per {one})",
            lambda r: str(r.point.tasks),
        ),
        Column(
            "median",
            "median wall time of the measured jobs",
            lambda r: format_seconds(r.point.wall_s),
        ),
        Column(
            "speedup",
            f"against the smallest size (weak: scaled, {several} x its time / this time)",
            lambda r: f"{r.point.speedup:.2f}x",
        ),
        Column(
            "ideal",
            f"linear speedup: {several} over the smallest size",
            lambda r: f"{r.point.size / r.curve.base_size:.2f}x",
        ),
        Column(
            "fitted", "the fitted law (Amdahl for strong, Gustafson for weak) at this size", _fitted
        ),
        Column(
            "effic.",
            "speedup per unit of scale; 100 % is ideal",
            lambda r: f"{r.point.efficiency:.0%}",
        ),
        Column(
            "Karp-\nFlatt",
            "experimentally determined serial fraction (strong scaling only)",
            lambda r: DASH if r.point.karp_flatt is None else f"{r.point.karp_flatt:.3f}",
        ),
        Column(
            "answer",
            "ok when every job's answer equalled the serial answer",
            lambda r: "ok" if r.point.verified else "WRONG",
            numeric=False,
        ),
    )


def scaling_title(curve: ScalingCurve) -> str:
    """The heading of one series' table: ``cpu on processes: weak scaling over workers``."""
    return f"{curve.workload} on {curve.backend}: {curve.scaling.value} scaling over {curve.axis}"


def scaling_heading(curves: Sequence[ScalingCurve]) -> str:
    """The heading over every series: ``Scaling over nodes``, ``... over nodes and workers``."""
    axes = [axis.value for axis in ScaleAxis if any(c.axis is axis for c in curves)]
    return "Scaling over " + " and ".join(axes)


def scaling_rows(curve: ScalingCurve) -> list[list[str]]:
    """``scaling_columns`` cells of every size of ``curve``."""
    columns = scaling_columns(curve.axis)
    return [[c.cell(_Row(curve, point)) for c in columns] for point in curve.points]


#: One row per PROJECTED node count of a fitted series: never a measurement.
NODE_PROJECTION_COLUMNS: tuple[Column, ...] = (
    Column("workload", "the workload", lambda p: p.workload, numeric=False),
    Column("backend", "the backend", lambda p: p.backend, numeric=False),
    Column(
        "scaling", "strong (Amdahl) or weak (Gustafson)", lambda p: p.scaling.value, numeric=False
    ),
    Column("nodes", "nodes projected", lambda p: str(p.nodes)),
    Column(
        "projected speedup",
        "the fitted law's value: predicted, not measured",
        lambda p: f"{p.predicted_speedup:.2f}x",
    ),
    Column(
        "held-out error",
        "the same law fitted without the largest measured size, against that size's measurement",
        lambda p: DASH if p.held_out_error is None else f"{p.held_out_error:+.0%}",
    ),
)


def node_projection_rows(curves: Sequence[ScalingCurve], nodes: Sequence[int]) -> list[list[str]]:
    """``NODE_PROJECTION_COLUMNS`` cells of every fitted series at each of ``nodes``."""
    projections: list[NodeProjection] = project_nodes(curves, nodes)
    return [[c.cell(p) for c in NODE_PROJECTION_COLUMNS] for p in projections]


def default_projection_sizes(curves: Sequence[ScalingCurve], axis: ScaleAxis) -> list[int]:
    """Where ``axis``'s curves are projected when not told: 2x and 4x the largest size measured."""
    largest = max((c.points[-1].size for c in curves if c.axis is axis), default=0)
    return [2 * largest, 4 * largest] if largest else []


@dataclass(frozen=True)
class ScalingSection:
    """One series, ready to lay out: its heading, sentence, columns and their cells."""

    title: str
    sentence: str
    columns: tuple[Column, ...]
    rows: list[list[str]]


def scaling_sections(data: ReportData) -> list[ScalingSection]:
    """Every node and worker sweep series of the report, in a stable order."""
    return [
        ScalingSection(
            scaling_title(c), scaling_sentence(c), scaling_columns(c.axis), scaling_rows(c)
        )
        for c in data.scaling
    ]


def report_projection_rows(data: ReportData) -> list[list[str]]:
    """The node projections a report shows (``--project-nodes``, else 2x and 4x the largest)."""
    curves = data.scaling
    nodes = list(data.node_projections) or default_projection_sizes(curves, ScaleAxis.NODES)
    return node_projection_rows(curves, nodes)
