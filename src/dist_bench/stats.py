"""Statistics over repeated timings: medians, confidence intervals, stability warnings.

Medians, not means: one run disturbed by another program should not move the answer. Intervals are
distribution-free (order statistics for one median, a bootstrap for a ratio of medians), because
timings are skewed and a handful of repeats says nothing about normality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

#: Spread (standard deviation over mean) above which a timing is called unstable; pyperf's bar.
UNSTABLE_SPREAD = 0.10
#: Jobs shorter than this are mostly timer and scheduler noise.
SHORTEST_TRUSTED_S = 0.001
#: Bootstrap resamples: enough for two-digit interval ends, cheap next to any measurement.
BOOTSTRAP_RESAMPLES = 4000
#: Modified z-score above which a sample is an outlier (Iglewicz and Hoaglin; hyperfine's bar).
OUTLIER_Z = 3.5


@dataclass(frozen=True)
class Interval:
    """A confidence interval and the confidence it really has (small samples fall short of 95 %)."""

    low: float
    high: float
    confidence: float


def median(samples: Sequence[float]) -> float:
    """Median of the samples."""
    return float(np.median(np.asarray(samples, dtype=float)))


def median_interval(samples: Sequence[float], confidence: float = 0.95) -> Interval:
    """Distribution-free interval for the median from order statistics.

    The k-th smallest and k-th largest samples bracket the median with probability given by the
    binomial(n, 1/2) distribution. With few samples no pair reaches ``confidence``; then the
    widest pair (min, max) is returned with the confidence it actually has (93.75 % for n = 5).
    """
    ordered = np.sort(np.asarray(samples, dtype=float))
    n = len(ordered)
    if n == 0:
        raise ValueError("no samples")
    if n == 1:
        return Interval(float(ordered[0]), float(ordered[0]), 0.0)
    best = Interval(float(ordered[0]), float(ordered[-1]), _order_coverage(n, 0))
    for k in range(1, n // 2):
        coverage = _order_coverage(n, k)
        if coverage < confidence:
            break
        best = Interval(float(ordered[k]), float(ordered[n - 1 - k]), coverage)
    return best


def _order_coverage(n: int, k: int) -> float:
    """P(x_(k+1) <= median <= x_(n-k)) for n samples (0-based k from each end)."""
    return float(1.0 - 2.0 * scipy_stats.binom.cdf(k, n, 0.5))


def ratio_interval(
    numerator: Sequence[float], denominator: Sequence[float], confidence: float = 0.95
) -> Interval:
    """Bootstrap interval for median(numerator) / median(denominator), e.g. a speedup.

    Resamples each side independently (the two were measured independently); the seed is fixed so
    the same results file always renders the same interval.
    """
    top = np.asarray(numerator, dtype=float)
    bottom = np.asarray(denominator, dtype=float)
    if len(top) == 0 or len(bottom) == 0:
        raise ValueError("no samples")
    rng = np.random.default_rng(0)
    top_medians = np.median(rng.choice(top, (BOOTSTRAP_RESAMPLES, len(top))), axis=1)
    bottom_medians = np.median(rng.choice(bottom, (BOOTSTRAP_RESAMPLES, len(bottom))), axis=1)
    ratios = top_medians / bottom_medians
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(ratios, [tail, 1.0 - tail])
    return Interval(float(low), float(high), confidence)


def spread(samples: Sequence[float]) -> float:
    """Standard deviation over mean (0 for fewer than two samples)."""
    values = np.asarray(samples, dtype=float)
    if len(values) < 2 or values.mean() == 0:
        return 0.0
    return float(values.std(ddof=1) / values.mean())


def karp_flatt(speedup: float, workers: float) -> float | None:
    """Experimentally determined serial fraction e = (1/S - 1/p) / (1 - 1/p).

    Near 0: the work parallelises; growing with p: overhead grows with workers. ``None`` for one
    worker, where it is undefined. ``workers`` may be a ratio (nodes over a base of several).
    """
    if workers <= 1 or speedup <= 0:
        return None
    return (1.0 / speedup - 1.0 / workers) / (1.0 - 1.0 / workers)


def outliers(samples: Sequence[float]) -> list[int]:
    """Indices of samples far from the rest: modified z-score over ``OUTLIER_Z``.

    The score is 0.6745·|x − median| / MAD (median absolute deviation), robust to the outliers
    themselves, as hyperfine flags them. Fewer than 3 samples, or no spread at all: none.
    """
    values = np.asarray(samples, dtype=float)
    if len(values) < 3:
        return []
    centre = np.median(values)
    deviation = np.median(np.abs(values - centre))
    if deviation == 0:
        return []
    scores = 0.6745 * np.abs(values - centre) / deviation
    return [int(i) for i in np.flatnonzero(scores > OUTLIER_Z)]


def amdahl_fraction(points: Sequence[tuple[float, float]]) -> float | None:
    """The serial fraction f that best fits measured (workers, speedup) points to Amdahl's law.

    ``1/S = f + (1 - f)/p`` is linear in f: ``1/S - 1/p = f (1 - 1/p)``, so f is the least
    squares slope through the origin, clipped to 0-1. ``None`` without a point on more than one
    worker (one worker says nothing about f).
    """
    pairs = [(1.0 - 1.0 / p, 1.0 / s - 1.0 / p) for p, s in points if p > 1 and s > 0]
    if not pairs:
        return None
    x, y = np.array(pairs).T
    return float(min(1.0, max(0.0, np.dot(x, y) / np.dot(x, x))))
