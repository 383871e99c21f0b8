"""Two results files side by side: which measurements changed beyond noise, and how sure that is.

Records pair up when they ran the same workload at the same job size (tasks, grain, bytes per
task) on the same backend. A file measured with ``run --rounds N`` holds N rounds of each pair
(a file appended to contributes its latest record of each round).

What is compared is the time per unit of work (``wall_s / units``): each run calibrates its
units of work per task anew, so a task made slower shows as fewer units in the same time, and
calibration noise cancels out of the work. It equals the plain ratio of times whenever the units
agree (uncalibrated workloads, the same calibration).

With rounds on both sides the rounds are the replicates, not the repeats inside a round (those
share one moment of the machine and miss its drift). On a shared machine the speed of a round
moves every measurement of a backend together (other programs' load), so each round's log
median is split into the backend's **speed in that round** (the median over its pairs, each
relative to its own level) and the pair's **residual** (docs/concepts.md, "Comparing two runs"):

- a pair changed when its residuals moved between the files: Student's t on them, with the
  variance the larger of the pair's own and its backend's (pooled over every pair of that backend
  in both files, so a pair whose few rounds agree by chance does not look precise). This finds a
  change of some measurements against the others measured in the same rounds, assuming that most
  did not change;
- a backend's **shift** (all its measurements together) is judged against how much its speed
  moved between rounds: Student's t on the speeds of the rounds.

A pair with **one round** on a side gets Mann–Whitney U on the repeats instead: run-to-run drift
is unknown, so a change found this way is marked so and never fails ``compare``.

Benjamini–Hochberg then controls the false discovery rate over all those tests, and a change
must also pass a practical threshold: the larger of ``--threshold`` and the drift measured
between rounds (a change smaller than the drift is no change).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as scipy_stats

from dist_bench.analysis import parallel_slots
from dist_bench.decisive import Drift, per_unit_logs, pooled_drift, round_levels
from dist_bench.results import Record, Results
from dist_bench.stats import Interval, median, ratio_interval

#: Default smallest change worth reporting: 5 % slower or faster.
DEFAULT_THRESHOLD = 0.05
#: Default false discovery rate: the expected share of false "changed" verdicts among them.
DEFAULT_FDR = 0.05
#: Confidence of the ratios' intervals (per test, not adjusted for the number of tests).
CONFIDENCE = 0.95


class Change(enum.Enum):
    """What happened to one measurement between the two files."""

    SLOWER = "slower"
    FASTER = "faster"
    SAME = "no change"
    BROKEN = "now failing"
    FIXED = "now passing"
    NEW = "new"
    MISSING = "missing"


class Basis(enum.Enum):
    """What a pair's verdict rests on."""

    #: Rounds on both sides: run-to-run drift is in the noise floor.
    ROUNDS = "rounds"
    #: One round on a side: only the repeats' spread, drift unknown; never a regression.
    ONE_ROUND = "drift unknown"
    #: One side predicted by the other file's fitted cost model (``--model``); never a regression.
    MODEL = "model"
    #: Nothing to weigh (new, missing, failing or passing now).
    NONE = ""


#: What pairs two records: workload, backend, tasks, grain, bytes per task.
PairKey = tuple[str, str, int, float, int]


@dataclass(frozen=True)
class ComparedPair:
    """One measurement in both files (or in one of them), each side its rounds in order.

    Attributes:
        ratio: after / before in time per unit of work (above 1 is slower); for a model-based
            pair, in wall time with one side predicted.
        relative: With rounds, the ratio against the backend's other measurements of the same
            rounds (what the verdict tests); ``None`` otherwise.
        interval: The confidence interval of ``relative`` with rounds, else of ``ratio``.
        p_value: The test's p-value for "no change" (``None``: untested).
    """

    key: PairKey
    before: tuple[Record, ...]
    after: tuple[Record, ...]
    change: Change
    basis: Basis = Basis.NONE
    ratio: float | None = None
    relative: float | None = None
    interval: Interval | None = None
    p_value: float | None = None

    @property
    def record(self) -> Record:
        """A record that describes the pair (the newer one when there are two)."""
        return (self.after or self.before)[-1]

    @property
    def is_regression(self) -> bool:
        """Whether this pair makes ``compare`` exit 1: failing now, or slower with drift known."""
        return self.change is Change.BROKEN or (
            self.change is Change.SLOWER and self.basis is Basis.ROUNDS
        )


@dataclass(frozen=True)
class Shift:
    """One backend's measurements moving together between the files (rounds on both sides).

    Attributes:
        ratio: The backend's speed in AFTER's rounds over BEFORE's (above 1 is slower).
        speed_drift: How much the backend's speed moved between rounds within a file.
        residual_drift: How much a measurement moved between rounds beyond that speed.
    """

    backend: str
    change: Change
    ratio: float
    interval: Interval
    p_value: float
    speed_drift: Drift
    residual_drift: Drift


@dataclass(frozen=True)
class Comparison:
    """Every pair, in the order of the first file then the second's new ones, and caveats.

    Attributes:
        threshold: The ``--threshold`` asked for (a larger drift raises it).
        fdr: The false discovery rate Benjamini–Hochberg held.
        shifts: Per backend with rounds on both sides, its common shift and drifts.
        warnings: What makes the files less comparable than they look.
        notes: How to read the verdicts (rounds, shapes measured in one file only).
    """

    pairs: list[ComparedPair]
    threshold: float
    fdr: float = DEFAULT_FDR
    shifts: list[Shift] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, change: Change) -> int:
        """How many pairs had ``change``."""
        return sum(1 for pair in self.pairs if pair.change is change)

    @property
    def tested(self) -> list[ComparedPair]:
        """Pairs that got a p-value (both sides measured and passing)."""
        return [pair for pair in self.pairs if pair.p_value is not None]

    @property
    def changed(self) -> list[ComparedPair]:
        """Tested pairs called slower or faster."""
        return [p for p in self.tested if p.change in (Change.SLOWER, Change.FASTER)]

    @property
    def regressions(self) -> list[ComparedPair]:
        """Pairs slower beyond noise with drift known, or failing now when they passed before."""
        return [pair for pair in self.pairs if pair.is_regression]

    @property
    def slower_backends(self) -> list[Shift]:
        """Backends all of whose measurements got slower together, beyond their drift."""
        return [shift for shift in self.shifts if shift.change is Change.SLOWER]

    def expected_by_chance(self) -> tuple[float, float]:
        """False "changed" verdicts to expect: (among those called, with no correction at all).

        Benjamini–Hochberg keeps the expected share of false ones among the changes called at
        ``fdr`` at most; testing every pair alone at the same level would expect ``fdr`` of all
        the pairs tested by chance, however many really changed.
        """
        called = len(self.changed) + sum(s.change is not Change.SAME for s in self.shifts)
        return self.fdr * called, self.fdr * (len(self.tested) + len(self.shifts))


def pair_key(record: Record) -> PairKey:
    """What makes two records the same measurement."""
    return (record.workload, record.backend, record.tasks, record.grain_s, record.bytes_per_task)


def _rounds(results: Results) -> dict[PairKey, tuple[Record, ...]]:
    # Later records overwrite earlier ones of the same round: a file appended to holds its
    # newest run last.
    latest = {(pair_key(record), record.round): record for record in results.records}
    grouped: dict[PairKey, list[Record]] = {}
    for (key, _), record in sorted(latest.items(), key=lambda item: item[0][1]):
        grouped.setdefault(key, []).append(record)
    ordered = {pair_key(record): () for record in results.records}  # first-measured order
    return {key: tuple(grouped[key]) for key in ordered}


def _usable(records: Sequence[Record]) -> bool:
    return all(r.error is None and r.verified and bool(r.wall_s) for r in records)


def compare(
    before: Results,
    after: Results,
    threshold: float = DEFAULT_THRESHOLD,
    fdr: float = DEFAULT_FDR,
    model: bool = False,
) -> Comparison:
    """Pair the records of two results files and judge each pair's change.

    Args:
        before: The reference (older) results.
        after: The results to judge against it.
        threshold: Smallest relative change reported (0.05: 5 % slower, or 1/1.05 faster);
            where the drift measured between rounds is larger, a change must pass the drift.
        fdr: False discovery rate held over all tests (Benjamini–Hochberg).
        model: Judge shapes measured in AFTER only against BEFORE's fitted cost model
            (labelled model-based; never a regression).
    """
    old, new = _rounds(before), _rounds(after)
    both = [key for key in old if key in new and _usable(old[key]) and _usable(new[key])]
    with_rounds = [key for key in both if len(old[key]) >= 2 and len(new[key]) >= 2]
    tests, shift_tests = _round_tests(old, new, with_rounds)
    tests |= {key: _repeats_test(old[key], new[key]) for key in both if key not in tests}
    significant = benjamini_hochberg(
        [t.p_value for t in tests.values()] + [t.test.p_value for t in shift_tests], fdr
    )
    pair_significant = dict(zip(tests, significant, strict=False))
    shift_significant = significant[len(tests) :]
    residual = {t.backend: t.residual_drift for t in shift_tests}
    pairs = []
    for key in old:
        if key in tests:
            floor = max(threshold, residual[key[1]].relative) if key[1] in residual else threshold
            pairs.append(
                _verdict(key, old[key], new[key], tests[key], pair_significant[key], floor)
            )
        else:
            pairs.append(_untested(key, old[key], new.get(key, ())))
    pairs += [_untested(key, (), records) for key, records in new.items() if key not in old]
    if model:
        pairs = _match_by_model(pairs, before, threshold)
    # One workload's sizes together, smallest first; backends in the order they ran.
    workloads = list(dict.fromkeys(key[0] for key in [*old, *new]))
    pairs.sort(key=lambda pair: (workloads.index(pair.key[0]), *pair.key[2:]))
    shifts = [
        _shift(test, significant, threshold)
        for test, significant in zip(shift_tests, shift_significant, strict=True)
    ]
    return Comparison(
        pairs,
        threshold,
        fdr,
        shifts,
        _caveats(before, after, old, new),
        _notes(pairs, shifts, threshold, model),
    )


@dataclass(frozen=True)
class _Test:
    #: log(after / before) of what is tested.
    log_ratio: float
    p_value: float
    interval: Interval
    basis: Basis
    #: log(after / before) of the time per unit itself (differs with rounds: see ``relative``).
    log_total: float


@dataclass(frozen=True)
class _ShiftTest:
    backend: str
    test: _Test
    speed_drift: Drift
    residual_drift: Drift


def _round_tests(
    old: dict[PairKey, tuple[Record, ...]],
    new: dict[PairKey, tuple[Record, ...]],
    keys: Sequence[PairKey],
) -> tuple[dict[PairKey, _Test], list[_ShiftTest]]:
    """Per backend: its speed per round, each pair's residual test, and its shift's test."""
    tests: dict[PairKey, _Test] = {}
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
            tests[key] = _Test(test.log_ratio, test.p_value, test.interval, Basis.ROUNDS, total)
        before_speeds, after_speeds = (np.array(list(speed.values())) for speed in speeds)
        speed_test = _student(before_speeds, after_speeds, speed_drift)
        shifts.append(_ShiftTest(backend, speed_test, speed_drift, residual_drift))
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


def _student(before: np.ndarray, after: np.ndarray, floor: Drift) -> _Test:
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
    return _Test(difference, p_value, interval, Basis.ROUNDS, difference)


def _repeats_test(before: Sequence[Record], after: Sequence[Record]) -> _Test:
    """Mann–Whitney U on the repeats' times per unit: one round, so drift is unknown."""
    top = np.exp(np.concatenate([per_unit_logs(r) for r in after]))
    bottom = np.exp(np.concatenate([per_unit_logs(r) for r in before]))
    # Identical samples (a file against itself, a noise-free script) are no evidence of change.
    same = np.array_equal(np.sort(top), np.sort(bottom))
    p_value = 1.0 if same else float(scipy_stats.mannwhitneyu(top, bottom).pvalue)
    log_ratio = math.log(median(top) / median(bottom))
    interval = ratio_interval(top, bottom, CONFIDENCE)
    return _Test(log_ratio, p_value, interval, Basis.ONE_ROUND, log_ratio)


def benjamini_hochberg(p_values: Sequence[float], fdr: float) -> list[bool]:
    """Which hypotheses Benjamini–Hochberg rejects at false discovery rate ``fdr``."""
    if not p_values:
        return []
    adjusted = scipy_stats.false_discovery_control(np.asarray(p_values, dtype=float))
    return [bool(value <= fdr) for value in np.atleast_1d(adjusted)]


def _direction(log_ratio: float, significant: bool, floor: float) -> Change:
    if significant and log_ratio > math.log1p(floor):
        return Change.SLOWER
    if significant and log_ratio < -math.log1p(floor):
        return Change.FASTER
    return Change.SAME


def _verdict(
    key: PairKey,
    before: tuple[Record, ...],
    after: tuple[Record, ...],
    test: _Test,
    significant: bool,
    floor: float,
) -> ComparedPair:
    relative = math.exp(test.log_ratio) if test.basis is Basis.ROUNDS else None
    return ComparedPair(
        key,
        before,
        after,
        _direction(test.log_ratio, significant, floor),
        test.basis,
        math.exp(test.log_total),
        relative,
        test.interval,
        test.p_value,
    )


def _shift(test: _ShiftTest, significant: bool, threshold: float) -> Shift:
    floor = max(threshold, test.speed_drift.relative)
    return Shift(
        test.backend,
        _direction(test.test.log_ratio, significant, floor),
        math.exp(test.test.log_ratio),
        test.test.interval,
        test.test.p_value,
        test.speed_drift,
        test.residual_drift,
    )


def _untested(key: PairKey, before: tuple[Record, ...], after: tuple[Record, ...]) -> ComparedPair:
    if not before:
        return ComparedPair(key, before, after, Change.NEW)
    if not after:
        return ComparedPair(key, before, after, Change.MISSING)
    if not _usable(after):
        return ComparedPair(key, before, after, Change.BROKEN if _usable(before) else Change.SAME)
    return ComparedPair(key, before, after, Change.FIXED)


def _match_by_model(
    pairs: list[ComparedPair], before: Results, threshold: float
) -> list[ComparedPair]:
    """New pairs judged against BEFORE's fitted cost model at their shape.

    Only in that direction: BEFORE is the reference, and its fit answers "what would this shape
    have taken before". The other way would not do: a fit's grain axis is the grain measured in
    its own serial run, so a task that got slower in AFTER moves AFTER's fit along that axis and
    predicts the old time. The fit predicts wall time, so these ratios are of times, not per unit
    of work. A prediction has no sampling distribution to take a p-value from, so the fit's
    largest hold-out error (a shape predicted by a fit without it) serves as its noise floor. A
    shape outside what BEFORE measured is not matched (that would be an extrapolation), nor one
    whose fit had too few shapes for a hold-out error.
    """
    from dist_bench.costmodel import JobShape, fit_all  # here: fitting is only needed here

    fits = fit_all(before)
    matched = []
    for pair in pairs:
        fit = fits.get(pair.key[:2]) if pair.change is Change.NEW else None
        if (
            fit is None
            or fit.holdout_max_error is None
            or fit.outside(JobShape(*pair.key[2:]))
            or not _usable(pair.after)
            or fit.predict(*pair.key[2:]) <= 0.0
        ):
            matched.append(pair)
            continue
        ratio = median([t for r in pair.after for t in r.wall_s]) / fit.predict(*pair.key[2:])
        change = _direction(math.log(ratio), True, max(threshold, fit.holdout_max_error))
        matched.append(ComparedPair(pair.key, pair.before, pair.after, change, Basis.MODEL, ratio))
    return matched


def _notes(
    pairs: list[ComparedPair], shifts: list[Shift], threshold: float, model: bool
) -> list[str]:
    """How to read the verdicts: which rest on rounds, which on one round, which on a model."""
    notes = []
    one_round = [p for p in pairs if p.basis is Basis.ONE_ROUND]
    if one_round:
        flagged = sum(1 for p in one_round if p.change is not Change.SAME)
        notes.append(
            f"one round: run-to-run drift unknown; use --rounds N (dist-bench run --rounds 3). "
            f"{len(one_round)} pair(s) judged on one round's repeats only; {flagged} beyond them "
            "marked 'drift unknown', which never fails compare"
        )
    for shift in shifts:
        notes.append(
            f"{shift.backend}: all its measurements x{shift.ratio:.2f} "
            f"({shift.interval.low:.2f}-{shift.interval.high:.2f}): {shift.change.value} "
            f"against its speed's drift between rounds ({shift.speed_drift.relative:.1%}); one "
            f"measurement against the others drifts {shift.residual_drift.relative:.1%}, so it "
            f"changed only beyond {max(threshold, shift.residual_drift.relative):.1%}"
        )
    unmatched = {
        change: [p for p in pairs if p.change is change] for change in (Change.NEW, Change.MISSING)
    }
    kinds = {change: {p.key[:2] for p in found} for change, found in unmatched.items()}
    if kinds[Change.NEW] & kinds[Change.MISSING]:
        hint = "" if model else "; --model compares them through each file's fitted cost model"
        notes.append(
            f"{len(unmatched[Change.NEW])} new and {len(unmatched[Change.MISSING])} missing: the "
            "files measured different shapes of the same workloads and backends (an adaptive "
            f"cutover chooses its shapes from its own measurements){hint}"
        )
    if model:
        by_model = sum(1 for p in pairs if p.basis is Basis.MODEL)
        notes.append(
            f"{by_model} new shape(s) matched through BEFORE's fitted cost model ('model': a "
            "prediction, never a regression); the other new ones lie outside the shapes BEFORE "
            "measured, or its fit has no hold-out error"
        )
    return notes


def _caveats(
    before: Results,
    after: Results,
    old: dict[PairKey, tuple[Record, ...]],
    new: dict[PairKey, tuple[Record, ...]],
) -> list[str]:
    """What makes the two files less comparable than they look."""
    warnings = []
    a, b = before.metadata, after.metadata
    if a.get("host") != b.get("host"):
        warnings.append(
            f"the files come from different hosts ({a.get('host')!r} and {b.get('host')!r}): "
            "a change may be the machine, not the code"
        )
    for label, name in (("cores", "cores"), ("Python", "python")):
        if a.get(name) != b.get(name):
            warnings.append(f"{label} differ: {a.get(name)} before, {b.get(name)} after")
    old_packages, new_packages = a.get("packages") or {}, b.get("packages") or {}
    changed = [
        f"{package} {old_packages.get(package, '-')} -> {new_packages.get(package, '-')}"
        for package in dict.fromkeys([*old_packages, *new_packages])
        if old_packages.get(package) != new_packages.get(package)
    ]
    if changed:
        warnings.append("package versions differ: " + ", ".join(changed))
    resized = sorted(
        {
            key[1]
            for key in old.keys() & new.keys()
            if parallel_slots(old[key][-1]) != parallel_slots(new[key][-1])
        }
    )
    if resized:
        warnings.append(f"worker counts differ for {', '.join(resized)}")
    return warnings
