"""Measuring one job on one backend: calibration, warm-ups, repeats, worker-side timing, checks.

Every job's answer is compared with the answer computed serially in the driver: a fast wrong answer
is a failure, never a speedup.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dist_bench.backends.base import Backend, TaskError
from dist_bench.chunking import plan_chunks
from dist_bench.defaults import REPEATS, WARMUP
from dist_bench.errors import TaskFailedError
from dist_bench.results import Record
from dist_bench.units import ChunkMode
from dist_bench.worker import TimedResult, limit_blas_threads, timed_call, timed_call_async
from dist_bench.workload import Job, TaskArgs, Workload, answers_match

#: A calibration sample must last at least this long to be timed well (timer resolution and
#: scheduler noise are ~0.1 ms here); longer costs start-up time on every run.
CALIBRATION_SAMPLE_S = 0.02
#: Calibration doubles the work at most this many times (2**40 units is beyond any real task).
CALIBRATION_MAX_STEPS = 40
#: Sizes timed near the grain itself after the first, linear estimate (``calibrate_units``).
CALIBRATION_POINTS = 2
#: How far apart (a ratio of units) two timed sizes must lie for their slope to be used.
CALIBRATION_SLOPE_SPAN = 1.3
#: Timed runs at each of those sizes (after two warm-up calls); the fastest counts.
CALIBRATION_RUNS = 3
#: How often the serial reference reports its progress: often enough for a live ETA, rarely
#: enough to cost nothing beside tasks of microseconds.
REFERENCE_PROGRESS_EVERY_S = 0.25


@dataclass(frozen=True)
class MeasureSettings:
    """How to measure: repeats, warm-ups, data placement, tasks per dispatch.

    ``chunk`` is 1 here (each task dispatched on its own, what the cost model describes); the
    ``run`` command's default is ``auto`` (``SweepPlan.chunks``). BLAS threads are the
    backend's (``BackendOptions``): the engine needs them at start-up too.
    """

    repeats: int = REPEATS
    warmup: int = WARMUP
    place_inputs: bool = True
    chunk: ChunkMode = 1


@dataclass(frozen=True)
class PreparedJob:
    """A job sized and answered once, before any backend runs it."""

    workload: Workload
    job: Job
    reference: Any


def calibrate_units(workload: Workload, job: Job) -> int:
    """Work units per task so that one task takes about ``job.grain_s`` seconds serially.

    Doubles the units until one task is long enough to time (pyperf's approach) and scales
    linearly to the grain; then times tasks of that size, steps to the grain, times again and
    steps along the cost's local power law (``_step_to_grain``). The cost of a unit is not
    constant in the units (caches, per-call costs: a word count's per-word cost moved from 73 to
    126 ns between 10^3 and 10^6 words on the development machine), so scaling from a sample of
    another size alone can miss the grain by a third, and by a different amount in each run, as
    the doubling lands on a different sample size. Workloads that are not calibrated (the I/O
    latency is the grain) use 1.
    """
    if not workload.calibrated:
        return 1
    units = _scaled_from_sample(workload, job)
    timed: list[tuple[int, float]] = []
    for _ in range(CALIBRATION_POINTS):
        timed.append((units, _seconds_per_task(workload, job, units)))
        units = _step_to_grain(timed, job.grain_s)
    return units


def _step_to_grain(timed: list[tuple[int, float]], grain_s: float) -> int:
    """Units for the grain from the tasks timed so far, (units, seconds) each.

    From one point the cost is taken as proportional to the units; from two at least
    ``CALIBRATION_SLOPE_SPAN`` apart, as the power law through them (its exponent kept within
    0.5-2): a fixed cost per call or a cache's slope is then followed, not assumed away. Two
    closer points give no slope, only their timing noise: 3 % of noise on points 5 % apart is
    an exponent anywhere from 0.5 to 2, which would square or halve the step.
    """
    units, seconds = timed[-1]
    exponent = 1.0
    if len(timed) > 1:
        earlier_units, earlier_seconds = timed[-2]
        apart = abs(math.log(units / earlier_units)) >= math.log(CALIBRATION_SLOPE_SPAN)
        if apart and earlier_seconds > 0 and seconds > 0:
            slope = math.log(seconds / earlier_seconds) / math.log(units / earlier_units)
            exponent = min(2.0, max(0.5, slope))
    return max(1, round(units * math.pow(grain_s / seconds, 1 / exponent)))


def shared_units(cache: dict[tuple[str, float, int], int], workload: Workload, job: Job) -> int:
    """``calibrate_units``, measured once per workload, grain and bytes per task in ``cache``.

    The number of tasks does not change one task's work: jobs that differ only in it share one
    calibration, so their times differ by the tasks alone, not by calibration noise too.
    """
    key = (workload.name, job.grain_s, job.bytes_per_task)
    if key not in cache:
        cache[key] = calibrate_units(workload, job)
    return cache[key]


def _scaled_from_sample(workload: Workload, job: Job) -> int:
    units = 1
    elapsed = 0.0
    for _ in range(CALIBRATION_MAX_STEPS):
        (args,) = workload.make_tasks(replace(job, tasks=1, units=units))
        elapsed = _warm_time(workload, args)
        if elapsed >= CALIBRATION_SAMPLE_S:
            break
        # Jump close to the sample length at once when the last sample is readable at all.
        growth = CALIBRATION_SAMPLE_S / elapsed if elapsed > 1e-4 else 10.0
        units *= max(2, min(10, int(growth)))
    return max(1, round(units * job.grain_s / elapsed))


def _warm_time(workload: Workload, args: TaskArgs) -> float:
    """Seconds one task takes once warm: the faster of two runs.

    A first run pays one-off costs the measured jobs do not (page faults on fresh memory, caches,
    lazy imports); calibrating on it would make every task shorter than the grain asked for.
    """
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        workload.task(*args)
        timings.append(time.perf_counter() - started)
    return min(timings)


def _seconds_per_task(workload: Workload, job: Job, units: int) -> float:
    """Seconds one task of ``units`` takes, warm: the fastest of several timed runs.

    A task shorter than a sample is called several times in a row per run, so the timer reads
    about ``CALIBRATION_SAMPLE_S`` at least. The fastest run is the one least slowed by other
    programs.
    """
    (args,) = workload.make_tasks(replace(job, tasks=1, units=units))
    # Sized by the task's own warm time, not the grain: one unit may already exceed the grain.
    calls = max(1, math.ceil(CALIBRATION_SAMPLE_S / max(_warm_time(workload, args), 1e-7)))
    timings = []
    for _ in range(CALIBRATION_RUNS):
        started = time.perf_counter()
        for _ in range(calls):
            workload.task(*args)
        timings.append((time.perf_counter() - started) / calls)
    return max(min(timings), 1e-9)


def prepare_job(
    workload: Workload,
    job: Job,
    blas_threads: int = 1,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    units: int | None = None,
) -> PreparedJob:
    """Calibrate ``job`` and compute its reference answer serially, in the driver.

    BLAS is capped at ``blas_threads`` first, as on every worker, so a grain means the same
    work in the driver as on the backends. ``on_progress(done, total)`` hears how many tasks of
    the reference are done, every ``REFERENCE_PROGRESS_EVERY_S`` at most (a huge job's reference
    alone can take hours). Given ``units``, calibration is skipped: jobs that must hold the
    same work per task (a node sweep's sizes) share one calibration.

    Raises:
        TaskFailedError: a task raised while computing the reference (which task, and why).
    """
    limit_blas_threads(blas_threads)
    job = job.with_units(calibrate_units(workload, job) if units is None else units)
    tasks = workload.make_tasks(job)
    results = []
    reported = time.monotonic()
    for index, args in enumerate(tasks):
        try:
            results.append(workload.task(*args))
        except Exception as exc:
            raise TaskFailedError(workload.name, "the serial reference", index, exc) from exc
        if time.monotonic() - reported >= REFERENCE_PROGRESS_EVERY_S:
            on_progress(index + 1, len(tasks))
            reported = time.monotonic()
    return PreparedJob(workload, job, workload.combine(results))


def measure(
    backend: Backend,
    prepared: PreparedJob,
    tasks: list[TaskArgs],
    settings: MeasureSettings,
    on_job_done: Callable[[], None] = lambda: None,
    dispatch_s: float | None = None,
) -> Record:
    """Run the job ``settings.warmup + settings.repeats`` times on ``backend`` and record it.

    ``tasks`` are the job's argument tuples made inside the workload's running environment.
    ``dispatch_s`` is the backend's measured cost per dispatch, for ``--chunk auto`` (measured
    here when ``None``).

    Raises:
        TaskFailedError: a task raised on the backend.
    """
    workload = prepared.workload
    use_coroutines = backend.runs_coroutines and workload.async_task is not None
    task_fn = workload.task
    if use_coroutines and workload.async_task is not None:
        task_fn = workload.async_task
    job = prepared.job
    chunks = plan_chunks(settings.chunk, backend, job.tasks, job.grain_s, dispatch_s)
    # One callable for the whole job, the task function bound in: engines that ship a function
    # once per job (Ray) or deduplicate it (Dask) then send only each task's own arguments.
    caller = functools.partial(
        timed_call_async if use_coroutines else timed_call,
        chunks.wrap(task_fn, use_coroutines),
        backend.options.blas_threads,
    )
    record = new_record(backend, prepared)
    record.chunk, record.chunk_auto = chunks.size, chunks.auto
    placed: set[int] = set()
    if workload.large_inputs and settings.place_inputs and backend.places_data:
        started = time.perf_counter()
        tasks = [tuple(_placed(backend, value, placed) for value in args) for args in tasks]
        record.placement_s = time.perf_counter() - started
    items = chunks.rows([tuple(args) for args in tasks], placed)

    verified = True
    seen_workers: set[str] = set()
    # What happened since the backend's last job (a worker lost during the dispatch probe or
    # after the previous record's last job) shaped this record: it is kept, marked as such.
    record.notes.extend(f"before the first job: {note}" for note in backend.drain_notes())
    for run in range(settings.warmup + settings.repeats):
        started = backend.clock()
        try:
            dispatched = chunks.dispatch(backend, caller, items)
            # Spreading chunk timings over their tasks is bookkeeping, not part of the job.
            wall = backend.clock() - started
            timed: list[TimedResult] = chunks.per_task(dispatched)
        except TaskError as exc:
            raise TaskFailedError(workload.name, backend.name, exc.index, exc.cause) from exc
        # The job ends with its answer: combining the results (wordcount's merge) is serial work
        # in the driver on every backend, timed with the rest so its share caps the speedup as
        # Amdahl's law says, instead of vanishing after the clock stopped.
        combining = backend.clock()
        answer = workload.combine([value for value, _, _, _ in timed])
        wall += backend.clock() - combining
        verified = verified and answers_match(prepared.reference, answer)
        if run < settings.warmup:
            record.warmup_s.append(wall)
        else:
            record.wall_s.append(wall)
            record.task_s.append(sum(seconds for _, seconds, _, _ in timed))
            record.task_cpu_s.append(sum(cpu for _, _, cpu, _ in timed))
        seen_workers.update(worker for _, _, _, worker in timed)
        record.notes.extend(backend.drain_notes())
        on_job_done()
    record.verified = verified
    record.distinct_workers = len(seen_workers)
    return record


def new_record(backend: Backend, prepared: PreparedJob) -> Record:
    """An empty record for ``prepared`` on ``backend``: what was run, where, at what size."""
    job = prepared.job
    return Record(
        workload=prepared.workload.name,
        backend=backend.name,
        tasks=job.tasks,
        grain_s=job.grain_s,
        bytes_per_task=job.bytes_per_task,
        units=job.units,
        workers=backend.workers(),
    )


def _placed(backend: Backend, value: Any, placed: set[int]) -> Any:
    """Place arrays and byte strings (the large inputs) on the workers; pass the rest as is.

    The ``id`` of what tasks get instead is added to ``placed``, so chunks keep it top-level.
    """
    if isinstance(value, np.ndarray | bytes | bytearray):
        handle = backend.place(value)
        placed.add(id(handle))
        return handle
    return value
