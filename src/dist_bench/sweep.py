"""Running the grid: workloads x job sizes x backends (x worker counts).

Returns data and reports progress through a callback; never prints.

Order of work:

1. every (workload, size) is calibrated and answered serially in the driver, once per round;
2. each backend is started once (its cold start-up timed), runs every prepared job, and is shut
   down (timed) before the next starts, so backends never compete for the cores; a worker-count
   sweep (``-w 1,2``) starts every backend but serial once per count, and with ``--weak`` a count
   runs its own job (the tasks times the workers), serial every count's;
3. with several rounds (``--rounds``), steps 1 and 2 are repeated, every backend once per round:
   the rounds are interleaved so the machine's drift over the run (other programs' load)
   reaches every backend alike, and their spread is the run-to-run noise ``compare`` needs;
4. every record is handed to the writer as soon as it is measured.

A task that raises is recorded as an error for that backend and the run goes on; Ctrl-C stops the
run, shuts the running backend down, and leaves what was measured in the results file.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import ModuleType

from dist_bench.backends import CLUSTER_BACKENDS, BackendOptions, create_backend
from dist_bench.backends.base import BASELINE, Backend
from dist_bench.chunking import measure_dispatch_s
from dist_bench.errors import TaskFailedError, UsageError
from dist_bench.measure import MeasureSettings, PreparedJob, measure, new_record, prepare_job
from dist_bench.results import BackendRun, Record, Results
from dist_bench.results_writer import ResultsWriter
from dist_bench.scaling import MIN_FIT_SIZES, Scaling
from dist_bench.units import AUTO, ChunkMode, format_bytes
from dist_bench.versions import VersionCheck, check_versions, client_versions
from dist_bench.workload import Job, Workload, started_environment

#: Copies of a job's task data the driver holds at once: the inputs, and the serial reference's
#: outputs (as large as the inputs for the data workload) until they are combined.
DRIVER_COPIES = 2


@dataclass(frozen=True)
class SizeGrid:
    """Job sizes to sweep; ``None`` means the workload's own default."""

    tasks: Sequence[int] | None = None
    grain_s: Sequence[float] | None = None
    bytes_per_task: Sequence[int] | None = None

    def jobs_for(self, workload: Workload) -> list[Job]:
        """Every job size for ``workload`` (bytes only vary for workloads that move bytes)."""
        tasks = self.tasks or [workload.default_tasks]
        grains = self.grain_s or [workload.default_grain_s]
        sizes = (self.bytes_per_task or [workload.default_bytes]) if workload.moves_bytes else [0]
        return [
            Job(tasks=n, grain_s=g, bytes_per_task=b)
            for n, g, b in itertools.product(tasks, grains, sizes)
        ]


@dataclass(frozen=True)
class Start:
    """One start of a backend in a run: its name and worker count (None: the backend's own)."""

    backend: str
    workers: int | None


@dataclass(frozen=True)
class SweepPlan:
    """What to run: workloads, backend names, sizes and how to measure."""

    workloads: list[Workload]
    backends: list[str]
    sizes: SizeGrid = field(default_factory=SizeGrid)
    settings: MeasureSettings = field(default_factory=MeasureSettings)
    options: BackendOptions = field(default_factory=BackendOptions)
    #: Tasks per dispatch to measure each job with (``--chunk 1,auto`` shows naive beside auto).
    chunks: Sequence[ChunkMode] = (AUTO,)
    #: Passes over the whole grid, interleaved (each record carries its ``round``).
    rounds: int = 1
    #: Worker counts to start every backend but serial with, one start each (``run -w 1,2``):
    #: a worker-count sweep; empty, one start with ``options.workers``.
    worker_counts: Sequence[int] = ()
    #: Weak scaling over ``worker_counts`` (``run --weak``): each count runs ``tasks`` tasks per
    #: worker, the same work per worker, and its records say so (``Record.scaling``), for
    #: Gustafson's law (``scaling.scaling_curves``). Serial runs every count's job.
    weak: bool = False

    def __post_init__(self) -> None:
        """Refuse a worker sweep that cannot make a curve.

        Raises:
            UsageError: a worker count given twice; ``weak`` with fewer than two worker counts,
                with several task counts (each would be its own series on the same sizes), or
                with serial alone.
        """
        if len(set(self.worker_counts)) != len(self.worker_counts):
            raise UsageError("-w: each worker count once")
        if self.weak and len(self.worker_counts) < MIN_FIT_SIZES:
            raise UsageError(
                f"--weak needs at least {MIN_FIT_SIZES} worker counts to fit Gustafson's law "
                "(e.g. -w 1,2)"
            )
        if self.weak and len(self.sizes.tasks or ()) > 1:
            raise UsageError("--weak takes one --tasks: the tasks per worker")
        if self.weak and all(name == BASELINE for name in self.backends):
            raise UsageError("--weak sweeps the workers of a backend besides serial (-b processes)")

    def starts(self) -> list[Start]:
        """Every backend start of one round, in run order (``backend_order``).

        Serial starts once (one worker is what it is); every other backend once per worker count.
        """
        counts: Sequence[int | None] = self.worker_counts or [self.options.workers]
        return [
            Start(name, None) if name == BASELINE else Start(name, workers)
            for name in self.backend_order()
            for workers in ([None] if name == BASELINE else counts)
        ]

    def jobs_for(self, workload: Workload, start: Start | None = None) -> list[Job]:
        """The jobs ``start`` runs of ``workload`` (None: every job of the run, to prepare).

        With ``weak``, a backend on W workers runs W times the tasks; serial, the baseline of
        every one of them, runs them all.
        """
        jobs = self.sizes.jobs_for(workload)
        if not self.weak:
            return jobs
        counts = self.worker_counts if start is None or start.workers is None else [start.workers]
        return [replace(job, tasks=job.tasks * count) for count in counts for job in jobs]

    def chunk_modes(self, backend: str) -> list[ChunkMode]:
        """The chunk modes ``backend`` runs.

        The baseline runs once: automatic when asked for (chunking also amortises the
        harness's own timing of each task, which a loop of tiny tasks would otherwise pay in
        the baseline every speedup divides), else the first mode given.
        """
        modes = list(dict.fromkeys(self.chunks))
        if backend != BASELINE:
            return modes
        return [AUTO] if AUTO in modes else modes[:1]

    def estimate(self) -> WorkEstimate:
        """How long the work takes if it all ran serially: what a plan says before it starts."""
        reference_s = sum(
            job.tasks * job.grain_s for w in self.workloads for job in self.jobs_for(w)
        )
        runs = self.settings.warmup + self.settings.repeats
        measured_s = sum(
            len(self.chunk_modes(start.backend)) * runs * job.tasks * job.grain_s
            for start in self.starts()
            for w in self.workloads
            for job in self.jobs_for(w, start)
        )
        driver_bytes = max(
            (
                DRIVER_COPIES * job.tasks * job.bytes_per_task
                for w in self.workloads
                if w.moves_bytes
                for job in self.jobs_for(w)
            ),
            default=0,
        )
        # Every round computes the reference again (it calibrates anew) and runs every job.
        total_s = self.rounds * (reference_s + measured_s)
        return WorkEstimate(reference_s, total_s, driver_bytes)

    def backend_order(self) -> list[str]:
        """The order backends run in.

        Backends given an address first, so a wrong address fails in seconds rather than after
        the local measurements; then the serial baseline (added if missing: every speedup
        divides by it); then the rest.
        """
        return ordered_backends(self.backends, self.options)


@dataclass(frozen=True)
class WorkEstimate:
    """A run's work in serial seconds (tasks x grain), before any overhead or parallelism.

    ``reference_s`` is the serial reference answer computed first, in the driver, alone;
    ``total_s`` adds every warm-up and measured job on every backend, as if each ran serially
    (parallel backends take less, by up to their worker count; dispatch overhead comes on top).
    """

    reference_s: float
    total_s: float
    #: The most memory one job's data takes in the driver (``DRIVER_COPIES`` of it).
    driver_bytes: int = 0


def ordered_backends(names: Sequence[str], options: BackendOptions) -> list[str]:
    """``names`` in run order: addressed backends, serial (added if missing), then the rest."""
    addressed = [n for n in names if options.address and n in CLUSTER_BACKENDS]
    rest = [n for n in names if n != BASELINE and n not in addressed]
    return [*addressed, BASELINE, *rest]


@dataclass(frozen=True)
class Progress:
    """A progress report: ``done`` of ``total`` jobs, and what is happening now."""

    done: int
    total: int
    description: str


ProgressCallback = Callable[[Progress], None]


def check_memory(estimate: WorkEstimate) -> None:
    """Refuse, before anything runs, a job whose data cannot fit in this machine's memory.

    Raises:
        UsageError: naming the memory needed and the machine's.
    """
    import psutil

    total = psutil.virtual_memory().total
    if estimate.driver_bytes > total:
        raise UsageError(
            f"the largest job needs about {format_bytes(estimate.driver_bytes)} in the driver "
            f"(its tasks' data, in and out), more than this machine's {format_bytes(total)} of "
            "memory: lower --tasks or --bytes"
        )


#: How ``run_sweep`` builds a backend: the registry's ``create_backend``, or a test's scripted one.
BackendFactory = Callable[[str, BackendOptions], Backend]


def validate_backends(
    plan: SweepPlan, make_backend: BackendFactory = create_backend
) -> list[tuple[Start, Backend]]:
    """Build the backend of every start without starting it.

    Unknown names, missing engines and bad options so fail before anything is measured.
    """
    built = []
    for start in plan.starts():
        options = (
            plan.options if start.workers is None else replace(plan.options, workers=start.workers)
        )
        built.append((start, make_backend(start.backend, options)))
    return built


def runs_on(workload: Workload, backend: Backend) -> bool:
    """Whether ``backend``'s workers can run ``workload`` (NumPy cannot load in subinterpreters)."""
    return backend.runs_numpy or not workload.uses_numpy


def run_sweep(
    plan: SweepPlan,
    writer: ResultsWriter,
    on_progress: ProgressCallback = lambda progress: None,
    on_version_check: Callable[[str, VersionCheck], None] = lambda backend, check: None,
    on_plan: Callable[[WorkEstimate], None] = lambda estimate: None,
    on_skip: Callable[[Workload, Backend], None] = lambda workload, backend: None,
    make_backend: BackendFactory = create_backend,
) -> Results:
    """Measure every prepared job on every backend; return this run's results.

    ``writer`` saves them as they come. Once the plan is checked (backends built, the largest
    job's data within memory), its estimate goes to ``on_plan``, before any work. Before
    measuring on a remote cluster, its versions are compared with this client's and handed to
    ``on_version_check``; a hard mismatch stops the run. A workload a backend cannot run
    (``runs_on``) is not measured there, and handed to ``on_skip`` first (once per backend,
    however many worker counts it starts with).

    Raises:
        UsageError, TaskFailedError, ClusterConnectionError: before measuring (bad input, a
            failing serial reference) or while starting a backend. Task errors on a backend are
            recorded, not raised.
    """
    starts = validate_backends(plan, make_backend)
    estimate = plan.estimate()
    check_memory(estimate)
    on_plan(estimate)
    skipped: set[tuple[str, str]] = set()
    for _, backend in starts:
        for workload in plan.workloads:
            if not runs_on(workload, backend) and (workload.name, backend.name) not in skipped:
                skipped.add((workload.name, backend.name))
                on_skip(workload, backend)
    runs_per_job = plan.settings.warmup + plan.settings.repeats
    total = plan.rounds * sum(
        len(plan.jobs_for(w, start)) * runs_per_job * len(plan.chunk_modes(b.name))
        for start, b in starts
        for w in plan.workloads
        if runs_on(w, b)
    )
    done = 0

    def job_done(description: str) -> Callable[[], None]:
        def advance() -> None:
            nonlocal done
            done += 1
            on_progress(Progress(done, total, description))

        return advance

    def keep_count(progress: Progress) -> None:
        # Calibrating after the first round: the bar keeps its count instead of restarting.
        on_progress(Progress(done, total, progress.description))

    modules = [w.module for w in plan.workloads if w.module is not None]
    for round_index in range(plan.rounds):
        # Each round calibrates anew, as a separate run would: the calibration's own noise is
        # then part of the spread between rounds instead of hidden in one shared choice.
        prepared_jobs = _prepare_all(plan, keep_count if round_index else on_progress)
        for start, backend in starts:
            on_progress(Progress(done, total, f"starting {_start_name(plan, start)}"))
            probe = AUTO in plan.chunk_modes(backend.name)
            with started_backend(backend, modules, writer, on_version_check, probe_dispatch=probe):
                for workload, jobs in prepared_jobs:
                    if not runs_on(workload, backend):
                        continue
                    wanted = [_shape(job) for job in plan.jobs_for(workload, start)]
                    mine = [p for p in jobs if _shape(p.job) in wanted]
                    for prepared, chunk in itertools.product(mine, plan.chunk_modes(backend.name)):
                        description = f"{workload.name} on {_start_name(plan, start)}"
                        if plan.rounds > 1:
                            description += f", round {round_index + 1} of {plan.rounds}"
                        settings = replace(plan.settings, chunk=chunk)
                        record = measure_prepared(
                            backend, prepared, settings, job_done(description)
                        )
                        record.round = round_index
                        if plan.weak and start.backend != BASELINE:
                            record.scaling = Scaling.WEAK.value
                        writer.add_record(record)
                        if record.error is not None:
                            # Skip this record's remaining runs in the progress count.
                            skipped_runs = plan.settings.warmup + plan.settings.repeats
                            done += skipped_runs - len(record.wall_s) - len(record.warmup_s)
                on_progress(Progress(done, total, f"stopping {backend.name}"))
    return writer.results


def _start_name(plan: SweepPlan, start: Start) -> str:
    """A start as progress names it: the backend, and its workers in a worker sweep."""
    if plan.worker_counts and start.workers is not None:
        return f"{start.backend} on {start.workers} worker(s)"
    return start.backend


def _shape(job: Job) -> tuple[int, float, int]:
    """What tells a run's jobs apart (tasks, grain, bytes): not the units calibration adds."""
    return (job.tasks, job.grain_s, job.bytes_per_task)


@contextmanager
def started_backend(
    backend: Backend,
    modules: list[ModuleType],
    writer: ResultsWriter,
    on_version_check: Callable[[str, VersionCheck], None] = lambda backend, check: None,
    probe_dispatch: bool = False,
) -> Iterator[BackendRun]:
    """Start ``backend`` (timed), check a remote cluster's versions, and shut it down (timed).

    The start is recorded in ``writer`` at once, its shutdown time when the block ends, however
    it ends. With ``probe_dispatch``, the backend's cost per dispatch is measured once after it
    starts, for ``--chunk auto`` (``chunking.measure_dispatch_s``).

    Raises:
        ClusterConnectionError: the cluster refused us or its versions mismatch hard.
    """
    run = BackendRun(backend.name, startup_s=0.0)
    try:
        started = time.perf_counter()
        backend.start(ship=modules)
        run.startup_s = time.perf_counter() - started
        run.topology = backend.describe()
        if probe_dispatch:
            run.dispatch_s = measure_dispatch_s(backend)
        writer.add_backend_run(run)
        if backend.remote:
            check = _check_cluster_versions(backend, run)
            on_version_check(backend.name, check)
            writer.save()
            check.raise_if_hard(backend.name)
        yield run
    finally:
        started = time.perf_counter()
        backend.shutdown()
        run.shutdown_s = time.perf_counter() - started
        writer.save()


def _check_cluster_versions(backend: Backend, run: BackendRun) -> VersionCheck:
    check = check_versions(client_versions(), backend.remote_versions(), backend.engine_packages)
    run.topology["versions"] = {"client": check.client, "nodes": check.nodes}
    run.topology["version_warnings"] = check.soft + check.hard
    return check


def _prepare_all(
    plan: SweepPlan, on_progress: ProgressCallback
) -> list[tuple[Workload, list[PreparedJob]]]:
    prepared: list[tuple[Workload, list[PreparedJob]]] = []
    for workload in plan.workloads:
        jobs = plan.jobs_for(workload)
        on_progress(Progress(0, 1, f"calibrating {workload.name}"))
        answered = []

        def reference_done(done: int, total: int, name: str = workload.name) -> None:
            on_progress(Progress(done, total, f"serial reference of {name}"))

        for job in jobs:
            with started_environment(workload, job) as running:
                answered.append(
                    prepare_job(workload, running, plan.options.blas_threads, reference_done)
                )
        prepared.append((workload, answered))
    return prepared


def measure_prepared(
    backend: Backend,
    prepared: PreparedJob,
    settings: MeasureSettings,
    on_job_done: Callable[[], None] = lambda: None,
) -> Record:
    """Measure one prepared job on a started backend; a failing task becomes the record's error."""
    with started_environment(prepared.workload, prepared.job) as running:
        tasks = prepared.workload.make_tasks(running)
        try:
            return measure(
                backend,
                PreparedJob(prepared.workload, running, prepared.reference),
                tasks,
                settings,
                on_job_done,
            )
        except TaskFailedError as exc:
            failed = new_record(backend, prepared)
            failed.error = str(exc)
            failed.chunk_auto = settings.chunk == AUTO
            failed.chunk = settings.chunk if isinstance(settings.chunk, int) else 1
            return failed


__all__ = [
    "BackendFactory",
    "Progress",
    "SizeGrid",
    "Start",
    "SweepPlan",
    "WorkEstimate",
    "measure_prepared",
    "ordered_backends",
    "run_sweep",
    "started_backend",
]
