"""Scaling over node or worker counts: speedup, efficiency, Karp–Flatt, Amdahl and Gustafson fits.

A node sweep (``node_sweep.run_node_sweep``) measures one job shape on clusters of several sizes,
every node the same slice (CPUs and memory); a weak worker sweep (``run -w 1,2 --weak``) measures
a local backend started with several worker counts, the tasks growing with the workers. The size
of a series is its node count, or its worker count (``ScaleAxis``). Two series:

* **strong** scaling: the same total work on every size. Speedup S(N) = T(n₀) / T(N), against the
  smallest size measured (n₀, usually one node); Amdahl's law S(p) = 1 / (f + (1 − f) / p) with
  p = N / n₀ is fitted for the serial fraction f.
* **weak** scaling: the same work per node. The scaled speedup S(N) = p · T(n₀) / T(N) (p times
  the work in T(N)); Gustafson's law S(p) = p − α (p − 1) is fitted for the serial fraction α of
  the scaled run.

Each law is fitted twice: on every size (the curve a report draws and ``project`` extends), and
on every size but the largest, whose prediction of the largest is compared with its measurement:
the held-out error printed beside every projection, so a projection says how far the same fit
missed a size that *was* measured. Everything here is computed from records alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import numpy as np
from scipy import optimize

from dist_bench.pooling import at_units
from dist_bench.results import Record
from dist_bench.stats import karp_flatt, median


class Scaling(StrEnum):
    """What a node sweep holds constant as nodes are added."""

    STRONG = "strong"  # the total work
    WEAK = "weak"  # the work per node


class ScaleAxis(StrEnum):
    """What a series' sizes count."""

    NODES = "nodes"  # cluster nodes (``scale``), every node the same slice
    WORKERS = "workers"  # a local backend's workers (``run -w 1,2 --weak``), on one machine


class Law(StrEnum):
    """The law fitted to one scaling series."""

    AMDAHL = "amdahl"  # strong scaling: fixed work, speedup bounded by 1/f
    GUSTAFSON = "gustafson"  # weak scaling: growing work, speedup linear with slope 1 − α


#: The law each series is fitted with.
LAW_OF = {Scaling.STRONG: Law.AMDAHL, Scaling.WEAK: Law.GUSTAFSON}

#: Sizes a fit needs besides the base (speedup 1 by definition): one more pins the serial fraction.
MIN_FIT_SIZES = 2
#: Sizes a held-out check needs: a fit on the smaller ones, and the largest to predict.
MIN_CHECK_SIZES = MIN_FIT_SIZES + 1


def law_speedup(law: Law, serial_fraction: float, scale: float | np.ndarray) -> float | np.ndarray:
    """The law's speedup on ``scale`` times the base's size, given its serial fraction."""
    if law is Law.AMDAHL:
        return 1.0 / (serial_fraction + (1.0 - serial_fraction) / scale)
    return scale - serial_fraction * (scale - 1.0)


@dataclass(frozen=True)
class LawFit:
    """A law fitted to measured speedups: its serial fraction and the sizes it saw."""

    law: Law
    serial_fraction: float
    #: Sizes (node or worker counts) whose measurements the fit used.
    fitted_on: tuple[int, ...]
    base_size: int

    def speedup(self, size: float) -> float:
        """The fitted speedup on ``size`` nodes or workers (against the base size)."""
        return float(law_speedup(self.law, self.serial_fraction, size / self.base_size))


def fit_law(law: Law, base_size: int, sizes: Sequence[int], speedups: Sequence[float]) -> LawFit:
    """Least squares on relative errors for the serial fraction in [0, 1].

    Relative errors, so a speedup of 1.9 missed by 0.1 weighs as much as one of 3.8 missed by
    0.2: the sizes count alike however large their speedup.

    Raises:
        ValueError: fewer than ``MIN_FIT_SIZES`` sizes, or a size that is not positive.
    """
    if len(sizes) < MIN_FIT_SIZES or len(sizes) != len(speedups):
        raise ValueError(f"a fit needs {MIN_FIT_SIZES} sizes with a speedup each")
    scale = np.asarray(sizes, dtype=float) / base_size
    measured = np.asarray(speedups, dtype=float)
    if np.any(scale <= 0) or np.any(measured <= 0):
        raise ValueError("sizes and speedups must be positive")

    def cost(fraction: float) -> float:
        predicted = np.asarray(law_speedup(law, fraction, scale), dtype=float)
        return float(np.sum((predicted / measured - 1.0) ** 2))

    # One parameter in a closed interval: bounded Brent, to well below any measured precision.
    solved = optimize.minimize_scalar(
        cost, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-10}
    )
    return LawFit(law, float(solved.x), tuple(int(n) for n in sizes), base_size)


@dataclass(frozen=True)
class ScalePoint:
    """One size of a series: its median time and what follows from it.

    ``size``: its node count (a node sweep) or worker count (a worker sweep).
    """

    size: int
    tasks: int
    wall_s: float
    speedup: float
    #: Speedup per unit of scale (1: every added node or worker pulled its full weight).
    efficiency: float
    #: Karp–Flatt's experimentally determined serial fraction (strong scaling; None at the base).
    karp_flatt: float | None
    verified: bool


@dataclass(frozen=True)
class HeldOutCheck:
    """The fit on the smaller sizes against the largest size's measurement."""

    size: int
    predicted_speedup: float
    measured_speedup: float

    @property
    def error(self) -> float:
        """Relative error of the prediction (signed: above 0, the fit promised too much)."""
        return self.predicted_speedup / self.measured_speedup - 1.0


@dataclass(frozen=True)
class NodeSlice:
    """What each node of a sweep had: CPUs (fractional: a CFS quota) and memory."""

    cpus: float
    memory_bytes: int | None = None


@dataclass(frozen=True)
class ScalingCurve:
    """One workload's series on one backend: every size, the law fitted, and its check."""

    workload: str
    backend: str
    scaling: Scaling
    #: Each size's node count or worker count.
    axis: ScaleAxis
    #: What each node had (a worker sweep's: none given).
    node_slice: NodeSlice
    grain_s: float
    bytes_per_task: int
    points: list[ScalePoint]
    fit: LawFit | None
    held_out: HeldOutCheck | None

    @property
    def base_size(self) -> int:
        """The size every speedup is measured against (the smallest)."""
        return self.points[0].size


@dataclass(frozen=True)
class NodeProjection:
    """A PROJECTION, never a measurement: the fitted law's speedup on more nodes than measured.

    ``held_out_error`` is how far the same law, fitted without the largest measured size,
    missed that size (None with too few sizes to check): the projection's track record.
    """

    workload: str
    backend: str
    scaling: Scaling
    nodes: int
    predicted_speedup: float
    held_out_error: float | None


class _SeriesKey(NamedTuple):
    """What the records of one series share."""

    workload: str
    backend: str
    scaling: str
    axis: ScaleAxis
    node_cpus: float | None
    node_memory_bytes: int | None
    grain_s: float
    bytes_per_task: int


def scaling_curves(records: Iterable[Record]) -> list[ScalingCurve]:
    """Every node-sweep and worker-sweep series in ``records`` (those with a ``scaling``).

    Records of one series share workload, backend, scaling, axis, slice and grain; several
    records at one size (rounds, appended runs) pool their samples. A record's size is its node
    count (a node sweep) or else its worker count. Failed records are left out. In a stable order.
    """
    groups: dict[_SeriesKey, dict[int, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        if record.scaling is None or record.error is not None or not record.wall_s:
            continue
        axis = ScaleAxis.WORKERS if record.nodes is None else ScaleAxis.NODES
        key = _SeriesKey(
            record.workload,
            record.backend,
            record.scaling,
            axis,
            record.node_cpus,
            record.node_memory_bytes,
            record.grain_s,
            record.bytes_per_task,
        )
        groups[key][record.workers if record.nodes is None else record.nodes].append(record)
    curves = [_curve(key, by_size) for key, by_size in groups.items()]
    return sorted(curves, key=lambda c: (c.workload, c.backend, c.axis.value, c.scaling.value))


def _curve(key: _SeriesKey, by_size: dict[int, list[Record]]) -> ScalingCurve:
    scaling = Scaling(key.scaling)
    sizes = sorted(by_size)
    base = sizes[0]
    # One sweep calibrates once for every size; another appended to the file may not have:
    # every size's samples in the first record's units of work.
    units = by_size[base][0].units
    walls = {n: median([s for r in by_size[n] for s in at_units(r, units).wall_s]) for n in sizes}
    points = []
    for size in sizes:
        scale = size / base
        ratio = walls[base] / walls[size]
        speedup = ratio if scaling is Scaling.STRONG else scale * ratio
        points.append(
            ScalePoint(
                size=size,
                tasks=min(r.tasks for r in by_size[size]),
                wall_s=walls[size],
                speedup=speedup,
                efficiency=speedup / scale,
                karp_flatt=karp_flatt(speedup, scale) if scaling is Scaling.STRONG else None,
                verified=all(r.verified for r in by_size[size]),
            )
        )
    law = LAW_OF[scaling]
    fit = _fit_points(law, base, points)
    held_out = None
    if len(points) >= MIN_CHECK_SIZES:
        smaller = _fit_points(law, base, points[:-1])
        if smaller is not None:
            largest = points[-1]
            held_out = HeldOutCheck(largest.size, smaller.speedup(largest.size), largest.speedup)
    return ScalingCurve(
        workload=key.workload,
        backend=key.backend,
        scaling=scaling,
        axis=key.axis,
        node_slice=NodeSlice(key.node_cpus or 0.0, key.node_memory_bytes),
        grain_s=key.grain_s,
        bytes_per_task=key.bytes_per_task,
        points=points,
        fit=fit,
        held_out=held_out,
    )


def _fit_points(law: Law, base: int, points: Sequence[ScalePoint]) -> LawFit | None:
    if len(points) < MIN_FIT_SIZES:
        return None
    return fit_law(law, base, [p.size for p in points], [p.speedup for p in points])


def project_nodes(curves: Iterable[ScalingCurve], nodes: Sequence[int]) -> list[NodeProjection]:
    """PROJECTED speedups of every fitted node-sweep curve on ``nodes``, with its held-out error.

    A worker sweep's curve is one machine's: more nodes are not its to predict.
    """
    return [
        NodeProjection(
            workload=curve.workload,
            backend=curve.backend,
            scaling=curve.scaling,
            nodes=count,
            predicted_speedup=curve.fit.speedup(count),
            held_out_error=None if curve.held_out is None else curve.held_out.error,
        )
        for curve in curves
        if curve.fit is not None and curve.axis is ScaleAxis.NODES
        for count in nodes
    ]


def median_held_out_error(curves: Iterable[ScalingCurve]) -> float | None:
    """Median absolute held-out error over the curves that could be checked (None: none)."""
    errors = [abs(c.held_out.error) for c in curves if c.held_out is not None]
    return median(errors) if errors else None
