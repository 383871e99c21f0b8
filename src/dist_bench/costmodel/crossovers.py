"""Crossovers: where, along one series, two backends' fitted times meet and the measurements agree.

Two backends' predicted times differ by a linear function along any one axis (grain, tasks or
bytes), so they cross at most once there: the crossover. Its interval comes from a bootstrap that
resamples the run's rounds and each record's samples and refits (``costmodel.resampling``). The
model alone never makes a crossover reported: the measured records on the series must show it too,
decisively (one measured shape on each side where that side's winner is faster clearly and by more
than the run-to-run drift, ``dist_bench.decisive``), and the crossover is placed between those two.
Where the lines cross but the measurements around the crossing differ by no more than the drift
(two nearly parallel lines), the two are *about equal* over that stretch: no point is reported.
Where the lines do not cross, "one backend wins throughout" is a claim about the measurements
too: it stands only where that backend's median was the lower at every shape both measured
(ties within the floor aside), over the range both measured; otherwise the pair is *unsettled*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from dist_bench.costmodel.evidence import Evidence, bracket, contrasts, in_order
from dist_bench.costmodel.fit import POOR_FIT_ERROR, CostFit, cost_vector
from dist_bench.costmodel.reasons import Reason, decisive_cost
from dist_bench.costmodel.series import Series
from dist_bench.costmodel.shapes import Axis, JobShape, Point
from dist_bench.decisive import NO_DRIFTS, PRACTICAL_MARGIN, Difference, Drifts
from dist_bench.stats import Interval

#: Confidence of every crossover interval.
CONFIDENCE = 0.95
#: Share of bootstrap refits that must put the crossover inside the searched range for it to
#: count. Source: a majority, chosen with PRACTICAL_MARGIN (commit c7a5030), not tuned.
MOST_REFITS = 0.5


class CrossoverKind(Enum):
    """What the analysis concluded about one pair along one axis."""

    #: Reached, shown decisively by the measurements, located by the model (with an interval).
    REACHED = "reached"
    #: Reached and shown, but located only between the two evidence shapes: the model is
    #: rough there, or meets where the measurements show the other order.
    BRACKETED = "bracketed"
    #: The lines cross in the range, but the measurements around the crossing differ by no more
    #: than the drift: about equal from one measured shape to another, no point.
    ABOUT_EQUAL = "about equal"
    #: The model puts a crossover in the range; the measurements do not show it.
    UNSHOWN = "unshown"
    #: No crossover: one wins at the small end and the two run level at the large end.
    LEVEL = "level"
    #: No crossover: one backend wins all the way.
    NOT_REACHED = "not reached"
    #: No crossover in the model, but the measurements do not show one backend faster all the
    #: way: each was the faster at some shape both measured, or they share no shape.
    UNSETTLED = "unsettled"


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
        meets_at: Where the two fitted lines meet, inside the range or beyond it (``None``:
            parallel): for a pair not reached, which side of the range its crossover lies on.
        equal_span: For ``ABOUT_EQUAL``, the measured shapes (lowest, highest on the axis) where
            the two differed by no more than the drift.
        compared: The range of the axis where both backends were measured at the same shapes
            (``None``: no such shape): what a claim about the measurements covers.
        split: Where the model does not cross, whether each backend's median was the lower at
            some shape both measured (beyond a tie): no winner throughout is shown.
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
    meets_at: float | None = None
    equal_span: tuple[float, float] | None = None
    compared: tuple[float, float] | None = None
    split: bool = False

    @property
    def kind(self) -> CrossoverKind:
        """What was concluded: reached (located or bracketed), about equal, unshown, level, not."""
        if self.equal_span is not None:
            return CrossoverKind.ABOUT_EQUAL
        if self.unshown:
            return CrossoverKind.UNSHOWN
        if self.value is None and (self.split or self.compared is None):
            return CrossoverKind.UNSETTLED
        if self.value is None:
            return CrossoverKind.LEVEL if self.level_above else CrossoverKind.NOT_REACHED
        return CrossoverKind.BRACKETED if self.bracketed_only else CrossoverKind.REACHED

    @property
    def unsettled(self) -> bool:
        """Whether no crossing is modelled and the measurements show no winner throughout."""
        return self.kind is CrossoverKind.UNSETTLED

    @property
    def shown_range(self) -> tuple[float, float]:
        """The range a claim about the measurements covers: where both were measured, if known."""
        return self.compared or self.searched

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
        return self.value is None and self.model_value is not None and self.equal_span is None

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
            "meets_at": self.meets_at,
            "equal_span": None if self.equal_span is None else list(self.equal_span),
            "compared": None if self.compared is None else list(self.compared),
            "split": self.split,
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
    drifts: Drifts | None = None,
    rounds: int = 1,
) -> Crossover:
    """The crossover of two fits along a series, with its interval from bootstrap refits.

    ``resampled`` pairs the two backends' cost vectors refitted on resampled rounds and samples;
    ``measured`` holds the two backends' points (any shapes: those on the series are used), which
    must show the crossover decisively for it to be reported (``Evidence``), judged against each
    backend's run-to-run drift in ``drifts`` (none measured: the practical margin only) and
    the ``rounds`` the run planned (``decisive.planned_rounds``).
    """
    meets_at = _meeting_point(cost_vector(first), cost_vector(second), series)
    low_shape = series.at.along(series.axis, series.low)
    high_shape = series.at.along(series.axis, series.high)
    below = _faster(first, second, low_shape)
    above = _faster(first, second, high_shape)
    crosses = model_crosses = meets_at is not None and series.low <= meets_at <= series.high
    share = 0.0
    values: list[float | None] = []
    if resampled:
        values = [_meeting_point(a, b, series) for a, b in resampled]
        within = [v for v in values if v is not None and series.low <= v <= series.high]
        share = len(within) / len(values)
    judged = contrasts(series, *measured, drifts or NO_DRIFTS, rounds)
    decisive = [(v, c) for v, c in judged if c.difference is Difference.DECISIVE]
    evidence_below, evidence_above = bracket(decisive, below.backend, above.backend)
    shown = in_order(evidence_below, evidence_above)
    if not crosses and decisive and decisive[0][1].faster != decisive[-1][1].faster:
        # The fitted lines meet outside the range, yet the measurements show the order change
        # decisively: the measurements win, and the crossover is placed between them.
        by_name = {first.backend: first, second.backend: second}
        low_fit, high_fit = by_name[decisive[0][1].faster], by_name[decisive[-1][1].faster]
        evidence_below, evidence_above = bracket(decisive, low_fit.backend, high_fit.backend)
        shown = crosses = in_order(evidence_below, evidence_above)
        if shown:
            below, above = low_fit, high_fit
    value = interval = model_value = equal_span = None
    model_outside = False
    if crosses and shown and evidence_below is not None and evidence_above is not None:
        # The measurements bound where the winner changes: the model's estimate and its
        # interval are kept between the two shapes that show it.
        low, high = evidence_below.value, evidence_above.value
        model_value = meets_at
        model_outside = meets_at is None or not low < meets_at < high
        value = min(max(meets_at if meets_at is not None else low, low), high)
        interval = _interval(values, low, high)
    elif crosses:
        equal = [v for v, c in judged if c.difference is Difference.EQUAL]
        if equal:
            # Nearly parallel lines: where they cross the measurements differ by no more than
            # the drift, so no single point is an answer; the stretch where they are equal is.
            equal_span = (min(equal), max(equal))
        elif model_crosses and share >= MOST_REFITS:
            model_value = meets_at
    split = False
    if model_value is None and equal_span is None:
        # Nothing crosses in the range: one backend wins throughout, no evidence of a change. Who
        # wins is what the measurements show where they show an order, not the model's word.
        faster = {c.faster for _, c in judged if c.difference is not Difference.EQUAL}
        if len(faster) == 1:
            below = first if first.backend in faster else second
        # Each the faster somewhere, or tied everywhere: no winner throughout is shown.
        split = bool(judged) and len(faster) != 1
        above = below
        evidence_below = evidence_above = None
    loser_below = second if below is first else first
    reason = decisive_cost(below, loser_below, series.axis, series.at)
    rough = any(
        fit.holdout_error is not None and fit.holdout_error > POOR_FIT_ERROR
        for fit in (first, second)
    )
    return Crossover(
        workload=first.workload,
        backends=(first.backend, second.backend),
        winner_below=below.backend,
        winner_above=above.backend,
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
        meets_at=meets_at,
        equal_span=equal_span,
        compared=(min(v for v, _ in judged), max(v for v, _ in judged)) if judged else None,
        split=split,
    )


def _interval(values: Sequence[float | None], low: float, high: float) -> Interval | None:
    """The bootstrap interval of the meeting point, clipped to the evidence shapes.

    A refit whose lines meet beyond an evidence shape (or never: parallel) puts the crossover at
    that shape: the measurements show the order there, so it cannot lie further out.
    """
    if not values:
        return None
    clipped = [min(max(v, low), high) if v is not None else high for v in values]
    tail = (1.0 - CONFIDENCE) / 2.0
    ends = np.quantile(np.array(clipped), [tail, 1.0 - tail])
    return Interval(float(ends[0]), float(ends[1]), CONFIDENCE)


def _margin(first: CostFit, second: CostFit, shape: JobShape) -> float:
    """How much faster the faster of the two is at ``shape``, as a share of the slower's time."""
    args = (shape.tasks, shape.grain_s, shape.bytes_per_task)
    times = sorted((first.predict(*args), second.predict(*args)))
    return 1.0 - times[0] / times[1] if times[1] > 0 else 0.0


def _faster(first: CostFit, second: CostFit, shape: JobShape) -> CostFit:
    args = (shape.tasks, shape.grain_s, shape.bytes_per_task)
    return first if first.predict(*args) <= second.predict(*args) else second
