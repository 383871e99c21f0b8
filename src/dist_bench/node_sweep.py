"""The node sweep: one job shape measured on clusters of several sizes, every node the same slice.

The sweep knows nothing of Docker: it asks a ``NodePool`` to bring the cluster to N nodes and
hands back a backend that reaches it. The compose cluster is one pool
(``cluster.pool.ComposePool``); a scripted pool tests the maths; a real cluster resized by its
user (dask-jobqueue's ``cluster.scale``, KubeRay's replicas) is another (docs/scaling.md).

Order of work, so nothing competes and every size is measured alike:

1. the workload is calibrated once (units per task for the grain) and every job's reference
   answer computed serially in the driver: strong scaling's one job (the same total work on every
   size) and weak scaling's job per size (the same work per node);
2. sizes in increasing order (a compose cluster then only ever grows): the pool resizes, the
   backend starts (timed), every series' job for that size is measured and verified, and the
   backend is shut down before the next resize;
3. each record carries its node count, slice and kind of scaling, and is saved at once.

Returns data and reports progress through a callback; never prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dist_bench.backend_session import measure_prepared, started_backend
from dist_bench.backends.base import Backend
from dist_bench.errors import UsageError
from dist_bench.measure import MeasureSettings, PreparedJob, calibrate_units, prepare_job
from dist_bench.results import Results
from dist_bench.results_writer import ResultsWriter
from dist_bench.scaling import NodeSlice, Scaling
from dist_bench.sweep import Progress, ProgressCallback
from dist_bench.workload import Job, Workload, started_environment


class NodePool(Protocol):
    """A cluster that can be brought to any number of nodes of one fixed slice."""

    @property
    def node_slice(self) -> NodeSlice:
        """What every node has: CPUs and memory."""
        ...

    def resize(self, nodes: int) -> Backend:
        """Bring the cluster to ``nodes`` nodes (all joined); a backend, not started, for it."""
        ...


@dataclass(frozen=True)
class NodeSweepPlan:
    """One workload's job shape over several cluster sizes.

    ``tasks_per_node`` sets both series: weak scaling runs that many tasks per node; strong
    scaling runs the largest size's total (``tasks_per_node`` × the most nodes) on every size,
    so the two series meet at the largest size.
    """

    workload: Workload
    nodes: Sequence[int]
    tasks_per_node: int
    grain_s: float
    bytes_per_task: int = 0
    scalings: Sequence[Scaling] = (Scaling.STRONG, Scaling.WEAK)
    settings: MeasureSettings = field(default_factory=MeasureSettings)
    blas_threads: int = 1

    def __post_init__(self) -> None:
        """Refuse a plan that cannot make a curve.

        Raises:
            UsageError: fewer than two sizes, a size below 1, repeated sizes, no tasks, no series.
        """
        if len(self.nodes) < 2:
            raise UsageError("--nodes needs at least two sizes (e.g. 1,2,4)")
        if min(self.nodes) < 1:
            raise UsageError("--nodes: every size must be at least 1")
        if len(set(self.nodes)) != len(self.nodes):
            raise UsageError("--nodes: each size once")
        if self.tasks_per_node < 1:
            raise UsageError("--tasks-per-node must be at least 1")
        if not self.scalings:
            raise UsageError("choose strong, weak or both scaling series")

    def sizes(self) -> list[int]:
        """The sizes in the order they run: smallest first."""
        return sorted(self.nodes)

    def job(self, scaling: Scaling, nodes: int) -> Job:
        """The job ``scaling`` runs on ``nodes`` nodes."""
        per_node = self.tasks_per_node
        tasks = per_node * (max(self.nodes) if scaling is Scaling.STRONG else nodes)
        return Job(tasks=tasks, grain_s=self.grain_s, bytes_per_task=self.bytes_per_task)


def run_node_sweep(
    plan: NodeSweepPlan,
    pool: NodePool,
    writer: ResultsWriter,
    on_progress: ProgressCallback = lambda progress: None,
) -> Results:
    """Measure ``plan`` on every size ``pool`` is brought to; return this sweep's results.

    ``writer`` saves every record as it is measured, so an interrupted sweep keeps its sizes.

    Raises:
        UsageError, TaskFailedError: before measuring (a failing serial reference).
        ClusterError, ClusterConnectionError: the pool could not be resized or reached.
    """
    prepared = _prepare(plan, on_progress)
    per_size = plan.settings.warmup + plan.settings.repeats
    total = len(plan.nodes) * len(plan.scalings) * per_size
    done = 0
    workload = plan.workload
    modules = [workload.module] if workload.module is not None else []
    node_slice = pool.node_slice

    for nodes in plan.sizes():
        on_progress(Progress(done, total, f"bringing the cluster to {nodes} node(s)"))
        backend = pool.resize(nodes)
        with started_backend(backend, modules, writer) as run:
            run.topology["nodes_requested"] = nodes
            for scaling in plan.scalings:
                description = f"{workload.name}, {scaling.value} scaling on {nodes} node(s)"

                def advance(description: str = description) -> None:
                    nonlocal done
                    done += 1
                    on_progress(Progress(done, total, description))

                record = measure_prepared(backend, prepared[scaling, nodes], plan.settings, advance)
                record.nodes = nodes
                record.node_cpus = node_slice.cpus
                record.node_memory_bytes = node_slice.memory_bytes
                record.scaling = scaling.value
                writer.add_record(record)
                done = max(done, _done_after(plan, nodes, scaling))
    return writer.results


def _done_after(plan: NodeSweepPlan, nodes: int, scaling: Scaling) -> int:
    """Jobs done once ``scaling`` on ``nodes`` is measured (a failed record skips its rest)."""
    per_size = plan.settings.warmup + plan.settings.repeats
    size_index = plan.sizes().index(nodes)
    return (size_index * len(plan.scalings) + list(plan.scalings).index(scaling) + 1) * per_size


def _prepare(
    plan: NodeSweepPlan, on_progress: ProgressCallback
) -> dict[tuple[Scaling, int], PreparedJob]:
    """Every job of the sweep calibrated alike and answered serially (one strong job in all)."""
    workload = plan.workload
    on_progress(Progress(0, 1, f"calibrating {workload.name}"))
    base = plan.job(Scaling.WEAK, min(plan.nodes))
    with started_environment(workload, base) as running:
        units = calibrate_units(workload, running)
    # Jobs of a sweep differ in their task count only: one reference per count.
    answered: dict[int, PreparedJob] = {}
    prepared = {}
    for scaling in plan.scalings:
        for nodes in plan.sizes():
            job = plan.job(scaling, nodes)
            if job.tasks not in answered:
                answered[job.tasks] = _answered(plan, job, units, on_progress)
            prepared[scaling, nodes] = answered[job.tasks]
    return prepared


def _answered(
    plan: NodeSweepPlan, job: Job, units: int, on_progress: ProgressCallback
) -> PreparedJob:
    name = plan.workload.name

    def reference_done(done: int, total: int) -> None:
        on_progress(Progress(done, total, f"serial reference of {name}, {job.tasks} tasks"))

    with started_environment(plan.workload, job) as running:
        return prepare_job(plan.workload, running, plan.blas_threads, reference_done, units)
