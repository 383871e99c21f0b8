"""Harness overhead: a dist-bench job vs a bare loop of the same engine calls, side by side.

Target: on every engine, the median wall time of a dist-bench job is at most 1.02x that of a bare
loop making the same engine calls on the same started pool: ``ThreadPoolExecutor.submit`` and
``ProcessPoolExecutor.submit`` + ``result``, Dask ``client.map`` + ``gather(direct=True)``, Ray
``f.remote`` + ``ray.get``. dist-bench runs with ``--chunk 1`` here, so it sends each task on its
own as the bare loop does; what it adds is its worker-side timing, verification and argument
handling. The two run in alternating blocks of jobs (ABAB), each block warmed up as a real run
is, so a change in the machine's load hits both alike.

Two task sizes: no-op tasks (the worst case: nothing but the engine and the harness) and tasks of
``--grain`` (1 ms by default: small real work).

Run: ``.venv/bin/python benchmarks/dispatch_overhead.py`` (options: ``--engines``, ``--tasks``,
``--grain``, ``--rounds``). Prints one line per engine and size; exits 1 when a target is missed.
Recorded results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable
from typing import Any

from common import SPIN, median, run_jobs, spin, this_module, verdict
from dist_bench.backends import BackendOptions, create_backend
from dist_bench.backends.base import Backend
from dist_bench.measure import prepare_job
from dist_bench.units import parse_duration
from dist_bench.workload import Job

#: dist-bench's job may take at most this much longer than the bare loop.
TARGET_RATIO = 1.02


def bare_loop(backend: Backend, units: int, tasks: int) -> Callable[[], None]:
    """The same batch of calls, straight through the engine's API, no dist-bench."""
    if backend.name in ("threads", "processes"):
        pool: Any = getattr(backend, "_executor")()  # noqa: B009 - the backend's own pool

        def run_pool() -> None:
            futures = [pool.submit(spin, units) for _ in range(tasks)]
            for future in futures:
                future.result()

        return run_pool
    if backend.name == "dask":
        client: Any = getattr(backend, "client")  # noqa: B009 - public on DaskBackend only

        def run_dask() -> None:
            futures = client.map(spin, [units] * tasks, pure=False)
            client.gather(futures, direct=True)

        return run_dask
    import ray

    remote_spin = ray.remote(spin)

    def run_ray() -> None:
        ray.get([remote_spin.remote(units) for _ in range(tasks)])

    return run_ray


def compare(engine: str, tasks: int, grain_s: float, rounds: int) -> tuple[float, float]:
    """Median job wall time under dist-bench and in the bare loop, alternating, in seconds."""
    # No-op tasks: one loop iteration each, not calibrated.
    workload = SPIN if grain_s else dataclasses.replace(SPIN, calibrated=False)
    prepared = prepare_job(workload, Job(tasks=tasks, grain_s=grain_s or 1e-6, bytes_per_task=0))
    backend = create_backend(engine, BackendOptions())
    backend.start(ship=[this_module()])
    try:
        loop = bare_loop(backend, prepared.job.units, tasks)
        ours: list[float] = []
        bare: list[float] = []
        # Blocks of jobs, dist-bench's and the bare loop's in turn (ABAB), each block warmed up
        # as a real run is: a drift in the machine's load then hits both alike.
        for _ in range(2):
            ours += run_jobs(backend, prepared, 1, rounds, warmup=1).wall_s
            for round_index in range(rounds + 1):
                started = time.perf_counter()
                loop()
                if round_index:
                    bare.append(time.perf_counter() - started)
    finally:
        backend.shutdown()
    return median(ours), median(bare)


def main() -> int:
    """Measure each engine at each task size and print whether it meets the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="threads,processes,dask,ray")
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--grain", type=parse_duration, default=1e-3)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    met = True
    for engine in options.engines.split(","):
        for grain_s in (0.0, options.grain):
            size = "no-op" if not grain_s else f"{grain_s * 1e3:g} ms"
            tasks = options.tasks if not grain_s else max(100, options.tasks // 10)
            ours, bare = compare(engine, tasks, grain_s, options.rounds)
            ratio = ours / bare
            figure = (
                f"{tasks} {size} tasks: dist-bench {ours / tasks * 1e6:.1f} us/task, bare loop "
                f"{bare / tasks * 1e6:.1f} us/task, ratio {ratio:.3f}"
            )
            met &= verdict(f"{engine:9}", figure, f"<= {TARGET_RATIO}", ratio <= TARGET_RATIO)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
