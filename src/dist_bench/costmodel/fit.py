"""The fit of one backend's costs on one workload: S, o, P_eff and B by non-negative least squares.

T ≈ S + n·o + n·g / P_eff + n·b / B is linear in (S, o, 1/P_eff, 1/B) over the features
(1, n, n·g, n·b), so the fit is a non-negative least-squares problem per (workload, backend),
weighted so every point counts by its relative error (times span orders of magnitude). Its
quality is judged on points left out of the fit (leave-one-out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dist_bench.backends.base import BASELINE
from dist_bench.costmodel.shapes import AXES, Axis, JobShape, Point, collect_points
from dist_bench.results import Results
from dist_bench.stats import median

#: A fit whose held-out points miss by more than this (median relative error) is flagged, and a
#: crossover involving it is placed only between its measured evidence, not at the model's number.
#: Source: a judgement when the cost model was written (commit 8f1965b), not tuned by a
#: benchmark: a quarter off is where a fitted crossover stops being worth quoting as a number.
#: On the 2-core machine under load, threads' fits miss by 15-57 % (tests/data/golden_cutover.json).
POOR_FIT_ERROR = 0.25
#: Singular value (of unit-length feature columns) below which a feature adds nothing new.
RANK_TOLERANCE = 1e-6
#: Parameter names in the order of the fit's features (1, n, n·g, n·b).
PARAMETERS = ("startup_s", "per_task_overhead_s", "effective_parallelism", "bandwidth_bytes_per_s")


@dataclass(frozen=True)
class CostFit:
    """One backend's fitted costs on one workload.

    Attributes:
        startup_s: S, the fixed cost of every job, seconds.
        per_task_overhead_s: o, the cost of dispatching one task, seconds.
        effective_parallelism: P_eff, tasks' work done side by side (``inf`` when no cost of
            the work itself was seen, e.g. all of it hidden behind dispatch).
        bandwidth_bytes_per_s: B; ``None`` when bytes per task never varied (not measurable) or
            moving them cost nothing measurable.
        workers: Parallel slots the backend had.
        points: Job shapes (records) the fit used.
        holdout_error: Median |relative error| predicting each point from a fit without it;
            ``None`` with too few points to leave any out.
        holdout_max_error: The largest of those errors.
        unidentified: Parameters the sweep did not vary enough to fit (held at 0 cost).
        shares_memory: The backend runs tasks in the driver's memory (threads, asyncio, serial).
        remote: The backend may run tasks on other machines.
        ranges: Per axis, the (lowest, highest) value measured: predictions outside them are
            extrapolations.
    """

    workload: str
    backend: str
    startup_s: float
    per_task_overhead_s: float
    effective_parallelism: float
    bandwidth_bytes_per_s: float | None
    workers: int
    points: int
    holdout_error: float | None = None
    holdout_max_error: float | None = None
    unidentified: tuple[str, ...] = ()
    shares_memory: bool = False
    remote: bool = False
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    def predict(self, tasks: int, grain_s: float, bytes_per_task: int = 0) -> float:
        """Predicted wall seconds: ``tasks`` tasks of ``grain_s``, ``bytes_per_task`` each."""
        return float(np.dot(cost_vector(self), features(tasks, grain_s, bytes_per_task)))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (infinite parallelism becomes ``None``)."""
        parallelism = self.effective_parallelism
        return {
            "workload": self.workload,
            "backend": self.backend,
            "startup_s": self.startup_s,
            "per_task_overhead_s": self.per_task_overhead_s,
            "effective_parallelism": parallelism if math.isfinite(parallelism) else None,
            "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s,
            "workers": self.workers,
            "points": self.points,
            "holdout_error": self.holdout_error,
            "holdout_max_error": self.holdout_max_error,
            "unidentified": list(self.unidentified),
            "shares_memory": self.shares_memory,
            "remote": self.remote,
            "ranges": {axis: list(bounds) for axis, bounds in self.ranges.items()},
        }

    def outside(self, shape: JobShape) -> list[Axis]:
        """The axes on which ``shape`` lies outside what was measured (an extrapolation)."""
        return [
            axis
            for axis in AXES
            if axis in self.ranges
            and not self.ranges[axis][0] * 0.999
            <= shape.value(axis)
            <= self.ranges[axis][1] * 1.001
        ]


def features(tasks: float, grain_s: float, bytes_per_task: float) -> np.ndarray:
    """The fit's features of one job: (1, n, n·g, n·b)."""
    return np.array([1.0, tasks, tasks * grain_s, tasks * bytes_per_task], dtype=float)


def cost_vector(fit: CostFit) -> np.ndarray:
    """A fit's costs as the vector (S, o, 1/P_eff, 1/B) the features multiply."""
    parallelism = fit.effective_parallelism
    bandwidth = fit.bandwidth_bytes_per_s
    return np.array(
        [
            fit.startup_s,
            fit.per_task_overhead_s,
            1.0 / parallelism if parallelism > 0 else 0.0,
            1.0 / bandwidth if bandwidth else 0.0,
        ]
    )


def _identifiable(matrix: np.ndarray) -> list[int]:
    """Feature columns the points can tell apart, most informative first (n·g, n, 1, n·b).

    A column that adds no rank (tasks never varied: 1 and n move together) cannot be fitted;
    its cost is folded into the columns kept, which predict the measured shapes just as well.
    """
    # Columns differ by orders of magnitude (n·b ~ 1e7, n·g ~ 1e-2): rank is judged on unit
    # columns, or the small ones would look like rounding noise next to the large ones.
    norms = np.linalg.norm(matrix, axis=0)
    unit = matrix / np.where(norms > 0, norms, 1.0)
    kept: list[int] = []
    for column in (2, 1, 0, 3):
        if norms[column] == 0:
            continue
        trial = [*kept, column]
        if np.linalg.matrix_rank(unit[:, trial], tol=RANK_TOLERANCE) == len(trial):
            kept.append(column)
    return sorted(kept)


def _solve(matrix: np.ndarray, times: np.ndarray, columns: list[int]) -> np.ndarray:
    """Non-negative least squares on relative errors: min Σ((A·x − t)/t)², x ≥ 0."""
    from scipy.optimize import nnls

    weights = 1.0 / times
    scaled = matrix[:, columns] * weights[:, None]
    # Columns differ by orders of magnitude (n·b is ~1e6 n): normalise so NNLS converges well.
    norms = np.linalg.norm(scaled, axis=0)
    norms[norms == 0] = 1.0
    solution, _ = nnls(scaled / norms, times * weights, maxiter=50 * len(columns))
    coefficients = np.zeros(matrix.shape[1])
    coefficients[columns] = solution / norms
    return coefficients


def _holdout_errors(matrix: np.ndarray, times: np.ndarray, columns: list[int]) -> list[float]:
    """|relative error| of each point predicted by a fit on the others (leave-one-out)."""
    if len(times) <= len(columns):
        return []
    errors = []
    for left_out in range(len(times)):
        keep = np.arange(len(times)) != left_out
        if len(_identifiable(matrix[keep])) < len(columns):
            continue  # without this point a parameter is no longer measurable
        coefficients = _solve(matrix[keep], times[keep], columns)
        predicted = float(matrix[left_out] @ coefficients)
        errors.append(abs(predicted - times[left_out]) / times[left_out])
    return errors


def _design(points: Sequence[Point]) -> np.ndarray:
    return np.array(
        [features(p.shape.tasks, p.shape.grain_s, p.shape.bytes_per_task) for p in points]
    )


def refits(points: Sequence[Point], times: np.ndarray) -> list[np.ndarray]:
    """Cost vectors (S, o, 1/P, 1/B) refitted on each row of ``times`` (one time per point).

    The rows are resampled times (``costmodel.resampling``): a bootstrap of the fit.
    """
    matrix = _design(points)
    columns = _identifiable(matrix)
    return [_solve(matrix, row, columns) for row in times]


def fit_costs(points: Sequence[Point], topology: dict[str, Any] | None = None) -> CostFit:
    """Fit S, o, P_eff and B to the points of one (workload, backend), on their medians.

    Raises:
        ValueError: no points.
    """
    if not points:
        raise ValueError("no points to fit")
    topology = topology or {}
    matrix = _design(points)
    observed = np.array([median(p.samples) for p in points])
    columns = _identifiable(matrix)
    coefficients = _solve(matrix, observed, columns)
    errors = _holdout_errors(matrix, observed, columns)
    record = points[0].record
    inverse_parallelism, inverse_bandwidth = float(coefficients[2]), float(coefficients[3])
    return CostFit(
        workload=record.workload,
        backend=record.backend,
        startup_s=float(coefficients[0]),
        per_task_overhead_s=float(coefficients[1]),
        effective_parallelism=1.0 / inverse_parallelism if inverse_parallelism > 0 else math.inf,
        bandwidth_bytes_per_s=1.0 / inverse_bandwidth if inverse_bandwidth > 0 else None,
        workers=max(p.record.workers for p in points),
        points=len(points),
        holdout_error=float(np.median(errors)) if errors else None,
        holdout_max_error=float(max(errors)) if errors else None,
        unidentified=tuple(PARAMETERS[c] for c in range(4) if c not in columns),
        shares_memory=bool(topology.get("shares_memory", record.backend == BASELINE)),
        remote=bool(topology.get("remote", False)),
        ranges={
            axis: (
                min(p.shape.value(axis) for p in points),
                max(p.shape.value(axis) for p in points),
            )
            for axis in AXES
        },
    )


def fit_all(results: Results) -> dict[tuple[str, str], CostFit]:
    """The cost fit of every (workload, backend) in ``results``, keyed by that pair."""
    topologies = {run.backend: run.topology for run in results.backends}
    return {
        key: fit_costs(points, topologies.get(key[1]))
        for key, points in collect_points(results).items()
    }
