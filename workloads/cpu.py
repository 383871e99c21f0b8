"""Pure-Python CPU work: a Monte Carlo estimate of pi, one random stream per task.

The lesson: this code holds the GIL the whole time it runs. Threads and asyncio therefore take turns
and gain nothing (each task simply runs slower while the others wait), while processes and cluster
workers, each with an interpreter of its own, run side by side. This is the workload where
parallelism, not concurrency, pays off. The GIL is the interpreter's, not Python's: on 3.14 the
``interpreters`` backend runs it side by side in one process (a GIL per subinterpreter), and on a
free-threaded build threads do too (``run --python``; docs/runtimes.md).

Answer: the total number of samples that fell inside the quarter circle; exact, so any backend that
drops, repeats or corrupts a task is caught.
"""

from __future__ import annotations

import random

from dist_bench.workload import Job, TaskArgs, TaskNature, Workload


def make_tasks(job: Job) -> list[TaskArgs]:
    """One task per seed, each drawing ``job.units`` points."""
    return [(seed, job.units) for seed in range(job.tasks)]


def count_hits(seed: int, samples: int) -> int:
    """Draw ``samples`` points in the unit square; count those inside the quarter circle."""
    draw = random.Random(seed).random
    hits = 0
    for _ in range(samples):
        x, y = draw(), draw()
        if x * x + y * y <= 1.0:
            hits += 1
    return hits


def total_hits(results: list[int]) -> int:
    """The answer: hits summed over all tasks."""
    return sum(results)


WORKLOAD = Workload(
    name="cpu",
    summary="pure-Python Monte Carlo pi: holds the GIL",
    make_tasks=make_tasks,
    task=count_hits,
    combine=total_hits,
    default_tasks=16,
    default_grain_s=0.05,
    nature=TaskNature.PURE_PYTHON,
)
