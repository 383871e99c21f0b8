"""The Dask ``Backend``: jobs as one ``client.map`` on an embedded or addressed cluster.

Embedded, it starts a scheduler in the driver and one single-threaded worker process per core, so
it pays what the processes backend pays (process start-up, pickling) plus the scheduler's round
trips. With ``--address`` it runs on an existing cluster, possibly on other machines, which never
saw the user's workload file or even dist-bench: code they lack is shipped by value.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

import dask
import distributed

from dist_bench.backends.base import Backend, BackendOptions, TaskFuture, collect_in_order
from dist_bench.backends.dask import session as sessions
from dist_bench.backends.dask.address import normalize_address
from dist_bench.backends.dask.events import ClusterEvents
from dist_bench.backends.dask.shipping import BY_VALUE, CodeShipper, LoadModules
from dist_bench.backends.dask.versions import node_versions
from dist_bench.backends.engine_output import EngineOutput
from dist_bench.cores import default_cores
from dist_bench.errors import ClusterConnectionError

_CLIENT_LOG = logging.getLogger("distributed.client")

#: Seconds a job waits, once the cluster has no worker left, for one to join before it gives up.
#: A nanny restarts the worker it lost within a few seconds; a killed container or a lost node
#: does not come back by itself, and distributed would hold the job's tasks for ever. With the
#: scheduler's round trips this keeps "every worker killed" → one line under the 10 s goal
#: (benchmarks/cluster_faults.py).
NO_WORKER_GRACE_S = 5.0

#: How often a watchdog looks at how many workers are left while a job's results are gathered.
_WORKER_CHECK_S = 0.5


class DaskBackend(Backend):
    """Runs tasks on a Dask ``distributed`` cluster: embedded ``LocalCluster`` or ``--address``."""

    name = "dask"
    places_data = True
    #: Must match between driver and cluster: the engine, and what carries code and messages.
    engine_packages = ("dask", "distributed", "cloudpickle", "msgpack")

    def __init__(self, options: BackendOptions | None = None) -> None:
        super().__init__(options)
        # Validate before anything starts: a typo must cost nothing and exit 2.
        self.address = (
            normalize_address(self.options.address) if self.options.address is not None else None
        )
        self.remote = self.address is not None
        self._session: sessions.DaskSession | None = None
        self._shipper = CodeShipper(self.remote)
        self._events = ClusterEvents()
        # Embedded, distributed's in-process scheduler and nannies log their warnings (an event
        # loop slow on a busy machine) at every job; only errors were ever shown, and only they
        # become notes. A client at an address logs little, and its warnings matter.
        self._output = EngineOutput(
            "dask",
            loggers=("distributed",),
            packages=("distributed", "dask"),
            note_level=logging.WARNING if self.remote else logging.ERROR,
        )
        self._client_log_level: int | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, ship: Sequence[ModuleType] = ()) -> None:
        """Start the embedded cluster or connect to ``--address``; arrange for ``ship`` to run.

        Raises:
            ClusterConnectionError: the embedded cluster did not start, or no scheduler answered
                at ``--address``, or it has no workers.
        """
        if self._session is not None:
            return
        try:
            self._output.open()  # before connecting: the version mismatch warning comes then
            files = self._shipper.plan(ship)
            if self.address is None:
                self._session = sessions.start_embedded(self.options.workers or default_cores())
                if files:
                    # Registered plugins also run on workers that join later (a restarted one).
                    self.client.register_plugin(LoadModules(files), name="dist-bench-ship")
            else:
                timeout_s = self.options.connect_timeout_s or sessions.CONNECT_TIMEOUT_S
                self._session = sessions.connect(self.address, timeout_s)
                # A lost scheduler makes the client log its reconnect tracebacks from its own
                # thread, mid-job; _raise_if_scheduler_lost says it in one line instead.
                self._client_log_level = _CLIENT_LOG.level
                _CLIENT_LOG.setLevel(logging.CRITICAL)
            # Subscribed only now, so the workers joining at start-up are not reported as news.
            self.client.subscribe_topic("all", self._events.on_event)
        except BaseException:
            self.shutdown()
            raise
        super().start(ship)

    def shutdown(self) -> None:
        """Close the client, then the embedded cluster if we started it; never a remote one."""
        session, self._session = self._session, None
        if session is not None:
            sessions.close(session)
        if self._client_log_level is not None:
            _CLIENT_LOG.setLevel(self._client_log_level)
            self._client_log_level = None
        self._shipper.release()
        self._output.close()
        super().shutdown()

    # -- running tasks ------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The connected ``distributed.Client``."""
        if self._session is None or self._session.client is None:
            raise RuntimeError("dask backend used before start()")
        return self._session.client

    def submit(self, fn: Callable[..., Any], *args: Any) -> TaskFuture:
        """``client.submit`` with ``pure=False``: every call runs, none is deduplicated."""
        registry = BY_VALUE.names()
        shipped = [self._shipper.shippable(arg, registry) for arg in args]
        task = self._shipper.shippable(fn, registry)
        with _large_graphs_expected():
            future: TaskFuture = self.client.submit(task, *shipped, pure=False)
        return future

    def map(self, fn: Callable[..., Any], argument_tuples: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Send the whole job as one graph and fetch the results straight from the workers.

        ``client.map`` submits every task at once; ``gather(direct=True)`` reads each result from
        the worker holding it, not relayed by the scheduler.

        Raises:
            TaskError: a task raised; its index is the first failing one in task order.
        """
        if not argument_tuples:
            return []
        client = self.client
        registry = BY_VALUE.names()
        task = self._shipper.shippable(fn, registry)
        columns = [
            [self._shipper.shippable(value, registry) for value in column]
            for column in zip(*argument_tuples, strict=True)
        ]
        with _large_graphs_expected():
            if columns:
                futures = client.map(task, *columns, pure=False)
            else:  # tasks without arguments: client.map needs at least one column to map over
                futures = [client.submit(task, pure=False) for _ in argument_tuples]
        try:
            results = self._gather_while_workers_remain(futures)
        except ClusterConnectionError:
            raise
        except Exception as exc:
            self._raise_if_scheduler_lost(exc)
            # gather raises whichever failure it met first; waiting in order names the first
            # failing task, cancels the rest, and wraps the cause in TaskError with its index.
            return collect_in_order(futures)
        return results

    def _gather_while_workers_remain(self, futures: Sequence[Any]) -> list[Any]:
        """Gather the results, while a watchdog thread checks that the cluster keeps a worker.

        The watchdog asks the scheduler for its workers every ``_WORKER_CHECK_S``, off the job's
        path (waiting on the futures in slices instead re-awaited every one of them each time:
        a cost per task, measured by benchmarks/dispatch_overhead.py). Without a worker for
        ``NO_WORKER_GRACE_S`` it cancels the futures, which ends the gather.

        Raises:
            ClusterConnectionError: no worker for ``NO_WORKER_GRACE_S`` (the futures cancelled).
        """
        finished = threading.Event()
        gave_up: list[ClusterConnectionError] = []

        def watch() -> None:
            alone_since: float | None = None
            while not finished.wait(_WORKER_CHECK_S):
                try:
                    if self.client.nthreads():
                        alone_since = None
                        continue
                except Exception:
                    return  # no scheduler to ask: the gather raises, and map names why
                now = time.monotonic()
                alone_since = now if alone_since is None else alone_since
                if now - alone_since >= NO_WORKER_GRACE_S and not finished.is_set():
                    gave_up.append(
                        ClusterConnectionError(
                            f"every worker of the Dask cluster at "
                            f"{self.address or 'the embedded cluster'} left during the run and "
                            f"none joined within {NO_WORKER_GRACE_S:.0f} s; results measured "
                            "before it are kept"
                        )
                    )
                    with contextlib.suppress(Exception):
                        self.client.cancel(list(futures))
                    return

        watchdog = threading.Thread(target=watch, name="dist-bench-dask-watchdog", daemon=True)
        watchdog.start()
        try:
            results: list[Any] = self.client.gather(futures, direct=True)
            return results
        except BaseException:
            # A cancelled future's error is asyncio's CancelledError, a BaseException.
            if gave_up:
                raise gave_up[0] from None
            raise
        finally:
            finished.set()

    def _raise_if_scheduler_lost(self, exc: BaseException | None = None) -> None:
        """A client that lost its scheduler cancels every future: say so, not "a task failed".

        Raises:
            ClusterConnectionError: the client is no longer connected to the scheduler.
        """
        if self._session is None or self.client.status == "running":
            return
        detail = f" ({' '.join(str(exc).split()) or type(exc).__name__})" if exc else ""
        raise ClusterConnectionError(
            f"lost the Dask scheduler at {self.address or 'the embedded cluster'} during the "
            f"run{detail}; results measured before it are kept"
        )

    def place(self, value: Any) -> Any:
        """Scatter ``value`` to one worker and return its future; tasks given it get the value.

        Wrapped in a list so a list or dict is placed whole (``scatter`` would split it into one
        future per item). Not broadcast: Dask copies it to other workers when their tasks need it,
        and its memory manager would drop extra copies anyway. ``hash=False`` skips hashing a
        large input that only this run uses. A value holding the user's code (an instance of a
        class from their file) goes by value, as task arguments do.
        """
        shipped = self._shipper.shippable(value, BY_VALUE.names())
        [future] = self.client.scatter([shipped], hash=False, direct=True)
        return future

    # -- what the cluster reports -------------------------------------------------------------

    def drain_notes(self) -> list[str]:
        """Since the last call: workers lost, left or joined, and what distributed logged."""
        return [*self._events.drain(), *self._output.drain_notes()]

    def _nthreads(self) -> dict[str, int]:
        nthreads: dict[str, int] = self.client.nthreads()
        return nthreads

    def workers(self) -> int:
        """Threads the scheduler reports over all workers (before start: the planned count)."""
        if self._session is None:
            return 0 if self.remote else self.options.workers or default_cores()
        self._raise_if_scheduler_lost()
        return sum(self._nthreads().values())

    def remote_versions(self) -> list[dict[str, str]]:
        """Versions on the scheduler and each worker of a cluster at ``--address``.

        Empty for the embedded cluster: its processes run this machine's interpreter.
        """
        if not self.remote or self._session is None:
            return []
        versions: dict[str, Any] = self.client.get_versions(check=False)
        nodes = [("scheduler " + (self.address or ""), versions.get("scheduler") or {})]
        workers = versions.get("workers") or {}
        nodes += [(f"worker {address}", info) for address, info in sorted(workers.items())]
        return [{"node": node, **node_versions(info)} for node, info in nodes]

    def describe(self) -> dict[str, Any]:
        """Adds where the cluster is, its worker processes and threads per worker."""
        description = {
            **super().describe(),
            "address": self.address or "embedded LocalCluster",
            "distributed": str(getattr(distributed, "__version__", "")),
        }
        if self._session is not None:
            nthreads = self._nthreads()
            threads = sorted(set(nthreads.values()))
            description["worker_processes"] = len(nthreads)
            description["threads_per_worker"] = threads[0] if len(threads) == 1 else threads
        elif not self.remote:
            description["worker_processes"] = self.options.workers or default_cores()
            description["threads_per_worker"] = 1
        if not self.remote:
            # What the nannies set in each worker's environment before it starts; it changes how
            # NumPy allocates (MALLOC_TRIM_THRESHOLD_) and threads (OMP_NUM_THREADS).
            description["worker_environment"] = {
                key: str(value)
                for key, value in dask.config.get("distributed.nanny.pre-spawn-environ").items()
                if value is not None
            }
        return description


@contextlib.contextmanager
def _large_graphs_expected() -> Iterator[None]:
    """Silence ``distributed``'s "Sending large graph" advice while a job is submitted.

    Sending each task's inputs with every job is a cost this benchmark measures on purpose
    (``--no-place``, data-heavy workloads); the warning would interrupt the tables to say so.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        yield
