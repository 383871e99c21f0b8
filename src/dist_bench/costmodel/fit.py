"""The fit of one backend's costs on one workload: S, o, P_eff and B by non-negative least squares.

T ≈ S + d·o + n·g / P_eff + n·b / B, with d the job's dispatches (n when each task is sent on
its own, ⌈n / c⌉ when tasks travel c to a chunk), is linear in (S, o, 1/P_eff, 1/B) over the
features (1, d, n·g, n·b), so the fit is a non-negative least-squares problem per (workload,
backend), weighted so every point counts by its relative error (times span orders of magnitude).
Each record counts the dispatches its own chunk plan made, so o is the cost of one dispatch
whatever the chunking, and a prediction for a new shape counts the dispatches the backend's plan
would make for it (``CostFit.chunk_size``: ``--chunk auto`` sizes chunks from the grain). Its
quality is judged on points left out of the fit (leave-one-out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dist_bench.backends.base import BASELINE
from dist_bench.chunking import auto_chunk_size
from dist_bench.costmodel.shapes import AXES, Axis, JobShape, Point, collect_points
from dist_bench.results import Record, Results
from dist_bench.stats import median
from dist_bench.units import AUTO, ChunkMode

#: A fit whose held-out points miss by more than this (median relative error) is flagged, and a
#: crossover involving it is placed only between its measured evidence, not at the model's number.
#: Source: a judgement when the cost model was written (commit 8f1965b), not tuned by a
#: benchmark: a quarter off is where a fitted crossover stops being worth quoting as a number.
#: On the 2-core machine under load, threads' fits miss by 15-57 % (tests/data/golden_cutover.json).
POOR_FIT_ERROR = 0.25
#: Singular value (of unit-length feature columns) below which a feature adds nothing new.
RANK_TOLERANCE = 1e-6
#: Parameter names in the order of the fit's features (1, d, n·g, n·b).
PARAMETERS = ("startup_s", "per_task_overhead_s", "effective_parallelism", "bandwidth_bytes_per_s")


@dataclass(frozen=True)
class CostFit:
    """One backend's fitted costs on one workload.

    Attributes:
        startup_s: S, the fixed cost of every job, seconds.
        per_task_overhead_s: o, the cost of one dispatch (one task, or one chunk of tasks),
            seconds.
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
        chunk: How the fitted records grouped tasks into dispatches (``"auto"`` or tasks per
            dispatch; the most common plan among them): predictions use the same plan unless
            told otherwise.
        dispatch_s: The dispatch cost the backend measured after starting (what ``--chunk
            auto`` sizes chunks from); ``None`` when it was not measured, and the fitted o is
            used instead.
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
    chunk: ChunkMode = 1
    dispatch_s: float | None = None

    def chunk_size(self, tasks: int, grain_s: float, chunk: ChunkMode | None = None) -> int:
        """Tasks per dispatch the backend would send for ``tasks`` tasks of ``grain_s``.

        ``chunk`` is the plan (``"auto"`` or a size); ``None`` is the fitted records' own. Under
        ``auto`` the size is what ``chunking.plan_chunks`` would choose, from the measured
        dispatch cost (the fitted o when none was measured) and the fit's workers.
        """
        plan = self.chunk if chunk is None else chunk
        if plan != AUTO:
            return max(1, int(plan))
        dispatch_s = self.per_task_overhead_s if self.dispatch_s is None else self.dispatch_s
        return auto_chunk_size(dispatch_s, grain_s, self.workers, tasks)

    def predict(
        self, tasks: int, grain_s: float, bytes_per_task: int = 0, chunk: ChunkMode | None = None
    ) -> float:
        """Predicted wall seconds: ``tasks`` tasks of ``grain_s``, ``bytes_per_task`` each.

        Dispatches are counted with the chunk plan ``chunk`` (``None``: the records' own).
        """
        sent = dispatches(tasks, self.chunk_size(tasks, grain_s, chunk))
        return float(np.dot(cost_vector(self), features(tasks, grain_s, bytes_per_task, sent)))

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
            "chunk": self.chunk,
            "dispatch_s": self.dispatch_s,
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


def dispatches(tasks: int, chunk: int) -> int:
    """Dispatches of ``tasks`` tasks sent at most ``chunk`` at a time (as ``chunking.Chunks``)."""
    return max(1, math.ceil(tasks / max(1, chunk))) if tasks else 0


def features(
    tasks: float, grain_s: float, bytes_per_task: float, sent: float | None = None
) -> np.ndarray:
    """The fit's features of one job: (1, d, n·g, n·b); ``sent`` is d (``None``: one per task)."""
    sent = tasks if sent is None else sent
    return np.array([1.0, sent, tasks * grain_s, tasks * bytes_per_task], dtype=float)


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
        [
            features(
                p.shape.tasks,
                p.shape.grain_s,
                p.shape.bytes_per_task,
                dispatches(p.shape.tasks, p.record.chunk),
            )
            for p in points
        ]
    )


def chunk_plan(record: Record) -> ChunkMode:
    """How ``record`` grouped its tasks: ``"auto"``, or the tasks per dispatch it was given."""
    return AUTO if record.chunk_auto else record.chunk


def usual_plan(points: Sequence[Point]) -> ChunkMode:
    """The chunk plan most of the points used (the first seen among equals; 1 without points)."""
    plans = [chunk_plan(p.record) for p in points]
    return max(dict.fromkeys(plans), key=plans.count, default=1)


def refits(points: Sequence[Point], times: np.ndarray) -> list[np.ndarray]:
    """Cost vectors (S, o, 1/P, 1/B) refitted on each row of ``times`` (one time per point).

    The rows are resampled times (``costmodel.resampling``): a bootstrap of the fit.
    """
    matrix = _design(points)
    columns = _identifiable(matrix)
    return [_solve(matrix, row, columns) for row in times]


def fit_costs(
    points: Sequence[Point],
    topology: dict[str, Any] | None = None,
    dispatch_s: float | None = None,
) -> CostFit:
    """Fit S, o, P_eff and B to the points of one (workload, backend), on their medians.

    ``dispatch_s`` is the backend's measured dispatch cost, kept for sizing ``auto`` chunks.

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
        chunk=usual_plan(points),
        dispatch_s=dispatch_s,
    )


def fit_all(results: Results) -> dict[tuple[str, str], CostFit]:
    """The cost fit of every (workload, backend) in ``results``, keyed by that pair."""
    topologies = {run.backend: run.topology for run in results.backends}
    measured: dict[str, list[float]] = {}
    for run in results.backends:
        if run.dispatch_s is not None:
            measured.setdefault(run.backend, []).append(run.dispatch_s)
    return {
        key: fit_costs(
            points,
            topologies.get(key[1]),
            median(measured[key[1]]) if key[1] in measured else None,
        )
        for key, points in collect_points(results).items()
    }
