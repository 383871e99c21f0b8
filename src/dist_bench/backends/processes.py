"""The processes backend: a ``ProcessPoolExecutor``, one interpreter (and one GIL) per worker.

Parallelism across cores: pure-Python CPU work finally runs side by side, paid for with process
start-up and with pickling every argument and result across a pipe. The start method matters:
``fork`` copies the driver (fast), ``spawn`` starts a fresh interpreter (slow, safe),
``forkserver`` forks from a clean server process.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from dist_bench.backends.base import BackendOptions, ExecutorBackend, default_cores
from dist_bench.errors import UsageError
from dist_bench.workload import import_file_as

START_METHODS = ("fork", "forkserver", "spawn")


def _init_worker(files: dict[str, str]) -> None:
    """Worker initializer: import the user's workload files under the driver's module names.

    A child made by ``spawn`` or ``forkserver`` has not imported them, and pickle finds functions
    by module name, so each worker loads them once before its first task. A forked child also
    gets Python's own Ctrl-C handler back (``start`` defers Ctrl-C while it forks).
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for module_name, path in files.items():
        import_file_as(module_name, path)


@contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Hold a Ctrl-C back until the block ends, then raise it.

    Ctrl-C while the pool forks can land in an at-fork handler (logging's), where Python prints
    "Exception ignored" and the interrupt is lost: the run would go on. Only the main thread can
    set signal handlers; elsewhere the block runs as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _noop() -> None:
    """Sent once per worker at start-up so process creation is timed as start-up, not work."""


class ProcessesBackend(ExecutorBackend):
    """Runs tasks on a pool of worker processes on this machine.

    ``map`` is the contract's default (one ``submit`` per dispatch): ``Executor.map``'s own
    ``chunksize`` is not used, because chunking is done once for every backend (``--chunk``).
    """

    name = "processes"

    def __init__(self, options: BackendOptions | None = None) -> None:
        super().__init__(options)
        method = self.options.start_method or multiprocessing.get_start_method()
        if method not in START_METHODS:
            raise UsageError(
                f"unknown start method {method!r}; choose from: {', '.join(START_METHODS)}"
            )
        if method not in multiprocessing.get_all_start_methods():
            raise UsageError(f"start method {method!r} is not available on this platform")
        self.start_method = method

    def start(self, ship: Sequence[ModuleType] = ()) -> None:
        """Create the pool and wait until every worker process is up."""
        files = {
            module.__name__: module.__file__
            for module in ship
            if module.__file__ and not module.__name__.startswith("dist_bench.")
        }
        with _ctrl_c_deferred():
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers(),
                mp_context=multiprocessing.get_context(self.start_method),
                initializer=_init_worker,
                initargs=(files,),
            )
            # The pool starts processes lazily; a no-op per worker brings them all up now.
            wait([self._executor().submit(_noop) for _ in range(self.workers())])
        super().start(ship)

    def workers(self) -> int:
        """Worker processes: ``--workers`` or one per core."""
        return self.options.workers or default_cores()

    def describe(self) -> dict[str, Any]:
        """Adds the start method."""
        return {**super().describe(), "start_method": self.start_method}
