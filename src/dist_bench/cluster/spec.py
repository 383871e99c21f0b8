"""What a local cluster is asked to be, and what it reports: the types every other module passes.

Plain data and its checks; nothing here runs Docker.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from dist_bench import defaults
from dist_bench.backends import CLUSTER_BACKENDS
from dist_bench.errors import UsageError
from dist_bench.links import LinkCheck

#: The engines a local cluster runs: the backends that run on a cluster.
ENGINES = CLUSTER_BACKENDS
DEFAULT_PROJECT = defaults.CLUSTER_PROJECT
#: The image plain ``docker compose`` commands use (docker-compose.yml's default): the last one
#: built on this machine, by anyone.
IMAGE = "dist-bench-cluster:latest"
#: The image's own unprivileged user: the containers' uid when root runs dist-bench.
IMAGE_UID = 10001
#: The least memory a worker container may get: below it a worker with its engine does not start.
MIN_WORKER_MEMORY = 256 * 1024**2


def container_user() -> tuple[int, int]:
    """The uid and gid every container runs as: the invoking user's, never root's.

    The user's own uid makes the files the driver writes in their folder theirs, and lets the
    containers read the 0600 secrets; for root, the image's own user stands in.
    """
    if os.getuid() == 0:
        return IMAGE_UID, IMAGE_UID
    return os.getuid(), os.getgid()


def own_image() -> str:
    """The cluster image of the user running dist-bench, the one its own commands run.

    A tag per user: another user's (or root's) build moves ``latest`` but never this tag, so it
    cannot swap the image under a cluster that runs here (compose would recreate its containers
    at the next ``cluster run``, losing the workers).
    """
    return f"dist-bench-cluster:uid-{os.getuid()}"


def check_project_name(project: str) -> None:
    """Refuse a project name compose would refuse; it is also a folder under cluster/.secrets/.

    Raises:
        UsageError: a name with anything but lowercase letters, digits, '-' and '_'.
    """
    if not project or not all(c.islower() or c.isdigit() or c in "-_" for c in project):
        raise UsageError(
            f"--project {project!r}: use lowercase letters, digits, '-' and '_' (compose's rule)"
        )


#: The CFS period of a worker's CPU quota: a node that spent its quota waits for the period's
#: end, so Docker's 100 ms froze a half-core node for up to 50 ms; 10 ms keeps that wait short
#: (benchmarks/cfs_period.py, docs/scaling.md).
CFS_PERIOD_US = 10_000
#: The kernel's shortest quota: a slice must get at least this much per period.
MIN_CFS_QUOTA_US = 1_000


@dataclass(frozen=True)
class ClusterSpec:
    """What ``cluster up`` starts: the engine, N worker containers and each one's limits."""

    engine: str
    workers: int = defaults.CLUSTER_WORKERS
    cpus: float = defaults.CLUSTER_CPUS
    memory_bytes: int = defaults.CLUSTER_MEMORY_GIB * 1024**3
    #: Off by default: Dask speaks mutual TLS (and Ray always asks for its token), so no other
    #: local user can submit code to the cluster. On (``--insecure``, Dask only): plain TCP.
    insecure: bool = False
    project: str = DEFAULT_PROJECT
    #: Each container's outgoing link in bit/s (tbf, see ``links``); None: the bridge's own speed.
    link_rate_bits: int | None = None
    #: A delay added to each container's outgoing packets (netem, where the kernel has it).
    link_latency_ms: float | None = None

    def __post_init__(self) -> None:
        """Refuse what compose would take badly or late.

        Raises:
            UsageError: an unknown engine, no workers, no CPU or too little memory, TLS on Ray.
        """
        if self.engine not in ENGINES:
            raise UsageError(f"unknown engine {self.engine!r}; choose dask or ray")
        if self.workers < 1:
            raise UsageError("--workers must be at least 1")
        if self.cpus * CFS_PERIOD_US < MIN_CFS_QUOTA_US:
            raise UsageError(
                f"--cpus must be at least {MIN_CFS_QUOTA_US / CFS_PERIOD_US:g} (e.g. 1 or 0.5)"
            )
        if self.link_latency_ms is not None and self.link_rate_bits is None:
            raise UsageError("--link-latency shapes the link: give --link-rate too")
        if self.memory_bytes < MIN_WORKER_MEMORY:
            raise UsageError("--memory must be at least 256MiB per worker container")
        if self.insecure and self.engine != "dask":
            raise UsageError("--insecure is for Dask: Ray's cluster always asks for its token")
        check_project_name(self.project)

    @property
    def tls(self) -> bool:
        """Dask over mutual TLS (Ray is protected by its token instead)."""
        return self.engine == "dask" and not self.insecure

    @property
    def processes_per_worker(self) -> int:
        """Single-threaded worker processes (Dask) or Ray CPUs per container: whole CPUs."""
        return max(1, math.ceil(self.cpus))


@dataclass(frozen=True)
class DriverCommand:
    """``dist-bench ARGS`` for the driver container, as the CLI's own parser read them.

    Attributes:
        output_paths: Every file the command will write (``-o``, ``--plot``), as given.
        needs_address: A ``run`` given no ``--address``: it gets the cluster's.
        needs_backends: A ``run`` given no ``-b``: it gets the cluster's engine.
    """

    args: tuple[str, ...]
    output_paths: tuple[str, ...] = ()
    needs_address: bool = False
    needs_backends: bool = False


@dataclass(frozen=True)
class WorkerReport:
    """One worker container as its scheduler or head reports it."""

    name: str
    cores: int
    memory_bytes: int
    processes: int
    versions: dict[str, str]


@dataclass(frozen=True)
class ClusterReport:
    """A running cluster: who joined, with what, and how to reach it."""

    engine: str
    project: str
    workers: list[WorkerReport]
    scheduler_versions: dict[str, str]
    #: Label → address: from this host, and from inside the cluster network.
    addresses: dict[str, str]
    dashboards: dict[str, str]
    #: Environment a client on the host needs (Dask's TLS files; Ray's token file).
    client_env: dict[str, str] = field(default_factory=dict)
    #: Seconds from ``compose up`` until every worker had joined (``up`` only).
    ready_s: float | None = None
    #: Seconds spent preparing the image (``up`` only; near 0 when nothing changed).
    build_s: float | None = None
    #: Any local user can submit code to it (``--insecure``): no TLS, no token.
    open_to_local_users: bool = False
    #: A transfer timed between two nodes, against the set link rate (``status`` of a shaped
    #: cluster only).
    link: LinkCheck | None = None
    #: Ray: a GCS client without the token was refused, asked on the head (None: not asked).
    stranger_refused: bool | None = None


@dataclass(frozen=True)
class BuildReport:
    """The image ``build`` made or found up to date."""

    image: str
    base_image: str
    rebuilt: bool
    seconds: float


def with_cluster_address(command: DriverCommand, engine: str, address: str) -> list[str]:
    """The driver's arguments: a ``run`` lacking ``--address`` or ``-b`` gets the cluster's."""
    out = list(command.args)
    if command.needs_address:
        out += ["--address", address]
    if command.needs_backends:
        out += ["-b", engine]
    return out
