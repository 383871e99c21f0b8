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

from dist_bench.backend_session import started_backend
from dist_bench.costmodel import AXES, LADDER, Crossover, CrossoverKind, analyse
from dist_bench.cutover_search import ENGINE_START_GUESS_S, SEARCH_RESAMPLES, CutoverSearch
from dist_bench.decisive import Drift, least_decisive_ratio
from dist_bench.results import Results
from dist_bench.stats import median
from dist_bench.versions import VersionCheck
from dist_bench.workload import Job


def replicate(
    search: CutoverSearch,
    order: Sequence[str],
    modules: list[ModuleType],
    on_version_check: Callable[[str, VersionCheck], None],
) -> None:
    """One more round: every backend started again measures the deciding shapes.

    The backends without engine daemons (serial, threads, asyncio, processes) are started
    together and take turns shape by shape, so the two backends of such a pair see nearly the
    same moment of the machine (in the first round minutes apart). An engine (Dask, Ray) then
    runs alone, started and stopped in turn, as in the first round: its scheduler, raylet and
    idle workers poll while they wait, and with both engines up beside the others, every
    backend's second round ran 10-45 % slower than its first (three default cutovers,
    2026-12-01): not drift between sessions but a different machine, which the decisive rule
    would have charged to every pair as drift. Each is a new session, so the spread between
    rounds includes the drift between engine sessions. Shapes go in order of importance (pairs
    with a crossover first, then about-equal and model-only ones, then the ladder's other
    pairs), until the budget is spent.
    """
    search.progress("analysing the first round")
    wanted = _deciding_shapes(search)
    names = [name for name in order if any(name in backends for _, _, backends in wanted)]
    backends = {name: search.make_backend(name, search.plan.options) for name in names}
    light = [name for name in names if not backends[name].engine_packages]
    groups = [group for group in [light, *([n] for n in names if n not in light)] if group]
    # Each group's share of what is left of the budget once the starts still to come are set
    # aside, in proportion to the seconds its measurements took in the first round (time a
    # group leaves unused passes to the next): in one group's turn the budget must not run out
    # before an engine measured anything, nor an engine's share go to its own start. Seconds,
    # not counts: an engine's job costs several of the others' (by count, Dask measured 1-4 of
    # the 17 shapes it was wanted at in three default cutovers, 2026-12-01).
    needs = [seconds_needed(search.writer.results, wanted, group) for group in groups]
    start_costs = [
        sum(search.start_cost.get(name, ENGINE_START_GUESS_S) for name in group) for group in groups
    ]
    for index, group in enumerate(groups):
        left = search.plan.budget_s - search.elapsed() - sum(start_costs[index:])
        if left <= 0:
            break
        share = left * needs[index] / max(1e-9, sum(needs[index:]))
        with ExitStack() as stack:
            for name in group:
                search.progress(f"starting {name}")
                stack.enter_context(
                    started_backend(backends[name], modules, search.writer, on_version_check)
                )
            deadline = search.elapsed() + share
            for workload_name, job, pair in wanted:
                if search.elapsed() >= deadline:
                    break
                for name in group:
                    if name in pair:
                        search.measure(backends[name], search.by_name[workload_name], job)


def seconds_needed(
    results: Results, wanted: Sequence[tuple[str, Job, set[str]]], group: Sequence[str]
) -> float:
    """Seconds ``group``'s backends took in the first round at the shapes wanted of them.

    Each measurement costs what its first-round record's jobs took (warm-ups and repeats); one
    with no such record, what such a record of its backend takes at the median.
    """
    took: dict[tuple[str, str, int, float, int], float] = {}
    for record in results.records:
        if record.round == 0:
            shape = (record.workload, record.tasks, record.grain_s, record.bytes_per_task)
            took[(record.backend, *shape)] = sum(record.wall_s) + sum(record.warmup_s)
    total = 0.0
    for name in group:
        typical = median([t for key, t in took.items() if key[0] == name] or [0.0])
        for workload, job, pair in wanted:
            if name in pair:
                key = (name, workload, job.tasks, job.grain_s, job.bytes_per_task)
                total += took.get(key, typical)
    return total


#: Which findings' shapes a later round measures first: the answers given as points first.
_DECIDING_ORDER = (
    CrossoverKind.REACHED,
    CrossoverKind.BRACKETED,
    CrossoverKind.ABOUT_EQUAL,
    CrossoverKind.UNSHOWN,
)
#: The run-to-run drift a later round is expected to measure, per backend, before any is measured
#: (the first round is one session per backend): one standard deviation, 25 %. Source: the second
#: rounds of three default cutovers at load about 2 on the 2-core machine measured 10-49 % and
#: 10-31 % per backend (benchmarks/RESULTS.md, f1fea0e); 25 % is about the middle.
EXPECTED_DRIFT = 0.25
#: Degrees of freedom of that drift, pooled over a backend's shapes measured in two rounds: about
#: the deciding shapes one backend measures again (two to four per pair and workload, its ladder
#: pairs on three workloads).
EXPECTED_DRIFT_DF = 10


def deciding_ratio(rounds: int) -> float:
    """The first-round ratio at which a shape is expected to be decisive after ``rounds`` rounds.

    The decisive rule's least ratio (``decisive.least_decisive_ratio``) for a pair of backends
    each drifting ``EXPECTED_DRIFT``: about 1.6 for two rounds, 1.5 for three.
    """
    one = Drift(math.log1p(EXPECTED_DRIFT) ** 2, EXPECTED_DRIFT_DF)
    return least_decisive_ratio(one + one, rounds)


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
    least_gap = math.log(deciding_ratio(search.plan.rounds))
    for crossover in ranked:
        for job in _shapes_to_repeat(search, crossover, least_gap):
            key = (crossover.workload, job.tasks, job.grain_s, job.bytes_per_task)
            wanted.setdefault(key, (crossover.workload, job, set()))[2].update(crossover.backends)
    return list(wanted.values())


def _shapes_to_repeat(search: CutoverSearch, crossover: Crossover, least_gap: float) -> list[Job]:
    """On the crossover's line, per side: the deciding shape, the surest and the closest.

    A side is where one backend of the pair was faster in the first round. Its deciding shape
    is the closest one whose log gap reached ``least_gap`` (the largest gap when none did): the
    rule needs a shape measured in two rounds, clearly and beyond the drift faster, on each side,
    and the closest shapes, where the gap is smallest by construction, almost never are. A gap
    just past ``least_gap`` in the first round falls short in the second about as often as not
    (the first round's largest gaps are partly its luck), so the side's largest gap, the
    surest, is measured again too: in four default cutovers (2026-12-01) cpu's processes side
    was decided at 1 ms (1.5x in round 2) and missed, while 5 and 25 ms (1.75x), measured
    again in one run only, were decisive there. The closest shape brackets the crossing as
    tightly as the first round can. The deciding shapes come first: without them, nothing is
    reported.
    """
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
    sides = [
        sorted((gap, shape) for gap, shape in gaps if gap > 0),
        sorted((-gap, shape) for gap, shape in gaps if gap <= 0),
    ]
    deciding = [
        next((shape for gap, shape in side if gap >= least_gap), side[-1][1])
        for side in sides
        if side
    ]
    surest = [side[-1][1] for side in sides if side]
    closest = [side[0][1] for side in sides if side]
    return [Job(*shape) for shape in dict.fromkeys(deciding + surest + closest)]
