"""Tiny tasks: dist-bench's automatic chunks vs joblib's auto-batching vs naive per-task dispatch.

Target: ``--tasks`` (100k by default) tasks of ``--grain`` (10 µs) of pure-Python work. dist-bench
with ``--chunk auto`` on processes, Dask and Ray must reach joblib's throughput
(``Parallel(n_jobs=cores, batch_size='auto')`` on loky), and on Dask and Ray at least 10x the
throughput of sending each task on its own (``--chunk 1``).

Naive dispatch is far too slow for 100k tasks on Dask (~450 tasks/s here: minutes), so it is
measured on ``--naive-tasks`` tasks per engine and its throughput is what is compared: sending
tasks one by one costs the same per task at any count (the figure printed says how many it ran).
Every dist-bench job's answer is checked against the serial answer.

Run: ``.venv/bin/python benchmarks/tiny_tasks.py`` (options: ``--engines``, ``--tasks``,
``--grain``, ``--repeats``; ``--shares 0.1,0.02,0.005`` compares values of
``chunking.TARGET_DISPATCH_SHARE`` on processes instead). Exits 1 when a target is missed.
Recorded results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

from common import SPIN, load, median, run_jobs, spin, this_module, verdict
from dist_bench import chunking
from dist_bench.backends import BackendOptions, create_backend
from dist_bench.chunking import probe_dispatch_s
from dist_bench.measure import PreparedJob, prepare_job
from dist_bench.units import AUTO, parse_count, parse_duration
from dist_bench.workload import Job

#: Auto-chunked throughput must reach this share of joblib's.
JOBLIB_SHARE = 1.0
#: ...and be this many times naive dispatch on the engines.
NAIVE_FACTOR = 10.0
#: Tasks for naive dispatch per engine: a few seconds each on this machine.
NAIVE_TASKS = {"processes": 20_000, "dask": 2_000, "ray": 5_000}


def joblib_throughput(prepared: PreparedJob, repeats: int) -> float:
    """Tasks per second of joblib's ``Parallel(batch_size='auto')`` on loky, warm pool."""
    from joblib import Parallel, delayed

    units, tasks = prepared.job.units, prepared.job.tasks
    walls = []
    with Parallel(n_jobs=os.cpu_count(), batch_size="auto", backend="loky") as parallel:
        for run in range(repeats + 1):  # the first run starts loky's workers
            started = time.perf_counter()
            results = parallel(delayed(spin)(units) for _ in range(tasks))
            wall = time.perf_counter() - started
            if sum(results) != prepared.reference:
                raise RuntimeError("joblib: wrong answer")
            if run:
                walls.append(wall)
    return tasks / median(walls)


def dist_bench_throughput(
    engine: str, prepared: PreparedJob, naive: PreparedJob, repeats: int
) -> tuple[float, float, int, float]:
    """(auto throughput, naive throughput, auto chunk size, dispatch cost) on ``engine``."""
    backend = create_backend(engine, BackendOptions())
    backend.start(ship=[this_module()])
    try:
        dispatch_s = probe_dispatch_s(backend)
        auto = run_jobs(backend, prepared, AUTO, repeats, warmup=1, dispatch_s=dispatch_s)
        slow = run_jobs(backend, naive, 1, max(1, repeats // 2), warmup=1)
    finally:
        backend.shutdown()
    return (
        prepared.job.tasks / median(auto.wall_s),
        naive.job.tasks / median(slow.wall_s),
        auto.chunk,
        dispatch_s,
    )


def compare_shares(prepared: PreparedJob, shares: list[float], repeats: int) -> None:
    """Auto-chunked throughput on processes at each dispatch share, alternating in one run."""
    backend = create_backend("processes", BackendOptions())
    backend.start(ship=[this_module()])
    walls: dict[float, list[float]] = {share: [] for share in shares}
    chunks: dict[float, int] = {}
    try:
        dispatch_s = probe_dispatch_s(backend)
        for round_index in range(repeats + 1):  # the first round warms up
            for share in shares:
                chunking.TARGET_DISPATCH_SHARE = share
                record = run_jobs(backend, prepared, AUTO, dispatch_s=dispatch_s)
                chunks[share] = record.chunk
                if round_index:
                    walls[share].append(record.wall_s[0])
    finally:
        backend.shutdown()
    for share in shares:
        rate = prepared.job.tasks / median(walls[share])
        print(f"share {share}: chunk {chunks[share]} tasks, {rate:,.0f} tasks/s  [{load()}]")


def main() -> int:
    """Measure joblib, then each engine auto and naive; print the verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="processes,dask,ray")
    parser.add_argument("--tasks", type=parse_count, default=100_000)
    parser.add_argument("--grain", type=parse_duration, default=1e-5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--shares",
        help="instead: compare these TARGET_DISPATCH_SHARE values on processes (e.g. 0.1,0.02)",
    )
    options = parser.parse_args()
    print(f"calibrating {options.tasks} tasks of {options.grain * 1e6:g} us  [{load()}]")
    prepared = prepare_job(SPIN, Job(tasks=options.tasks, grain_s=options.grain, bytes_per_task=0))
    serial_wall = run_jobs(create_backend("serial"), prepared, AUTO).wall_s[0]
    print(f"serial loop: {options.tasks / serial_wall:,.0f} tasks/s  [{load()}]")
    if options.shares:
        compare_shares(prepared, [float(x) for x in options.shares.split(",")], options.repeats)
        return 0
    joblib_rate = joblib_throughput(prepared, options.repeats)
    print(f"joblib Parallel(batch_size='auto'), loky: {joblib_rate:,.0f} tasks/s  [{load()}]")
    met = True
    for engine in options.engines.split(","):
        naive_tasks = min(options.tasks, NAIVE_TASKS.get(engine, options.tasks))
        naive = PreparedJob(
            SPIN,
            dataclasses.replace(prepared.job, tasks=naive_tasks),
            prepared.reference // options.tasks * naive_tasks,
        )
        auto_rate, naive_rate, chunk, dispatch_s = dist_bench_throughput(
            engine, prepared, naive, options.repeats
        )
        print(
            f"{engine}: dispatch cost {dispatch_s * 1e6:.0f} us; auto chunk {chunk} tasks; "
            f"naive {naive_rate:,.0f} tasks/s (measured on {naive_tasks} tasks)"
        )
        share = auto_rate / joblib_rate
        met &= verdict(
            f"{engine} auto vs joblib",
            f"{auto_rate:,.0f} tasks/s = {share:.2f}x joblib",
            f">= {JOBLIB_SHARE:.2f}x",
            share >= JOBLIB_SHARE,
        )
        if engine in ("dask", "ray"):
            factor = auto_rate / naive_rate
            met &= verdict(
                f"{engine} auto vs naive",
                f"{factor:.0f}x naive",
                f">= {NAIVE_FACTOR:.0f}x",
                factor >= NAIVE_FACTOR,
            )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
