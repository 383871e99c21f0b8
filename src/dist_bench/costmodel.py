"""The cost model: each backend's costs fitted from measurements, crossovers, projections.

For a job of n tasks, each of g seconds of serial work and b bytes moved, a backend takes about

    T ≈ S + n·o + n·g / P_eff + n·b / B

S is the fixed cost of a job (``startup_s``: submitting, gathering, waking workers), o the
per-task dispatch cost (``per_task_overhead_s``), P_eff the useful parallelism
(``effective_parallelism``: 1 for pure-Python code on threads, about the cores for processes) and
B the bandwidth of moving task data (``bandwidth_bytes_per_s``). T is linear in (S, o, 1/P_eff,
1/B) over the features (1, n, n·g, n·b), so the fit is a non-negative least-squares problem per
(workload, backend), weighted so every point counts by its relative error (times span orders of
magnitude). Its quality is judged on points left out of the fit (leave-one-out).

Two backends' predicted times differ by a linear function along any one axis (grain, tasks or
bytes), so they cross at most once there: the crossover. Its interval comes from a bootstrap that
resamples each record's raw samples and refits. The model alone never makes a crossover reported:
the measured records on the series must show it too (one measured shape on each side where that
side's winner is clearly faster, see ``Evidence``), and the crossover is placed between those two.

Everything here is computed from a results file's records, so any report regenerates from the JSON
without rerunning.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any, Literal

import numpy as np

from dist_bench.analysis import BASELINE
from dist_bench.results import Record, Results
from dist_bench.stats import UNSTABLE_SPREAD, Interval, median, median_interval, outliers, spread
from dist_bench.units import format_bytes, format_seconds

#: The three job-shape axes a crossover can lie on.
Axis = Literal["grain_s", "tasks", "bytes_per_task"]
AXES: tuple[Axis, ...] = ("grain_s", "tasks", "bytes_per_task")
#: Each axis in words.
AXIS_NAMES: dict[Axis, str] = {"grain_s": "grain", "tasks": "tasks", "bytes_per_task": "bytes/task"}
#: Why one backend overtakes another: the cost that decides it.
Reason = Literal["GIL", "pickling", "dispatch overhead", "bandwidth", "start-up", "parallelism"]

#: Bootstrap refits per analysis: enough for two-digit interval ends; each refit is a tiny NNLS.
CROSSOVER_RESAMPLES = 200
#: Confidence of every crossover interval.
CONFIDENCE = 0.95
#: Threads with a useful parallelism below this, though they had more workers, were held by the GIL.
GIL_BOUND_PARALLELISM = 1.5
#: A fit whose held-out points miss by more than this (median relative error) is flagged, and a
#: crossover involving it is placed only between its measured evidence, not at the model's number.
POOR_FIT_ERROR = 0.25
#: Two backends within this share of each other's time at an end of the range run level there.
PRACTICAL_MARGIN = 0.05
#: A crossover interval wider than this share of its value asks for a longer budget.
WIDE_INTERVAL = 0.5
#: Singular value (of unit-length feature columns) below which a feature adds nothing new.
RANK_TOLERANCE = 1e-6
#: Parameter names in the order of the fit's features (1, n, n·g, n·b).
PARAMETERS = ("startup_s", "per_task_overhead_s", "effective_parallelism", "bandwidth_bytes_per_s")


@dataclass(frozen=True)
class JobShape:
    """A job's size on the three axes: tasks, serial seconds per task, bytes per task."""

    tasks: int
    grain_s: float
    bytes_per_task: int

    def along(self, axis: Axis, value: float) -> JobShape:
        """The same shape with ``axis`` set to ``value``."""
        if axis == "tasks":
            return JobShape(max(1, round(value)), self.grain_s, self.bytes_per_task)
        if axis == "grain_s":
            return JobShape(self.tasks, value, self.bytes_per_task)
        return JobShape(self.tasks, self.grain_s, max(0, round(value)))

    def value(self, axis: Axis) -> float:
        """The shape's coordinate on ``axis``."""
        return float(getattr(self, axis))


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
        return float(np.dot(_coefficients(self), _features(tasks, grain_s, bytes_per_task)))

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


@dataclass(frozen=True)
class Evidence:
    """A measured shape on a crossover's series where one of the two backends was clearly faster.

    Clearly: the two medians' order-statistics intervals (``stats.median_interval``) do not
    overlap. That rule, rather than a bootstrap of the ratio of medians, because it is
    distribution-free and deterministic, needs no resampling of three samples (where a bootstrap
    interval is too narrow), and is the rule the search's early stop and
    ``benchmarks/confirm_crossovers.py`` already use. Records of one backend at one asked shape
    are pooled first (the search may measure a shape again to get evidence).

    Attributes:
        value: Where on the series' axis (the serially measured grain for grains).
        faster: The backend that won there.
        faster_s: Its median wall time, seconds.
        slower_s: The other backend's median wall time, seconds.
    """

    value: float
    faster: str
    faster_s: float
    slower_s: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(vars(self))


@dataclass(frozen=True)
class Crossover:
    """Where, along one axis, one backend starts to beat another on one workload.

    Attributes:
        backends: The pair compared, in registry order.
        winner_below: The faster backend below the crossover (at the small end of the axis).
        winner_above: The faster backend above it; equal to ``winner_below`` when the model does
            not reach a crossover (the model's winner above when only the measurements miss).
        axis: ``grain_s``, ``tasks`` or ``bytes_per_task``.
        value: Where they meet, in the axis' unit, kept between the two evidence points; ``None``
            when not reached in ``searched`` or not shown by the measurements.
        interval: Bootstrap 95 % interval of ``value``, clipped to the evidence points (``None``
            when not reached or unknown).
        searched: The measured range of the axis, (low, high).
        at: The shape the other two axes were held at (with the serially measured grain).
        line: The same as asked for, before calibration: what to run to measure near it.
        reason: The cost that decides it.
        sentence: The finding in one plain sentence.
        reached_share: Share of bootstrap refits in which the crossover lay inside ``searched``.
        model_value: Where the fitted lines meet whenever the model alone reaches a crossover,
            shown by the measurements or not (what the search measures around).
        evidence_below: The measured shape nearest the crossover from below where
            ``winner_below`` is clearly faster (``None`` when there is none).
        evidence_above: The measured shape nearest it from above where ``winner_above`` is.
        rough: A fit of the pair misses its held-out points by more than ``POOR_FIT_ERROR``: the
            crossover is located only between the evidence points.
        model_outside: The fitted lines meet at or beyond an evidence point, where the
            measurements show the other order: the crossover is located only between the
            evidence points (``value`` is then the nearer one, ``model_value`` the model's).
    """

    workload: str
    backends: tuple[str, str]
    winner_below: str
    winner_above: str
    axis: Axis
    value: float | None
    interval: Interval | None
    searched: tuple[float, float]
    at: JobShape
    line: JobShape
    reason: Reason
    sentence: str
    reached_share: float = 0.0
    model_value: float | None = None
    evidence_below: Evidence | None = None
    evidence_above: Evidence | None = None
    rough: bool = False
    model_outside: bool = False

    @property
    def reached(self) -> bool:
        """Whether the two meet inside the searched range, the measurements showing it too."""
        return self.value is not None

    @property
    def bracketed_only(self) -> bool:
        """Whether only the two evidence points locate it (the model gives no closer estimate)."""
        return (
            (self.rough or self.model_outside)
            and self.evidence_below is not None
            and self.evidence_above is not None
        )

    @property
    def unshown(self) -> bool:
        """Whether the model puts a crossover in the range but the measurements do not show it."""
        return self.value is None and self.model_value is not None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "workload": self.workload,
            "backends": list(self.backends),
            "winner_below": self.winner_below,
            "winner_above": self.winner_above,
            "axis": self.axis,
            "value": self.value,
            "interval": None
            if self.interval is None
            else [self.interval.low, self.interval.high, self.interval.confidence],
            "searched": list(self.searched),
            "at": vars(self.at),
            "line": vars(self.line),
            "reason": self.reason,
            "sentence": self.sentence,
            "reached_share": self.reached_share,
            "model_value": self.model_value,
            "evidence_below": None
            if self.evidence_below is None
            else self.evidence_below.to_json(),
            "evidence_above": None
            if self.evidence_above is None
            else self.evidence_above.to_json(),
            "rough": self.rough,
            "model_outside": self.model_outside,
        }


@dataclass(frozen=True)
class Projection:
    """A PROJECTION, never a measurement: one backend's predicted speedup on more nodes.

    From the cost fit measured on ``measured_nodes`` nodes, the tasks' work spreads over the
    nodes at the measured efficiency (P_eff grows with them, up to one task per slot) while
    start-up, dispatch (one driver does it) and moving bytes (through the driver) stay as they
    were. ``amdahl_bound`` is Amdahl's law for the same job: the speedup if the work spread
    perfectly over all ``workers`` and only that fixed part stayed serial; ``serial_fraction``
    is the fixed part's share of a one-worker run.
    """

    workload: str
    backend: str
    nodes: int
    measured_nodes: int
    workers: int
    shape: JobShape
    predicted_s: float
    predicted_speedup: float
    amdahl_bound: float | None
    serial_fraction: float | None
    label: str = "projection"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**{k: v for k, v in vars(self).items() if k != "shape"}, "shape": vars(self.shape)}


@dataclass(frozen=True)
class CutoverAnalysis:
    """Everything the cutover reports: fits, crossovers, projections and the findings in words.

    Attributes:
        fits: One per (workload, backend) with enough points.
        crossovers: One per (workload, backend pair, axis) that was swept.
        findings: Plain sentences, most useful first (the crossovers' sentences, then the rest).
        warnings: What makes a number shaky, each naming the flag to change.
        projections: Predicted speedups on more nodes (only when asked for).
    """

    fits: list[CostFit] = field(default_factory=list)
    crossovers: list[Crossover] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    projections: list[Projection] = field(default_factory=list)

    def fit_for(self, workload: str, backend: str) -> CostFit | None:
        """The fit of ``backend`` on ``workload``, if there is one."""
        for fit in self.fits:
            if fit.workload == workload and fit.backend == backend:
                return fit
        return None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole analysis."""
        return {
            "fits": [fit.to_json() for fit in self.fits],
            "crossovers": [crossover.to_json() for crossover in self.crossovers],
            "findings": list(self.findings),
            "warnings": list(self.warnings),
            "projections": [projection.to_json() for projection in self.projections],
        }


@dataclass(frozen=True)
class Point:
    """One record reduced to what the fit needs: its shape, measured serial grain and samples."""

    record: Record
    shape: JobShape
    samples: tuple[float, ...]


# ---------------------------------------------------------------------------------------------
# The fit


def _features(tasks: float, grain_s: float, bytes_per_task: float) -> np.ndarray:
    return np.array([1.0, tasks, tasks * grain_s, tasks * bytes_per_task], dtype=float)


def _coefficients(fit: CostFit) -> np.ndarray:
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
        [_features(p.shape.tasks, p.shape.grain_s, p.shape.bytes_per_task) for p in points]
    )


def _refits(points: Sequence[Point], rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """Cost vectors (S, o, 1/P, 1/B) refitted on ``count`` resamplings of each point's samples."""
    matrix = _design(points)
    columns = _identifiable(matrix)
    # One draw per point for all refits at once: row r of ``medians`` is refit r's times.
    medians = np.column_stack(
        [np.median(rng.choice(p.samples, (count, len(p.samples))), axis=1) for p in points]
    )
    return [_solve(matrix, times, columns) for times in medians]


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


def collect_points(results: Results) -> dict[tuple[str, str], list[Point]]:
    """Usable records grouped by (workload, backend), each with its serially measured grain.

    The grain of a shape is what one task took in the serial run at that size (the calibration
    aims at the asked grain but cannot always hit it, e.g. when one pass over a large array
    already takes longer); without a serial record the asked grain is used.
    """
    serial_grain: dict[tuple[str, int, float, int], float] = {}
    for record in results.records:
        if record.backend == BASELINE and record.verified and record.task_s:
            serial_grain[record.size_key()] = median(record.task_s) / record.tasks
    grouped: dict[tuple[str, str], list[Point]] = {}
    for record in results.records:
        if record.error is not None or not record.verified or not record.wall_s:
            continue
        grain = serial_grain.get(record.size_key(), record.grain_s)
        shape = JobShape(record.tasks, grain, record.bytes_per_task)
        point = Point(record, shape, tuple(record.wall_s))
        grouped.setdefault((record.workload, record.backend), []).append(point)
    return grouped


# ---------------------------------------------------------------------------------------------
# Crossovers


@dataclass(frozen=True)
class Series:
    """The records of one workload lying on a line along ``axis`` (the other axes fixed).

    Attributes:
        at: Where the line lies, with the serially measured grain (what the fits predict with).
        line: The same, as asked for (before calibration): what to run to add a point to it.
        low: The smallest value on ``axis`` measured on the line (measured grain for grains).
        high: The largest.
    """

    axis: Axis
    at: JobShape
    line: JobShape
    low: float
    high: float


def _requested(record: Record, axis: Axis) -> float:
    """The record's asked-for value on ``axis`` (lines are found on these, not measured grains)."""
    return float(getattr(record, axis))


def shape_to_ask(results: Results, crossover: Crossover, value: float) -> JobShape:
    """The shape to run to measure ``crossover``'s series at ``value`` on its axis.

    Grains on a series are *measured* serial grains, but a job is run by the grain it *asks*
    for; the two differ where calibration cannot hit the grain, most on the uncalibrated ``io``
    workload (its grain is a latency; each task adds connection costs on top). The asked grain
    is interpolated (log-log) from the serial records on the series' line; beyond them the
    nearest record's ratio is kept. Without serial records, the value is asked as is.
    """
    shape = crossover.line.along(crossover.axis, value)
    if crossover.axis != "grain_s":
        return shape
    pairs = sorted(
        (median(record.task_s) / record.tasks, record.grain_s)
        for record in results.records
        if record.backend == BASELINE
        and record.workload == crossover.workload
        and record.verified
        and record.task_s
        and record.tasks == crossover.line.tasks
        and record.bytes_per_task == crossover.line.bytes_per_task
    )
    if not pairs:
        return shape
    measured, asked = (np.log(np.array(column)) for column in zip(*pairs, strict=True))
    at = math.log(value)
    # np.interp holds the end values beyond the ends; the ratio is held there instead.
    if at <= measured[0]:
        grain = value * math.exp(asked[0] - measured[0])
    elif at >= measured[-1]:
        grain = value * math.exp(asked[-1] - measured[-1])
    else:
        grain = math.exp(float(np.interp(at, measured, asked)))
    return shape.along("grain_s", grain)


def find_series(points: Iterable[Point]) -> list[Series]:
    """For each axis, the line through the points with the most distinct values on it (≥ 2)."""
    points = list(points)
    found = []
    for axis in AXES:
        lines: dict[tuple[float, ...], list[Point]] = {}
        for point in points:
            others = tuple(_requested(point.record, a) for a in AXES if a != axis)
            lines.setdefault(others, []).append(point)
        line = max(
            lines.values(),
            key=lambda members: (len({_requested(p.record, axis) for p in members}), len(members)),
            default=[],
        )
        values = [p.shape.value(axis) for p in line]
        if len({_requested(p.record, axis) for p in line}) < 2:
            continue
        first = line[0]
        grain = float(np.median([p.shape.grain_s for p in line]))
        at = JobShape(first.shape.tasks, grain, first.shape.bytes_per_task)
        asked = JobShape(first.record.tasks, first.record.grain_s, first.record.bytes_per_task)
        found.append(Series(axis, at, asked, min(values), max(values)))
    return found


def _axis_features(series: Series) -> tuple[np.ndarray, np.ndarray]:
    """Features along the series' axis as ``base + x·step``: every axis enters T linearly."""
    n, g, b = series.at.tasks, series.at.grain_s, series.at.bytes_per_task
    if series.axis == "grain_s":
        return np.array([1.0, n, 0.0, n * b]), np.array([0.0, 0.0, n, 0.0])
    if series.axis == "tasks":
        return np.array([1.0, 0.0, 0.0, 0.0]), np.array([0.0, 1.0, g, b])
    return np.array([1.0, n, n * g, 0.0]), np.array([0.0, 0.0, 0.0, n])


def _meeting_point(first: np.ndarray, second: np.ndarray, series: Series) -> float | None:
    """Where two cost vectors (S, o, 1/P, 1/B) predict equal times along the series' axis.

    ``None`` when the lines are parallel.
    """
    base, step = _axis_features(series)
    difference = first - second
    slope = float(difference @ step)
    if slope == 0:
        return None
    return -float(difference @ base) / slope


def crossover(
    first: CostFit,
    second: CostFit,
    series: Series,
    resampled: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    *,
    measured: tuple[Sequence[Point], Sequence[Point]],
) -> Crossover:
    """The crossover of two fits along a series, with its interval from bootstrap refits.

    ``resampled`` pairs the two backends' cost vectors refitted on resampled samples;
    ``measured`` holds the two backends' points (any shapes: those on the series are used), which
    must show the crossover for it to be reported (``Evidence``).
    """
    value = _meeting_point(_coefficients(first), _coefficients(second), series)
    low_shape = series.at.along(series.axis, series.low)
    high_shape = series.at.along(series.axis, series.high)
    below = _faster(first, second, low_shape)
    above = _faster(first, second, high_shape)
    # A crossover counts when it lies in the measured range, in most refits too, and each
    # backend wins clearly at its end: lines that cross while running level are a tie.
    inside = (
        value is not None
        and series.low <= value <= series.high
        and _margin(first, second, low_shape) >= PRACTICAL_MARGIN
        and _margin(first, second, high_shape) >= PRACTICAL_MARGIN
    )
    interval = None
    share = 0.0
    if resampled:
        values = [_meeting_point(a, b, series) for a, b in resampled]
        within = [v for v in values if v is not None and series.low <= v <= series.high]
        share = len(within) / len(values)
        inside = inside and share >= 0.5
        if inside:
            # A refit whose lines meet outside the range (or never: parallel) puts the crossover
            # beyond that end: clipped there, an interval end at the range's end reads "or less"
            # / "or more" instead of a number the data never reached (or a negative grain).
            clipped = [
                min(max(v, series.low), series.high) if v is not None else series.high
                for v in values
            ]
            tail = (1.0 - CONFIDENCE) / 2.0
            ends = np.quantile(np.array(clipped), [tail, 1.0 - tail])
            interval = Interval(float(ends[0]), float(ends[1]), CONFIDENCE)
    model_value = value if inside else None
    evidence_below = evidence_above = None
    model_outside = False
    if inside and value is not None:
        wins = _clear_wins(series, *measured)
        evidence_below = max(
            (e for e in wins if e.faster == below.backend), key=lambda e: e.value, default=None
        )
        evidence_above = min(
            (e for e in wins if e.faster == above.backend), key=lambda e: e.value, default=None
        )
        if (
            evidence_below is not None
            and evidence_above is not None
            and evidence_below.value < evidence_above.value
        ):
            # The measurements bound where the winner changes: the model's estimate and its
            # interval are kept between the two shapes that show it.
            low, high = evidence_below.value, evidence_above.value
            model_outside = not low < value < high
            value = min(max(value, low), high)
            if interval is not None:
                interval = replace(
                    interval,
                    low=min(max(interval.low, low), high),
                    high=min(max(interval.high, low), high),
                )
        else:
            inside = False
    if not inside:
        value = None
        interval = None
        if model_value is None:
            above = below
    winner_below = below.backend
    winner_above = above.backend
    loser_below = second if below is first else first
    reason = _reason(below, loser_below, series.axis, series.at)
    rough = any(
        fit.holdout_error is not None and fit.holdout_error > POOR_FIT_ERROR
        for fit in (first, second)
    )
    result = Crossover(
        workload=first.workload,
        backends=(first.backend, second.backend),
        winner_below=winner_below,
        winner_above=winner_above,
        axis=series.axis,
        value=value,
        interval=interval,
        searched=(series.low, series.high),
        at=series.at,
        line=series.line,
        reason=reason,
        sentence="",
        reached_share=share,
        model_value=model_value,
        evidence_below=evidence_below,
        evidence_above=evidence_above,
        rough=rough,
        model_outside=model_outside,
    )
    return replace(result, sentence=describe(result, below, loser_below))


def _on_series(series: Series, points: Sequence[Point]) -> dict[float, list[Point]]:
    """``points`` lying on the series' line, grouped by their asked value on its axis."""
    grouped: dict[float, list[Point]] = {}
    for point in points:
        if all(
            _requested(point.record, axis) == series.line.value(axis)
            for axis in AXES
            if axis != series.axis
        ):
            grouped.setdefault(_requested(point.record, series.axis), []).append(point)
    return grouped


def _clear_wins(series: Series, first: Sequence[Point], second: Sequence[Point]) -> list[Evidence]:
    """Every shape on the series both backends measured where one was clearly faster."""
    mine, theirs = _on_series(series, first), _on_series(series, second)
    wins = []
    for asked in sorted(mine.keys() & theirs.keys()):
        a = [t for p in mine[asked] for t in p.samples]
        b = [t for p in theirs[asked] for t in p.samples]
        fast, slow = (a, b) if median(a) <= median(b) else (b, a)
        if median_interval(fast).high >= median_interval(slow).low:
            continue  # the two medians' intervals overlap: no clear winner here
        group = mine[asked] if fast is a else theirs[asked]
        other = theirs[asked] if fast is a else mine[asked]
        wins.append(
            Evidence(
                value=float(np.median([p.shape.value(series.axis) for p in group + other])),
                faster=group[0].record.backend,
                faster_s=median(fast),
                slower_s=median(slow),
            )
        )
    return wins


def _margin(first: CostFit, second: CostFit, shape: JobShape) -> float:
    """How much faster the faster of the two is at ``shape``, as a share of the slower's time."""
    args = (shape.tasks, shape.grain_s, shape.bytes_per_task)
    times = sorted((first.predict(*args), second.predict(*args)))
    return 1.0 - times[0] / times[1] if times[1] > 0 else 0.0


def _faster(first: CostFit, second: CostFit, shape: JobShape) -> CostFit:
    args = (shape.tasks, shape.grain_s, shape.bytes_per_task)
    return first if first.predict(*args) <= second.predict(*args) else second


def _reason(light: CostFit, heavy: CostFit, axis: Axis, at: JobShape) -> Reason:
    """The cost that makes ``light`` (faster at the small end of ``axis``) beat ``heavy`` there."""
    if axis == "bytes_per_task":
        # Along bytes the per-byte cost decides: the one paying more of it loses above.
        return "bandwidth" if light.remote or heavy.remote else "pickling"
    gil_bound = (
        light.shares_memory
        and light.workers > 1
        and light.effective_parallelism < GIL_BOUND_PARALLELISM
    )
    if gil_bound and axis == "grain_s":
        return "GIL"
    # Otherwise the largest of heavy's extra fixed costs at this shape is what work must repay.
    extra: dict[Reason, float] = {
        "start-up": heavy.startup_s - light.startup_s,
        "dispatch overhead": at.tasks * (heavy.per_task_overhead_s - light.per_task_overhead_s),
        ("bandwidth" if heavy.remote else "pickling"): at.tasks
        * at.bytes_per_task
        * (_per_byte(heavy) - _per_byte(light)),
    }
    reason, cost = max(extra.items(), key=lambda item: item[1])
    if cost <= 0:
        return "GIL" if gil_bound else "parallelism"
    return reason


def _per_byte(fit: CostFit) -> float:
    return 1.0 / fit.bandwidth_bytes_per_s if fit.bandwidth_bytes_per_s else 0.0


def format_axis(axis: Axis, value: float) -> str:
    """A value on ``axis`` for a sentence (``1.2 ms``, ``40 tasks``, ``1.0 MiB``)."""
    if axis == "grain_s":
        return format_seconds(value)
    if axis == "tasks":
        return f"{value:.0f} tasks"
    return format_bytes(round(value))


def format_interval(crossover: Crossover) -> str:
    """The crossover's interval; an end clipped at the searched range reads as open there."""
    interval = crossover.interval
    if interval is None:
        return "-"
    low, high = crossover.searched
    axis = crossover.axis
    start = (
        f"≤ {format_axis(axis, low)}" if interval.low <= low else format_axis(axis, interval.low)
    )
    end = (
        f"≥ {format_axis(axis, high)}"
        if interval.high >= high
        else format_axis(axis, interval.high)
    )
    return f"{start} – {end}"


def format_location(crossover: Crossover) -> str:
    """Where a reached crossover lies: the estimate and its interval, or the measured bracket."""
    below, above = crossover.evidence_below, crossover.evidence_above
    if crossover.bracketed_only and below is not None and above is not None:
        ends = (format_axis(crossover.axis, e.value) for e in (below, above))
        why = "model rough" if crossover.rough else "model outside"
        return "between {} and {} (measured; {})".format(*ends, why)
    text = format_axis(crossover.axis, crossover.value or 0.0)
    return text if crossover.interval is None else f"{text} ({format_interval(crossover)})"


def describe(crossover: Crossover, light: CostFit, heavy: CostFit) -> str:
    """The crossover in one plain sentence, with its reason and the measurements that show it."""
    axis = crossover.axis
    at = _held_at(crossover)
    low, high = (format_axis(axis, v) for v in crossover.searched)
    if crossover.unshown and crossover.model_value is not None:
        return (
            f"{crossover.workload}: the cost model has {crossover.winner_above} overtake "
            f"{crossover.winner_below} at {format_axis(axis, crossover.model_value)} ({at}), but "
            f"this is not shown by the measurements between {low} and {high}: "
            f"{_missing_evidence(crossover)}; raise --repeats or --budget."
        )
    if crossover.value is None:
        if (
            _margin(light, heavy, crossover.at.along(axis, crossover.searched[1]))
            < PRACTICAL_MARGIN
        ):
            return (
                f"{crossover.workload}: {light.backend} beats {heavy.backend} at {low} "
                f"({at}), and by {high} the two run level (within {PRACTICAL_MARGIN:.0%}): "
                f"no crossover; {_why(crossover.reason, light, heavy)}."
            )
        return (
            f"{crossover.workload}: {crossover.winner_below} beats {heavy.backend} all the way "
            f"from {low} to {high} ({at}), no crossover there: "
            f"{_why(crossover.reason, light, heavy)}."
        )
    shown = _evidence_words(crossover)
    below, above = crossover.evidence_below, crossover.evidence_above
    if crossover.bracketed_only and below is not None and above is not None:
        # A number from the model would be precise-looking noise where it misses its own
        # held-out points badly, or wrong where it falls on a shape measured the other way
        # round; the two measured shapes are what is known.
        if crossover.rough:
            error = max(fit.holdout_error or 0.0 for fit in (light, heavy))
            model = f"the cost model is rough here (held-out error {error:.0%})"
        else:
            model = (
                f"the cost model puts it at {format_axis(axis, crossover.model_value or 0.0)}, "
                "where the measurements show the other order"
            )
        return (
            f"{crossover.workload}: {crossover.winner_above} overtakes {crossover.winner_below} "
            f"somewhere between {format_axis(axis, below.value)} and "
            f"{format_axis(axis, above.value)} ({at}), as measured: {shown}; {model}, so it "
            f"gives no closer estimate; below that {crossover.winner_below} wins because "
            f"{_why(crossover.reason, light, heavy)}."
        )
    where = format_axis(axis, crossover.value)
    if crossover.interval is not None:
        where += f" (95 % interval {format_interval(crossover)})"
    lead = {"grain_s": f"from a grain of {where}", "tasks": f"from {where}"}.get(
        axis, f"from {where} per task"
    )
    return (
        f"{crossover.workload}: {crossover.winner_above} beats {crossover.winner_below} {lead} "
        f"({at}); below that {crossover.winner_below} wins because "
        f"{_why(crossover.reason, light, heavy)}. Measured: {shown}."
    )


def _evidence_words(crossover: Crossover) -> str:
    """The two evidence points in words: who was clearly faster where, by how much."""
    parts = []
    for item in (crossover.evidence_below, crossover.evidence_above):
        if item is not None:
            parts.append(
                f"{item.faster} clearly faster at {format_axis(crossover.axis, item.value)} "
                f"({format_seconds(item.faster_s)} vs {format_seconds(item.slower_s)})"
            )
    return ", ".join(parts)


def _missing_evidence(crossover: Crossover) -> str:
    """Why the measurements do not show a crossover the model puts in the range."""
    below, above = crossover.evidence_below, crossover.evidence_above
    clearly = "clearly faster (the two medians' intervals apart)"
    if below is None and above is None:
        return f"at no measured shape is either {clearly}"
    if below is None:
        return f"at no measured shape is {crossover.winner_below} {clearly}"
    if above is None:
        return f"at no measured shape is {crossover.winner_above} {clearly}"
    return (
        f"the measurements disagree with one crossing ({_evidence_words(crossover)}, "
        "in the wrong order)"
    )


def _held_at(crossover: Crossover) -> str:
    parts = []
    for axis in AXES:
        if axis != crossover.axis and not (
            axis == "bytes_per_task" and not crossover.at.bytes_per_task
        ):
            parts.append(format_axis(axis, crossover.at.value(axis)))
    return "at " + ", ".join(parts)


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _why(reason: Reason, light: CostFit, heavy: CostFit) -> str:
    if reason == "GIL":
        return (
            f"{heavy.backend} pays {format_seconds(heavy.per_task_overhead_s)} per task to "
            f"dispatch, while the GIL only caps {light.backend} at "
            f"{light.effective_parallelism:.1f}x of its {light.workers} workers"
        )
    if reason == "start-up":
        return f"{heavy.backend} needs {format_seconds(heavy.startup_s)} to start each job"
    if reason in ("pickling", "bandwidth"):
        verb = "pickles" if reason == "pickling" else "moves"
        rate = heavy.bandwidth_bytes_per_s
        speed = f" at {format_bytes(round(rate))}/s" if rate else ""
        return f"{heavy.backend} {verb} every task's data{speed} ({reason})"
    if reason == "dispatch overhead":
        return (
            f"{_possessive(heavy.backend)} dispatch overhead of "
            f"{format_seconds(heavy.per_task_overhead_s)} "
            "per task outweighs the work it runs in parallel"
        )
    return f"{light.backend} runs {light.effective_parallelism:.1f} tasks' work at once"


# ---------------------------------------------------------------------------------------------
# Projections


def project(
    fit: CostFit,
    baseline: CostFit,
    shape: JobShape,
    nodes: Sequence[int],
    measured_nodes: int = 1,
) -> list[Projection]:
    """PROJECTED speedups of ``fit`` on more nodes at ``shape`` (see ``Projection``)."""
    serial_s = baseline.predict(shape.tasks, shape.grain_s, shape.bytes_per_task)
    # What no number of workers shortens: start-up, dispatch from the one driver, moving bytes.
    fixed_s = fit.predict(shape.tasks, 0.0, shape.bytes_per_task)
    fraction = fixed_s / (fixed_s + serial_s) if fixed_s + serial_s > 0 else None
    projections = []
    for count in nodes:
        scale = count / measured_nodes
        workers = max(1, round(fit.workers * scale))
        # More nodes multiply the useful parallelism (never beyond one task per slot).
        scaled = replace(
            fit, effective_parallelism=min(fit.effective_parallelism * scale, float(shape.tasks))
        )
        predicted = scaled.predict(shape.tasks, shape.grain_s, shape.bytes_per_task)
        projections.append(
            Projection(
                workload=fit.workload,
                backend=fit.backend,
                nodes=count,
                measured_nodes=measured_nodes,
                workers=workers,
                shape=shape,
                predicted_s=predicted,
                predicted_speedup=serial_s / predicted,
                amdahl_bound=serial_s / (fixed_s + serial_s / min(workers, shape.tasks)),
                serial_fraction=fraction,
            )
        )
    return projections


def node_count(topology: dict[str, Any]) -> int:
    """Machines a backend's workers ran on, from its topology in the results file.

    Ray reports its nodes; a remote Dask cluster's version check lists each worker, whose hosts
    are counted; anything else ran on this one machine.
    """
    if isinstance(topology.get("nodes"), int) and topology["nodes"] > 0:
        return int(topology["nodes"])
    listed = (topology.get("versions") or {}).get("nodes") or []
    hosts = {
        str(node.get("node", "")).split("://")[-1].rsplit(":", 1)[0]
        for node in listed
        if str(node.get("node", "")).startswith("worker ")
    }
    return max(1, len(hosts))


# ---------------------------------------------------------------------------------------------
# The entry point


def fit_all(results: Results) -> dict[tuple[str, str], CostFit]:
    """The cost fit of every (workload, backend) in ``results``, keyed by that pair."""
    topologies = {run.backend: run.topology for run in results.backends}
    return {
        key: fit_costs(points, topologies.get(key[1]))
        for key, points in collect_points(results).items()
    }


@dataclass(frozen=True)
class Prediction:
    """A backend's predicted time for a job shape the user describes, from its saved fit.

    Attributes:
        speedup: Serial's predicted time over this one (``None`` without a serial fit).
        extrapolated: Axes on which the shape lies outside what the fit measured.
    """

    workload: str
    backend: str
    shape: JobShape
    predicted_s: float
    speedup: float | None
    extrapolated: tuple[Axis, ...]
    holdout_error: float | None


def advise(results: Results, shape: JobShape) -> dict[str, list[Prediction]]:
    """Per workload, every fitted backend ranked by predicted time for ``shape``, fastest first."""
    ranked: dict[str, list[Prediction]] = {}
    fits = fit_all(results)
    for (workload, backend), fit in fits.items():
        predicted = fit.predict(shape.tasks, shape.grain_s, shape.bytes_per_task)
        baseline = fits.get((workload, BASELINE))
        serial_s = (
            baseline.predict(shape.tasks, shape.grain_s, shape.bytes_per_task) if baseline else None
        )
        ranked.setdefault(workload, []).append(
            Prediction(
                workload=workload,
                backend=backend,
                shape=shape,
                predicted_s=predicted,
                speedup=serial_s / predicted if serial_s and predicted > 0 else None,
                extrapolated=tuple(fit.outside(shape)),
                holdout_error=fit.holdout_error,
            )
        )
    return {w: sorted(items, key=lambda p: p.predicted_s) for w, items in ranked.items()}


def analyse(
    results: Results,
    project_nodes: Sequence[int] = (),
    resamples: int = CROSSOVER_RESAMPLES,
    seed: int = 0,
) -> CutoverAnalysis:
    """Fit every (workload, backend), find every crossover, and say what it means.

    Computed from the records alone, so a saved file regenerates the same analysis (the bootstrap
    seed is fixed). ``project_nodes`` adds projections for backends that can use more nodes.
    """
    topologies = {run.backend: run.topology for run in results.backends}
    grouped = collect_points(results)
    fits = fit_all(results)
    rng = np.random.default_rng(seed)
    resampled = {key: _refits(points, rng, resamples) for key, points in grouped.items()}
    analysis_crossovers: list[Crossover] = []
    workloads = list(dict.fromkeys(workload for workload, _ in grouped))
    for workload in workloads:
        backends = [b for w, b in grouped if w == workload]
        every_point = [p for b in backends for p in grouped[(workload, b)]]
        for series in find_series(every_point):
            for first, second in combinations(backends, 2):
                pair = list(
                    zip(resampled[(workload, first)], resampled[(workload, second)], strict=True)
                )
                measured = (grouped[(workload, first)], grouped[(workload, second)])
                analysis_crossovers.append(
                    crossover(
                        fits[(workload, first)],
                        fits[(workload, second)],
                        series,
                        pair,
                        measured=measured,
                    )
                )
    warnings = _warnings(list(fits.values()), analysis_crossovers, results)
    projections: list[Projection] = []
    for (workload, backend), fit in fits.items():
        baseline = fits.get((workload, BASELINE))
        if not project_nodes or baseline is None or fit.shares_memory:
            continue
        shape = max(
            (p.shape for p in grouped[(workload, backend)]), key=lambda s: s.tasks * s.grain_s
        )
        nodes = node_count(topologies.get(backend, {}))
        projections.extend(project(fit, baseline, shape, project_nodes, nodes))
    findings = [c.sentence for c in analysis_crossovers if c.reached]
    findings += [c.sentence for c in analysis_crossovers if not c.reached]
    return CutoverAnalysis(
        fits=list(fits.values()),
        crossovers=analysis_crossovers,
        findings=findings,
        warnings=warnings,
        projections=projections,
    )


def _task_time_ratio(results: Results, workload: str, backend: str) -> tuple[float, int] | None:
    """Median over shapes of the backend's task time over serial's, and how many shapes."""
    serial = {
        r.size_key(): median(r.task_s)
        for r in results.records
        if r.backend == BASELINE and r.workload == workload and r.verified and r.task_s
    }
    ratios = [
        median(r.task_s) / serial[r.size_key()]
        for r in results.records
        if r.backend == backend
        and r.workload == workload
        and r.verified
        and r.task_s
        and serial.get(r.size_key(), 0.0) > 0
    ]
    return (median(ratios), len(ratios)) if ratios else None


def _parallelism_warning(fit: CostFit, results: Results) -> str | None:
    """Why a fit's P_eff exceeds its workers, when it does (no job runs on more slots)."""
    if not math.isfinite(fit.effective_parallelism) or fit.workers < 1:
        return None
    if fit.effective_parallelism <= fit.workers * (1.0 + PRACTICAL_MARGIN):
        return None
    lead = (
        f"{fit.workload} on {fit.backend}: P_eff {fit.effective_parallelism:.2f} exceeds its "
        f"{fit.workers} workers"
    )
    ratio = _task_time_ratio(results, fit.workload, fit.backend)
    if ratio is not None and ratio[0] < 1.0 - PRACTICAL_MARGIN:
        return (
            f"{lead}: its tasks ran {1.0 - ratio[0]:.0%} faster there than in the serial run "
            f"(median over {ratio[1]} shapes), so that much of its speedup is the difference "
            "between the driver and the workers, not parallelism"
        )
    return f"{lead}: the linear model is stretched here; read P_eff as a fitted value"


def _warnings(fits: list[CostFit], crossovers: list[Crossover], results: Results) -> list[str]:
    warnings = []
    for fit in fits:
        if fit.holdout_error is not None and fit.holdout_error > POOR_FIT_ERROR:
            warnings.append(
                f"{fit.workload} on {fit.backend}: the cost model misses held-out points by "
                f"{fit.holdout_error:.0%} (median); its crossovers are rough: raise --budget"
            )
        parallelism = _parallelism_warning(fit, results)
        if parallelism is not None:
            warnings.append(parallelism)
    for item in crossovers:
        if item.interval is not None and item.value:
            width = (item.interval.high - item.interval.low) / item.value
            if width > WIDE_INTERVAL:
                warnings.append(
                    f"{item.workload}: the {'/'.join(item.backends)} crossover along "
                    f"{AXIS_NAMES[item.axis]} is uncertain (interval {width:.0%} of its value): "
                    "raise --repeats or --budget"
                )
    # Unstable shapes, one line per (workload, backend) rather than one per shape.
    unstable: dict[tuple[str, str], list[float]] = {}
    shapes: dict[tuple[str, str], int] = {}
    for record in results.records:
        if record.error is not None or len(record.wall_s) < 2:
            continue
        key = (record.workload, record.backend)
        shapes[key] = shapes.get(key, 0) + 1
        variation = spread(record.wall_s)
        if variation > UNSTABLE_SPREAD:
            unstable.setdefault(key, []).append(variation)
    flagged: dict[tuple[str, str], int] = {}
    for record in results.records:
        if record.error is None and outliers(record.wall_s):
            key = (record.workload, record.backend)
            flagged[key] = flagged.get(key, 0) + len(outliers(record.wall_s))
    for (workload, backend), count in flagged.items():
        warnings.append(
            f"{workload} on {backend}: {count} outlier run(s) (far from the others: another "
            "program likely interfered); medians resist them, but raise --repeats to be sure"
        )
    for (workload, backend), variations in unstable.items():
        warnings.append(
            f"{workload} on {backend}: {len(variations)} of {shapes[(workload, backend)]} shapes "
            f"vary by more than {UNSTABLE_SPREAD:.0%} between runs (up to {max(variations):.0%}): "
            "raise --repeats, or measure when the machine is quiet"
        )
    return warnings
