"""When a difference between two backends holds up: run-to-run drift and the decisive rule.

One rule, used wherever the report calls one backend faster than another at a job shape (a
crossover's evidence, the at-a-glance grid), after Hoefler & Belli, "Scientific Benchmarking of
Parallel Computing Systems" (SC'15), rules 5-7 and 12 (docs/concepts.md, "When a difference
holds up"):

- **clear** within the run: the two medians' order-statistics intervals do not overlap
  (distribution-free, rule 5-6);
- **larger than the drift**: the ratio of medians exceeds the larger of ``PRACTICAL_MARGIN`` and
  the run-to-run drift measured between rounds (one standard deviation of the two backends'
  round-to-round log times, rule 7: report variation between runs, not only within one);
- **the same across rounds**: where the run measured rounds, the shape was measured in two or
  more, and Student's t on the rounds' log ratios (the pooled drift's variance and degrees of
  freedom, or the shape's own where an F test finds it larger) excludes no difference (rule 12:
  compare with a test that accounts for the variation).

A difference no larger than the floor (capped at ``EQUAL_CAP``), each median known to within it,
is *about equal* (two nearly parallel lines); any other is *unclear*: more repeats or rounds, or a
quieter machine, could settle it.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as scipy_stats

from dist_bench.results import Record, Results, SizeKey
from dist_bench.stats import UNSTABLE_SPREAD, median, median_interval

#: Two backends within this share of each other's time run level: the least difference called
#: decisive when no drift was measured (one round). Source: a judgement when ties were introduced
#: (commit c7a5030), not tuned by a benchmark: 5 % is about the medians' own spread on a quiet
#: machine (stats.UNSTABLE_SPREAD flags 10 %).
PRACTICAL_MARGIN = 0.05
#: The most two backends may differ and still be called about equal, however large the drift: a
#: run whose drift is larger cannot tell a bigger difference from none ("unclear"), which is not
#: the same as measuring none. Source: stats.UNSTABLE_SPREAD, the spread already called unstable.
EQUAL_CAP = UNSTABLE_SPREAD
#: Confidence of the test across rounds.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Drift:
    """A spread between rounds, in log time.

    Attributes:
        variance: Pooled variance of the rounds' values about their group's mean.
        df: Its degrees of freedom (rounds minus one, summed over every group pooled).
    """

    variance: float
    df: int

    @property
    def relative(self) -> float:
        """One standard deviation as a fraction of the time (0.03: 3 %)."""
        return math.expm1(math.sqrt(self.variance))

    def __add__(self, other: Drift) -> Drift:
        """The drift of a difference of two independent quantities."""
        return Drift(self.variance + other.variance, min(self.df, other.df))


#: No rounds, no drift measured.
NO_DRIFT = Drift(0.0, 0)


def pooled_drift(groups: Iterable[np.ndarray]) -> Drift:
    """The variance of values about their own group's mean, pooled over the groups."""
    usable = [g for g in groups if len(g) >= 2]
    squares = sum(float(np.sum((g - g.mean()) ** 2)) for g in usable)
    df = sum(len(g) - 1 for g in usable)
    return Drift(squares / df if df else 0.0, df)


def per_unit_logs(record: Record) -> np.ndarray:
    """The record's log times per unit of work (each round may calibrate anew)."""
    return np.log(np.asarray(record.wall_s, dtype=float) / max(1, record.units))


def round_levels(records: Iterable[Record]) -> dict[int, float]:
    """Each round's log median time per unit (records of one round pooled)."""
    by_round: dict[int, list[np.ndarray]] = {}
    for record in records:
        by_round.setdefault(record.round, []).append(per_unit_logs(record))
    return {r: float(np.median(np.concatenate(logs))) for r, logs in by_round.items()}


def _usable(record: Record) -> bool:
    return record.error is None and record.verified and bool(record.wall_s)


#: Degrees of freedom a workload's own drift on a backend needs to stand for that workload: fewer,
#: and the backend's drift pooled over all its workloads stands in. Three: Student's t at 3 df
#: asks for 3.2 standard errors, a bar a lucky low estimate from so few rounds rarely passes.
MIN_WORKLOAD_DF = 3


@dataclass(frozen=True)
class Drifts:
    """How much one shape's time moved between rounds: per backend, and per backend and workload.

    A workload's drift is its own where enough of its shapes were measured in two rounds
    (``MIN_WORKLOAD_DF``): on one backend the workloads drift very differently (in one default
    cutover on an idle machine, serial's cpu shapes moved 3-6 % between rounds, its wordcount
    shapes 11-25 % and a data shape 81 %), so a drift pooled over all of them set cpu's bar by
    wordcount's noise. Elsewhere the backend's pooled drift stands in.
    """

    by_backend: Mapping[str, Drift]
    by_workload: Mapping[tuple[str, str], Drift]

    def of(self, backend: str, workload: str) -> Drift:
        """The drift to judge ``workload`` on ``backend`` by (``NO_DRIFT``: none measured)."""
        own = self.by_workload.get((backend, workload))
        if own is not None and own.df >= MIN_WORKLOAD_DF:
            return own
        return self.by_backend.get(backend, NO_DRIFT)


#: No drift measured anywhere (one round).
NO_DRIFTS = Drifts({}, {})


def backend_drifts(results: Results) -> Drifts:
    """How much one shape's time moved between rounds, pooled over shapes (``Drifts``).

    A backend (or workload) with no shape measured in two rounds has ``NO_DRIFT`` (df 0: unknown).
    """
    shapes: dict[tuple[str, str], dict[SizeKey, list[Record]]] = {}
    for record in results.records:
        if _usable(record):
            key = (record.backend, record.workload)
            shapes.setdefault(key, {}).setdefault(record.size_key(), []).append(record)
    levels = {
        key: [np.array(list(round_levels(records).values())) for records in by_shape.values()]
        for key, by_shape in shapes.items()
    }
    backends = {backend for backend, _ in levels}
    return Drifts(
        {
            backend: pooled_drift(
                g for (b, _), groups in levels.items() if b == backend for g in groups
            )
            for backend in backends
        },
        {key: pooled_drift(groups) for key, groups in levels.items()},
    )


class Difference(enum.Enum):
    """What two backends' measurements at one shape say about their order."""

    #: One is faster: clearly, by more than the drift, and in every sense the rounds can tell.
    DECISIVE = "decisive"
    #: Within the floor (drift or practical margin) of each other: about equal.
    EQUAL = "about equal"
    #: Apart by more than the floor, but not clearly (the samples or rounds overlap).
    UNCLEAR = "unclear"


@dataclass(frozen=True)
class Contrast:
    """Two backends at one shape, judged by the decisive rule.

    Attributes:
        faster: The backend with the lower median time per unit.
        ratio: The slower's median over the faster's (≥ 1).
        floor: The relative difference that had to be passed (margin or drift).
        rounds: Rounds both measured at the shape.
        faster_s: The faster's median wall time, seconds (every round pooled).
        slower_s: The slower's.
    """

    faster: str
    difference: Difference
    ratio: float
    floor: float
    rounds: int
    faster_s: float
    slower_s: float


def planned_rounds(results: Results) -> int:
    """The rounds the run meant to measure: its metadata's ``rounds``, or the most it holds.

    A cutover records the rounds it planned, so a run whose budget ran out before the second
    round is still judged as one with rounds (its one-round shapes never decisive).
    """
    held = 1 + max((record.round for record in results.records), default=0)
    return max(held, int(results.metadata.get("rounds") or 1))


def contrast(
    first: Sequence[Record],
    second: Sequence[Record],
    drifts: Drifts,
    rounds: int = 1,
) -> Contrast | None:
    """Judge two backends' records at one shape; ``None`` when either has none.

    ``rounds``: the rounds the run planned (``planned_rounds``); with two or more, a shape
    measured in fewer than two of them is never decisive.
    """
    first, second = [r for r in first if _usable(r)], [r for r in second if _usable(r)]
    if not first or not second:
        return None
    a, b = (np.concatenate([per_unit_logs(r) for r in side]) for side in (first, second))
    fast, slow, fast_records, slow_records = (
        (a, b, first, second) if np.median(a) <= np.median(b) else (b, a, second, first)
    )
    log_ratio = float(np.median(slow) - np.median(fast))
    workload = first[0].workload
    drift = drifts.of(first[0].backend, workload) + drifts.of(second[0].backend, workload)
    floor = max(PRACTICAL_MARGIN, drift.relative)
    fast_levels, slow_levels = round_levels(fast_records), round_levels(slow_records)
    common = sorted(fast_levels.keys() & slow_levels.keys())
    seconds = [median([t for r in side for t in r.wall_s]) for side in (fast_records, slow_records)]
    verdict = Contrast(
        fast_records[0].backend, Difference.EQUAL, math.exp(log_ratio), floor, len(common), *seconds
    )
    fast_interval, slow_interval = median_interval(np.exp(fast)), median_interval(np.exp(slow))
    equal_floor = max(PRACTICAL_MARGIN, min(floor, EQUAL_CAP))
    # About equal is a measurement too: each median known to within the floor either way, so
    # two noisy backends whose medians happen to meet are unclear, not equal.
    precise = all(
        interval.high <= interval.low * (1.0 + 2.0 * equal_floor)
        for interval in (fast_interval, slow_interval)
    )
    if log_ratio <= math.log1p(equal_floor):
        return verdict if precise else replace(verdict, difference=Difference.UNCLEAR)
    separated = fast_interval.high < slow_interval.low
    # Larger than the drift, not only beyond chance: a difference the next session's drift can
    # undo is not the answer a user's next run gets (Hoefler & Belli's practical significance).
    above_floor = log_ratio > math.log1p(floor)
    steady = _steady_across_rounds([slow_levels[r] - fast_levels[r] for r in common], drift)
    # Where the run measured rounds, one round at this shape is one moment of the machine: on a
    # shared machine another program's load can make either backend look decisively faster then.
    repeated = rounds < 2 or len(common) >= 2
    decisive = separated and above_floor and steady and repeated
    return Contrast(
        verdict.faster,
        Difference.DECISIVE if decisive else Difference.UNCLEAR,
        verdict.ratio,
        floor,
        len(common),
        *seconds,
    )


def least_decisive_ratio(drift: Drift, rounds: int) -> float:
    """The smallest ratio of medians the rule can call decisive at a shape ``rounds`` measured.

    ``drift`` is the pair's (the two backends' added): the ratio must pass the floor and, on
    rounds as steady as that drift, Student's t across them (their mean log ratio ``critical``
    standard errors above 0, a standard error being the drift over √rounds). What the samples
    within a round show (clear) comes on top: this is the least the rounds allow.
    """
    floor = math.log1p(max(PRACTICAL_MARGIN, drift.relative))
    if rounds < 2 or drift.df == 0:
        return math.exp(floor)
    return math.exp(max(floor, _t_bar(drift.variance, drift.df, rounds)))


def _steady_across_rounds(log_ratios: Sequence[float], drift: Drift) -> bool:
    """Student's t across rounds: their mean log ratio is above 0 beyond the drift.

    The variance is the pooled drift, with its degrees of freedom: it is estimated from every
    shape both backends measured in several rounds, this one's included, so it is far steadier
    than this shape's own rounds (two rounds give one degree of freedom, and Student's t at one
    degree of freedom needs a mean 12.7 standard errors from 0: used whenever a shape's own two
    rounds happened to spread more than the pool, about half the time, it made almost no shape
    decisive). The shape's own variance replaces it only where it is larger beyond chance (an F
    test at the same confidence), or where no drift was pooled. Fewer than two rounds here
    cannot be tested: the drift floor already applied.
    """
    values = np.asarray(log_ratios, dtype=float)
    if len(values) < 2:
        return True
    own, own_df = float(values.var(ddof=1)), len(values) - 1
    variance, df = drift.variance, drift.df
    if df == 0 or own > variance * float(scipy_stats.f.ppf(CONFIDENCE, own_df, df)):
        variance, df = own, own_df
    return bool(values.mean() > _t_bar(variance, df, len(values)))


def _t_bar(variance: float, df: int, count: int) -> float:
    """How far above 0 a mean of ``count`` log ratios must lie for Student's t to call it so."""
    critical = float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2.0, max(1, df)))
    return critical * math.sqrt(variance / count)
