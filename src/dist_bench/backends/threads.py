"""The threads backend: a ``ThreadPoolExecutor`` in the driver's process.

Concurrency, not parallelism, for pure-Python code: threads take turns holding the GIL, so
CPU-bound tasks gain nothing, while tasks that wait (sockets, sleeps) or release the GIL (NumPy,
BLAS) overlap. On a free-threaded build (``3.14t``) there is no GIL and they run side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

from dist_bench.backends.base import ExecutorBackend
from dist_bench.cores import default_cores
from dist_bench.runtime import gil_enabled


def default_thread_count() -> int:
    """The stdlib's own default, ``min(32, cores + 4)``: threads are cheap, waiting is common."""
    return min(32, default_cores() + 4)


class ThreadsBackend(ExecutorBackend):
    """Runs tasks on a pool of threads sharing the driver's memory.

    ``map`` is the contract's default (submit everything, wait in order).
    """

    name = "threads"
    shares_memory = True

    def start(self, ship: Sequence[ModuleType] = ()) -> None:
        """Create the pool; its threads start as work arrives."""
        self._pool = ThreadPoolExecutor(self.workers(), thread_name_prefix="dist-bench")
        super().start(ship)

    def workers(self) -> int:
        """Threads in the pool: ``--workers`` or the stdlib default."""
        return self.options.workers or default_thread_count()

    def describe(self) -> dict[str, Any]:
        """Adds whether the GIL is on: off, pure-Python threads run side by side."""
        return {**super().describe(), "gil_enabled": gil_enabled()}
