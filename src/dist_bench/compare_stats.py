"""The tests behind ``compare``: rounds split into a backend's speed and each pair's residual.

With rounds on both sides, Student's t on the residuals (a pair against the others of its
rounds; a workload's pairs on every backend together) and on the speeds (a backend's shift), the
variance at least the pooled drift; with one round, Mann–Whitney U on the repeats;
Benjamini–Hochberg over all of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from dist_bench.comparison import Basis, PairKey
from dist_bench.decisive import Drift, per_unit_logs, pooled_drift, round_levels
from dist_bench.results import Record
from dist_bench.stats import Interval, median, ratio_interval

#: Confidence of the ratios' intervals (per test, not adjusted for the number of tests).
CONFIDENCE = 0.95


@dataclass(frozen=True)
class RatioTest:
    """One test of after against before: the log ratio tested, its p-value and interval."""

    #: log(after / before) of what is tested.
    log_ratio: float
    p_value: float
    interval: Interval
    basis: Basis
    #: log(after / before) of the time per unit itself (differs with rounds: see ``relative``).
    log_total: float


@dataclass(frozen=True)
class WorkloadTest:
    """A workload's pairs on every backend tested together: its test and the backends in it."""

    workload: str
    backends: tuple[str, ...]
    test: RatioTest
    #: The pooled drift of one round's mean residual of a workload, on those backends.
    residual_drift: Drift


@dataclass(frozen=True)
class RoundTests:
    """Every test that rests on rounds: per pair, per backend's shift, per workload."""

    pairs: dict[PairKey, RatioTest]
    shifts: list[ShiftTest]
    workloads: list[WorkloadTest]


#: One round's residual of each pair, in log time about the pair's own level before.
Residuals = dict[PairKey, dict[int, float]]


@dataclass(frozen=True)
class ShiftTest:
    """A backend's shift tested: its speeds' test and the drifts it was judged against."""

    backend: str
    #: The backends its speed is judged against (empty: its own speed, absolute).
    against: tuple[str, ...]
    test: RatioTest
    #: How much the speed tested (against the others', where any) moved between rounds.
    speed_drift: Drift
    residual_drift: Drift


def round_tests(
    old: dict[PairKey, tuple[Record, ...]],
    new: dict[PairKey, tuple[Record, ...]],
    keys: Sequence[PairKey],
    changed: frozenset[str] = frozenset(),
    shifted: frozenset[str] = frozenset(),
) -> RoundTests:
    """Per backend its speed per round, pairs' and shift's tests; per workload, its pairs'.

    A pair's residual in a round is its level less its own mean level before and less its
    backend's speed in that round. ``changed``: workloads already found changed, left out of
    every speed (where a backend has others), so that they do not pull the reference of the rest;
    backends in ``shifted`` (found shifted as a whole) likewise out of the other backends' speed.
    """
    tests: dict[PairKey, RatioTest] = {}
    levels = (
        {key: round_levels(old[key]) for key in keys},
        {key: round_levels(new[key]) for key in keys},
    )
    # Each pair's own level (its mean over BEFORE's rounds), so pairs of any size line up.
    reference = {key: float(np.mean(list(levels[0][key].values()))) for key in keys}
    backends = list(dict.fromkeys(key[1] for key in keys))
    speeds: dict[str, list[dict[int, float]]] = {}
    residual_drifts: dict[str, Drift] = {}
    for backend in backends:
        mine = [key for key in keys if key[1] == backend]
        steady = [key for key in mine if key[0] not in changed] or mine
        speeds[backend] = [
            _speeds({key: side[key] for key in steady}, reference) for side in levels
        ]
        residuals = [
            _residuals(side, mine, reference, speed)
            for side, speed in zip(levels, speeds[backend], strict=True)
        ]
        arrays = [{key: _values(side[key]) for key in mine} for side in residuals]
        residual_drifts[backend] = pooled_drift([side[key] for side in arrays for key in mine])
        for key in mine:
            test = _student([(arrays[0][key], arrays[1][key])], residual_drifts[backend])
            total = float(np.mean(list(levels[1][key].values()))) - reference[key]
            tests[key] = RatioTest(test.log_ratio, test.p_value, test.interval, Basis.ROUNDS, total)
    shifts = [
        _shift_test(backend, speeds, residual_drifts[backend], shifted) for backend in backends
    ]
    return RoundTests(tests, shifts, _workload_tests(levels, reference, keys, changed))


def _shift_test(
    backend: str,
    speeds: dict[str, list[dict[int, float]]],
    residual_drift: Drift,
    shifted: frozenset[str],
) -> ShiftTest:
    """A backend's speed tested between the files, against its other backends' where any.

    The machine's load moves every backend's speed, and it changes over the minutes between
    two files by more than between the rounds interleaved within one (two runs of the same
    code measured a backend x1.10 slower as a whole against 4 % drift between rounds). So a
    backend is judged by its speed less the mean speed of the others in the same round (a
    change to one engine shows; the machine moving all of them cancels), the way a workload is
    judged against its backend's other workloads. With no other backend, machine and backend
    cannot be told apart: its own speed is tested, and ``ShiftTest.against`` is empty. Backends
    in ``shifted`` are left out of the others (where that leaves any).
    """
    others = tuple(other for other in speeds if other != backend)
    others = tuple(other for other in others if other not in shifted) or others
    sides = [_relative_speeds(backend, others, speeds, side) for side in range(2)]
    if any(len(values) < 2 for values in sides):  # the others ran in too few of its rounds
        others = ()
        sides = [_relative_speeds(backend, others, speeds, side) for side in range(2)]
    drift = pooled_drift(sides)
    return ShiftTest(
        backend, others, _student([(sides[0], sides[1])], drift), drift, residual_drift
    )


def _relative_speeds(
    backend: str, others: tuple[str, ...], speeds: dict[str, list[dict[int, float]]], side: int
) -> np.ndarray:
    """The backend's speed per round less the others' mean speed in that round (where all ran)."""
    own = speeds[backend][side]
    rounds = [r for r in own if all(r in speeds[other][side] for other in others)]
    return np.array(
        [own[r] - sum(speeds[o][side][r] for o in others) / max(1, len(others)) for r in rounds]
    )


def _residuals(
    levels: dict[PairKey, dict[int, float]],
    keys: Sequence[PairKey],
    reference: dict[PairKey, float],
    speed: dict[int, float],
) -> Residuals:
    """Each pair's level per round less its own level before and the round's speed."""
    return {
        key: {r: v - reference[key] - speed[r] for r, v in levels[key].items() if r in speed}
        for key in keys
    }


def _values(by_round: dict[int, float]) -> np.ndarray:
    return np.array(list(by_round.values()))


def _workload_tests(
    levels: tuple[dict[PairKey, dict[int, float]], dict[PairKey, dict[int, float]]],
    reference: dict[PairKey, float],
    keys: Sequence[PairKey],
    changed: frozenset[str],
) -> list[WorkloadTest]:
    """Per workload with two pairs or more: its mean residual per (backend, round), tested.

    A change to a workload's code slows it on every backend, so its pairs together see it with
    more rounds than any one of them. Its residuals here are against the speed of the backend's
    *other* workloads in the round (leave one out): a slowed workload would otherwise pull its
    own reference (the median over few workloads) towards itself, reading smaller than it is
    and making the unchanged ones read faster. One value per backend and round (the mean over
    the workload's shapes there), since the shapes of one round share that round's moment; the
    difference is the mean over backends of each backend's difference, so every backend counts
    alike however many shapes or rounds it has. A backend with no other workload is left out:
    there the machine's drift and a change cannot be told apart. Workloads in ``changed`` are
    left out of the others' speed too (where that leaves any).
    """
    # (workload, backend) -> each side's per-round mean residual over the workload's shapes.
    means: dict[tuple[str, str], list[np.ndarray]] = {}
    for workload, backend in dict.fromkeys(key[:2] for key in keys):
        shapes = [key for key in keys if key[:2] == (workload, backend)]
        others = [key for key in keys if key[1] == backend and key[0] != workload]
        others = [key for key in others if key[0] not in changed] or others
        if not others:
            continue
        sides = []
        for side in levels:
            speed = _speeds({key: side[key] for key in others}, reference)
            residuals = _residuals(side, shapes, reference, speed)
            rounds = sorted({r for key in shapes for r in residuals[key]})
            sides.append(
                np.array(
                    [
                        np.mean([residuals[k][r] for k in shapes if r in residuals[k]])
                        for r in rounds
                    ]
                )
            )
        means[workload, backend] = sides
    workload_tests = []
    for workload in dict.fromkeys(key[0] for key in keys):
        backends = tuple(b for w, b in means if w == workload)
        if sum(1 for key in keys if key[0] == workload and key[1] in backends) < 2:
            continue  # one pair: its own test already says it all
        # The floor: how much one round's mean residual of any workload moves, on these
        # backends (as a pair's floor pools every pair of its backend).
        floor = pooled_drift(s for (_, b), sides in means.items() if b in backends for s in sides)
        blocks = [(means[workload, b][0], means[workload, b][1]) for b in backends]
        workload_tests.append(WorkloadTest(workload, backends, _student(blocks, floor), floor))
    return workload_tests


def _speeds(
    levels: dict[PairKey, dict[int, float]], reference: dict[PairKey, float]
) -> dict[int, float]:
    """A backend's speed in each round: the median over its pairs of their level's departure.

    The median, so that a minority of pairs that really changed does not move it.
    """
    rounds = sorted({r for rounds in levels.values() for r in rounds})
    return {
        r: float(np.median([v[r] - reference[key] for key, v in levels.items() if r in v]))
        for r in rounds
    }


def _student(blocks: Sequence[tuple[np.ndarray, np.ndarray]], floor: Drift) -> RatioTest:
    """Student's t for the mean over blocks of their differences of means (after - before).

    The variance is pooled within every block's sides, and at least ``floor``'s. One block is
    the plain two-sample t; several (a workload's backends) share one variance, and each
    block's difference has its own sizes' weight in the standard error.
    """
    sides = [side for block in blocks for side in block]
    df = sum(len(side) for side in sides) - len(sides)
    own = sum(float(np.sum((side - side.mean()) ** 2)) for side in sides) / df
    variance = max(own, floor.variance)
    sizes = sum(1.0 / len(before) + 1.0 / len(after) for before, after in blocks)
    se = math.sqrt(variance * sizes) / len(blocks)
    difference = float(np.mean([after.mean() - before.mean() for before, after in blocks]))
    if se == 0.0:
        # No noise at all (a scripted backend without noise): any difference is real.
        p_value = 1.0 if difference == 0.0 else 0.0
    else:
        p_value = float(2.0 * scipy_stats.t.sf(abs(difference) / se, df))
    reach = float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2.0, df)) * se
    interval = Interval(math.exp(difference - reach), math.exp(difference + reach), CONFIDENCE)
    return RatioTest(difference, p_value, interval, Basis.ROUNDS, difference)


def repeats_test(before: Sequence[Record], after: Sequence[Record]) -> RatioTest:
    """Mann–Whitney U on the repeats' times per unit: one round, so drift is unknown."""
    top = np.exp(np.concatenate([per_unit_logs(r) for r in after]))
    bottom = np.exp(np.concatenate([per_unit_logs(r) for r in before]))
    # Identical samples (a file against itself, a noise-free script) are no evidence of change.
    same = np.array_equal(np.sort(top), np.sort(bottom))
    p_value = 1.0 if same else float(scipy_stats.mannwhitneyu(top, bottom).pvalue)
    log_ratio = math.log(median(top) / median(bottom))
    interval = ratio_interval(top, bottom, CONFIDENCE)
    return RatioTest(log_ratio, p_value, interval, Basis.ONE_ROUND, log_ratio)


def benjamini_hochberg(
    p_values: Sequence[float], fdr: float, weights: Sequence[float] | None = None
) -> list[bool]:
    """Which hypotheses Benjamini–Hochberg rejects at false discovery rate ``fdr``.

    ``weights`` (mean 1; default all 1) make it the weighted procedure of Genovese, Roeder and
    Wasserman (*Biometrika* 93, 2006): BH on ``p / weight``, which still holds the false
    discovery rate at ``fdr`` while giving the hypotheses weighted up more of it.
    """
    if not p_values:
        return []
    scaled = np.asarray(p_values, dtype=float) / np.asarray(weights or [1.0] * len(p_values))
    # Above 1 a value is never rejected (k * fdr / m < 1), so capping it changes no decision.
    adjusted = scipy_stats.false_discovery_control(np.minimum(scaled, 1.0))
    return [bool(value <= fdr) for value in np.atleast_1d(adjusted)]


def family_weights(sizes: Sequence[int]) -> list[float]:
    """Weights giving each non-empty family of tests an equal share, whatever its size.

    ``compare`` asks three questions at once (which measurements, which backends, which
    workloads changed), with 200 measurements and a handful of backends and workloads in a
    cutover's files. Unweighted, the three workloads' tests would hold 3 / 212 of the error
    budget; here each question holds a third, shared among its own tests. The weights average
    1 over all tests, as the weighted procedure requires; they are fixed by the sizes alone,
    before any p-value is seen.
    """
    total, families = sum(sizes), sum(1 for size in sizes if size)
    return [total / families / size for size in sizes for _ in range(size)]
