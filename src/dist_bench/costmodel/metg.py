"""METG(50 %): the smallest grain at which a backend does at least half the work it could.

Task Bench's *minimum effective task granularity* (Slaughter et al., SC'20): along a series of
ever larger tasks, a backend's efficiency is the serial work over what it spent,

    efficiency = serial wall / (wall × parallel slots),

the same figure as each record's ``effic.`` (``analysis.parallel_slots``: workers, no more than
there are dispatches). METG(50 %) is, as Task Bench defines it, the smallest grain at which that
efficiency reaches 50 %: interpolated between the first measured grain at or over 50 % and the
one before it, under, with 1/efficiency linear in 1/grain (the form the cost model gives it).
(Task Bench states it as the time a task takes, wall × cores / tasks, which at exactly 50 % is
twice the work per task; here it is the work per task, what ``--grain`` asks for.)

Its interval is a bootstrap: with records of several rounds (``run --rounds``, results schema 2)
whole rounds are drawn with replacement, and each draw moves the efficiencies by a session speed
drawn from the drift the rounds measured (serial's and the backend's on the workload), so the
interval holds where a fresh run's METG would fall; otherwise each record's samples are drawn.
A METG outside the measured grains is not a number: ``MetgKind.BELOW_RANGE`` (at or over 50 %
from the smallest grain measured) and ``MetgKind.NOT_REACHED`` (under 50 % up to the largest) say
so, and an interval end the resamples put beyond the measured grains is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from dist_bench.analysis import parallel_slots
from dist_bench.backends.base import BASELINE
from dist_bench.costmodel.fit import chunk_plan, usual_plan
from dist_bench.costmodel.resampling import session_speeds
from dist_bench.costmodel.series import Series, on_series
from dist_bench.costmodel.shapes import Point
from dist_bench.decisive import NO_DRIFT, NO_DRIFTS, Drift, Drifts

#: The efficiency METG is taken at: Task Bench's METG(50 %).
METG_EFFICIENCY = 0.5
#: Bootstrap resamples of a METG: enough for two-digit interval ends (each is a few medians).
METG_RESAMPLES = 400
#: Confidence of the METG interval.
METG_CONFIDENCE = 0.95


class MetgKind(Enum):
    """Where METG(50 %) lies against the grains measured."""

    #: Between two measured grains: a number, interpolated.
    REACHED = "reached"
    #: At or over 50 % already at the smallest grain measured: METG is below the range.
    BELOW_RANGE = "below range"
    #: Under 50 % up to the largest grain measured: not reached in the measured range.
    NOT_REACHED = "not reached"


@dataclass(frozen=True)
class EfficiencyPoint:
    """One measured grain of the series: the backend's efficiency there (medians of all rounds)."""

    grain_s: float
    efficiency: float


@dataclass(frozen=True)
class Metg:
    """One backend's METG(50 %) on one workload, along the workload's grain series.

    Attributes:
        grain_s: The METG, serial seconds of work per task; ``None`` unless ``REACHED``.
        interval: Bootstrap interval ends; an end is ``None`` where the resamples put the METG
            beyond the measured grains on that side (below the smallest, or not reached).
        points: Efficiency at each measured grain, smallest grain first.
        tasks: Tasks per job along the series (the other axes held there).
        bytes_per_task: Bytes per task along the series.
        resampled: ``"rounds"`` when whole rounds were resampled, else ``"samples"``.
        rounds: Rounds the records came from.
    """

    workload: str
    backend: str
    kind: MetgKind
    grain_s: float | None
    interval: tuple[float | None, float | None]
    points: tuple[EfficiencyPoint, ...]
    tasks: int
    bytes_per_task: int
    resampled: str
    rounds: int

    @property
    def searched(self) -> tuple[float, float]:
        """The smallest and largest grain measured."""
        return self.points[0].grain_s, self.points[-1].grain_s

    @property
    def best(self) -> EfficiencyPoint:
        """The measured grain with the highest efficiency."""
        return max(self.points, key=lambda p: p.efficiency)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "workload": self.workload,
            "backend": self.backend,
            "kind": self.kind.value,
            "grain_s": self.grain_s,
            "interval": list(self.interval),
            "efficiency_at": METG_EFFICIENCY,
            "points": [vars(point) for point in self.points],
            "tasks": self.tasks,
            "bytes_per_task": self.bytes_per_task,
            "resampled": self.resampled,
            "rounds": self.rounds,
        }


def crossing(points: Sequence[tuple[float, float]]) -> tuple[MetgKind, float | None]:
    """Where (grain, efficiency) points, smallest grain first, first reach ``METG_EFFICIENCY``.

    The grain is interpolated between the first point at or over the line and the one before it.
    """
    first_good = next((i for i, (_, eff) in enumerate(points) if eff >= METG_EFFICIENCY), None)
    if first_good is None:
        return MetgKind.NOT_REACHED, None
    if first_good == 0:
        return MetgKind.BELOW_RANGE, None
    # The cost model makes 1/efficiency linear in 1/grain (wall = fixed + n·g/P_eff, so
    # wall·slots/(n·g) = slots·fixed/(n·g) + slots/P_eff): interpolated so, the crossing is exact
    # for a backend the model describes, however far apart the two grains.
    (low, low_eff), (high, high_eff) = points[first_good - 1], points[first_good]
    # An efficiency of exactly 0 (a serial median of 0) would be an infinite 1/efficiency.
    x_low, x_high, y_low, y_high = 1 / low, 1 / high, 1 / max(low_eff, 1e-12), 1 / high_eff
    x = x_low + (1 / METG_EFFICIENCY - y_low) * (x_high - x_low) / (y_high - y_low)
    return MetgKind.REACHED, 1 / x


@dataclass(frozen=True)
class _Grain:
    """One grain of the series: the serial and backend records measured there, by round."""

    grain_s: float
    serial: dict[int, list[float]]
    backend: dict[int, list[float]]
    slots: int

    def efficiency(self, rounds: Sequence[int] | None, rng: np.random.Generator | None) -> float:
        """Efficiency from the samples of ``rounds`` (``None``: all, redrawn if ``rng`` given)."""
        serial, backend = (_pooled(side, rounds, rng) for side in (self.serial, self.backend))
        if serial.size == 0 or backend.size == 0:
            return math.nan
        return float(np.median(serial) / (np.median(backend) * self.slots))


def _pooled(
    by_round: dict[int, list[float]], rounds: Sequence[int] | None, rng: np.random.Generator | None
) -> np.ndarray:
    if rounds is not None:
        return np.array([s for r in rounds for s in by_round.get(r, [])])
    samples = np.array([s for values in by_round.values() for s in values])
    return rng.choice(samples, samples.size) if rng is not None and samples.size else samples


def _grains(series: Series, serial: Sequence[Point], backend: Sequence[Point]) -> list[_Grain]:
    """The grains where both serial and the backend were measured on the series' line."""
    serial_at, backend_at = on_series(series, serial), on_series(series, backend)
    grains = []
    for asked in sorted(set(serial_at) & set(backend_at)):
        measured = float(np.median([p.shape.grain_s for p in serial_at[asked]]))
        sides: list[dict[int, list[float]]] = [{}, {}]
        for side, points in zip(sides, (serial_at[asked], backend_at[asked]), strict=True):
            for point in points:
                side.setdefault(point.record.round, []).extend(point.samples)
        slots = max(parallel_slots(p.record) for p in backend_at[asked])
        grains.append(_Grain(measured, sides[0], sides[1], slots))
    return sorted(grains, key=lambda g: g.grain_s)


def metg(
    series: Series,
    serial: Sequence[Point],
    backend: Sequence[Point],
    resamples: int = METG_RESAMPLES,
    seed: int = 0,
    drift: Drift = NO_DRIFT,
) -> Metg | None:
    """The METG(50 %) of ``backend``'s points along a grain ``series`` against ``serial``'s.

    ``None`` when fewer than two grains were measured by both on the series' line. Only the
    backend's points of its most common chunk plan count (a run of ``--chunk 1,auto`` measures
    the same grain twice, two different efficiencies). ``drift`` is the two backends' drift
    between sessions together: each resample's efficiencies move by one draw of it, as in a
    fresh run (``costmodel.resampling``'s reason), so the interval holds a fresh run's METG.
    """
    usual = usual_plan(backend)
    backend = [p for p in backend if chunk_plan(p.record) == usual]
    grains = _grains(series, serial, backend)
    if len(grains) < 2:
        return None
    rounds = sorted({r for g in grains for side in (g.serial, g.backend) for r in side})
    points = tuple(EfficiencyPoint(g.grain_s, g.efficiency(None, None)) for g in grains)
    kind, value = crossing([(p.grain_s, p.efficiency) for p in points])
    rng = np.random.default_rng(seed)
    draws = []
    for session in session_speeds(drift, resamples, rng):
        drawn = sorted(rng.choice(rounds, len(rounds))) if len(rounds) > 1 else None
        resampled = [(g.grain_s, g.efficiency(drawn, rng) * session) for g in grains]
        drawn_kind, drawn_value = crossing([p for p in resampled if not math.isnan(p[1])])
        draws.append(_on_line(drawn_kind, drawn_value))
    tail = (1.0 - METG_CONFIDENCE) / 2
    ends = np.quantile(np.array(draws), [tail, 1.0 - tail], method="inverted_cdf")
    record = backend[0].record
    return Metg(
        workload=record.workload,
        backend=record.backend,
        kind=kind,
        grain_s=value,
        interval=(_finite(float(ends[0])), _finite(float(ends[1]))),
        points=points,
        tasks=series.line.tasks,
        bytes_per_task=series.line.bytes_per_task,
        resampled="rounds" if len(rounds) > 1 else "samples",
        rounds=len(rounds),
    )


def _on_line(kind: MetgKind, value: float | None) -> float:
    """A resample's METG as a number to take quantiles of: ±inf off either end of the range."""
    if kind is MetgKind.BELOW_RANGE:
        return -math.inf
    if kind is MetgKind.NOT_REACHED or value is None:
        return math.inf
    return value


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def metg_all(
    grouped: dict[tuple[str, str], list[Point]],
    series_of: dict[str, list[Series]],
    resamples: int = METG_RESAMPLES,
    seed: int = 0,
    drifts: Drifts = NO_DRIFTS,
) -> list[Metg]:
    """Every non-serial backend's METG on every workload that has a grain series and serial.

    ``drifts``: the run's drift between sessions (``decisive.backend_drifts``), in each interval.
    """
    found = []
    for (workload, backend), points in grouped.items():
        serial = grouped.get((workload, BASELINE))
        grain_series = [s for s in series_of.get(workload, []) if s.axis == "grain_s"]
        if backend == BASELINE or serial is None or not grain_series:
            continue
        drift = drifts.of(BASELINE, workload) + drifts.of(backend, workload)
        result = metg(grain_series[0], serial, points, resamples, seed, drift)
        if result is not None:
            found.append(result)
    return found
