"""The local compose cluster as a ``NodePool``: each size is ``cluster up`` with that many nodes.

Every node gets the same slice (CPUs and memory) and, if asked, the same shaped link; the total
may not exceed this host's cores, so the nodes never compete for a core (the scheduler or head
and the driver share what is left). Sizes only grow during a sweep, so ``cluster up`` adds worker
containers to the running cluster and waits until each has joined.

A size is ready when both have happened within the pool's ``timeout_s`` each (``cluster up``'s
default, 180 s): every worker joined, asked of the scheduler or head inside its container, and a
client on this host connected through the published port. The second wait is not the short one
a user's ``--address`` gets (5 s for Dask, so a wrong address fails fast): this cluster is known
to be there, and on a loaded machine its first answer from this host took longer (a sweep failed
so before its second size in CI).
"""

from __future__ import annotations

import os

from dist_bench import defaults
from dist_bench.backends import BackendOptions, create_backend
from dist_bench.backends.base import Backend
from dist_bench.cluster.client import configure_local_client
from dist_bench.cluster.lifecycle import up
from dist_bench.cluster.spec import DEFAULT_PROJECT, ClusterReport, ClusterSpec
from dist_bench.errors import UsageError
from dist_bench.scaling import NodeSlice

#: The address a client on this host reaches each engine's cluster at (``ClusterReport``).
_HOST_ADDRESS = {"dask": "from this host", "ray": "Ray Client from this host"}


class ComposePool:
    """The compose cluster of ``project``, brought to N nodes of ``node_slice`` on request."""

    def __init__(
        self,
        engine: str,
        node_slice: NodeSlice,
        *,
        project: str = DEFAULT_PROJECT,
        link_rate_bits: int | None = None,
        blas_threads: int = 1,
        timeout_s: float = defaults.CLUSTER_UP_TIMEOUT_S,
    ) -> None:
        self.engine = engine
        self._slice = node_slice
        self.project = project
        self.link_rate_bits = link_rate_bits
        self.blas_threads = blas_threads
        #: Bounds each size's two waits: its workers joining, and this host's client connecting.
        self.timeout_s = timeout_s
        #: What ``cluster up`` reported for each size, in order.
        self.reports: list[ClusterReport] = []

    @property
    def node_slice(self) -> NodeSlice:
        """What every node has."""
        return self._slice

    def check_fits(self, most_nodes: int) -> None:
        """Refuse a sweep whose largest size needs more CPUs than this host has.

        Raises:
            UsageError: nodes × CPUs per node above the host's cores.
        """
        cores = os.cpu_count() or 1
        if most_nodes * self._slice.cpus > cores + 1e-9:
            raise UsageError(
                f"{most_nodes} nodes of {self._slice.cpus:g} CPU need "
                f"{most_nodes * self._slice.cpus:g} CPUs; this host has {cores}: give "
                f"--cpus {cores / most_nodes:g} or less, so nodes never share a core"
            )

    def resize(self, nodes: int) -> Backend:
        """``cluster up`` with ``nodes`` worker containers; a client backend for it (not started).

        The backend, when started, waits up to ``timeout_s`` for the cluster to answer it.

        Raises:
            ClusterError: the cluster did not come up with every node joined.
        """
        spec = ClusterSpec(
            engine=self.engine,
            workers=nodes,
            cpus=self._slice.cpus,
            memory_bytes=self._slice.memory_bytes or ClusterSpec.memory_bytes,
            project=self.project,
            link_rate_bits=self.link_rate_bits,
        )
        report = up(spec, timeout_s=self.timeout_s)
        self.reports.append(report)
        address = report.addresses[_HOST_ADDRESS[self.engine]]
        configure_local_client(address)
        options = BackendOptions(
            address=address, blas_threads=self.blas_threads, connect_timeout_s=self.timeout_s
        )
        return create_backend(self.engine, options)
