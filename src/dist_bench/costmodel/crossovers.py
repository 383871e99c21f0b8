"""Crossovers: where, along one series, two backends' fitted times meet and the measurements agree.

Two backends' predicted times differ by a linear function along any one axis (grain, tasks or
bytes), so they cross at most once there: the crossover. Its interval comes from a bootstrap that
resamples each record's raw samples and refits. The model alone never makes a crossover reported:
the measured records on the series must show it too (one measured shape on each side where that
side's winner is clearly faster, see ``Evidence``), and the crossover is placed between those two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Literal

import numpy as np

from dist_bench.costmodel.fit import POOR_FIT_ERROR, CostFit, cost_vector
from dist_bench.costmodel.series import Series, on_series
from dist_bench.costmodel.shapes import Axis, JobShape, Point
from dist_bench.stats import Interval, median, median_interval

#: Why one backend overtakes another: the cost that decides it.
Reason = Literal["GIL", "pickling", "dispatch overhead", "bandwidth", "start-up", "parallelism"]

#: Confidence of every crossover interval.
CONFIDENCE = 0.95
#: Threads with a useful parallelism below this, though they had more workers, were held by the GIL.
GIL_BOUND_PARALLELISM = 1.5
#: Two backends within this share of each other's time at an end of the range run level there.
#: Source: a judgement when ties were introduced (commit c7a5030), not tuned by a benchmark: 5 %
#: is about the medians' own spread on a quiet machine (stats.UNSTABLE_SPREAD flags 10 %).
PRACTICAL_MARGIN = 0.05
#: Share of bootstrap refits that must put the crossover inside the searched range for it to
#: count. Source: a majority, chosen with PRACTICAL_MARGIN (commit c7a5030), not tuned.
MOST_REFITS = 0.5


class CrossoverKind(Enum):
    """What the analysis concluded about one pair along one axis."""

    #: Reached, shown by the measurements, located by the model (with an interval).
    REACHED = "reached"
    #: Reached and shown, but located only between the two evidence shapes: the model is
    #: rough there, or meets where the measurements show the other order.
    BRACKETED = "bracketed"
    #: The model puts a crossover in the range; the measurements do not show it.
    UNSHOWN = "unshown"
    #: No crossover: one wins at the small end and the two run level at the large end.
    LEVEL = "level"
    #: No crossover: one backend wins all the way.
    NOT_REACHED = "not reached"


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
        level_above: The two fits run within ``PRACTICAL_MARGIN`` of each other at the top of
            ``searched`` (a tie there, not a win).
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
    reached_share: float = 0.0
    model_value: float | None = None
    evidence_below: Evidence | None = None
    evidence_above: Evidence | None = None
    rough: bool = False
    model_outside: bool = False
    level_above: bool = False

    @property
    def kind(self) -> CrossoverKind:
        """What was concluded: reached (located or bracketed), unshown, level or not reached."""
        if self.unshown:
            return CrossoverKind.UNSHOWN
        if self.value is None:
            return CrossoverKind.LEVEL if self.level_above else CrossoverKind.NOT_REACHED
        return CrossoverKind.BRACKETED if self.bracketed_only else CrossoverKind.REACHED

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
            "level_above": self.level_above,
            "kind": self.kind.value,
        }


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
    value = _meeting_point(cost_vector(first), cost_vector(second), series)
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
        inside = inside and share >= MOST_REFITS
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
    return Crossover(
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
        reached_share=share,
        model_value=model_value,
        evidence_below=evidence_below,
        evidence_above=evidence_above,
        rough=rough,
        model_outside=model_outside,
        level_above=_margin(below, loser_below, high_shape) < PRACTICAL_MARGIN,
    )


def _clear_wins(series: Series, first: Sequence[Point], second: Sequence[Point]) -> list[Evidence]:
    """Every shape on the series both backends measured where one was clearly faster."""
    mine, theirs = on_series(series, first), on_series(series, second)
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
