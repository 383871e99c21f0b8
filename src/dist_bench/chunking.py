"""Task granularity: group tiny tasks so that each dispatch carries enough work.

Every backend pays something per dispatch: a future and a lock (threads), a pickle round trip
through a pipe (processes), a scheduler message (Dask), an object-store entry (Ray). For tasks of
a few microseconds that cost is most of the job, and the fix is joblib's: send tasks in batches.
dist-bench sizes the batches from a measurement instead of a guess. Once per backend start, it
times no-op tasks sent one by one against the same tasks sent in a few chunks
(``probe_dispatch_s``); ``--chunk auto`` then puts enough tasks in each dispatch that this cost
stays a small share of the work each dispatch carries (``auto_chunk_size``).

A chunk is one task for the engine. On the worker, ``worker.run_chunk`` runs its tasks one after
another; their arguments travel packed in one tuple, placed inputs top-level. The chunk is timed
as a whole and each of its tasks is credited an equal share of the chunk's wall and CPU time
(timing every task would cost about a microsecond each, a tenth of a tiny task). Sums over a
job's tasks are therefore exact; a single task's time is the mean of its chunk.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from dist_bench.backends.base import Backend, TaskError
from dist_bench.units import AUTO, ChunkMode
from dist_bench.worker import (
    PlacedSlot,
    TimedResult,
    noop,
    run_chunk,
    run_chunk_async,
    timed_call,
)

#: Share of the work that dispatching may cost under ``--chunk auto``. Chosen with
#: ``benchmarks/tiny_tasks.py --shares`` (100k tasks of ~10 µs on processes, 2 cores, alternating
#: in one run; see benchmarks/RESULTS.md): 0.2 and 0.1 were clearly slower (165k and 198k tasks/s
#: against 334k-394k for 0.05 down to 0.005); between 0.05 and 0.002 two runs under heavy load
#: disagreed on the order, so the middle was kept. Smaller shares mean bigger chunks: less
#: dispatching, but later first results and coarser load balance.
TARGET_DISPATCH_SHARE = 0.02
#: Dispatches each worker gets at least, so that big chunks do not leave workers idle while the
#: last ones finish (the load imbalance is then at most a quarter of one worker's share).
MIN_DISPATCHES_PER_WORKER = 4
#: The probe's naive run must last this long to be timed well; it doubles its task count until so.
PROBE_MIN_S = 0.05
#: ...or until it sends this many no-op tasks (a backend this fast has a negligible dispatch cost).
PROBE_MAX_TASKS = 4096
#: Timed runs of each kind in the probe; the fastest counts (noise only ever adds time).
PROBE_ROUNDS = 3


def auto_chunk_size(dispatch_s: float, grain_s: float, workers: int, tasks: int) -> int:
    """Tasks per dispatch that keep the dispatch cost under ``TARGET_DISPATCH_SHARE`` of the work.

    ``tasks`` tasks of ``grain_s`` seconds on ``workers`` workers keep them busy for
    ``tasks * grain_s / workers``; sent ``c`` at a time they cost ``tasks / c * dispatch_s``. The
    share stays under the target from ``c >= dispatch_s * workers / (share * grain_s)``. Capped so
    every worker still gets ``MIN_DISPATCHES_PER_WORKER`` dispatches.
    """
    workers = max(1, workers)
    wanted = math.ceil(dispatch_s * workers / (TARGET_DISPATCH_SHARE * max(grain_s, 1e-9)))
    most = tasks // (MIN_DISPATCHES_PER_WORKER * workers)
    return max(1, min(wanted, most))


@dataclass(frozen=True)
class Chunks:
    """How a job's tasks are grouped into dispatches.

    Attributes:
        lengths: Tasks in each dispatch, in task order (sizes differ by at most one).
        auto: The size was chosen by ``--chunk auto`` from the measured dispatch cost.
    """

    lengths: tuple[int, ...]
    auto: bool = False

    @classmethod
    def of(cls, tasks: int, size: int, auto: bool = False) -> Chunks:
        """``tasks`` tasks in dispatches of at most ``size``, as even as possible."""
        count = max(1, math.ceil(tasks / max(1, size))) if tasks else 0
        base, extra = divmod(tasks, count) if count else (0, 0)
        return cls(tuple([base + 1] * extra + [base] * (count - extra)), auto)

    @property
    def size(self) -> int:
        """Tasks in the largest dispatch (1: every task is dispatched on its own)."""
        return max(self.lengths, default=1)

    @property
    def batched(self) -> bool:
        """Whether any dispatch carries more than one task."""
        return self.size > 1

    def wrap(self, task: Callable[..., Any], coroutine: bool) -> Callable[..., Any]:
        """What each dispatch runs: ``task`` itself, or a chunk runner around it."""
        if not self.batched:
            return task
        return functools.partial(run_chunk_async if coroutine else run_chunk, task)

    def rows(
        self, items: Sequence[tuple[Any, ...]], placed: Collection[int] = frozenset()
    ) -> list[tuple[Any, ...]]:
        """The argument tuple of each dispatch: ``(lengths, packed arguments, *placed inputs)``.

        ``placed`` holds the ``id`` of every placed input (what ``Backend.place`` returned): each
        goes top-level once per chunk, where the engine resolves it. Rows are padded with
        ``None`` to one length, since ``Executor.map`` and ``client.map`` take argument columns.
        """
        if not self.batched:
            return list(items)
        rows: list[tuple[Any, ...]] = []
        start = 0
        for length in self.lengths:
            chunk = items[start : start + length]
            start += length
            lengths = tuple(len(args) for args in chunk)
            if not placed:
                rows.append((lengths, tuple(a for args in chunk for a in args)))
                continue
            slots: dict[int, PlacedSlot] = {}
            handles: list[Any] = []
            packed: list[Any] = []
            for argument in (a for args in chunk for a in args):
                if id(argument) in placed:
                    if id(argument) not in slots:
                        slots[id(argument)] = PlacedSlot(len(handles))
                        handles.append(argument)
                    argument = slots[id(argument)]
                packed.append(argument)
            rows.append((lengths, tuple(packed), *handles))
        width = max(len(row) for row in rows)
        return [row + (None,) * (width - len(row)) for row in rows]

    def dispatch(
        self, backend: Backend, caller: Callable[..., Any], rows: Sequence[tuple[Any, ...]]
    ) -> list[Any]:
        """``backend.map(caller, rows)``; a failed dispatch names its first task's index.

        Raises:
            TaskError: a dispatch failed; ``index`` is the task's index in the job.
        """
        try:
            return backend.map(caller, rows)
        except TaskError as exc:
            raise TaskError(sum(self.lengths[: exc.index]), exc.cause) from exc.cause

    def per_task(self, dispatched: list[Any]) -> list[TimedResult]:
        """One timed result per task, in task order, from one per dispatch.

        Raises:
            TaskError: a task inside a chunk raised; ``index`` is its index in the job.
        """
        if not self.batched:
            return dispatched
        timed: list[TimedResult] = []
        for (result, wall, cpu, worker), length in zip(dispatched, self.lengths, strict=True):
            values, failed_at, error = result
            if error is not None and failed_at is not None:
                raise TaskError(len(timed) + failed_at, error) from error
            timed.extend((value, wall / length, cpu / length, worker) for value in values)
        return timed


def probe_dispatch_s(backend: Backend) -> float:
    """Seconds each dispatch costs on ``backend`` (started), measured with no-op tasks.

    Times ``n`` no-op tasks sent one by one against the same ``n`` in one chunk per worker, through
    the same wrapper as real tasks; the difference per dispatch saved is what chunking saves: the
    sending, scheduling and pickling of a call and its result. ``n`` doubles until the naive run
    lasts ``PROBE_MIN_S`` (a few tenths of a second in all, even on Dask). Timed by the backend's
    clock, as jobs are (a scripted backend's virtual one charges its scripted dispatch cost).
    """
    blas = backend.options.blas_threads
    workers = max(1, backend.workers())
    naive_call = functools.partial(timed_call, noop, blas)
    tasks = 4 * workers
    backend.map(naive_call, [()] * tasks)  # the first use ships the function to the workers
    while True:
        naive_s = _fastest(backend, naive_call, [()] * tasks, rounds=1)
        if naive_s >= PROBE_MIN_S or tasks >= PROBE_MAX_TASKS:
            break
        tasks *= 2
    naive_s = min(naive_s, _fastest(backend, naive_call, [()] * tasks, PROBE_ROUNDS - 1))
    chunks = Chunks.of(tasks, math.ceil(tasks / workers))
    chunk_call = functools.partial(timed_call, chunks.wrap(noop, coroutine=False), blas)
    rows = chunks.rows([()] * tasks)
    backend.map(chunk_call, rows)
    batched_s = _fastest(backend, chunk_call, rows, PROBE_ROUNDS)
    return max(0.0, naive_s - batched_s) / (tasks - len(rows))


def _fastest(
    backend: Backend, call: Callable[..., Any], rows: Sequence[tuple[Any, ...]], rounds: int
) -> float:
    best = math.inf
    for _ in range(rounds):
        started = backend.clock()
        backend.map(call, rows)
        best = min(best, backend.clock() - started)
    return best


#: The dispatch cost measured after each backend's latest start, so every job it runs under
#: ``--chunk auto`` is sized from one measurement (weak: a backend that is gone is forgotten).
_dispatch_costs: weakref.WeakKeyDictionary[Backend, float] = weakref.WeakKeyDictionary()


def measure_dispatch_s(backend: Backend) -> float:
    """Measure ``backend``'s dispatch cost now (``probe_dispatch_s``) and remember it for it."""
    cost = _dispatch_costs[backend] = probe_dispatch_s(backend)
    return cost


def plan_chunks(
    mode: ChunkMode, backend: Backend, tasks: int, grain_s: float, dispatch_s: float | None
) -> Chunks:
    """The chunks for a job of ``tasks`` tasks of ``grain_s`` on ``backend`` under ``mode``.

    ``dispatch_s`` is the backend's measured dispatch cost; ``None`` under ``auto`` uses the one
    measured after it started (``measure_dispatch_s``), measuring it now if there is none.
    """
    if mode != AUTO:
        return Chunks.of(tasks, int(mode))
    if dispatch_s is None:
        known = _dispatch_costs.get(backend)
        dispatch_s = measure_dispatch_s(backend) if known is None else known
    size = auto_chunk_size(dispatch_s, grain_s, backend.workers(), tasks)
    return Chunks.of(tasks, size, auto=True)
