"""The tests behind ``compare``: rounds split into a backend's speed and each pair's residual.

With rounds on both sides, Student's t on the residuals (a pair against the others of its
rounds) and on the speeds (a backend's shift), the variance at least the pooled drift; with
one round, Mann–Whitney U on the repeats; Benjamini–Hochberg over all of them.
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
class ShiftTest:
    """A backend's shift tested: its speeds' test and the drifts it was judged against."""

    backend: str
    test: RatioTest
    speed_drift: Drift
    residual_drift: Drift


def round_tests(
    old: dict[PairKey, tuple[Record, ...]],
    new: dict[PairKey, tuple[Record, ...]],
    keys: Sequence[PairKey],
) -> tuple[dict[PairKey, RatioTest], list[ShiftTest]]:
    """Per backend: its speed per round, each pair's residual test, and its shift's test."""
    tests: dict[PairKey, RatioTest] = {}
    shifts = []
    for backend in dict.fromkeys(key[1] for key in keys):
        mine = [key for key in keys if key[1] == backend]
        levels = [{key: round_levels(side[key]) for key in mine} for side in (old, new)]
        # Each pair's own level (its mean over BEFORE's rounds), so pairs of any size line up.
        reference = {key: float(np.mean(list(levels[0][key].values()))) for key in mine}
        speeds = [_speeds(side, reference) for side in levels]
        residuals = [
            {key: np.array([v - speed[r] for r, v in side[key].items()]) for key in mine}
            for side, speed in zip(levels, speeds, strict=True)
        ]
        speed_drift = pooled_drift([np.array(list(speed.values())) for speed in speeds])
        residual_drift = pooled_drift([side[key] for side in residuals for key in mine])
        for key in mine:
            test = _student(residuals[0][key], residuals[1][key], residual_drift)
            total = float(np.mean(list(levels[1][key].values()))) - reference[key]
            tests[key] = RatioTest(test.log_ratio, test.p_value, test.interval, Basis.ROUNDS, total)
        before_speeds, after_speeds = (np.array(list(speed.values())) for speed in speeds)
        speed_test = _student(before_speeds, after_speeds, speed_drift)
        shifts.append(ShiftTest(backend, speed_test, speed_drift, residual_drift))
    return tests, shifts


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


def _student(before: np.ndarray, after: np.ndarray, floor: Drift) -> RatioTest:
    """Student's t for a difference of means, the variance at least ``floor``'s."""
    df = len(before) + len(after) - 2
    own = (np.sum((before - before.mean()) ** 2) + np.sum((after - after.mean()) ** 2)) / df
    variance = max(float(own), floor.variance)
    se = math.sqrt(variance * (1.0 / len(before) + 1.0 / len(after)))
    difference = float(after.mean() - before.mean())
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


def benjamini_hochberg(p_values: Sequence[float], fdr: float) -> list[bool]:
    """Which hypotheses Benjamini–Hochberg rejects at false discovery rate ``fdr``."""
    if not p_values:
        return []
    adjusted = scipy_stats.false_discovery_control(np.asarray(p_values, dtype=float))
    return [bool(value <= fdr) for value in np.atleast_1d(adjusted)]
