"""The asyncio backend: coroutines taking turns on one event loop in one thread.

Concurrency without threads: while one task awaits a socket, the loop runs another. A workload that
offers a coroutine version of its task (``async_task``) gets it here; a plain function runs on the
loop as it is, blocking it, so CPU work gains exactly nothing, which is the lesson.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from dist_bench.backends.base import Backend, TaskError, TaskFuture
from dist_bench.backends.threads import default_thread_count


class AsyncioBackend(Backend):
    """Runs tasks as coroutines on an event loop owned by a background thread."""

    name = "asyncio"
    shares_memory = True
    runs_coroutines = True

    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    def start(self, ship: Sequence[ModuleType] = ()) -> None:
        """Start the event loop in its own thread so the caller can block on results."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name="dist-bench-asyncio", daemon=True
        )
        self._thread.start()
        super().start(ship)

    def shutdown(self) -> None:
        """Stop the loop and join its thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
        self._loop = None
        self._thread = None
        super().shutdown()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("asyncio backend used before start()")
        return self._loop

    def submit(self, fn: Callable[..., Any], *args: Any) -> TaskFuture:
        """Schedule ``fn(*args)`` on the loop; a plain function runs there too, blocking it."""
        return asyncio.run_coroutine_threadsafe(_as_coroutine(fn, args), self._running_loop())

    def map(self, fn: Callable[..., Any], argument_tuples: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Run every task with at most ``workers()`` in flight; results in order."""
        job = _run_all(fn, argument_tuples, self.workers())
        return asyncio.run_coroutine_threadsafe(job, self._running_loop()).result()

    def workers(self) -> int:
        """Tasks in flight at once: ``--workers``, else the threads backend's default.

        The same default as threads, so the two are compared like for like.
        """
        return self.options.workers or default_thread_count()


async def _as_coroutine(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    result = fn(*args)
    if inspect.isawaitable(result):
        return await result
    return result


async def _run_all(
    fn: Callable[..., Any], argument_tuples: Sequence[tuple[Any, ...]], limit: int
) -> list[Any]:
    slots = asyncio.Semaphore(limit)

    async def one(index: int, args: tuple[Any, ...]) -> Any:
        async with slots:
            try:
                return await _as_coroutine(fn, args)
            except Exception as exc:
                raise TaskError(index, exc) from exc

    tasks: list[asyncio.Task[Any]] = []
    try:
        # A TaskGroup cancels the rest when one task fails, so nothing keeps running unseen.
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(i, args)) for i, args in enumerate(argument_tuples)]
    except BaseExceptionGroup as group_error:
        first = group_error.exceptions[0]
        raise first from None
    return [task.result() for task in tasks]
