"""The cutover's refinement: new shapes where a backend's crossovers are still uncertain.

After a backend's coarse series, its cost model is fitted, its crossovers with the backends
measured before are located with bootstrap intervals, and each crossover whose interval is
still wide gets shapes at its estimate and its interval ends, while this backend's share of
the budget lasts; one the model puts in the range but the measurements do not show yet has
the series' end on the unclear side measured again.
"""

from __future__ import annotations

import math

from dist_bench.backends import CLUSTER_BACKENDS
from dist_bench.backends.base import BASELINE, Backend
from dist_bench.costmodel import AXES, Axis, Crossover, JobShape, analyse, shape_to_ask
from dist_bench.cutover_search import ENGINE_START_GUESS_S, SEARCH_RESAMPLES, CutoverSearch
from dist_bench.results import Results
from dist_bench.workload import Job

#: A crossover whose interval is narrower than this share of its value needs no more shapes.
SETTLED_WIDTH = 0.3
#: Refinement rounds per backend at most (each adds up to 3 shapes per open crossover).
MAX_REFINE_ROUNDS = 2


def refine(search: CutoverSearch, backend: Backend, earlier: list[str], later: list[str]) -> None:
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


def _budget_share(search: CutoverSearch, later: list[str]) -> float:
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


def _refinement_shapes(
    search: CutoverSearch, backend: str, earlier: list[str]
) -> list[tuple[str, Job]]:
    """Shapes at the estimate and interval ends of each of ``backend``'s wide crossovers."""
    current = Results(
        metadata={},
        backends=search.writer.results.backends,
        records=[r for r in search.writer.results.records if r.backend in (backend, *earlier)],
    )
    analysis = analyse(current, resamples=SEARCH_RESAMPLES, with_metg=False)
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


def _evidence_shapes(search: CutoverSearch, crossover: Crossover) -> list[tuple[str, Job]]:
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


def _near_measured(
    search: CutoverSearch, backend: str, workload: str, axis: Axis, job: Job
) -> bool:
    """Whether ``backend`` already has a shape within 10 % of ``job`` on ``axis``."""
    for record in search.writer.results.records:
        if record.backend != backend or record.workload != workload:
            continue
        others_equal = all(getattr(record, a) == getattr(job, a) for a in AXES if a != axis)
        mine, theirs = float(getattr(job, axis)), float(getattr(record, axis))
        if others_equal and math.isclose(mine, theirs, rel_tol=0.1):
            return True
    return False
