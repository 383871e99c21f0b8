"""The Ray ``Backend``: one Ray task per call, on an embedded Ray or a cluster at ``--address``.

One Ray remote function per task function, so the function travels once per job; user modules
(and, remotely, ``dist_bench.worker``) are pickled by value with Ray's cloudpickle. Retries after
a worker died are counted from the task's attempt number and reported as notes, with nodes lost
or joined.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import threading
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import ray
from ray.exceptions import RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from dist_bench.backends.base import Backend, BackendOptions, TaskError
from dist_bench.backends.by_value import ByValueRegistry
from dist_bench.backends.ray.address import parse_address, ray_client_installed
from dist_bench.backends.ray.private import CLOUDPICKLE, RAY
from dist_bench.backends.ray.session import Session, SessionSettings, close_session, open_session
from dist_bench.backends.ray.tasks import (
    RayTaskFuture,
    TaskFunctions,
    as_task,
    one_line,
    original_exception,
    task_functions,
)
from dist_bench.cores import default_cores
from dist_bench.errors import ClusterConnectionError, EngineNotInstalledError
from dist_bench.versions import CHECKED_PACKAGES

#: Seconds ``start`` waits for the warm-up tasks (a worker process per CPU).
WARM_UP_TIMEOUT_S = 120.0
#: Seconds ``remote_versions`` waits for its one task per node.
VERSIONS_TIMEOUT_S = 60.0
#: Seconds a failed job waits for its other tasks to end before raising.
SETTLE_TIMEOUT_S = 60.0

#: Seconds a job waits, once no alive node has a CPU (every worker node lost; the head of
#: dist-bench's cluster has none), for a node to join before it gives up: Ray would otherwise
#: keep the tasks pending for ever. Short, unlike Dask's: a Ray node joins in seconds, not
#: instantly, and the GCS has already waited out its health checks before it counts a node lost
#: (docker-compose.yml tunes them: dead about 5-6 s after the kill), together under the 10 s
#: goal (benchmarks/cluster_faults.py: 2 s here ended the run 13 s after the kill).
NO_CPU_GRACE_S = 1.0
#: How often a job still waiting for results looks at the cluster's CPUs.
_CPU_CHECK_S = 0.5

#: Ray's cloudpickle's by-value list, shared with every Ray backend in this process.
BY_VALUE = ByValueRegistry(CLOUDPICKLE)


class RayBackend(Backend):
    """Runs tasks as Ray tasks on an embedded Ray or on a cluster given by ``--address``.

    ``remote`` is true with an address. ``--workers`` sets the CPUs of an embedded Ray and is
    ignored with an address (the cluster has the CPUs its nodes were started with).
    """

    name = "ray"
    places_data = True

    def __init__(self, options: BackendOptions | None = None) -> None:
        super().__init__(options)
        self.target = parse_address(self.options.address)
        self.remote = self.target.kind != "embedded"
        if self.target.kind == "client" and not ray_client_installed():
            raise EngineNotInstalledError(
                f"Ray address {self.options.address!r} uses Ray Client, which needs grpcio; run: "
                "pip install 'dist-bench[ray-client]' (or give the cluster's GCS HOST:PORT from "
                "one of its nodes)"
            )
        self._session: Session | None = None
        self._functions: TaskFunctions | None = None
        self._call: Any = None
        #: A remote function per task function, so the function is not sent with every task.
        self._bound: dict[Callable[..., Any], Any] = {}
        self._versions: Any = None
        self._by_value: list[str] = []
        self._nodes: dict[str, str] = {}
        self._retried = 0
        self._lock = threading.Lock()

    @property
    def _connected(self) -> bool:
        return self._session is not None

    @property
    def _connected_to(self) -> str:
        return self._session.connected_to if self._session is not None else ""

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, ship: Sequence[ModuleType] = ()) -> None:
        """Start or connect to Ray, ship ``ship`` by value, and bring a worker up per CPU.

        Ray allows one session per process, so a second backend with the same settings started
        while one is running shares its session (the last one to shut down ends it).

        Raises:
            ClusterConnectionError: the address is unreachable, is not a Ray GCS, refused our
                token, this machine is not a node of it, or the cluster has no CPUs.
            RuntimeError: this process is already connected to another Ray session.
        """
        if self._session is not None:
            raise RuntimeError("ray backend started twice; shut it down first")
        try:
            self._ship_by_value(ship)
            self._session = open_session(
                SessionSettings(
                    self.target,
                    cpus=self.options.workers or default_cores(),
                    blas_threads=self.options.blas_threads,
                )
            )
            self._functions = functions = task_functions()
            self._call = as_task(functions.call)
            self._versions = ray.remote(num_cpus=0, max_retries=1)(functions.versions)
            self._nodes = self._alive_nodes()
            self._warm_up()
        except BaseException:
            self._teardown()
            raise
        super().start(ship)

    def shutdown(self) -> None:
        """Disconnect; embedded, also make sure every Ray process this run started has exited."""
        self._teardown()
        super().shutdown()

    def _teardown(self) -> None:
        session, self._session = self._session, None
        self._call = self._versions = self._functions = None
        self._bound.clear()
        try:
            if session is not None:
                close_session(session)
        finally:
            BY_VALUE.release(self._by_value)
            self._by_value = []

    def _ship_by_value(self, ship: Sequence[ModuleType]) -> None:
        """Pickle the user's modules by value, since no worker can import them by name.

        Modules of dist-bench itself are importable on local workers; a remote cluster may lack
        dist-bench, so there everything in ``ship`` goes by value, and ``dist_bench.worker``
        (``timed_call``) too.
        """
        modules = [m for m in ship if self.remote or not m.__name__.startswith("dist_bench.")]
        if self.remote:
            modules.append(importlib.import_module("dist_bench.worker"))
        self._by_value = BY_VALUE.acquire(modules)

    def _warm_up(self) -> None:
        """Run one no-op task per CPU, so workers start inside ``start``.

        Worker start-up is then timed as start-up, not as the first job, and the task functions
        have reached every node.
        """
        cpus = self.workers()
        if cpus < 1:
            raise ClusterConnectionError(
                f"the Ray cluster at {self._connected_to} has no CPUs for tasks: add a node with "
                f"`ray start --address=... --num-cpus=N`"
            )
        refs = [self._call.remote(int) for _ in range(cpus)]
        try:
            ray.get(refs, timeout=WARM_UP_TIMEOUT_S)
        except Exception as exc:
            raise ClusterConnectionError(
                f"Ray workers at {self._connected_to} could not run a no-op task: {one_line(exc)}"
            ) from exc

    # -- work ---------------------------------------------------------------------------------

    def _require_started(self) -> None:
        if not self._connected or self._call is None:
            raise RuntimeError("ray backend used before start()")

    def _remote_call(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``.remote`` of a Ray remote function running ``fn`` (made once per function)."""
        try:
            remote = self._bound.get(fn)
        except TypeError:  # an unhashable callable: send it with every task instead
            return functools.partial(self._call.remote, fn)
        if remote is None:
            assert self._functions is not None
            bound = self._functions.bind(CLOUDPICKLE.dumps(fn))
            remote = self._bound[fn] = as_task(bound)
        return remote.remote  # type: ignore[no-any-return]

    def submit(self, fn: Callable[..., Any], *args: Any) -> RayTaskFuture:
        """Run ``fn(*args)`` as one Ray task (placed ``ObjectRef`` arguments arrive resolved)."""
        self._require_started()
        return RayTaskFuture(self._remote_call(fn)(*args), self._count_attempts)

    def map(self, fn: Callable[..., Any], argument_tuples: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Submit every call, then one batched ``ray.get`` for all results in order.

        Raises:
            TaskError: a task raised (or Ray gave up on it); carries its index and the original
                exception.
        """
        self._require_started()
        remote = self._remote_call(fn)
        refs = [remote(*args) for args in argument_tuples]
        if not refs:
            return []
        try:
            self._wait_while_cpus_remain(refs)
            outputs = ray.get(refs)
        except RayError as exc:
            index, cause = _first_failure(refs, exc)
            _settle(refs)
            raise TaskError(index, cause) from cause
        self._count_attempts([output[0] for output in outputs])
        return [output[1] for output in outputs]

    def _wait_while_cpus_remain(self, refs: list[Any]) -> None:
        """Wait until every task is done, or fail once the cluster stays without a CPU.

        Raises:
            ClusterConnectionError: no CPU for ``NO_CPU_GRACE_S`` (the tasks cancelled).
        """
        without_since: float | None = None
        while True:
            ready, _ = ray.wait(
                refs, num_returns=len(refs), timeout=_CPU_CHECK_S, fetch_local=False
            )
            if len(ready) == len(refs):
                return
            if self._alive_cpus() > 0:
                without_since = None
                continue
            now = time.monotonic()
            without_since = now if without_since is None else without_since
            if now - without_since >= NO_CPU_GRACE_S:
                for ref in refs:
                    ray.cancel(ref, force=True)
                where = self.options.address or "the embedded Ray"
                raise ClusterConnectionError(
                    f"every worker node of the Ray cluster at {where} left during the run and "
                    f"none joined within {NO_CPU_GRACE_S:.0f} s; results measured before it "
                    "are kept"
                )

    def _count_attempts(self, attempts: Sequence[int]) -> None:
        retried = sum(1 for attempt in attempts if attempt)
        if retried:
            with self._lock:
                self._retried += retried

    def place(self, value: Any) -> Any:
        """Put ``value`` in Ray's object store once; tasks get the ``ObjectRef`` (resolved)."""
        self._require_started()
        return ray.put(value)

    # -- reporting ----------------------------------------------------------------------------

    def _alive_cpus(self) -> float:
        """CPUs of the nodes the GCS holds alive.

        Read from the node table, which the GCS updates the moment it declares a node dead;
        ``ray.cluster_resources()`` follows the resource view, which lagged it by seconds.
        """
        alive = [node for node in RAY.nodes() if node.get("Alive")]
        return sum(float(node.get("Resources", {}).get("CPU", 0)) for node in alive)

    def _alive_nodes(self) -> dict[str, str]:
        """Alive nodes: ID to IP address."""
        return {
            node["NodeID"]: str(node.get("NodeManagerAddress", "?"))
            for node in RAY.nodes()
            if node.get("Alive")
        }

    def drain_notes(self) -> list[str]:
        """What happened since the previous call, one note each.

        What Ray logged or the raylet said, tasks Ray re-ran after losing their worker, and
        nodes that left or joined.
        """
        notes = self._session.output.drain_notes() if self._session is not None else []
        with self._lock:
            retried, self._retried = self._retried, 0
        if retried:
            notes.append(f"Ray re-ran {retried} task(s) after the worker process running them died")
        if self._connected:
            try:
                now = self._alive_nodes()
            except Exception as exc:
                notes.append(f"could not list Ray nodes: {one_line(exc)}")
            else:
                for node_id in sorted(self._nodes.keys() - now.keys()):
                    notes.append(f"Ray node {self._nodes[node_id]} ({node_id[:8]}) was lost")
                for node_id in sorted(now.keys() - self._nodes.keys()):
                    notes.append(f"Ray node {now[node_id]} ({node_id[:8]}) joined")
                self._nodes = now
        return notes

    def remote_versions(self) -> list[dict[str, str]]:
        """Versions on each alive node, from one task pinned to each (``--address`` only).

        Embedded, the workers run this machine's interpreter and packages: empty, as for the
        local backends.
        """
        if not self.remote or not self._connected:
            return []
        node_ids = sorted(self._alive_nodes())
        refs = [
            self._versions.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False)
            ).remote(CHECKED_PACKAGES)
            for node_id in node_ids
        ]
        found: list[dict[str, str]] = []
        for node_id, ref in zip(node_ids, refs, strict=True):
            try:
                found.append(ray.get(ref, timeout=VERSIONS_TIMEOUT_S))
            except Exception as exc:
                found.append({"node": node_id[:8], "error": one_line(exc)})
        return found

    def workers(self) -> int:
        """CPUs Ray reports across alive nodes.

        Before ``start``: what an embedded Ray will get, or 0 for an address (unknown until
        connected).
        """
        if self._connected:
            return int(RAY.cluster_resources().get("CPU", 0))
        if self.remote:
            return 0
        return self.options.workers or default_cores()

    def describe(self) -> dict[str, Any]:
        """Adds the address, node count, CPUs and Ray's version."""
        info = super().describe()
        info.update(
            address=self._connected_to or self.options.address or "embedded ray.init",
            nodes=len(self._alive_nodes()) if self._connected else None,
            cpus=info["workers"],
            ray_version=ray.__version__,
        )
        return info


def _first_failure(refs: list[Any], raised: RayError) -> tuple[int, BaseException]:
    """The lowest index among finished tasks that failed, and what it raised."""
    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
    ready_ids = {ref.hex() for ref in ready}
    for index, ref in enumerate(refs):
        if ref.hex() not in ready_ids:
            continue
        try:
            ray.get(ref, timeout=0)
        except RayError as exc:
            return index, original_exception(exc)
    return 0, original_exception(raised)  # pragma: no cover - the raiser is always ready


def _settle(refs: list[Any]) -> None:
    """Wait for the failed job's other tasks to end, so none runs into the next job.

    Not ``ray.cancel``: cancelling a task whose reply is arriving aborts the driver in Ray 2.60
    (see ``RayTaskFuture.cancel``).
    """
    with contextlib.suppress(Exception):
        ray.wait(refs, num_returns=len(refs), timeout=SETTLE_TIMEOUT_S)
