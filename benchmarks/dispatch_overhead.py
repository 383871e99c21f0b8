"""Per-task dispatch overhead: what dist-bench reports vs a bare loop of the same engine calls.

Target: for no-op tasks, the per-task overhead dist-bench reports for the dask and ray backends is
within 25 % of a bare loop of the engine's own batch calls (Dask ``client.map`` + ``gather``, Ray
``f.remote`` + ``ray.get``) measured in the same run on the same cluster. A larger gap would mean
dist-bench's own machinery (timing wrapper, verification, argument handling) distorts the very
overhead it reports.

Run: ``.venv/bin/python benchmarks/dispatch_overhead.py [--tasks 2000] [--repeats 5]``.
Prints one line per engine and exits 1 when a target is missed. Recorded results:
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from dist_bench.analysis import summarize
from dist_bench.backends import BackendOptions, create_backend
from dist_bench.backends.base import Backend
from dist_bench.measure import MeasureSettings, measure, prepare_job
from dist_bench.results import BackendRun, Results
from dist_bench.workload import Job, TaskArgs, Workload

#: "Within 25 %" of the bare loop, either way.
TARGET_LOW, TARGET_HIGH = 0.75, 1.25


def noop(value: int) -> int:
    """The task: nothing but the call itself."""
    return value


def make_tasks(job: Job) -> list[TaskArgs]:
    """One integer per task."""
    return [(index,) for index in range(job.tasks)]


NOOP = Workload(
    name="noop",
    summary="no-op tasks",
    make_tasks=make_tasks,
    task=noop,
    combine=sum,
    calibrated=False,
)


def bare_loop(backend: Backend, tasks: int) -> Callable[[], None]:
    """The same batch of no-op calls, straight through the engine's API, no dist-bench."""
    if backend.name == "dask":
        client: Any = getattr(backend, "client")  # noqa: B009 - public on DaskBackend only

        def run_dask() -> None:
            futures = client.map(noop, range(tasks), pure=False)
            client.gather(futures, direct=True)

        return run_dask
    import ray

    remote_noop = ray.remote(noop)

    def run_ray() -> None:
        ray.get([remote_noop.remote(index) for index in range(tasks)])

    return run_ray


def compare(engine: str, tasks: int, repeats: int) -> tuple[float, float]:
    """Return (dist-bench overhead per task, bare loop time per task) in seconds."""
    settings = MeasureSettings(repeats=repeats, warmup=1)
    serial = create_backend("serial")
    backend = create_backend(engine, BackendOptions())
    prepared = prepare_job(NOOP, Job(tasks=tasks, grain_s=1e-6, bytes_per_task=0))
    serial.start()
    serial_record = measure(serial, prepared, NOOP.make_tasks(prepared.job), settings)
    serial.shutdown()
    # Functions of __main__ travel by value with both engines' pickling; nothing to ship.
    backend.start()
    try:
        record = measure(backend, prepared, NOOP.make_tasks(prepared.job), settings)
        loop = bare_loop(backend, tasks)
        loop()  # warm-up, as dist-bench had
        bare: list[float] = []
        for _ in range(repeats):
            started = time.perf_counter()
            loop()
            bare.append((time.perf_counter() - started) / tasks)
    finally:
        backend.shutdown()
    results = Results(
        metadata={},
        backends=[BackendRun("serial", 0.0), BackendRun(engine, 0.0)],
        records=[serial_record, record],
    )
    ours = summarize(results)[1].overhead_per_task_s
    if ours is None or not record.verified:
        raise RuntimeError(f"{engine}: the no-op job failed or gave a wrong answer")
    return ours, statistics.median(bare)


def main() -> int:
    """Measure each engine and print whether it meets the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--engines", default="dask,ray")
    options = parser.parse_args()
    missed = 0
    for engine in options.engines.split(","):
        ours, bare = compare(engine, options.tasks, options.repeats)
        ratio = ours / bare
        verdict = "ok" if TARGET_LOW <= ratio <= TARGET_HIGH else "MISSED"
        missed += verdict != "ok"
        print(
            f"{engine}: dist-bench {ours * 1e6:.0f} us/task, bare loop {bare * 1e6:.0f} us/task, "
            f"ratio {ratio:.2f} (target {TARGET_LOW}-{TARGET_HIGH}) {verdict}"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
