"""What a run will do: workloads x job sizes x backends (x worker counts), planned and sized.

A plan names its starts (a backend, at a worker count), the jobs each runs, the chunk modes, and
how much work it all is (``WorkEstimate``), so a run too big for this machine is refused first.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from dist_bench.backends import CLUSTER_BACKENDS, BackendOptions
from dist_bench.backends.base import BASELINE
from dist_bench.errors import UsageError
from dist_bench.measure import MeasureSettings
from dist_bench.scaling import MIN_FIT_SIZES
from dist_bench.units import AUTO, ChunkMode, format_bytes
from dist_bench.workload import Job, Workload

#: Copies of a job's task data the driver holds at once: the inputs, and the serial reference's
#: outputs (as large as the inputs for the data workload) until they are combined.
DRIVER_COPIES = 2


@dataclass(frozen=True)
class SizeGrid:
    """Job sizes to sweep; ``None`` means the workload's own default."""

    tasks: Sequence[int] | None = None
    grain_s: Sequence[float] | None = None
    bytes_per_task: Sequence[int] | None = None

    def jobs_for(self, workload: Workload) -> list[Job]:
        """Every job size for ``workload`` (bytes only vary for workloads that move bytes)."""
        tasks = self.tasks or [workload.default_tasks]
        grains = self.grain_s or [workload.default_grain_s]
        sizes = (self.bytes_per_task or [workload.default_bytes]) if workload.moves_bytes else [0]
        return [
            Job(tasks=n, grain_s=g, bytes_per_task=b)
            for n, g, b in itertools.product(tasks, grains, sizes)
        ]


@dataclass(frozen=True)
class Start:
    """One start of a backend in a run: its name and worker count (None: the backend's own)."""

    backend: str
    workers: int | None


@dataclass(frozen=True)
class SweepPlan:
    """What to run: workloads, backend names, sizes and how to measure."""

    workloads: list[Workload]
    backends: list[str]
    sizes: SizeGrid = field(default_factory=SizeGrid)
    settings: MeasureSettings = field(default_factory=MeasureSettings)
    options: BackendOptions = field(default_factory=BackendOptions)
    #: Tasks per dispatch to measure each job with (``--chunk 1,auto`` shows naive beside auto).
    chunks: Sequence[ChunkMode] = (AUTO,)
    #: Passes over the whole grid, interleaved (each record carries its ``round``).
    rounds: int = 1
    #: Worker counts to start every backend but serial with, one start each (``run -w 1,2``):
    #: a worker-count sweep; empty, one start with ``options.workers``.
    worker_counts: Sequence[int] = ()
    #: Weak scaling over ``worker_counts`` (``run --weak``): each count runs ``tasks`` tasks per
    #: worker, the same work per worker, and its records say so (``Record.scaling``), for
    #: Gustafson's law (``scaling.scaling_curves``). Serial runs every count's job.
    weak: bool = False

    def __post_init__(self) -> None:
        """Refuse a worker sweep that cannot make a curve.

        Raises:
            UsageError: a worker count given twice; ``weak`` with fewer than two worker counts,
                with several task counts (each would be its own series on the same sizes), or
                with serial alone.
        """
        if len(set(self.worker_counts)) != len(self.worker_counts):
            raise UsageError("-w: each worker count once")
        if self.weak and len(self.worker_counts) < MIN_FIT_SIZES:
            raise UsageError(
                f"--weak needs at least {MIN_FIT_SIZES} worker counts to fit Gustafson's law "
                "(e.g. -w 1,2)"
            )
        if self.weak and len(self.sizes.tasks or ()) > 1:
            raise UsageError("--weak takes one --tasks: the tasks per worker")
        if self.weak and all(name == BASELINE for name in self.backends):
            raise UsageError("--weak sweeps the workers of a backend besides serial (-b processes)")

    def starts(self) -> list[Start]:
        """Every backend start of one round, in run order (``backend_order``).

        Serial starts once (one worker is what it is); every other backend once per worker count.
        """
        counts: Sequence[int | None] = self.worker_counts or [self.options.workers]
        return [
            Start(name, None) if name == BASELINE else Start(name, workers)
            for name in self.backend_order()
            for workers in ([None] if name == BASELINE else counts)
        ]

    def jobs_for(self, workload: Workload, start: Start | None = None) -> list[Job]:
        """The jobs ``start`` runs of ``workload`` (None: every job of the run, to prepare).

        With ``weak``, a backend on W workers runs W times the tasks; serial, the baseline of
        every one of them, runs them all.
        """
        jobs = self.sizes.jobs_for(workload)
        if not self.weak:
            return jobs
        counts = self.worker_counts if start is None or start.workers is None else [start.workers]
        return [replace(job, tasks=job.tasks * count) for count in counts for job in jobs]

    def chunk_modes(self, backend: str) -> list[ChunkMode]:
        """The chunk modes ``backend`` runs.

        The baseline runs once: automatic when asked for (chunking also amortises the
        harness's own timing of each task, which a loop of tiny tasks would otherwise pay in
        the baseline every speedup divides), else the first mode given.
        """
        modes = list(dict.fromkeys(self.chunks))
        if backend != BASELINE:
            return modes
        return [AUTO] if AUTO in modes else modes[:1]

    def estimate(self) -> WorkEstimate:
        """How long the work takes if it all ran serially: what a plan says before it starts."""
        reference_s = sum(
            job.tasks * job.grain_s for w in self.workloads for job in self.jobs_for(w)
        )
        runs = self.settings.warmup + self.settings.repeats
        measured_s = sum(
            len(self.chunk_modes(start.backend)) * runs * job.tasks * job.grain_s
            for start in self.starts()
            for w in self.workloads
            for job in self.jobs_for(w, start)
        )
        driver_bytes = max(
            (
                DRIVER_COPIES * job.tasks * job.bytes_per_task
                for w in self.workloads
                if w.moves_bytes
                for job in self.jobs_for(w)
            ),
            default=0,
        )
        # Every round computes the reference again (it calibrates anew) and runs every job.
        total_s = self.rounds * (reference_s + measured_s)
        return WorkEstimate(reference_s, total_s, driver_bytes)

    def backend_order(self) -> list[str]:
        """The order backends run in.

        Backends given an address first, so a wrong address fails in seconds rather than after
        the local measurements; then the serial baseline (added if missing: every speedup
        divides by it); then the rest.
        """
        return ordered_backends(self.backends, self.options)


@dataclass(frozen=True)
class WorkEstimate:
    """A run's work in serial seconds (tasks x grain), before any overhead or parallelism.

    ``reference_s`` is the serial reference answer computed first, in the driver, alone;
    ``total_s`` adds every warm-up and measured job on every backend, as if each ran serially
    (parallel backends take less, by up to their worker count; dispatch overhead comes on top).
    """

    reference_s: float
    total_s: float
    #: The most memory one job's data takes in the driver (``DRIVER_COPIES`` of it).
    driver_bytes: int = 0


def ordered_backends(names: Sequence[str], options: BackendOptions) -> list[str]:
    """``names`` in run order: addressed backends, serial (added if missing), then the rest."""
    addressed = [n for n in names if options.address and n in CLUSTER_BACKENDS]
    rest = [n for n in names if n != BASELINE and n not in addressed]
    return [*addressed, BASELINE, *rest]


def check_memory(estimate: WorkEstimate) -> None:
    """Refuse, before anything runs, a job whose data cannot fit in this machine's memory.

    Raises:
        UsageError: naming the memory needed and the machine's.
    """
    import psutil

    total = psutil.virtual_memory().total
    if estimate.driver_bytes > total:
        raise UsageError(
            f"the largest job needs about {format_bytes(estimate.driver_bytes)} in the driver "
            f"(its tasks' data, in and out), more than this machine's {format_bytes(total)} of "
            "memory: lower --tasks or --bytes"
        )
