"""A scripted-cost backend: a TEST TOOL for the cost model's maths, not an engine.

Like hyperfine's mock executor, which turns ``sleep 0.5`` into exactly 0.5 s without sleeping, it
runs ``SCRIPTED_WORKLOAD``, whose tasks declare their own grain and bytes, and charges each job
exactly

    T = S + d·o + n·g / P_eff + n·b / B

seconds on a virtual clock, d being the job's dispatches (one per task, or one per chunk when
``--chunk`` groups them) (``clock()``), from a ``CostScript``; optional noise is drawn from a
seeded generator, so a test is deterministic. The dispatch probe's no-op tasks
(``chunking.probe_dispatch_s``) cost only their dispatch, without noise: the probe reads o. The
tasks still run for real (they are trivial), so answers are computed and verified like on any
backend. It is not in the backend registry: tests build it with ``scripted_backend(name,
script)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, cast

import numpy as np

from dist_bench.backends.base import (
    Backend,
    BackendOptions,
    TaskError,
    TaskFuture,
    completed_future,
)
from dist_bench.worker import chunk_arguments
from dist_bench.workload import Job, TaskArgs, Workload


@dataclass(frozen=True)
class CostScript:
    """The costs a scripted backend charges (the parameters the fit must recover).

    Attributes:
        noise: Spread of each job's time: it is multiplied by exp(noise·N(0, 1)), which keeps
            the median at T exactly.
        drift: Spread between sessions: every job of one backend instance (one start, one round)
            is multiplied by one exp(drift·N(0, 1)), drawn first from the seed; give each
            session its own seed to draw another.
        seed: Seed of the noise and drift.
    """

    startup_s: float = 0.0
    per_task_overhead_s: float = 0.0
    effective_parallelism: float = 1.0
    bandwidth_bytes_per_s: float | None = None
    workers: int = 1
    noise: float = 0.0
    drift: float = 0.0
    seed: int = 0

    def job_seconds(
        self, tasks: int, grain_s: float, bytes_per_task: int, sent: int | None = None
    ) -> float:
        """T for one job of ``sent`` dispatches (``None``: one per task), without noise."""
        moving = (
            tasks * bytes_per_task / self.bandwidth_bytes_per_s
            if self.bandwidth_bytes_per_s
            else 0.0
        )
        return (
            self.startup_s
            + (tasks if sent is None else sent) * self.per_task_overhead_s
            + tasks * grain_s / self.effective_parallelism
            + moving
        )


class ScriptedBackend(Backend):
    """Charges every job its scripted cost on a virtual clock; runs the tasks for their answers."""

    name = "scripted"
    script: ClassVar[CostScript] = CostScript()

    def __init__(self, options: BackendOptions | None = None) -> None:
        super().__init__(options)
        self._now = 0.0
        self._noise = np.random.default_rng(self.script.seed)
        drift = self.script.drift
        self._session = math.exp(drift * float(self._noise.standard_normal())) if drift else 1.0

    def clock(self) -> float:
        """Virtual seconds: advanced by each job's scripted cost, never by real time."""
        return self._now

    def submit(self, fn: Callable[..., Any], *args: Any) -> TaskFuture:
        """Run ``fn(*args)`` now; costs are charged per job by ``map`` only."""
        return completed_future(fn, *args)

    def map(self, fn: Callable[..., Any], argument_tuples: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Run the tasks for their values; charge T on the clock and report each task as g long.

        ``fn`` is the measured task wrapper (``worker.timed_call``, around ``worker.run_chunk``
        when tasks are chunked), so each result is a ``TimedResult`` whose times are replaced by
        the declared grains of the tasks it ran.
        """
        results: list[Any] = []
        total_bytes = 0
        grains: list[float] = []
        probing = all(not task for args in argument_tuples for task in _tasks_of(args))
        for index, args in enumerate(argument_tuples):
            try:
                declared = [declared_cost(task) for task in _tasks_of(args)]
                value, _, _, _ = fn(*args)
            except Exception as exc:
                raise TaskError(index, exc) from exc
            grains.extend(grain for grain, _ in declared)
            total_bytes += sum(size for _, size in declared)
            spent = sum(grain for grain, _ in declared)
            results.append((value, spent, spent, f"scripted:{index % self.script.workers}"))
        tasks = len(grains)
        seconds = self.script.job_seconds(
            tasks, sum(grains) / max(1, tasks), total_bytes // max(1, tasks), len(argument_tuples)
        )
        # The dispatch probe's no-op jobs are charged exactly and draw no noise, so the jobs
        # measured after a probe see the same draws as they would without one.
        noise = (
            1.0 if probing else math.exp(self.script.noise * float(self._noise.standard_normal()))
        )
        self._now += seconds * self._session * noise
        return results

    def workers(self) -> int:
        """The scripted number of workers."""
        return self.script.workers

    def describe(self) -> dict[str, Any]:
        """Topology, marked as scripted, with the script itself."""
        return {**super().describe(), "scripted": True, "script": asdict(self.script)}


def scripted_backend(
    name: str, script: CostScript, shares_memory: bool = False
) -> type[ScriptedBackend]:
    """A scripted backend class called ``name`` that charges ``script``'s costs."""
    attributes = {"name": name, "script": script, "shares_memory": shares_memory}
    return cast(type[ScriptedBackend], type(f"Scripted_{name}", (ScriptedBackend,), attributes))


def _tasks_of(args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The tasks one dispatch carries: itself, or each task of a chunk row."""
    if args and isinstance(args[0], tuple):
        return list(chunk_arguments(args[0], args[1], ()))
    return [args]


def declared_cost(args: TaskArgs) -> tuple[float, int]:
    """The grain and bytes a ``SCRIPTED_WORKLOAD`` task declares; none for a no-op task.

    The no-op tasks without arguments are the dispatch probe's (``chunking.probe_dispatch_s``):
    they cost only their dispatch, so the probe measures the scripted o.

    Raises:
        TypeError: the task is not one of ``SCRIPTED_WORKLOAD``'s, nor a no-op.
    """
    if not args:
        return 0.0, 0
    if len(args) != 3 or not isinstance(args[1], float) or not isinstance(args[2], int):
        raise TypeError("the scripted backend runs only the scripted workload's tasks")
    return args[1], args[2]


def _declaring_tasks(job: Job) -> list[TaskArgs]:
    return [(index, job.grain_s, job.bytes_per_task) for index in range(job.tasks)]


def _declared_task(index: int, grain_s: float, bytes_per_task: int) -> int:
    """The work itself is trivial; its cost is what the task declares."""
    return index * index


#: The workload scripted backends run: tasks that declare their grain and bytes.
SCRIPTED_WORKLOAD = Workload(
    name="scripted",
    summary="tasks that declare their cost, for scripted backends (a test tool)",
    make_tasks=_declaring_tasks,
    task=_declared_task,
    combine=sum,
    calibrated=False,
    moves_bytes=True,
    default_tasks=16,
    default_grain_s=0.001,
    default_bytes=0,
)
