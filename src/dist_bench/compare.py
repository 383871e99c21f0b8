"""Two results files side by side: which measurements changed beyond noise.

Records pair up when they ran the same workload at the same job size (tasks, grain, bytes per
task) on the same backend; a file holding several runs of one pair contributes its latest. For
each pair the ratio of medians, ``after / before``, gets a bootstrap interval (the same as a
speedup's); a pair has **changed** only when that interval excludes 1 *and* the ratio is beyond
the threshold, so a real but negligible shift is not reported, nor a large one that the spread
of the samples cannot tell from noise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from dist_bench.analysis import parallel_slots
from dist_bench.results import Record, Results
from dist_bench.stats import Interval, median, ratio_interval

#: Default smallest change worth reporting: 5 % slower or faster.
DEFAULT_THRESHOLD = 0.05


class Change(enum.Enum):
    """What happened to one measurement between the two files."""

    SLOWER = "slower"
    FASTER = "faster"
    SAME = "no change"
    BROKEN = "now failing"
    FIXED = "now passing"
    NEW = "new"
    MISSING = "missing"

    @property
    def is_regression(self) -> bool:
        """Whether this change makes ``compare`` exit 1."""
        return self in (Change.SLOWER, Change.BROKEN)


#: What pairs two records: workload, backend, tasks, grain, bytes per task.
PairKey = tuple[str, str, int, float, int]


@dataclass(frozen=True)
class ComparedPair:
    """One measurement in both files (or in one of them)."""

    key: PairKey
    before: Record | None
    after: Record | None
    change: Change
    #: median(after) / median(before): above 1 is slower.
    ratio: float | None = None
    interval: Interval | None = None

    @property
    def record(self) -> Record:
        """The record that describes the pair (the newer one when there are two)."""
        record = self.after or self.before
        assert record is not None  # a pair always has at least one side
        return record


@dataclass(frozen=True)
class Comparison:
    """Every pair, in the order of the first file then the second's new ones, and caveats."""

    pairs: list[ComparedPair]
    threshold: float
    warnings: list[str] = field(default_factory=list)

    def count(self, change: Change) -> int:
        """How many pairs had ``change``."""
        return sum(1 for pair in self.pairs if pair.change is change)

    @property
    def regressions(self) -> list[ComparedPair]:
        """Pairs slower beyond noise, or failing now when they passed before."""
        return [pair for pair in self.pairs if pair.change.is_regression]


def pair_key(record: Record) -> PairKey:
    """What makes two records the same measurement."""
    return (record.workload, record.backend, record.tasks, record.grain_s, record.bytes_per_task)


def _latest(results: Results) -> dict[PairKey, Record]:
    # Later records overwrite earlier ones: a file appended to holds its newest run last.
    return {pair_key(record): record for record in results.records}


def _usable(record: Record) -> bool:
    return record.error is None and record.verified and bool(record.wall_s)


def compare(before: Results, after: Results, threshold: float = DEFAULT_THRESHOLD) -> Comparison:
    """Pair the records of two results files and judge each pair's change.

    Args:
        before: The reference (older) results.
        after: The results to judge against it.
        threshold: Smallest relative change reported (0.05: 5 % slower, or 1/1.05 faster).
    """
    old, new = _latest(before), _latest(after)
    pairs = [_judge(key, old.get(key), new.get(key), threshold) for key in old]
    pairs += [_judge(key, None, record, threshold) for key, record in new.items() if key not in old]
    # One workload's sizes together, smallest first; backends in the order they ran.
    workloads = list(dict.fromkeys(key[0] for key in [*old, *new]))
    pairs.sort(key=lambda pair: (workloads.index(pair.key[0]), *pair.key[2:]))
    return Comparison(pairs, threshold, _caveats(before, after, old, new))


def _judge(
    key: PairKey, before: Record | None, after: Record | None, threshold: float
) -> ComparedPair:
    if before is None:
        return ComparedPair(key, before, after, Change.NEW)
    if after is None:
        return ComparedPair(key, before, after, Change.MISSING)
    if not _usable(after):
        return ComparedPair(key, before, after, Change.BROKEN if _usable(before) else Change.SAME)
    if not _usable(before):
        return ComparedPair(key, before, after, Change.FIXED)
    ratio = median(after.wall_s) / median(before.wall_s)
    interval = ratio_interval(after.wall_s, before.wall_s)
    change = Change.SAME
    if interval.low > 1.0 and ratio > 1.0 + threshold:
        change = Change.SLOWER
    elif interval.high < 1.0 and ratio < 1.0 / (1.0 + threshold):
        change = Change.FASTER
    return ComparedPair(key, before, after, change, ratio, interval)


def _caveats(
    before: Results, after: Results, old: dict[PairKey, Record], new: dict[PairKey, Record]
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
            if parallel_slots(old[key]) != parallel_slots(new[key])
        }
    )
    if resized:
        warnings.append(f"worker counts differ for {', '.join(resized)}")
    return warnings
