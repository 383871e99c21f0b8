"""What runs on the worker around each task: its own timing, and a cap on BLAS threads.

Kept free of the rest of dist-bench (stdlib only, threadpoolctl if present) because it is shipped by
value to remote workers that may not have dist-bench installed.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

#: What a timed task returns: its value, wall seconds in the task on the worker, CPU seconds the
#: worker's thread spent in it (near zero for a task that waits), and which worker ran it.
TimedResult = tuple[Any, float, float, str]

_blas_threads_set: int | None = None


def limit_blas_threads(threads: int) -> None:
    """Cap BLAS/OpenMP threads in this worker process, once.

    N workers x BLAS threads must fit the cores; left alone, each worker's BLAS would start one
    thread per core and oversubscribe them.
    """
    global _blas_threads_set
    if _blas_threads_set == threads:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a remote worker without threadpoolctl keeps its own
        _blas_threads_set = threads
        return
    threadpool_limits(limits=threads)
    _blas_threads_set = threads


def worker_id() -> str:
    """``host:pid:thread``: tells apart processes, machines and threads that ran tasks."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def timed_call(fn: Callable[..., Any], blas_threads: int, *args: Any) -> TimedResult:
    """Run ``fn(*args)`` and return its value with the seconds it took on this worker.

    The task's own arguments come last and unnested, so engines that resolve placed data in
    top-level arguments (Ray object refs, Dask futures) hand the task the real values.
    """
    limit_blas_threads(blas_threads)
    cpu_started = time.thread_time()
    started = time.perf_counter()
    value = fn(*args)
    elapsed = time.perf_counter() - started
    return value, elapsed, time.thread_time() - cpu_started, worker_id()


async def timed_call_async(fn: Callable[..., Any], blas_threads: int, *args: Any) -> TimedResult:
    """Coroutine version of ``timed_call`` for backends that run coroutines."""
    # CPU time of the loop's thread while this coroutine was suspended belongs to other tasks,
    # so a coroutine's CPU time is not measurable; NaN says so instead of guessing.
    limit_blas_threads(blas_threads)
    started = time.perf_counter()
    value = await fn(*args)
    return value, time.perf_counter() - started, math.nan, worker_id()
