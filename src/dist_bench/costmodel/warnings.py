"""What makes a cutover analysis shaky, as data: one typed warning per cause, naming its flag.

Like hyperfine's warnings enum: each kind carries the values its sentence needs and the command
line flags that address it; ``report.sentences`` words them, and the terminal summary groups them
by kind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, ClassVar

from dist_bench.backends.base import BASELINE
from dist_bench.costmodel.crossovers import Crossover
from dist_bench.costmodel.fit import POOR_FIT_ERROR, CostFit
from dist_bench.costmodel.shapes import Axis
from dist_bench.decisive import PRACTICAL_MARGIN
from dist_bench.results import Results
from dist_bench.stats import UNSTABLE_SPREAD, median, outliers, spread

#: A crossover interval wider than this share of its value asks for a longer budget.
#: Source: a judgement when the cost model was written (commit 8f1965b), not tuned: beyond half
#: its value an interval no longer tells a grain from its double.
WIDE_INTERVAL = 0.5


class WarningKind(Enum):
    """The causes of a shaky number; the value is the kind's name in words."""

    BUDGET_RAN_OUT = "budget ran out"
    POOR_FIT = "rough cost model"
    PARALLELISM_ABOVE_WORKERS = "P_eff above the workers"
    WIDE_INTERVAL = "uncertain crossover"
    OUTLIERS = "outlier runs"
    UNSTABLE = "unstable shapes"

    @property
    def flags(self) -> tuple[str, ...]:
        """The command line flags to change, most useful first (none: nothing to rerun)."""
        return _FLAGS[self]


_FLAGS: dict[WarningKind, tuple[str, ...]] = {
    WarningKind.BUDGET_RAN_OUT: ("--budget",),
    WarningKind.POOR_FIT: ("--budget",),
    # A model stretched beyond its workers is read, not rerun: no flag changes it.
    WarningKind.PARALLELISM_ABOVE_WORKERS: (),
    WarningKind.WIDE_INTERVAL: ("--repeats", "--budget"),
    WarningKind.OUTLIERS: ("--repeats",),
    WarningKind.UNSTABLE: ("--repeats",),
}


@dataclass(frozen=True, kw_only=True)
class AnalysisWarning:
    """One warning: its kind and where (workload and backend; empty for the whole run)."""

    kind: ClassVar[WarningKind]
    workload: str = ""
    backend: str = ""

    @property
    def where(self) -> str:
        """``cpu on threads``, ``cpu``, or empty for the whole run."""
        return f"{self.workload} on {self.backend}" if self.backend else self.workload

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the kind and every value."""
        return {"kind": self.kind.name, **vars(self)}


@dataclass(frozen=True, kw_only=True)
class BudgetRanOut(AnalysisWarning):
    """The search's budget ran out before every series, or every round, was measured.

    Attributes:
        unrepeated: Backends the later rounds never measured again: their drift between
            rounds is unknown, and their shapes measured once are never decisive.
    """

    kind: ClassVar[WarningKind] = WarningKind.BUDGET_RAN_OUT
    budget_s: float
    unrepeated: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PoorFit(AnalysisWarning):
    """A fit misses its held-out points by more than ``POOR_FIT_ERROR`` (median)."""

    kind: ClassVar[WarningKind] = WarningKind.POOR_FIT
    holdout_error: float


@dataclass(frozen=True, kw_only=True)
class ParallelismAboveWorkers(AnalysisWarning):
    """A fitted P_eff above the worker count, with the measured cause when there is one.

    Attributes:
        faster_share: How much faster the tasks ran on this backend than serially (median over
            ``shapes`` shapes); ``None`` when they did not, and the model is only stretched.
    """

    kind: ClassVar[WarningKind] = WarningKind.PARALLELISM_ABOVE_WORKERS
    parallelism: float
    workers: int
    faster_share: float | None = None
    shapes: int = 0


@dataclass(frozen=True, kw_only=True)
class WideInterval(AnalysisWarning):
    """A crossover interval wider than ``WIDE_INTERVAL`` of its value."""

    kind: ClassVar[WarningKind] = WarningKind.WIDE_INTERVAL
    pair: tuple[str, str]
    axis: Axis
    width: float

    @property
    def where(self) -> str:
        """``io serial/processes`` (the pair, not one backend)."""
        return f"{self.workload} {'/'.join(self.pair)}"


@dataclass(frozen=True, kw_only=True)
class Outliers(AnalysisWarning):
    """Runs far from the others on one (workload, backend)."""

    kind: ClassVar[WarningKind] = WarningKind.OUTLIERS
    count: int


@dataclass(frozen=True, kw_only=True)
class Unstable(AnalysisWarning):
    """Shapes of one (workload, backend) whose runs vary by more than ``threshold``."""

    kind: ClassVar[WarningKind] = WarningKind.UNSTABLE
    varying: int
    shapes: int
    worst: float
    threshold: float = UNSTABLE_SPREAD


def find_warnings(
    fits: Sequence[CostFit], crossovers: Sequence[Crossover], results: Results
) -> list[AnalysisWarning]:
    """Every warning of an analysis: per fit, then per crossover, then per (workload, backend)."""
    warnings: list[AnalysisWarning] = []
    for fit in fits:
        where = {"workload": fit.workload, "backend": fit.backend}
        if fit.holdout_error is not None and fit.holdout_error > POOR_FIT_ERROR:
            warnings.append(PoorFit(**where, holdout_error=fit.holdout_error))
        parallelism = _parallelism_warning(fit, results)
        if parallelism is not None:
            warnings.append(parallelism)
    for item in crossovers:
        if item.interval is not None and item.value:
            width = (item.interval.high - item.interval.low) / item.value
            if width > WIDE_INTERVAL:
                warnings.append(
                    WideInterval(
                        workload=item.workload, pair=item.backends, axis=item.axis, width=width
                    )
                )
    return warnings + _noise_warnings(results)


def _noise_warnings(results: Results) -> list[AnalysisWarning]:
    """Outliers, then unstable shapes: one warning per (workload, backend), not per shape."""
    unstable: dict[tuple[str, str], list[float]] = {}
    shapes: dict[tuple[str, str], int] = {}
    for record in results.records:
        if record.error is not None or len(record.wall_s) < 2:
            continue
        key = (record.workload, record.backend)
        shapes[key] = shapes.get(key, 0) + 1
        variation = spread(record.wall_s)
        if variation > UNSTABLE_SPREAD:
            unstable.setdefault(key, []).append(variation)
    flagged: dict[tuple[str, str], int] = {}
    for record in results.records:
        if record.error is None and outliers(record.wall_s):
            key = (record.workload, record.backend)
            flagged[key] = flagged.get(key, 0) + len(outliers(record.wall_s))
    warnings: list[AnalysisWarning] = [
        Outliers(workload=workload, backend=backend, count=count)
        for (workload, backend), count in flagged.items()
    ]
    warnings += [
        Unstable(
            workload=workload,
            backend=backend,
            varying=len(variations),
            shapes=shapes[(workload, backend)],
            worst=max(variations),
        )
        for (workload, backend), variations in unstable.items()
    ]
    return warnings


def _task_time_ratio(results: Results, workload: str, backend: str) -> tuple[float, int] | None:
    """Median over shapes of the backend's task time over serial's, and how many shapes."""
    serial = {
        r.size_key(): median(r.task_s)
        for r in results.records
        if r.backend == BASELINE and r.workload == workload and r.verified and r.task_s
    }
    ratios = [
        median(r.task_s) / serial[r.size_key()]
        for r in results.records
        if r.backend == backend
        and r.workload == workload
        and r.verified
        and r.task_s
        and serial.get(r.size_key(), 0.0) > 0
    ]
    return (median(ratios), len(ratios)) if ratios else None


def _parallelism_warning(fit: CostFit, results: Results) -> ParallelismAboveWorkers | None:
    """Why a fit's P_eff exceeds its workers, when it does (no job runs on more slots)."""
    if not math.isfinite(fit.effective_parallelism) or fit.workers < 1:
        return None
    if fit.effective_parallelism <= fit.workers * (1.0 + PRACTICAL_MARGIN):
        return None
    warning = ParallelismAboveWorkers(
        workload=fit.workload,
        backend=fit.backend,
        parallelism=fit.effective_parallelism,
        workers=fit.workers,
    )
    ratio = _task_time_ratio(results, fit.workload, fit.backend)
    if ratio is not None and ratio[0] < 1.0 - PRACTICAL_MARGIN:
        return replace(warning, faster_share=1.0 - ratio[0], shapes=ratio[1])
    return warning
