"""The cutover's later rounds: every backend started again measures the deciding shapes.

The rounds are independent engine sessions at other moments: the spread between them is
the run-to-run drift a reported crossover must beat (``dist_bench.decisive``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from types import ModuleType

from dist_bench.backends.base import Backend
from dist_bench.costmodel import AXES, LADDER, Crossover, CrossoverKind, analyse
from dist_bench.cutover_search import ENGINE_START_GUESS_S, SEARCH_RESAMPLES, CutoverSearch
from dist_bench.stats import median
from dist_bench.sweep import started_backend
from dist_bench.versions import VersionCheck
from dist_bench.workload import Job


def replicate(
    search: CutoverSearch,
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


def _deciding_shapes(search: CutoverSearch) -> list[tuple[str, Job, set[str]]]:
    """The first round's shapes that decide an answer, most important first, with their backends."""
    # Judged as one round (as the search did): which shapes decide is what is asked here.
    first_round = replace(search.writer.results, metadata={})
    analysis = analyse(first_round, resamples=SEARCH_RESAMPLES, with_metg=False)

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


def _closest_shapes(search: CutoverSearch, crossover: Crossover) -> list[Job]:
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
