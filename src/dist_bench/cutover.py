"""The cutover search: an adaptive sweep that spends a time budget where the crossovers are.

For each workload, three series through one centre shape: task grain, tasks per job and (for
workloads that move data) bytes per task. Backends run one at a time, each started once (so they
never compete for the cores), serial first:

1. the coarse series, each in increasing cost; a series stops early on a backend once it is
   *settled* against every backend measured before: at the last point their intervals separate,
   and the order cannot change further up (they already crossed, or the gap is growing; two
   backends' costs differ linearly along an axis, so they cross at most once);
2. refinement: the backend's cost model is fitted, its crossovers with the backends measured before
   are located with bootstrap intervals, and each crossover whose interval is still wide gets new
   shapes at its estimate and its interval ends, while this backend's share of the budget lasts;
   a crossover the model puts in the range but the measurements do not show yet (no shape on one
   side where that side's winner is clearly faster) has the series' end on that side measured
   again, for more samples where the two differ most (again next round if still unclear);
3. at the end, backends that start in well under a second (serial, threads, processes) fill in the
   refinement shapes they have not run, and measure the evidence shapes of their pairs again, so
   every crossover compares measurements on both sides;
4. further rounds (``CutoverPlan.rounds``): every backend is started again (those without
   engine daemons together, taking turns shape by shape; Dask and Ray each alone, as in the
   first round, their idle daemons being load) and measures again the shapes that decide an
   answer (every pair with a crossover, about-equal or model-only finding, and the ladder's pairs,
   ``costmodel.ladder.LADDER``: on each side, the closest shape apart enough to be decisive
   after the drift, and the closest shape, ``cutover_rounds``), each record marked with its
   round. The rounds are independent engine sessions at other moments: the spread between them
   is the run-to-run drift that a reported crossover must beat (``dist_bench.decisive``) and
   that its interval's bootstrap resamples.

Every record is handed to the results writer as it is measured. Returns data and reports
progress through a callback; never prints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from types import ModuleType

from dist_bench.backend_session import started_backend
from dist_bench.backends import BackendOptions, create_backend
from dist_bench.backends.base import Backend
from dist_bench.costmodel import Axis, BudgetRanOut, CutoverAnalysis, analyse
from dist_bench.cutover_refine import refine
from dist_bench.cutover_rounds import replicate
from dist_bench.cutover_search import CutoverSearch
from dist_bench.defaults import CUTOVER_BUDGET_S, CUTOVER_REPEATS
from dist_bench.lesson_shapes import measure_lesson_shapes
from dist_bench.measure import MeasureSettings
from dist_bench.results import Results
from dist_bench.results_writer import ResultsWriter
from dist_bench.stats import median, median_interval
from dist_bench.sweep import BackendFactory, ProgressCallback
from dist_bench.sweep_plan import ordered_backends
from dist_bench.versions import VersionCheck
from dist_bench.workload import Job, Workload

#: Rounds of a default cutover: the first searches, the second re-measures in new sessions so
#: the run-to-run drift is measured (two is the least that measures any; more cost budget).
DEFAULT_ROUNDS = 2
#: Tasks per job at the centre of every series, and the tasks series around it.
CENTRE_TASKS = 16
TASKS_SERIES = (4, 16, 64)
#: Grains of the grain series, as fractions of the workload's default grain (x5 steps). The
#: smallest (40 µs for cpu) is below where processes start to beat serial on 2 cores, so the
#: ladder's serial → processes step is bracketed; tiny jobs cost little budget.
GRAIN_FRACTIONS = (1 / 1250, 1 / 250, 1 / 50, 1 / 10, 1 / 2)
#: The centre grain is the third point of the grain series.
CENTRE_GRAIN_INDEX = 2
#: Bytes of the bytes series, as fractions of the workload's default bytes per task.
BYTES_FRACTIONS = (1 / 64, 1 / 8, 1.0)
CENTRE_BYTES_INDEX = 1
#: Points a series needs before it may stop early (two steps of evidence).
SETTLE_AFTER = 3
#: Backends that start faster than this fill in the shapes they missed at the end.
CHEAP_START_S = 1.0


@dataclass(frozen=True)
class CutoverPlan:
    """What to search: workloads, backends, budget, and how to measure each shape."""

    workloads: list[Workload]
    backends: list[str]
    budget_s: float = CUTOVER_BUDGET_S
    rounds: int = DEFAULT_ROUNDS
    settings: MeasureSettings = field(
        default_factory=lambda: MeasureSettings(repeats=CUTOVER_REPEATS)
    )
    options: BackendOptions = field(default_factory=BackendOptions)
    project_nodes: tuple[int, ...] = ()

    def backend_order(self) -> list[str]:
        """Addressed backends first (a wrong address fails fast), then serial, then the rest."""
        return ordered_backends(self.backends, self.options)


def coarse_series(workload: Workload) -> dict[Axis, list[Job]]:
    """The three series through the centre shape, each in increasing cost."""
    grains = [workload.default_grain_s * f for f in GRAIN_FRACTIONS]
    sizes = [max(1, round(workload.default_bytes * f)) for f in BYTES_FRACTIONS]
    moves_bytes = workload.moves_bytes and workload.default_bytes > 0
    centre_bytes = sizes[CENTRE_BYTES_INDEX] if moves_bytes else 0
    centre = Job(CENTRE_TASKS, grains[CENTRE_GRAIN_INDEX], centre_bytes)
    series: dict[Axis, list[Job]] = {
        "grain_s": [replace(centre, grain_s=g) for g in grains],
        "tasks": [replace(centre, tasks=n) for n in TASKS_SERIES],
    }
    if moves_bytes:
        series["bytes_per_task"] = [replace(centre, bytes_per_task=b) for b in sizes]
    return series


def run_cutover(
    plan: CutoverPlan,
    writer: ResultsWriter,
    on_progress: ProgressCallback = lambda progress: None,
    on_version_check: Callable[[str, VersionCheck], None] = lambda backend, check: None,
    make_backend: BackendFactory = create_backend,
) -> tuple[Results, CutoverAnalysis]:
    """Search every workload's crossovers within the budget; return the results and analysis.

    ``make_backend`` builds a backend by name (tests pass scripted ones).

    Raises:
        UsageError, TaskFailedError, ClusterConnectionError: before measuring (bad input, a
            failing serial reference) or while starting a backend. Task errors on a backend are
            recorded, not raised.
    """
    order = plan.backend_order()
    backends = [make_backend(name, plan.options) for name in order]  # bad names fail here
    search = CutoverSearch(plan, writer, on_progress, make_backend)
    # The analysis judges a shape measured in one round of a run that planned more as one moment
    # of the machine, never decisive, even when the budget ran out before the second round.
    writer.results.metadata["rounds"] = plan.rounds
    modules = [w.module for w in plan.workloads if w.module is not None]
    for position, backend in enumerate(backends):
        search.progress(f"starting {backend.name}")
        # The dispatch cost probed as `run` probes it, so `advise` sizes --chunk auto's chunks
        # from what run would measure rather than from the fitted o (a few tenths of a second).
        with started_backend(
            backend, modules, writer, on_version_check, probe_dispatch=True
        ) as run:
            for workload in plan.workloads:
                _coarse(search, backend, workload, order[:position])
            refine(search, backend, order[:position], order[position + 1 :])
            search.progress(f"stopping {backend.name}")
        search.start_cost[backend.name] = run.startup_s + (run.shutdown_s or 0.0)
    _fill_in(search, order, modules)
    # The later rounds before the lesson shapes: they decide which crossovers hold, and the
    # budget is theirs; the lesson shapes are fixed and cheap (about 10 s of jobs), measured
    # after them whatever is left, as part of the first round.
    for round_index in range(1, plan.rounds):
        search.round = round_index
        replicate(search, order, modules, on_version_check)
    search.round = 0
    measure_lesson_shapes(search, order, plan.options, plan.settings, modules, make_backend)
    search.progress("analysing")
    analysis = analyse(writer.results, project_nodes=plan.project_nodes)
    repeated = {r.backend for r in writer.results.records if r.round > 0}
    unrepeated = tuple(name for name in order if plan.rounds > 1 and name not in repeated)
    if search.cut_short or unrepeated:
        warning = BudgetRanOut(budget_s=plan.budget_s, unrepeated=unrepeated)
        analysis = replace(analysis, warnings=[warning, *analysis.warnings])
    return writer.results, analysis


def _coarse(
    search: CutoverSearch, backend: Backend, workload: Workload, earlier: list[str]
) -> None:
    """Measure the coarse series, stopping each once it is settled against earlier backends."""
    seen: set[tuple[int, float, int]] = set()
    for jobs in coarse_series(workload).values():
        measured: list[Job] = []
        for job in jobs:
            key = (job.tasks, job.grain_s, job.bytes_per_task)
            if key in seen:
                measured.append(job)
                continue
            if measured and _settled(search, backend.name, workload.name, measured, earlier):
                break
            if len(measured) >= SETTLE_AFTER and search.elapsed() > search.budget_s:
                # Out of budget: the series' last, most expensive point goes; the rest is the
                # least a fit needs.
                search.cut_short = True
                break
            record = search.measure(backend, workload, job)
            seen.add(key)
            if record.error is not None:
                break
            measured.append(job)


def _settled(
    search: CutoverSearch, backend: str, workload: str, jobs: list[Job], earlier: list[str]
) -> bool:
    """Whether going further along this series cannot change ``backend``'s order.

    Against every earlier backend: at the last two points their intervals separate, and either
    they already crossed lower down, or the gap between them grew at each of the last two steps
    (noise at the cheap end can fake one step, rarely two in a row).
    """
    if not earlier or len(jobs) < SETTLE_AFTER:
        return False
    records = {
        (r.backend, r.tasks, r.grain_s, r.bytes_per_task): r
        for r in search.writer.results.records
        if r.workload == workload and r.wall_s and r.error is None
    }

    def gap(other: str, job: Job) -> tuple[float, bool] | None:
        mine = records.get((backend, job.tasks, job.grain_s, job.bytes_per_task))
        theirs = records.get((other, job.tasks, job.grain_s, job.bytes_per_task))
        if mine is None or theirs is None:
            return None
        a, b = median_interval(mine.wall_s), median_interval(theirs.wall_s)
        separated = a.high < b.low or b.high < a.low
        return median(mine.wall_s) - median(theirs.wall_s), separated

    for other in earlier:
        gaps = [gap(other, job) for job in jobs]
        known = [g for g in gaps if g is not None]
        if len(known) < len(gaps) or not all(separated for _, separated in known[-2:]):
            return False
        last = known[-1][0]
        crossed = any(difference * last < 0 for difference, _ in known[:-1])
        sizes = [abs(difference) for difference, _ in known[-SETTLE_AFTER:]]
        growing = all(later > before for before, later in pairwise(sizes))
        if not crossed and not growing:
            return False
    return True


def _fill_in(search: CutoverSearch, order: Sequence[str], modules: list[ModuleType]) -> None:
    """Cheap backends run the refinement shapes they missed, while the budget lasts.

    Coarse points a series skipped once settled stay skipped: they could not change the order.
    """
    coarse = {
        (workload.name, job.tasks, job.grain_s, job.bytes_per_task)
        for workload in search.plan.workloads
        for jobs in coarse_series(workload).values()
        for job in jobs
    }
    for name in order:
        if search.start_cost.get(name, math.inf) > CHEAP_START_S:
            continue
        missing = [
            (workload, Job(tasks, grain, size))
            for workload, tasks, grain, size in search.prepared
            if (
                (workload, tasks, grain, size) not in coarse
                and not search.has(name, workload, Job(tasks, grain, size))
            )
            or name in search.evidence.get((workload, tasks, grain, size), set())
        ]
        if not missing or search.elapsed() >= search.budget_s:
            continue
        backend = search.make_backend(name, search.plan.options)
        with started_backend(backend, modules, search.writer):
            for workload_name, job in missing:
                if search.elapsed() >= search.budget_s:
                    break
                search.measure(backend, search.by_name[workload_name], job)
