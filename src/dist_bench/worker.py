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
from collections.abc import Callable, Iterator
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


#: ``worker_id`` per thread of this process, so a task does not pay for a ``gethostname`` system
#: call (about 0.8 µs, a tenth of a tiny task); emptied in a forked child, whose pid differs.
_worker_ids: dict[int, str] = {}
os.register_at_fork(after_in_child=_worker_ids.clear)


def worker_id() -> str:
    """``host:pid:thread``: tells apart processes, machines and threads that ran tasks."""
    thread = threading.get_ident()
    known = _worker_ids.get(thread)
    if known is None:
        known = _worker_ids[thread] = f"{socket.gethostname()}:{os.getpid()}:{thread}"
    return known


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


#: What a chunk of tasks returns: each task's value in order up to the first that raised, the
#: offset of that task within the chunk (``None`` when none did), and what it raised. Returned, not
#: raised, so the driver learns which task failed whatever the engine does to exceptions.
ChunkResult = tuple[list[Any], int | None, BaseException | None]


class PlacedSlot:
    """Stands in a chunk's packed arguments for a placed input, which travels top-level instead.

    Engines resolve placed data (Ray object refs, Dask futures) only in a task's top-level
    arguments, so a chunk sends each placed input once, top-level, and this marker where it goes.
    """

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __reduce__(self) -> tuple[type[PlacedSlot], tuple[int]]:
        return PlacedSlot, (self.index,)


def chunk_arguments(
    lengths: tuple[int, ...], packed: tuple[Any, ...], placed: tuple[Any, ...]
) -> Iterator[tuple[Any, ...]]:
    """Each task's arguments: ``lengths[i]`` of ``packed`` at a time, placed inputs put back."""
    start = 0
    for length in lengths:
        arguments = packed[start : start + length]
        if placed:
            arguments = tuple(placed[a.index] if type(a) is PlacedSlot else a for a in arguments)
        yield arguments
        start += length


def run_chunk(
    fn: Callable[..., Any], lengths: tuple[int, ...], packed: tuple[Any, ...], *placed: Any
) -> ChunkResult:
    """Run several tasks one after another in one dispatch: ``fn(*args)`` for each task.

    ``lengths`` gives each task's argument count and ``packed`` all their arguments in a row (one
    argument to the engine: Ray costs microseconds per top-level argument). Placed inputs follow
    top-level, each once, shown in ``packed`` by a ``PlacedSlot``; any after those are padding
    (``Executor.map`` and ``client.map`` take argument columns, so every dispatch of a job gets
    as many arguments).
    """
    values: list[Any] = []
    for offset, arguments in enumerate(chunk_arguments(lengths, packed, placed)):
        try:
            values.append(fn(*arguments))
        except Exception as exc:
            return values, offset, exc
    return values, None, None


async def run_chunk_async(
    fn: Callable[..., Any], lengths: tuple[int, ...], packed: tuple[Any, ...], *placed: Any
) -> ChunkResult:
    """Coroutine version of ``run_chunk``: the chunk's coroutines are awaited one after another.

    A chunk takes one worker slot, as one task does, and a slot runs one task at a time whether or
    not it is chunked, so this overlaps as many waits as the unchunked tasks would.
    """
    values: list[Any] = []
    for offset, arguments in enumerate(chunk_arguments(lengths, packed, placed)):
        try:
            values.append(await fn(*arguments))
        except Exception as exc:
            return values, offset, exc
    return values, None, None


def noop() -> None:
    """A task that does nothing: what measuring a backend's dispatch cost sends."""


async def timed_call_async(fn: Callable[..., Any], blas_threads: int, *args: Any) -> TimedResult:
    """Coroutine version of ``timed_call`` for backends that run coroutines."""
    # CPU time of the loop's thread while this coroutine was suspended belongs to other tasks,
    # so a coroutine's CPU time is not measurable; NaN says so instead of guessing.
    limit_blas_threads(blas_threads)
    started = time.perf_counter()
    value = await fn(*args)
    return value, time.perf_counter() - started, math.nan, worker_id()
