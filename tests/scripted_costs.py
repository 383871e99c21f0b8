"""Scripted-cost backends whose true costs are known, for testing the cost model's maths.

The scripted backend charges each job exactly T = S + d·o + n·g/P + n·b/B (d dispatches) on a
virtual clock, with seeded noise, and runs through the real cutover search, measurement and
verification; so the fit, the crossovers and their intervals are checked against the script, not
against timings.
"""

from __future__ import annotations

import dataclasses

from dist_bench.backends import BackendOptions
from dist_bench.backends.base import Backend
from dist_bench.backends.scripted import SCRIPTED_WORKLOAD, CostScript, scripted_backend
from dist_bench.costmodel import Crossover, CutoverAnalysis, JobShape, analyse
from dist_bench.cutover import CutoverPlan, run_cutover
from dist_bench.measure import MeasureSettings, measure, prepare_job
from dist_bench.report.sentences import crossover_sentence
from dist_bench.results import Record, Results
from dist_bench.results_writer import ResultsWriter
from dist_bench.workload import Job

NOISE = 0.02

#: Measured jobs per shape: with 2 % noise, 5 repeats put each median within about 1 %.
REPEATS = 5

SCRIPTS: dict[str, tuple[CostScript, bool]] = {
    "serial": (CostScript(workers=1, noise=NOISE, seed=1), True),
    # GIL-bound threads: cheap dispatch, no parallelism, memory shared (no bytes cost).
    "threads": (
        CostScript(
            startup_s=2e-4,
            per_task_overhead_s=3e-5,
            effective_parallelism=1.0,
            workers=4,
            noise=NOISE,
            seed=2,
        ),
        True,
    ),
    "processes": (
        CostScript(
            startup_s=5e-3,
            per_task_overhead_s=3e-4,
            effective_parallelism=1.9,
            bandwidth_bytes_per_s=5e8,
            workers=2,
            noise=NOISE,
            seed=3,
        ),
        False,
    ),
    "dask": (
        CostScript(
            startup_s=2e-2,
            per_task_overhead_s=1.5e-3,
            effective_parallelism=1.95,
            bandwidth_bytes_per_s=2e8,
            workers=2,
            noise=NOISE,
            seed=4,
        ),
        False,
    ),
}

WORKLOAD = dataclasses.replace(SCRIPTED_WORKLOAD, default_grain_s=0.05, default_bytes=4 << 20)


def make_scripted(name: str, options: BackendOptions) -> Backend:
    script, shares_memory = SCRIPTS[name]
    return scripted_backend(name, script, shares_memory)(options)


def search(budget_s: float = 30.0, **plan: object) -> tuple[Results, CutoverAnalysis]:
    full = CutoverPlan(
        workloads=[WORKLOAD],
        backends=list(SCRIPTS),
        budget_s=budget_s,
        settings=MeasureSettings(repeats=REPEATS, warmup=0),
    )
    full = dataclasses.replace(full, **plan)  # type: ignore[arg-type]
    return run_cutover(full, ResultsWriter(None, {}), make_backend=make_scripted)


def true_crossover(first: str, second: str, at: JobShape) -> float:
    """Where the two scripts' costs meet along the grain at ``at`` (solved by hand)."""
    a, b = SCRIPTS[first][0], SCRIPTS[second][0]
    n, size = at.tasks, at.bytes_per_task

    def fixed(s: CostScript) -> float:
        moving = n * size / s.bandwidth_bytes_per_s if s.bandwidth_bytes_per_s else 0.0
        return s.startup_s + n * s.per_task_overhead_s + moving

    per_grain = n / a.effective_parallelism - n / b.effective_parallelism
    return (fixed(b) - fixed(a)) / per_grain


def grain_series(spread: float, bends: tuple[float, ...] = (1.0,) * 6) -> Results:
    """Serial and processes measured noise-free along the grain, their samples then widened.

    Each shape gets 9 samples: 5 at the scripted time m, 2 at m / ``spread`` and 2 at
    m · ``spread``; so every median stays m (the fit is the same whatever ``spread``) while the
    order-statistics interval of each median is [m / spread, m · spread]. ``bends`` multiply
    processes' time grain by grain (costs the linear model cannot follow; the winner at each grain
    stays the scripted one).
    """
    records: list[Record] = []
    grains = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016)
    for name in ("serial", "processes"):
        script, shares_memory = SCRIPTS[name]
        noise_free = dataclasses.replace(script, noise=0.0)
        measured = _along_grain(name, noise_free, shares_memory, grains, repeats=1)
        for index, record in enumerate(measured):
            (m,) = record.wall_s
            if name == "processes":
                m *= bends[index]
            widened = [m / spread] * 2 + [m] * 5 + [m * spread] * 2
            records.append(dataclasses.replace(record, wall_s=widened))
    return Results({}, [], records)


def grain_crossover(results: Results) -> Crossover:
    return _the_grain_crossover(analyse(results))


def grain_sentence(results: Results) -> str:
    """The grain crossover of ``results`` in words."""
    analysis = analyse(results)
    return crossover_sentence(_the_grain_crossover(analysis), analysis.fits)


def _the_grain_crossover(analysis: CutoverAnalysis) -> Crossover:
    (found,) = [c for c in analysis.crossovers if c.axis == "grain_s"]
    return found


def measured_rounds(
    scripts: dict[str, tuple[CostScript, bool]],
    grains: tuple[float, ...],
    rounds: int,
    drift: float = 0.0,
    repeats: int = REPEATS,
) -> Results:
    """Each script measured along the grain (16 tasks) in ``rounds`` interleaved rounds.

    Every round starts every backend again as a new session (its own seed), so with ``drift``
    each session runs all its jobs at its own speed, exp(drift·N(0, 1)): the run-to-run drift.
    """
    records: list[Record] = []
    for round_index in range(rounds):
        for name, (script, shares_memory) in scripts.items():
            session = dataclasses.replace(
                script, drift=drift, seed=script.seed + 1000 * (round_index + 1)
            )
            for record in _along_grain(name, session, shares_memory, grains, repeats):
                record.round = round_index
                records.append(record)
    return Results({}, [], records)


def _along_grain(
    name: str, script: CostScript, shares_memory: bool, grains: tuple[float, ...], repeats: int
) -> list[Record]:
    """``script`` started as backend ``name`` (a session of its own), measured at each grain."""
    backend = scripted_backend(name, script, shares_memory)(BackendOptions())
    backend.start()
    settings = MeasureSettings(repeats=repeats, warmup=0)
    records = []
    for grain in grains:
        prepared = prepare_job(WORKLOAD, Job(16, grain, 0))
        records.append(measure(backend, prepared, WORKLOAD.make_tasks(prepared.job), settings))
    return records
