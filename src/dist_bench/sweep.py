"""Running a plan (``sweep_plan.SweepPlan``): calibration, then every start's jobs, round by round.

Returns data and reports progress through a callback; never prints.

Order of work:

1. every (workload, size) is answered serially in the driver, once per round, calibrated once per
   workload, grain and bytes per task in that round;
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
from collections.abc import Callable
from dataclasses import dataclass, replace

from dist_bench.backend_session import measure_prepared, started_backend
from dist_bench.backends import BackendOptions, create_backend
from dist_bench.backends.base import BASELINE, Backend
from dist_bench.measure import PreparedJob, prepare_job, shared_units
from dist_bench.results import Results
from dist_bench.results_writer import ResultsWriter
from dist_bench.scaling import Scaling
from dist_bench.sweep_plan import Start, SweepPlan, WorkEstimate, check_memory
from dist_bench.units import AUTO
from dist_bench.versions import VersionCheck
from dist_bench.workload import Job, Workload, started_environment


@dataclass(frozen=True)
class Progress:
    """A progress report: ``done`` of ``total`` jobs, and what is happening now."""

    done: int
    total: int
    description: str


ProgressCallback = Callable[[Progress], None]


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


def _prepare_all(
    plan: SweepPlan, on_progress: ProgressCallback
) -> list[tuple[Workload, list[PreparedJob]]]:
    prepared: list[tuple[Workload, list[PreparedJob]]] = []
    units: dict[tuple[str, float, int], int] = {}
    for workload in plan.workloads:
        jobs = plan.jobs_for(workload)
        on_progress(Progress(0, 1, f"calibrating {workload.name}"))
        answered = []

        def reference_done(done: int, total: int, name: str = workload.name) -> None:
            on_progress(Progress(done, total, f"serial reference of {name}"))

        for job in jobs:
            with started_environment(workload, job) as running:
                calibrated = shared_units(units, workload, running)
                answered.append(
                    prepare_job(
                        workload, running, plan.options.blas_threads, reference_done, calibrated
                    )
                )
        prepared.append((workload, answered))
    return prepared
