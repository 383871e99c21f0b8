"""The bootstrap behind crossover intervals: over rounds first, then over each round's samples.

A cutover measures in interleaved rounds (each backend started again per round), so the rounds
are the replicates that carry the machine's drift between engine sessions and moments; the
repeats inside one round share that moment and miss it (Hoefler & Belli, SC'15, rule 7). Each
resample draws the run's rounds with replacement, the same draw for every backend (a round's
measurements of two backends were taken close together, so a draw keeps them paired); every
point then takes its shape's record from the round drawn in place of its own (its own record
where the shape was not measured in that round), and the median of a resample of that record's
samples. A run with one round is a plain bootstrap over samples.

Two rounds resample almost none of the drift between sessions (a draw of two rounds is one of
four), so each draw also gives every backend a session speed of its own on each workload
(``session_shifted``: the drift the rounds measured, ``decisive.Drifts``), as a fresh run would
get: an interval then covers where a fresh run's answer would fall, not only this run's. This
counts part of the drift twice where the rounds drawn already carry it: the interval errs wide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from dist_bench.costmodel.shapes import Point
from dist_bench.decisive import Drift
from dist_bench.results import Results


def round_draws(results: Results, rng: np.random.Generator, count: int) -> list[dict[int, int]]:
    """``count`` draws of the run's rounds with replacement: each round mapped to its stand-in."""
    rounds = sorted({record.round for record in results.records})
    drawn = rng.choice(rounds, (count, len(rounds)))
    return [dict(zip(rounds, (int(r) for r in row), strict=True)) for row in drawn]


def resampled_times(
    points: Sequence[Point], draws: Sequence[dict[int, int]], rng: np.random.Generator
) -> np.ndarray:
    """One row per draw: every point's resampled median time (rows feed ``fit.refits``)."""
    by_round = {(p.record.size_key(), p.record.round): p for p in points}
    times = np.empty((len(draws), len(points)))
    for column, point in enumerate(points):
        key, own = point.record.size_key(), point.record.round
        sources = [by_round.get((key, draw.get(own, own)), point) for draw in draws]
        # One vectorised resample per distinct source record (at most one per round).
        for source in {id(s): s for s in sources}.values():
            rows = [i for i, s in enumerate(sources) if s is source]
            picked = rng.choice(source.samples, (len(rows), len(source.samples)))
            times[rows, column] = np.median(picked, axis=1)
    return times


def session_speeds(drift: Drift, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` session speeds, exp(N(0, ``drift.variance``)) each: a draw's time factor.

    No drift measured (one round): all 1, and nothing drawn from ``rng``.
    """
    if drift.variance <= 0.0:
        return np.ones(count)
    return np.exp(rng.normal(0.0, math.sqrt(drift.variance), count))


def session_shifted(times: np.ndarray, drift: Drift, rng: np.random.Generator) -> np.ndarray:
    """``resampled_times``' rows, each moved as a whole by one session's speed.

    Every shape of one backend and workload together, as a session's speed moves them.
    """
    shifted: np.ndarray = times * session_speeds(drift, len(times), rng)[:, None]
    return shifted
