"""Data-heavy tasks: bytes per second into workers, vs a plain memcpy on this machine.

Each of ``--tasks`` tasks gets its own array of ``--bytes`` and reads every byte of it (a sum), so
a byte counts only once a worker has really read it. Rates are tasks x bytes / median job wall
time, side by side for each engine's zero-copy path (processes: shared memory; Dask: scatter;
Ray: put, placed once before the jobs and timed apart) and, for processes, for sending the arrays
with every job (pickled through the pipe). The reference is one thread's ``np.copyto`` of the same
size, best of several.

Target: the processes backend with shared memory reaches at least 50 % of memcpy's rate.

Run: ``.venv/bin/python benchmarks/data_bandwidth.py`` (options: ``--engines``, ``--tasks``,
``--bytes``, ``--repeats``). Exits 1 when the target is missed. Recorded results:
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from common import load, median, this_module, verdict
from dist_bench.backends import BackendOptions, create_backend
from dist_bench.cores import default_cores
from dist_bench.measure import MeasureSettings, measure, prepare_job
from dist_bench.units import format_bytes, parse_bytes
from dist_bench.workload import Job, TaskArgs, Workload

#: Share of memcpy's rate the processes backend must reach with shared memory.
TARGET_SHARE = 0.5


def make_tasks(job: Job) -> list[TaskArgs]:
    """One array of ``job.bytes_per_task`` bytes per task."""
    return [
        (np.random.default_rng(seed).standard_normal(job.bytes_per_task // 8),)
        for seed in range(job.tasks)
    ]


def read_all(values: np.ndarray) -> float:
    """Read every byte of the input once."""
    return float(values.sum())


READ = Workload(
    name="read",
    summary="read every byte of a large input",
    make_tasks=make_tasks,
    task=read_all,
    calibrated=False,
    moves_bytes=True,
    large_inputs=True,
)


def memcpy_rate(size: int) -> float:
    """Bytes per second of one thread copying ``size`` bytes (``np.copyto``), best of 10."""
    source = np.random.default_rng(0).standard_normal(size // 8)
    target = np.empty_like(source)
    best = float("inf")
    for _ in range(10):
        started = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - started)
    return size / best


def engine_rate(engine: str, job: Job, place: bool, repeats: int) -> tuple[float, float | None]:
    """(bytes per second into the workers, bytes per second of placing) on ``engine``."""
    prepared = prepare_job(READ, job)
    backend = create_backend(engine, BackendOptions(workers=default_cores()))
    backend.start(ship=[this_module()])
    try:
        settings = MeasureSettings(repeats=repeats, warmup=1, place_inputs=place, chunk=1)
        record = measure(backend, prepared, READ.make_tasks(prepared.job), settings)
    finally:
        backend.shutdown()
    if not record.verified:
        raise RuntimeError(f"{engine}: wrong answer")
    moved = job.tasks * job.bytes_per_task
    placing = moved / record.placement_s if record.placement_s else None
    return moved / median(record.wall_s), placing


def main() -> int:
    """Measure memcpy, then each engine's path; print the rates and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="processes,dask,ray")
    parser.add_argument("--tasks", type=int, default=4 * default_cores())
    parser.add_argument("--bytes", type=parse_bytes, default=parse_bytes("32MiB"))
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    job = Job(tasks=options.tasks, grain_s=0.0, bytes_per_task=options.bytes)
    memcpy = memcpy_rate(options.bytes)
    print(
        f"memcpy (np.copyto, 1 thread) of {format_bytes(options.bytes)}: "
        f"{memcpy / 1e9:.2f} GB/s  [{load()}]"
    )
    met = True
    for engine in options.engines.split(","):
        ways = [True, False] if engine == "processes" else [True]
        for place in ways:
            rate, placing = engine_rate(engine, job, place, options.repeats)
            how = "placed once" if place else "sent with every job"
            placed_text = f", placing ran at {placing / 1e9:.2f} GB/s" if placing else ""
            figure = (
                f"{options.tasks} x {format_bytes(options.bytes)}: {rate / 1e9:.2f} GB/s = "
                f"{rate / memcpy:.0%} of memcpy{placed_text}"
            )
            if engine == "processes" and place:
                met &= verdict(
                    f"{engine} ({how})",
                    figure,
                    f">= {TARGET_SHARE:.0%}",
                    rate / memcpy >= TARGET_SHARE,
                )
            else:
                print(f"{engine} ({how}): {figure}  [{load()}]")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
