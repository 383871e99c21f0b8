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
4. further rounds (``CutoverPlan.rounds``): every backend is started again, all at once, and
   measures again, taking turns shape by shape, the shapes that decide an answer (every pair
   with a crossover, about-equal or model-only finding, and the ladder's pairs,
   ``costmodel.ladder.LADDER``: on each side, the two shapes where the pair ran closest), each
   record marked with its round. The rounds are independent engine sessions at other moments:
   the spread between them is the run-to-run drift that a reported crossover must beat
   (``dist_bench.decisive``) and that its interval's bootstrap resamples; taking turns, the two
   backends of a pair see nearly the same moment of the machine in that round.

Every record is handed to the results writer as it is measured. Returns data and reports
progress through a callback; never prints.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from itertools import pairwise
from types import ModuleType

from dist_bench.backends import CLUSTER_BACKENDS, BackendOptions, create_backend
from dist_bench.backends.base import BASELINE, Backend
from dist_bench.costmodel import (
    AXES,
    LADDER,
    Axis,
    BudgetRanOut,
    Crossover,
    CrossoverKind,
    CutoverAnalysis,
    JobShape,
    analyse,
    shape_to_ask,
)
from dist_bench.defaults import CUTOVER_BUDGET_S, CUTOVER_REPEATS
from dist_bench.lesson_shapes import measure_lesson_shapes
from dist_bench.measure import MeasureSettings, PreparedJob, prepare_job
from dist_bench.results import Record, Results, ResultsWriter
from dist_bench.stats import median, median_interval
from dist_bench.sweep import (
    Progress,
    ProgressCallback,
    measure_prepared,
    ordered_backends,
    started_backend,
)
from dist_bench.versions import VersionCheck
from dist_bench.workload import Job, Workload, started_environment

#: Rounds of a default cutover: the first searches, the second re-measures in new sessions so
#: the run-to-run drift is measured (two is the least that measures any; more cost budget).
DEFAULT_ROUNDS = 2
#: Share of the budget the first round (the search) may use; later rounds share the rest.
#: Source: a judgement (commit 5a2e715): re-measuring the deciding shapes once took about a
#: third of the first round's measuring on the 2-core machine.
FIRST_ROUND_SHARE = 0.7
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
#: A crossover whose interval is narrower than this share of its value needs no more shapes.
SETTLED_WIDTH = 0.3
#: Refinement rounds per backend at most (each adds up to 3 shapes per open crossover).
MAX_REFINE_ROUNDS = 2
#: Backends that start faster than this fill in the shapes they missed at the end.
CHEAP_START_S = 1.0
#: Bootstrap refits while the search runs (the final analysis uses more).
SEARCH_RESAMPLES = 60
#: What an engine's start and stop are assumed to cost before it has been started once (embedded
#: Dask and Ray took 6-7 s each on the 2-core development machine under load).
ENGINE_START_GUESS_S = 7.0


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


BackendFactory = Callable[[str, BackendOptions], Backend]


class _Search:
    """The state of one cutover search: prepared jobs, the clock, progress."""

    def __init__(
        self,
        plan: CutoverPlan,
        writer: ResultsWriter,
        on_progress: ProgressCallback,
        make_backend: BackendFactory,
    ) -> None:
        self.plan = plan
        self.writer = writer
        self.on_progress = on_progress
        self.make_backend = make_backend
        self.started = time.perf_counter()
        self.prepared: dict[tuple[str, int, float, int], PreparedJob] = {}
        self.by_name = {w.name: w for w in plan.workloads}
        #: Seconds each backend's start and stop took (what a fill-in round would cost).
        self.start_cost: dict[str, float] = {}
        #: Whether the budget ran out before the coarse series were complete.
        self.cut_short = False
        #: Evidence shapes (workload, tasks, grain, bytes) and the pair of backends to compare
        #: there: the fill-in measures them again for those backends, whatever they have.
        self.evidence: dict[tuple[str, int, float, int], set[str]] = {}
        #: The round being measured (each record is marked with it).
        self.round = 0
        #: The first round's budget: the search must leave the rest to the later rounds.
        self.budget_s = plan.budget_s * (FIRST_ROUND_SHARE if plan.rounds > 1 else 1.0)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def progress(self, description: str) -> None:
        elapsed = self.elapsed()
        total = max(self.plan.budget_s, elapsed + 1.0)
        if self.plan.rounds > 1:
            description += f", round {self.round + 1} of {self.plan.rounds}"
        self.on_progress(Progress(round(elapsed), round(total), description))

    def prepare(self, workload: Workload, job: Job) -> PreparedJob:
        """Calibrate and answer a shape once, however many backends run it."""
        key = (workload.name, job.tasks, job.grain_s, job.bytes_per_task)
        if key not in self.prepared:
            self.progress(f"calibrating {workload.name}")
            with started_environment(workload, job) as running:
                self.prepared[key] = prepare_job(workload, running, self.plan.options.blas_threads)
        return self.prepared[key]

    def measure(self, backend: Backend, workload: Workload, job: Job) -> Record:
        prepared = self.prepare(workload, job)
        self.progress(f"{workload.name} on {backend.name}")
        record = measure_prepared(backend, prepared, self.plan.settings)
        record.round = self.round
        self.writer.add_record(record)
        return record

    def has(self, backend: str, workload: str, job: Job) -> bool:
        return any(
            r.backend == backend
            and r.size_key() == (workload, job.tasks, job.grain_s, job.bytes_per_task)
            for r in self.writer.results.records
        )


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
    search = _Search(plan, writer, on_progress, make_backend)
    # The analysis judges a shape measured in one round of a run that planned more as one moment
    # of the machine, never decisive, even when the budget ran out before the second round.
    writer.results.metadata["rounds"] = plan.rounds
    modules = [w.module for w in plan.workloads if w.module is not None]
    for position, backend in enumerate(backends):
        search.progress(f"starting {backend.name}")
        with started_backend(backend, modules, writer, on_version_check) as run:
            for workload in plan.workloads:
                _coarse(search, backend, workload, order[:position])
            _refine(search, backend, order[:position], order[position + 1 :])
            search.progress(f"stopping {backend.name}")
        search.start_cost[backend.name] = run.startup_s + (run.shutdown_s or 0.0)
    _fill_in(search, order, modules)
    measure_lesson_shapes(search, order, plan.options, plan.settings, modules, make_backend)
    for round_index in range(1, plan.rounds):
        search.round = round_index
        _replicate(search, order, modules, on_version_check)
    search.progress("analysing")
    analysis = analyse(writer.results, project_nodes=plan.project_nodes)
    repeated = {r.backend for r in writer.results.records if r.round > 0}
    unrepeated = tuple(name for name in order if plan.rounds > 1 and name not in repeated)
    if search.cut_short or unrepeated:
        warning = BudgetRanOut(budget_s=plan.budget_s, unrepeated=unrepeated)
        analysis = replace(analysis, warnings=[warning, *analysis.warnings])
    return writer.results, analysis


def _coarse(search: _Search, backend: Backend, workload: Workload, earlier: list[str]) -> None:
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
    search: _Search, backend: str, workload: str, jobs: list[Job], earlier: list[str]
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


def _refine(search: _Search, backend: Backend, earlier: list[str], later: list[str]) -> None:
    """Add shapes around this backend's open crossovers while its share of the budget lasts."""
    if not earlier:
        return
    for _ in range(MAX_REFINE_ROUNDS):
        share = _budget_share(search, later)
        deadline = search.elapsed() + share
        wanted = _refinement_shapes(search, backend.name, earlier)
        if not wanted or share <= 0:
            return
        for workload_name, job in wanted:
            if search.elapsed() >= deadline:
                return
            search.measure(backend, search.by_name[workload_name], job)


def _budget_share(search: _Search, later: list[str]) -> float:
    """Seconds of refinement for the running backend.

    What is left after reserving the later backends' coarse series (each as long as serial's
    took, plus a start for the engines), split evenly with them.
    """
    serial_s = sum(
        sum(r.wall_s) + sum(r.warmup_s)
        for r in search.writer.results.records
        if r.backend == BASELINE
    )
    starts = sum(ENGINE_START_GUESS_S for name in later if name in CLUSTER_BACKENDS)
    reserve = len(later) * serial_s + starts
    return (search.budget_s - search.elapsed() - reserve) / (len(later) + 1)


def _refinement_shapes(search: _Search, backend: str, earlier: list[str]) -> list[tuple[str, Job]]:
    """Shapes at the estimate and interval ends of each of ``backend``'s wide crossovers."""
    current = Results(
        metadata={},
        backends=search.writer.results.backends,
        records=[r for r in search.writer.results.records if r.backend in (backend, *earlier)],
    )
    analysis = analyse(current, resamples=SEARCH_RESAMPLES)
    wanted: list[tuple[str, Job]] = []
    for crossover in analysis.crossovers:
        if backend not in crossover.backends:
            continue
        if crossover.unshown:
            wanted += _evidence_shapes(search, crossover)
            continue
        if crossover.value is None:
            continue
        interval = crossover.interval
        if interval is not None and interval.high - interval.low <= SETTLED_WIDTH * crossover.value:
            continue
        ends = [crossover.value]
        if interval is not None:
            ends += [interval.low, interval.high]
        low, high = crossover.searched
        for value in ends:
            value = min(max(value, low), high)
            job = _job_at(shape_to_ask(search.writer.results, crossover, value))
            if _near_measured(search, backend, crossover.workload, crossover.axis, job):
                continue
            wanted.append((crossover.workload, job))
    unique = {(w, j.tasks, j.grain_s, j.bytes_per_task): (w, j) for w, j in wanted}
    return list(unique.values())


def _evidence_shapes(search: _Search, crossover: Crossover) -> list[tuple[str, Job]]:
    """Shapes to measure again where a model crossover lacks a measured clear winner.

    The end of the series on each side that lacks one (both when the measured winners
    disagree): two costs linear along the axis differ most, relatively, at the ends, so that is
    where more samples most likely part the two medians' intervals. Measured again, the shape's
    samples pool with the earlier ones; marked so the other backend of the pair measures it again
    too (in the fill-in).
    """
    axis = crossover.axis
    on_line = sorted(
        float(getattr(r, axis))
        for r in search.writer.results.records
        if r.workload == crossover.workload
        and r.backend in crossover.backends
        and all(float(getattr(r, a)) == crossover.line.value(a) for a in AXES if a != axis)
    )
    if crossover.model_value is None or not on_line:
        return []
    disagree = crossover.evidence_below is not None and crossover.evidence_above is not None
    ends = []
    if crossover.evidence_below is None or disagree:
        ends.append(on_line[0])
    if crossover.evidence_above is None or disagree:
        ends.append(on_line[-1])
    wanted = []
    for value in ends:
        shape = crossover.line.along(axis, value)
        job = Job(shape.tasks, shape.grain_s, shape.bytes_per_task)
        key = (crossover.workload, job.tasks, job.grain_s, job.bytes_per_task)
        search.evidence.setdefault(key, set()).update(crossover.backends)
        wanted.append((crossover.workload, job))
    return wanted


def _job_at(shape: JobShape) -> Job:
    """The job to run for ``shape`` (as asked for), its grain rounded."""
    # Round so nearby refinements reuse one calibrated shape instead of three almost-equal ones.
    grain = float(f"{shape.grain_s:.2g}")
    return Job(shape.tasks, grain, shape.bytes_per_task)


def _near_measured(search: _Search, backend: str, workload: str, axis: Axis, job: Job) -> bool:
    """Whether ``backend`` already has a shape within 10 % of ``job`` on ``axis``."""
    for record in search.writer.results.records:
        if record.backend != backend or record.workload != workload:
            continue
        others_equal = all(getattr(record, a) == getattr(job, a) for a in AXES if a != axis)
        mine, theirs = float(getattr(job, axis)), float(getattr(record, axis))
        if others_equal and math.isclose(mine, theirs, rel_tol=0.1):
            return True
    return False


def _fill_in(search: _Search, order: Sequence[str], modules: list[ModuleType]) -> None:
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


def _replicate(
    search: _Search,
    order: Sequence[str],
    modules: list[ModuleType],
    on_version_check: Callable[[str, VersionCheck], None],
) -> None:
    """One more round: every backend started again, all at once, measures the deciding shapes.

    Each shape is measured on the backends of its pairs one right after another, so the two
    backends of a pair see nearly the same moment of the machine (in the first round minutes
    apart); each is a new session, so the spread between rounds includes the drift between
    engine sessions. Shapes go in order of importance (pairs with a crossover first, then
    about-equal and model-only ones, then the ladder's other pairs), until the budget is spent.
    """
    search.progress("analysing the first round")
    wanted = _deciding_shapes(search)
    names = [name for name in order if any(name in backends for _, _, backends in wanted)]
    starts = sum(search.start_cost.get(name, ENGINE_START_GUESS_S) for name in names)
    if search.plan.budget_s - search.elapsed() <= starts:
        return
    with ExitStack() as stack:
        running: dict[str, Backend] = {}
        for name in names:
            search.progress(f"starting {name}")
            backend = search.make_backend(name, search.plan.options)
            stack.enter_context(started_backend(backend, modules, search.writer, on_version_check))
            running[name] = backend
        for workload_name, job, backends in wanted:
            if search.elapsed() >= search.plan.budget_s:
                break
            for name in names:
                if name in backends:
                    search.measure(running[name], search.by_name[workload_name], job)


#: Which findings' shapes a later round measures first: the answers given as points first.
_DECIDING_ORDER = (
    CrossoverKind.REACHED,
    CrossoverKind.BRACKETED,
    CrossoverKind.ABOUT_EQUAL,
    CrossoverKind.UNSHOWN,
)
#: Shapes per pair and side a later round measures again: on each side (where one backend, then
#: where the other was faster), those where the two ran closest: the ones that bracket a
#: crossing, or the end of the range nearest one, which decide the answer.
DECIDING_SHAPES = 2


def _deciding_shapes(search: _Search) -> list[tuple[str, Job, set[str]]]:
    """The first round's shapes that decide an answer, most important first, with their backends."""
    # Judged as one round (as the search did): which shapes decide is what is asked here.
    first_round = replace(search.writer.results, metadata={})
    analysis = analyse(first_round, resamples=SEARCH_RESAMPLES)

    def priority(crossover: Crossover) -> int:
        if crossover.kind in _DECIDING_ORDER:
            return _DECIDING_ORDER.index(crossover.kind)
        ladder = crossover.axis == "grain_s" and any(
            set(crossover.backends) == set(step) for step in LADDER
        )
        return len(_DECIDING_ORDER) if ladder else -1

    ranked = sorted((c for c in analysis.crossovers if priority(c) >= 0), key=priority)
    wanted: dict[tuple[str, int, float, int], tuple[str, Job, set[str]]] = {}
    for crossover in ranked:
        for job in _closest_shapes(search, crossover):
            key = (crossover.workload, job.tasks, job.grain_s, job.bytes_per_task)
            wanted.setdefault(key, (crossover.workload, job, set()))[2].update(crossover.backends)
    return list(wanted.values())


def _closest_shapes(search: _Search, crossover: Crossover) -> list[Job]:
    """On the crossover's line, per faster backend, the ``DECIDING_SHAPES`` closest shapes."""
    medians: dict[tuple[int, float, int], dict[str, float]] = {}
    for record in search.writer.results.records:
        on_line = all(
            float(getattr(record, axis)) == crossover.line.value(axis)
            for axis in AXES
            if axis != crossover.axis
        )
        if (
            on_line
            and record.round == 0
            and record.workload == crossover.workload
            and record.backend in crossover.backends
            and record.error is None
            and record.wall_s
        ):
            shape = (record.tasks, record.grain_s, record.bytes_per_task)
            medians.setdefault(shape, {})[record.backend] = median(record.wall_s)
    first, second = crossover.backends
    gaps = [
        (math.log(times[second] / times[first]), shape)
        for shape, times in medians.items()
        if len(times) == 2
    ]
    first_faster = sorted((gap, shape) for gap, shape in gaps if gap > 0)
    second_faster = sorted((-gap, shape) for gap, shape in gaps if gap <= 0)
    chosen = first_faster[:DECIDING_SHAPES] + second_faster[:DECIDING_SHAPES]
    return [Job(*shape) for _, shape in chosen]
