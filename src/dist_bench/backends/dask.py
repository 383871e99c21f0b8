"""The Dask backend: a ``distributed`` cluster, embedded (``LocalCluster``) or reached by address.

Embedded, it starts a scheduler in the driver and one single-threaded worker process per core, so
it pays what the processes backend pays (process start-up, pickling) plus the scheduler's round
trips. With ``--address`` it runs on an existing cluster, possibly on other machines, which never
saw the user's workload file or even dist-bench: code they lack is shipped by value (cloudpickle).

Importing this module imports ``distributed``; the backend registry imports it only when the Dask
backend is used, so ``import dist_bench`` stays light.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import logging
import os
import pickle
import sys
import warnings
from collections import deque
from collections.abc import Callable, Collection, Iterator, Sequence
from types import ModuleType
from typing import Any

import cloudpickle
import dask
import distributed
from distributed.diagnostics.plugin import WorkerPlugin

from dist_bench.backends.base import (
    Backend,
    BackendOptions,
    TaskFuture,
    collect_in_order,
    default_cores,
)
from dist_bench.errors import ClusterConnectionError, UsageError
from dist_bench.units import parse_port
from dist_bench.workload import import_file_as

#: Address schemes the Dask client accepts here; ``HOST:PORT`` alone means ``tcp://``.
ACCEPTED_SCHEMES = ("tcp", "tls")

#: Seconds to wait for a scheduler to answer, and then for it to have a worker. Together they stay
#: under the 10 s a user waits before being told what is wrong (each wait fails on its own).
CONNECT_TIMEOUT_S = 8.0

#: Seconds to let the embedded cluster close cleanly before its worker processes are killed.
CLOSE_TIMEOUT_S = 20.0

#: Module whose ``timed_call`` wraps every task; remote workers may not have dist-bench installed.
WORKER_MODULE = "dist_bench.worker"

# distributed ships type hints, but much of its API is unannotated; holding the classes (and the
# objects they make) as Any keeps mypy --strict meaningful for our code without an ignore per call.
_Client: Any = distributed.Client
_LocalCluster: Any = distributed.LocalCluster

#: Objects searched per task argument for code to ship by value; a bigger argument goes whole.
SEARCH_LIMIT = 10_000

#: Types that never hold code: skipped without counting against ``SEARCH_LIMIT``.
_PLAIN_TYPES = frozenset({str, bytes, bytearray, int, float, complex, bool, type(None), range})

#: Version keys reported per node by ``remote_versions``.
VERSION_KEYS = ("python", "dask", "distributed", "numpy", "cloudpickle", "msgpack")


def normalize_address(address: str) -> str:
    """Return ``address`` as ``scheme://host:port``, or raise ``UsageError`` saying what is wrong.

    A bare ``HOST:PORT`` means ``tcp://HOST:PORT``, as it does for ``dask worker``.
    """
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme not in ACCEPTED_SCHEMES:
        accepted = ", ".join(f"{s}://HOST:PORT" for s in ACCEPTED_SCHEMES)
        raise UsageError(
            f"--address {address!r} is not a Dask scheduler address; the dask backend accepts "
            f"{accepted} (e.g. tcp://127.0.0.1:8786)"
        )
    host, colon, port = rest.rpartition(":")
    if not colon or not host or not _is_port(port):
        raise UsageError(
            f"--address {address!r} needs a host and a port, e.g. {scheme}://127.0.0.1:8786"
        )
    return f"{scheme}://{rest}"


def _is_port(text: str) -> bool:
    """Whether ``text`` is a port number (``units.parse_port``)."""
    try:
        parse_port(text)
    except ValueError:
        return False
    return True


class _ShipByValue:
    """Wraps a function (or data holding one) so ``distributed`` sends its code, not its name.

    ``distributed`` pickles a whole task graph with plain ``pickle`` first and consults
    cloudpickle's pickle-by-value registry only for the top-level object (the graph, never the
    functions inside it); plain pickle stores a function as ``module.name``, which a scheduler or
    worker without the user's file cannot import. ``__reduce__`` turns the wrapper into
    ``pickle.loads(<cloudpickle bytes>)``: the receiving side gets the original function back,
    rebuilt from its code, and needs neither dist-bench nor this class.
    """

    def __init__(self, target: Any) -> None:
        self.target = target
        # Dask names task keys after the function; keep the task's own name in the dashboard.
        self.__name__ = getattr(target, "__name__", type(target).__name__)
        self._payload: bytes | None = None

    def __call__(self, *args: Any) -> Any:
        return self.target(*args)

    def __reduce__(self) -> tuple[Callable[[bytes], Any], tuple[bytes]]:
        if self._payload is None:
            # Pickled once per wrapper: a job's tasks all share the same wrapper object.
            self._payload = cloudpickle.dumps(self.target)
        return pickle.loads, (self._payload,)


class _LoadModules(WorkerPlugin):
    """Worker plugin: import the user's workload files under the driver's module names.

    Tasks refer to their functions by module name; an embedded worker process never imported the
    user's file (it was loaded by path, under a made-up name), so it loads it once, at start-up.
    """

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def setup(self, worker: Any) -> None:
        """Load each file not yet imported in this worker process."""
        for module_name, path in self.files.items():
            import_file_as(module_name, path)


def _findable_by_name(module_name: str) -> bool:
    """Whether a fresh interpreter with this ``sys.path`` could import the module's package.

    A user's workload file is loaded under a made-up name no finder knows, so it is not; built-in
    workloads and installed packages are. Local worker processes inherit ``sys.path``.
    """
    top = module_name.partition(".")[0]
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            if find_spec(top, None) is not None:
                return True
        except (ImportError, ValueError, AttributeError):
            continue
    return False


def _in_registry(module_name: str, registry: Collection[str]) -> bool:
    """Whether ``module_name`` or a package it is in is among the by-value ``registry`` names."""
    parts = module_name.split(".")
    return any(".".join(parts[:i]) in registry for i in range(1, len(parts) + 1))


def _by_value_registry() -> frozenset[str]:
    """Names cloudpickle pickles by value right now (a snapshot: one per job, not per object)."""
    return frozenset(cloudpickle.list_registry_pickle_by_value())


_CLIENT_LOG = logging.getLogger("distributed.client")


@contextlib.contextmanager
def _quiet_distributed(level: int = logging.CRITICAL) -> Iterator[None]:
    """Silence ``distributed``'s loggers in the driver for a moment (connect, close).

    A failed connection or a cluster being torn down logs tracebacks that repeat what our one-line
    error already says; they would bury it.
    """
    logger = logging.getLogger("distributed")
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


@contextlib.contextmanager
def _large_graphs_expected() -> Iterator[None]:
    """Silence ``distributed``'s "Sending large graph" advice while a job is submitted.

    Sending each task's inputs with every job is a cost this benchmark measures on purpose
    (``--no-place``, data-heavy workloads); the warning would interrupt the tables to say so.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        yield


def node_versions(info: Any) -> dict[str, str]:
    """The checked versions in one entry of ``Client.get_versions`` (scheduler or a worker)."""
    packages = info.get("packages", {}) if isinstance(info, dict) else {}
    return {key: _version(packages.get(key)) for key in VERSION_KEYS}


def _version(value: Any) -> str:
    """A version as text: ``""`` when unknown; Python's ``3.11.7.final.0`` as ``3.11.7``."""
    if value is None:
        return ""
    text = str(value)
    return text.removesuffix(".final.0")


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
        self._cluster: Any = None  # distributed.LocalCluster once started here
        self._client: Any = None  # distributed.Client once started
        self._registered: list[ModuleType] = []
        self._by_value: set[str] = set()
        self._wrappers: dict[Any, _ShipByValue] = {}
        self._driver_environ: dict[str, str] | None = None
        self._client_log_level: int | None = None
        # Filled from the client's event-loop thread, drained from the caller's: deque is safe.
        self._notes: deque[str] = deque()

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, ship: Sequence[ModuleType] = ()) -> None:
        """Start the embedded cluster or connect to ``--address``; arrange for ``ship`` to run.

        Raises:
            ClusterConnectionError: the embedded cluster did not start, or no scheduler answered
                at ``--address``, or it has no workers.
        """
        if self._client is not None:
            return
        files = self._plan_shipping(ship)
        try:
            if self.address is None:
                try:
                    self._start_embedded()
                except Exception as exc:  # a port, a worker process that could not start...
                    detail = " ".join(str(exc).split()) or type(exc).__name__
                    raise ClusterConnectionError(
                        f"the embedded Dask cluster did not start: {detail}"
                    ) from exc
                if files:
                    # Registered plugins also run on workers that join later (a restarted one).
                    self.client.register_plugin(_LoadModules(files), name="dist-bench-ship")
            else:
                self._connect(self.address)
                # A lost scheduler makes the client log its reconnect tracebacks from its own
                # thread, mid-job; _raise_if_scheduler_lost says it in one line instead.
                self._client_log_level = _CLIENT_LOG.level
                _CLIENT_LOG.setLevel(logging.CRITICAL)
            # Subscribed only now, so the workers joining at start-up are not reported as news.
            self.client.subscribe_topic("all", self._on_cluster_event)
        except BaseException:
            self.shutdown()
            raise
        super().start(ship)

    def _start_embedded(self) -> None:
        n_workers = self.options.workers or default_cores()
        # Dask's nannies run in this process and set their pre-spawn environment
        # (MALLOC_TRIM_THRESHOLD_, OMP_NUM_THREADS...) in os.environ for good; every backend
        # started after this one would inherit it. Saved here, put back at shutdown.
        self._driver_environ = dict(os.environ)
        # Loopback only, no dashboard, one thread per worker process so one task runs per process
        # as in the processes backend. Nanny-managed processes restart a worker that dies.
        # Warnings about workers being killed at close are noise for a benchmark; drain_notes
        # reports what matters.
        self._cluster = _LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # Without a dashboard the scheduler still serves /health and /metrics, by default on
            # port 8787 (and on another port with a warning when a cluster already holds it).
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        )
        self._client = _Client(self._cluster, direct_to_workers=True, set_as_default=False)
        self._client.wait_for_workers(n_workers, timeout=CLOSE_TIMEOUT_S)

    def _connect(self, address: str) -> None:
        timeout = int(CONNECT_TIMEOUT_S)
        try:
            with _quiet_distributed():
                self._client = _Client(
                    address,
                    timeout=CONNECT_TIMEOUT_S,
                    direct_to_workers=True,
                    set_as_default=False,
                )
        except OSError as exc:  # includes TimeoutError: nothing answered, or refused us
            raise ClusterConnectionError(
                f"no Dask scheduler answered at {address} within {timeout} s; start one "
                f"(`dask scheduler` plus `dask worker {address}`) "
                "or fix --address"
            ) from exc
        except Exception as exc:  # TLS without certificates, a handshake from another version
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise ClusterConnectionError(
                f"could not connect to the Dask scheduler at {address}: {detail}"
            ) from exc
        try:
            self._client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except Exception as exc:  # distributed's TimeoutError
            raise ClusterConnectionError(
                f"the Dask scheduler at {address} has no workers (waited {timeout} s); "
                f"start some with `dask worker {address}`"
            ) from exc

    def _plan_shipping(self, ship: Sequence[ModuleType]) -> dict[str, str]:
        """Decide how each module in ``ship`` reaches the workers; return files to load there.

        A remote cluster may have none of our code, not even dist-bench: everything goes by value
        (cloudpickle's registry). Embedded workers share this machine's environment, so only
        modules no finder knows (a user's file) need help, and they get it by loading the file
        under the driver's module name in each worker (``_LoadModules``), as the processes backend
        does: tasks then pickle by name, as cheaply as any installed code.
        """
        files: dict[str, str] = {}
        for module in ship:
            if self.remote:
                self._register(module.__name__)
            elif not _findable_by_name(module.__name__):
                if module.__file__:
                    files[module.__name__] = module.__file__
                else:  # built in memory, no file to load: by value is the only way
                    self._register(module.__name__)
        if self.remote:
            self._register(WORKER_MODULE)
        return files

    def _register(self, module_name: str) -> None:
        """Have cloudpickle (and so ``_ShipByValue``) send this module's code by value."""
        self._by_value.add(module_name)
        if _in_registry(module_name, _by_value_registry()):
            return
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        cloudpickle.register_pickle_by_value(module)
        # Remembered so shutdown undoes only what we did: the registry is process-wide and other
        # backends (Ray) run in this process after us.
        self._registered.append(module)

    def shutdown(self) -> None:
        """Close the client, then the embedded cluster if we started it; never a remote one.

        The embedded cluster's nannies stop their worker processes and wait for them, so no
        process of ours outlives this call.
        """
        client, self._client = self._client, None
        cluster, self._cluster = self._cluster, None
        with _quiet_distributed():
            if client is not None:
                with contextlib.suppress(Exception):
                    # First, or the scheduler logs a CRITICAL trying to tell the closed client
                    # that it left (the ``all`` topic reports clients leaving too).
                    client.unsubscribe_topic("all")
                with contextlib.suppress(Exception):
                    client.close(timeout=CLOSE_TIMEOUT_S)
            if cluster is not None:
                cluster.close(timeout=CLOSE_TIMEOUT_S)
        if self._client_log_level is not None:
            _CLIENT_LOG.setLevel(self._client_log_level)
            self._client_log_level = None
        if self._driver_environ is not None:
            _restore_environ(self._driver_environ)
            self._driver_environ = None
        for module in self._registered:
            with contextlib.suppress(ValueError):
                cloudpickle.unregister_pickle_by_value(module)
        self._registered.clear()
        self._by_value.clear()
        self._wrappers.clear()
        super().shutdown()

    # -- running tasks ------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The connected ``distributed.Client``."""
        if self._client is None:
            raise RuntimeError("dask backend used before start()")
        return self._client

    def _shippable(self, value: Any, registry: frozenset[str]) -> Any:
        """``value``, or a by-value wrapper when it holds code workers cannot import.

        Only top-level arguments are wrapped: that is where tasks get their function and where
        placed data (Dask futures) must stay for Dask to resolve it. A function is wrapped once
        and reused; data is wrapped per call.
        """
        if isinstance(value, _ShipByValue) or not (self._by_value or self.remote):
            return value  # nothing is shipped by value: plain pickle all the way
        if not self._holds_code_to_ship(value, registry):
            return value
        if not callable(value):
            return _ShipByValue(value)
        try:
            wrapper = self._wrappers.get(value)
        except TypeError:  # an unhashable callable object: wrap it each time
            return _ShipByValue(value)
        if wrapper is None:
            wrapper = self._wrappers[value] = _ShipByValue(value)
        return wrapper

    def _holds_code_to_ship(self, value: Any, registry: frozenset[str]) -> bool:
        """Whether ``value`` is, or contains, a function, class or instance of a by-value module.

        Plain pickle would send those by module name, and a worker that cannot import the name
        does not fail the task: it loses its connection to the scheduler and the job hangs
        (dask/distributed#1341). So containers are searched too, up to ``SEARCH_LIMIT`` objects;
        a bigger one is shipped by value whole rather than searched further.
        """
        stack = [value]
        seen = 0
        while stack:
            item = stack.pop()
            kind = type(item)
            if kind in _PLAIN_TYPES:
                continue
            seen += 1
            if seen > SEARCH_LIMIT:
                return True
            if kind in (tuple, list, set, frozenset):
                stack.extend(item)
            elif kind is dict:
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, functools.partial):
                stack += [item.func, *item.args, *item.keywords.values()]
            else:
                module_name = getattr(item, "__module__", None)
                if isinstance(module_name, str) and self._ships_by_value(module_name, registry):
                    return True
        return False

    def _ships_by_value(self, module_name: str, registry: frozenset[str]) -> bool:
        """Whether code from ``module_name`` goes by value (registering dist-bench's, if remote)."""
        if _in_registry(module_name, registry):
            return True
        if self.remote and module_name.partition(".")[0] == "dist_bench":
            # A built-in workload the caller did not list in ``ship``: a remote cluster may not
            # have dist-bench, so it goes by value too.
            self._register(module_name)
            return True
        return False

    def submit(self, fn: Callable[..., Any], *args: Any) -> TaskFuture:
        """``client.submit`` with ``pure=False``: every call runs, none is deduplicated."""
        registry = _by_value_registry()
        shipped = [self._shippable(arg, registry) for arg in args]
        task = self._shippable(fn, registry)
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
        registry = _by_value_registry()
        task = self._shippable(fn, registry)
        columns = [
            [self._shippable(value, registry) for value in column]
            for column in zip(*argument_tuples, strict=True)
        ]
        with _large_graphs_expected():
            if columns:
                futures = client.map(task, *columns, pure=False)
            else:  # tasks without arguments: client.map needs at least one column to map over
                futures = [client.submit(task, pure=False) for _ in argument_tuples]
        try:
            results: list[Any] = client.gather(futures, direct=True)
        except Exception as exc:
            self._raise_if_scheduler_lost(exc)
            # gather raises whichever failure it met first; waiting in order names the first
            # failing task, cancels the rest, and wraps the cause in TaskError with its index.
            return collect_in_order(futures)
        return results

    def _raise_if_scheduler_lost(self, exc: BaseException | None = None) -> None:
        """A client that lost its scheduler cancels every future: say so, not "a task failed".

        Raises:
            ClusterConnectionError: the client is no longer connected to the scheduler.
        """
        if self._client is None or self._client.status == "running":
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
        shipped = self._shippable(value, _by_value_registry())
        [future] = self.client.scatter([shipped], hash=False, direct=True)
        return future

    # -- what the cluster reports -------------------------------------------------------------

    def _on_cluster_event(self, event: tuple[float, Any]) -> None:
        """Scheduler ``all`` topic handler (runs on the client's event loop): note joins/losses."""
        _, message = event
        if not isinstance(message, dict):
            return
        action = message.get("action")
        worker = message.get("worker", "?")
        if action == "remove-worker":
            if message.get("expected"):
                self._notes.append(f"worker {worker} left the cluster (retired or closed)")
                return
            # "processing" counts every task the scheduler had sent to it, queued or running.
            unfinished = _count(message.get("processing-tasks"))
            note = (
                f"worker {worker} lost; Dask re-ran its {unfinished} unfinished task(s) elsewhere"
            )
            recomputed = _count(message.get("lost-computed-tasks"))
            if recomputed:
                note += f" and recomputed {recomputed} result(s) held only there"
            lost_data = _count(message.get("lost-scattered-tasks"))
            if lost_data:
                note += f"; {lost_data} placed input(s) held only there are gone"
            self._notes.append(note)
        elif action == "add-worker":
            self._notes.append(f"worker {worker} joined the cluster")

    def drain_notes(self) -> list[str]:
        """Workers lost, left or joined since the last call, as the scheduler reported them."""
        notes: list[str] = []
        while self._notes:
            notes.append(self._notes.popleft())
        return notes

    def _nthreads(self) -> dict[str, int]:
        nthreads: dict[str, int] = self.client.nthreads()
        return nthreads

    def workers(self) -> int:
        """Threads the scheduler reports over all workers (before start: the planned count)."""
        if self._client is None:
            return 0 if self.remote else self.options.workers or default_cores()
        self._raise_if_scheduler_lost()
        return sum(self._nthreads().values())

    def remote_versions(self) -> list[dict[str, str]]:
        """Versions on the scheduler and each worker of a cluster at ``--address``.

        Empty for the embedded cluster: its processes run this machine's interpreter.
        """
        if not self.remote or self._client is None:
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
        if self._client is not None:
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


def _restore_environ(saved: dict[str, str]) -> None:
    """Make ``os.environ`` equal to ``saved`` again (only the keys that differ are touched)."""
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    for key, value in saved.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def _count(value: Any) -> int:
    """Size of a key collection in a scheduler event (msgpack may turn sets into lists)."""
    return len(value) if isinstance(value, Collection) and not isinstance(value, str) else 0
