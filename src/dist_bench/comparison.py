"""What ``compare`` returns: each pair's verdict and what it rests on, backends' and workloads'.

Data only: ``compare`` judges (its module says how), ``report.table`` lays it out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from dist_bench.decisive import Drift
from dist_bench.results import Record
from dist_bench.stats import Interval

#: Default false discovery rate: the expected share of false "changed" verdicts among them.
DEFAULT_FDR = 0.05


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
        against: The backends its speed was judged against (their mean speed in each round
            taken out, so the machine's move between the files cancels); empty: its own speed.
        ratio: The backend's speed in AFTER's rounds over BEFORE's, against those backends
            where any (above 1 is slower).
        speed_drift: How much that speed moved between rounds within a file.
        residual_drift: How much a measurement moved between rounds beyond that speed.
    """

    backend: str
    against: tuple[str, ...]
    change: Change
    ratio: float
    interval: Interval
    p_value: float
    speed_drift: Drift
    residual_drift: Drift


@dataclass(frozen=True)
class WorkloadChange:
    """One workload's measurements on every backend together, against the rest of each backend.

    A change to a workload's code moves all its pairs alike; tested together, its rounds on every
    backend are the replicates (rounds on both sides).

    Attributes:
        backends: The backends whose pairs were tested together (in the order they ran).
        ratio: The mean over those backends of the workload's after / before against the rest of
            each backend's measurements (above 1 is slower).
        residual_drift: How much one round's mean of a workload's measurements moved beyond its
            backend's speed (pooled over every workload of those backends).
    """

    workload: str
    backends: tuple[str, ...]
    change: Change
    ratio: float
    interval: Interval
    p_value: float
    residual_drift: Drift


@dataclass(frozen=True)
class Comparison:
    """Every pair, in the order of the first file then the second's new ones, and caveats.

    Attributes:
        threshold: The ``--threshold`` asked for (a larger drift raises it).
        fdr: The false discovery rate Benjamini–Hochberg held.
        shifts: Per backend with rounds on both sides, its common shift and drifts.
        workloads: Per workload with two pairs or more with rounds, all its pairs together.
        warnings: What makes the files less comparable than they look.
        notes: How to read the verdicts (rounds, shapes measured in one file only).
    """

    pairs: list[ComparedPair]
    threshold: float
    fdr: float = DEFAULT_FDR
    shifts: list[Shift] = field(default_factory=list)
    workloads: list[WorkloadChange] = field(default_factory=list)
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

    @property
    def slower_workloads(self) -> list[WorkloadChange]:
        """Workloads slower beyond noise on all their backends together (a regression)."""
        return [found for found in self.workloads if found.change is Change.SLOWER]

    @property
    def failed(self) -> bool:
        """Whether ``compare`` exits 1: a regression of a pair, a backend or a workload."""
        return bool(self.regressions or self.slower_backends or self.slower_workloads)

    @property
    def called(self) -> int:
        """Changes called: tested pairs, backends' shifts and workloads slower or faster."""
        changes = [s.change for s in self.shifts] + [w.change for w in self.workloads]
        return len(self.changed) + sum(change is not Change.SAME for change in changes)

    def expected_by_chance(self) -> tuple[float, float]:
        """False "changed" verdicts to expect: (among those called, with no correction at all).

        Benjamini–Hochberg keeps the expected share of false ones among the changes called at
        ``fdr`` at most; testing every pair alone at the same level would expect ``fdr`` of all
        the pairs tested by chance, however many really changed.
        """
        tests = len(self.tested) + len(self.shifts) + len(self.workloads)
        return self.fdr * self.called, self.fdr * tests


def pair_key(record: Record) -> PairKey:
    """What makes two records the same measurement (a backend on another runtime is another)."""
    return (record.workload, record.on_runtime, record.tasks, record.grain_s, record.bytes_per_task)
