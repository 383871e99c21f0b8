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
- a **workload** changed when its residuals on every backend together moved (a change to its
  code slows it everywhere): Student's t on each backend's per-round mean residual of the
  workload, the difference averaged over the backends, the variance at least that of any
  workload's per-round mean on those backends. With 6 rounds a side on 3 backends it rests on 18
  rounds a side where a pair rests on 6. It assumes, like the pairs, that most workloads did not
  change; a workload is judged against its backends' other workloads (leave one out), and one
  found changed is left out of every speed and all is tested again (the most changed first,
  while fewer than half are left out), so that it does not pull the others' reference;
- a backend's **shift** (all its measurements together) is judged against the other backends'
  speed in the same rounds, since the machine's load moves them all and changes over the
  minutes between two files by more than between one file's rounds (Student's t on the
  difference of the speeds; with one backend, on its own speed, and the note says that machine
  and backend then cannot be told apart).

A pair with **one round** on a side gets Mann–Whitney U on the repeats instead: run-to-run drift
is unknown, so a change found this way is marked so and never fails ``compare``.

Benjamini–Hochberg then controls the false discovery rate over all those tests, weighted so that
each question (which measurements, which backends, which workloads changed) holds an equal share
of it however many tests it has (``compare_stats.family_weights``), and a change
must also pass a practical threshold, ``--threshold``: the smallest change worth reporting. The
drift between rounds is already in each test's variance, so it is not a floor too: with six
rounds a side a difference is known to √(2/6) ≈ 0.58 of one round's drift, and a floor of one
round's drift threw away changes the rounds had measured. A backend's shift is the
exception: its floor is also the drift between rounds of the speed it is tested on, since the
load that moves backends unequally (two worker processes feel it more than one thread) stays for
minutes, so the two files' runs differ in it by more than rounds interleaved within one show.

This module pairs the records and gives the verdicts; the tests are ``compare_stats``', the
verdicts' types ``comparison``'s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dist_bench.analysis import parallel_slots
from dist_bench.compare_stats import (
    RatioTest,
    RoundTests,
    ShiftTest,
    WorkloadTest,
    benjamini_hochberg,
    family_weights,
    repeats_test,
    round_tests,
)
from dist_bench.comparison import (
    DEFAULT_FDR,
    Basis,
    Change,
    ComparedPair,
    Comparison,
    PairKey,
    Shift,
    WorkloadChange,
    pair_key,
)
from dist_bench.results import Record, Results
from dist_bench.stats import Interval, median

#: Default smallest change worth reporting: 5 % slower or faster.
DEFAULT_THRESHOLD = 0.05


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
        threshold: Smallest relative change reported (0.05: 5 % slower, or 1/1.05 faster); a
            backend's shift must also pass its speed's drift between rounds.
        fdr: False discovery rate held over all tests (Benjamini–Hochberg).
        model: Judge shapes measured in AFTER only against BEFORE's fitted cost model
            (labelled model-based; never a regression).
    """
    old, new = _rounds(before), _rounds(after)
    both = [key for key in old if key in new and _usable(old[key]) and _usable(new[key])]
    with_rounds = [key for key in both if len(old[key]) >= 2 and len(new[key]) >= 2]
    one_round = {key: repeats_test(old[key], new[key]) for key in both if key not in with_rounds}

    def tested(
        changed: frozenset[str], shifted: frozenset[str]
    ) -> tuple[RoundTests, dict[PairKey, RatioTest], list[bool]]:
        rounds = round_tests(old, new, with_rounds, changed, shifted)
        tests = rounds.pairs | one_round
        groups = [t.test for t in rounds.shifts] + [t.test for t in rounds.workloads]
        weights = family_weights([len(tests), len(rounds.shifts), len(rounds.workloads)])
        p_values = [t.p_value for t in [*tests.values(), *groups]]
        significant = benjamini_hochberg(p_values, fdr, weights)
        return rounds, tests, significant

    # A workload found changed pulls the speeds the others are judged against, so the most
    # changed one is left out of every backend's speed and all is tested again, one workload at
    # a time while fewer than half are left out (the method assumes most did not change). A
    # backend found shifted is likewise left out of the speed the other backends are judged
    # against.
    changed: frozenset[str] = frozenset()
    shifted: frozenset[str] = frozenset()
    rounds, tests, significant = tested(changed, shifted)
    workloads_tested = len({key[0] for key in with_rounds})
    while True:
        flags = significant[len(tests) :]
        found_shift = _most_changed(
            [
                (test.backend, abs(test.test.log_ratio), _shift_floor(test, threshold))
                for test, flag in zip(rounds.shifts, flags, strict=False)
                if flag
            ],
            shifted,
            len(rounds.shifts),
        )
        found_workload = _most_changed(
            [
                (test.workload, abs(test.test.log_ratio), threshold)
                for test, flag in zip(rounds.workloads, flags[len(rounds.shifts) :], strict=True)
                if flag
            ],
            changed,
            workloads_tested,
        )
        if found_shift is None and found_workload is None:
            break
        if found_shift is not None:
            shifted |= {found_shift}
        if found_workload is not None:
            changed |= {found_workload}
        rounds, tests, significant = tested(changed, shifted)
    pair_significant = dict(zip(tests, significant, strict=False))
    shift_significant = significant[len(tests) : len(tests) + len(rounds.shifts)]
    workload_significant = significant[len(tests) + len(rounds.shifts) :]
    pairs = []
    for key in old:
        if key in tests:
            pairs.append(
                _verdict(key, old[key], new[key], tests[key], pair_significant[key], threshold)
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
        for test, significant in zip(rounds.shifts, shift_significant, strict=True)
    ]
    by_workload = [
        _workload(test, significant, threshold)
        for test, significant in zip(rounds.workloads, workload_significant, strict=True)
    ]
    return Comparison(
        pairs,
        threshold,
        fdr,
        shifts,
        by_workload,
        _caveats(before, after, old, new),
        _notes(pairs, shifts, model),
    )


def _most_changed(
    significant: Sequence[tuple[str, float, float]], left_out: frozenset[str], tested: int
) -> str | None:
    """The next to leave out: the most changed (name, |log ratio|, floor) beyond its floor.

    None once leaving out one more would leave out half of the ``tested`` or more: the method
    assumes most did not change.
    """
    if 2 * (len(left_out) + 1) >= tested:
        return None
    beyond = {
        name: size
        for name, size, floor in significant
        if name not in left_out and size > math.log1p(floor)
    }
    return max(beyond, key=beyond.__getitem__) if beyond else None


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
    test: RatioTest,
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


def _judged(
    test: RatioTest, significant: bool, floor: float
) -> tuple[Change, float, Interval, float]:
    """A group's test as its verdict's fields: change, ratio, interval, p-value."""
    change = _direction(test.log_ratio, significant, floor)
    return change, math.exp(test.log_ratio), test.interval, test.p_value


def _shift_floor(test: ShiftTest, threshold: float) -> float:
    """A backend's shift must pass the threshold and its speed's drift between rounds."""
    return max(threshold, test.speed_drift.relative)


def _shift(test: ShiftTest, significant: bool, threshold: float) -> Shift:
    verdict = _judged(test.test, significant, _shift_floor(test, threshold))
    return Shift(test.backend, test.against, *verdict, test.speed_drift, test.residual_drift)


def _workload(test: WorkloadTest, significant: bool, threshold: float) -> WorkloadChange:
    verdict = _judged(test.test, significant, threshold)
    return WorkloadChange(test.workload, test.backends, *verdict, test.residual_drift)


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


def _notes(pairs: list[ComparedPair], shifts: list[Shift], model: bool) -> list[str]:
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
            f"({shift.interval.low:.2f}-{shift.interval.high:.2f}) {_against(shift)}: "
            f"{shift.change.value} beyond that speed's drift between rounds "
            f"({shift.speed_drift.relative:.1%}); one measurement against the others drifts "
            f"{shift.residual_drift.relative:.1%} from round to round (in its test's noise)"
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


def _against(shift: Shift) -> str:
    """What a backend's shift was measured against, in words."""
    if shift.against:
        return f"against the other backends' ({', '.join(shift.against)})"
    return "(no other backend: the machine's speed and the backend's cannot be told apart)"


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
