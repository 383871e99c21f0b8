"""The threads backend: a ``ThreadPoolExecutor`` in the driver's process.

Concurrency, not parallelism, for pure-Python code: threads take turns holding the GIL, so
CPU-bound tasks gain nothing, while tasks that wait (sockets, sleeps) or release the GIL (NumPy,
BLAS) overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

from dist_bench.backends.base import Backend, TaskFuture, collect_in_order, default_cores


def default_thread_count() -> int:
    """The stdlib's own default, ``min(32, cores + 4)``: threads are cheap, waiting is common."""
    return min(32, default_cores() + 4)


class ThreadsBackend(Backend):
    """Runs tasks on a pool of threads sharing the driver's memory."""

    name = "threads"
    shares_memory = True

    _pool: ThreadPoolExecutor | None = None

    def start(self, ship: Sequence[ModuleType] = ()) -> None:
        """Create the pool; its threads start as work arrives."""
        self._pool = ThreadPoolExecutor(self.workers(), thread_name_prefix="dist-bench")
        super().start(ship)

    def shutdown(self) -> None:
        """Join the threads; tasks not yet started are cancelled."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        super().shutdown()

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            raise RuntimeError("threads backend used before start()")
        return self._pool

    def submit(self, fn: Callable[..., Any], *args: Any) -> TaskFuture:
        """Queue ``fn(*args)`` on the pool."""
        return self._executor().submit(fn, *args)

    def map(
        self, fn: Callable[..., Any], argument_tuples: Sequence[tuple[Any, ...]], chunksize: int = 1
    ) -> list[Any]:
        """Submit everything, then wait in order (chunking buys nothing without pickling)."""
        pool = self._executor()
        return collect_in_order([pool.submit(fn, *args) for args in argument_tuples])

    def workers(self) -> int:
        """Threads in the pool: ``--workers`` or the stdlib default."""
        return self.options.workers or default_thread_count()
