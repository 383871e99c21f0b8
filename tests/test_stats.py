"""Statistics: interval coverage, bootstrap ratios, spread, Karp-Flatt."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from dist_bench.stats import (
    karp_flatt,
    median,
    median_interval,
    outliers,
    ratio_interval,
    spread,
)


@pytest.mark.parametrize("n", [2, 5, 6, 9, 20, 50])
def test_median_interval_has_the_binomial_coverage_it_claims(n: int) -> None:
    samples = list(np.random.default_rng(n).lognormal(size=n))
    interval = median_interval(samples)
    ordered = sorted(samples)
    # Which order statistics were chosen, and the coverage they really have under Binomial(n, 1/2).
    k = ordered.index(interval.low)
    assert ordered[n - 1 - k] == interval.high
    assert interval.confidence == pytest.approx(1 - 2 * scipy_stats.binom.cdf(k, n, 0.5))
    if interval.confidence >= 0.95 and k + 1 < n // 2:
        assert 1 - 2 * scipy_stats.binom.cdf(k + 1, n, 0.5) < 0.95, "not the narrowest 95 % pair"


def test_median_interval_empirical_coverage() -> None:
    rng = np.random.default_rng(1)
    hits = 0
    trials = 400
    for _ in range(trials):
        interval = median_interval(list(rng.exponential(size=15)))
        hits += interval.low <= np.log(2) <= interval.high  # the exponential's true median
    assert hits / trials >= 0.93


def test_ratio_interval_brackets_the_true_ratio() -> None:
    rng = np.random.default_rng(2)
    serial = list(1.0 + rng.normal(0, 0.01, 30))
    fast = list(0.5 + rng.normal(0, 0.005, 30))
    interval = ratio_interval(serial, fast)
    assert interval.low < 2.0 < interval.high
    assert interval.high - interval.low < 0.2


def test_spread_and_median() -> None:
    assert spread([1.0, 1.0, 1.0]) == 0.0
    assert spread([1.0]) == 0.0
    assert spread([1.0, 3.0]) == pytest.approx(np.std([1.0, 3.0], ddof=1) / 2.0)
    assert median([3.0, 1.0, 2.0]) == 2.0


def test_karp_flatt_serial_fraction() -> None:
    assert karp_flatt(4.0, 4) == pytest.approx(0.0)
    assert karp_flatt(1.0, 4) == pytest.approx(1.0)
    # Amdahl with serial fraction f gives S = 1 / (f + (1 - f) / p); Karp-Flatt recovers f.
    f, p = 0.1, 8
    assert karp_flatt(1 / (f + (1 - f) / p), p) == pytest.approx(f)
    assert karp_flatt(2.0, 1) is None


def test_outliers_are_flagged_by_modified_z_score() -> None:
    steady = [1.00, 1.01, 0.99, 1.02, 0.98, 1.00]
    assert outliers(steady) == []
    assert outliers([*steady, 3.0]) == [6]  # one run disturbed by another program
    assert outliers([1.0, 1.0, 1.0, 5.0]) == []  # no spread among the rest: nothing to judge by
    assert outliers([1.0, 9.0]) == []  # too few samples
