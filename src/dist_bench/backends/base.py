"""The Backend contract every execution engine implements.

Shaped like ``concurrent.futures.Executor`` because every Python programmer knows that shape and
both engines speak it: ``submit`` is the one primitive, ``map`` is built on it (backends override
it with their native batch call), and the context manager starts and shuts down. Capabilities are
class flags, not ``isinstance`` checks in callers.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any, ClassVar, Protocol

from dist_bench.defaults import BLAS_THREADS

#: The backend every speedup divides by and every answer is checked against: always measured.
BASELINE = "serial"


class TaskFuture(Protocol):
    """What ``submit`` returns: anything with ``result(timeout)`` (stdlib, Dask, Ray wrappers)."""

    def result(self, timeout: float | None = None) -> Any:
        """Block until the task is done and return its value (or raise its exception)."""


@dataclass(frozen=True)
class BackendOptions:
    """Settings a user can give any backend; each backend reads the ones that apply to it.

    Attributes:
        workers: Parallel slots to ask for; ``None`` means the backend's own default.
        start_method: ``fork``, ``forkserver`` or ``spawn`` for the processes backend.
        address: Address of an existing cluster (Dask, Ray); ``None`` starts an embedded one.
        blas_threads: BLAS/OpenMP threads per worker, so workers x threads <= cores.
        connect_timeout_s: Seconds the cluster at ``address`` has to answer and show a worker
            (Dask); ``None`` means the backend's own short default, which makes a wrong
            ``--address`` fail fast. A caller that has just brought the cluster up gives more.
    """

    workers: int | None = None
    start_method: str | None = None
    address: str | None = None
    blas_threads: int = BLAS_THREADS
    connect_timeout_s: float | None = None


class Backend(ABC):
    """One way of running tasks: serial, threads, asyncio, processes, a Dask or a Ray cluster.

    Subclasses set the class flags, implement ``submit``, and usually override ``map`` with the
    engine's own batch call. ``start``/``shutdown`` are separate from the work so start-up can be
    timed apart from it.
    """

    #: Name on the command line.
    name: ClassVar[str]
    #: Tasks run in the driver's process and share its memory (no pickling of arguments).
    shares_memory: ClassVar[bool] = False
    #: Tasks can be coroutines run concurrently on one event loop.
    runs_coroutines: ClassVar[bool] = False
    #: Tasks may run on other machines: code and data must be shipped.
    remote: bool = False
    #: ``place`` really puts data on the workers (Dask scatter, Ray put) instead of passing it.
    places_data: ClassVar[bool] = False
    #: Packages that must match between the client and the cluster's nodes.
    engine_packages: ClassVar[tuple[str, ...]] = ()
    #: Tasks run in the driver's process but in interpreters of their own: nothing is shared.
    own_interpreters: ClassVar[bool] = False
    #: Tasks can import NumPy (a subinterpreter cannot: NumPy does not support them).
    runs_numpy: ClassVar[bool] = True

    def __init__(self, options: BackendOptions | None = None) -> None:
        self.options = options or BackendOptions()
        self._started = False

    def start(self, ship: Sequence[ModuleType] = ()) -> None:
        """Bring the workers up; ``ship`` lists modules the workers must be able to run.

        Built-in workloads are importable wherever dist-bench is installed; a user's file is not,
        so backends whose workers are other processes make sure it reaches them.
        """
        self._started = True

    def shutdown(self) -> None:
        """Stop every worker this backend started; never touches what it did not start."""
        self._started = False

    @abstractmethod
    def submit(self, fn: Callable[..., Any], *args: Any) -> TaskFuture:
        """Schedule ``fn(*args)`` and return a future for its result."""

    def map(self, fn: Callable[..., Any], argument_tuples: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Run ``fn(*args)`` for every tuple, one dispatch each, and return the results in order.

        The first exception raised by a task propagates, wrapped so the caller knows its index.
        Grouping tasks into fewer dispatches is done once for every backend, in ``chunking``.
        """
        futures = [self.submit(fn, *args) for args in argument_tuples]
        return collect_in_order(futures)

    def place(self, value: Any) -> Any:
        """Put a large task input on the workers once and return what tasks receive instead.

        Backends that share memory or cannot place data return ``value`` itself; Dask scatters it
        and Ray puts it in the object store, so repeated jobs stop re-sending the same bytes.
        """
        return value

    def drain_notes(self) -> list[str]:
        """What the engine reported since the last call (a worker lost, a task retried)."""
        return []

    def clock(self) -> float:
        """Seconds on the clock jobs are timed by: real time (a scripted backend keeps its own)."""
        return time.perf_counter()

    def remote_versions(self) -> list[dict[str, str]]:
        """Package versions on each remote node (``{"node": ..., "python": ..., ...}``).

        Empty for backends that run on this machine's interpreter.
        """
        return []

    @abstractmethod
    def workers(self) -> int:
        """How many tasks can really run at the same time (Dask: threads the scheduler reports)."""

    def describe(self) -> dict[str, Any]:
        """Topology and settings, stored with every result."""
        return {
            "backend": self.name,
            "workers": self.workers(),
            "shares_memory": self.shares_memory,
            "remote": self.remote,
        }

    def __enter__(self) -> Backend:
        if not self._started:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()


class ExecutorBackend(Backend):
    """A backend over a ``concurrent.futures`` executor; subclasses create it in ``start``."""

    _pool: Executor | None = None

    def shutdown(self) -> None:
        """Shut the executor down, cancelling tasks not started, and wait for its workers."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        super().shutdown()

    def _executor(self) -> Executor:
        if self._pool is None:
            raise RuntimeError(f"{self.name} backend used before start()")
        return self._pool

    def submit(self, fn: Callable[..., Any], *args: Any) -> TaskFuture:
        """Queue ``fn(*args)`` on the executor."""
        return self._executor().submit(fn, *args)


class TaskError(Exception):
    """A task raised; carries the index of the task in its job and the original exception."""

    def __init__(self, index: int, cause: BaseException) -> None:
        super().__init__(f"task {index} raised {type(cause).__name__}: {cause}")
        self.index = index
        self.cause = cause


def collect_in_order(futures: Sequence[TaskFuture]) -> list[Any]:
    """Wait for each future in order; a task's exception becomes a ``TaskError`` with its index."""
    results: list[Any] = []
    for index, future in enumerate(futures):
        try:
            results.append(future.result())
        except Exception as exc:
            cancel_all(futures)
            raise TaskError(index, exc) from exc
    return results


def cancel_all(futures: Sequence[TaskFuture]) -> None:
    """Cancel what has not started yet, so a failed job does not keep the workers busy."""
    for future in futures:
        cancel = getattr(future, "cancel", None)
        if cancel is not None:
            cancel()


def completed_future(fn: Callable[..., Any], *args: Any) -> Future[Any]:
    """Run ``fn(*args)`` now and return a finished future holding its result or exception."""
    future: Future[Any] = Future()
    try:
        future.set_result(fn(*args))
    except Exception as exc:
        future.set_exception(exc)
    return future
