"""The processes backend: a ``ProcessPoolExecutor``, one interpreter (and one GIL) per worker.

Parallelism across cores: pure-Python CPU work finally runs side by side, paid for with process
start-up and with pickling every argument and result across a pipe. The start method matters:
``fork`` copies the driver (fast), ``spawn`` starts a fresh interpreter (slow, safe),
``forkserver`` forks from a clean server process.
"""

from __future__ import annotations

import math
import mmap
import multiprocessing
import signal
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from types import ModuleType
from typing import Any

from dist_bench.backends.base import BackendOptions, ExecutorBackend
from dist_bench.cores import default_cores
from dist_bench.errors import UsageError
from dist_bench.module_files import import_file_as

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


#: Where POSIX shared memory segments appear as files (Linux); placing inputs needs it.
SHARED_MEMORY_DIR = Path("/dev/shm")

#: Arrays this worker process has mapped, by segment name: each is mapped once per worker.
_mapped_arrays: dict[str, Any] = {}


class SharedArray:
    """A NumPy array placed in shared memory: it pickles as its segment's name, not its bytes.

    The driver copies the array into a segment once; each worker maps the segment and gets a
    read-only array over the same pages (as Ray's object store gives), so a task's input costs no
    copy and no pickling however often it is sent.
    """

    def __init__(self, array: Any) -> None:
        import numpy as np

        self.segment = SharedMemory(create=True, size=max(1, array.nbytes))
        np.ndarray(array.shape, array.dtype, buffer=self.segment.buf)[...] = array
        self.shape: tuple[int, ...] = tuple(array.shape)
        self.dtype: str = array.dtype.str

    def __reduce__(self) -> tuple[Any, tuple[str, tuple[int, ...], str]]:
        return _map_shared_array, (self.segment.name, self.shape, self.dtype)

    def release(self) -> None:
        """Free the segment (workers that mapped it keep their mapping until they exit)."""
        self.segment.close()
        self.segment.unlink()


def _map_shared_array(name: str, shape: tuple[int, ...], dtype: str) -> Any:
    """In a worker: the placed array, mapped read-only from its segment on first use.

    Mapped through the segment's file rather than ``SharedMemory(name)``, which would register
    the segment with the resource tracker again and have it unlinked or warned about twice.
    """
    array = _mapped_arrays.get(name)
    if array is None:
        import numpy as np

        with open(SHARED_MEMORY_DIR / name, "rb") as segment:
            mapped = mmap.mmap(segment.fileno(), 0, access=mmap.ACCESS_READ)
        count = math.prod(shape)
        array = _mapped_arrays[name] = np.frombuffer(mapped, dtype, count).reshape(shape)
    return array


def _noop() -> None:
    """Sent once per worker at start-up so process creation is timed as start-up, not work."""


class ProcessesBackend(ExecutorBackend):
    """Runs tasks on a pool of worker processes on this machine.

    ``map`` is the contract's default (one ``submit`` per dispatch): ``Executor.map``'s own
    ``chunksize`` is not used, because chunking is done once for every backend (``--chunk``).
    """

    name = "processes"
    places_data = SHARED_MEMORY_DIR.is_dir()

    def __init__(self, options: BackendOptions | None = None) -> None:
        super().__init__(options)
        self._placed: list[SharedArray] = []
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

    def place(self, value: Any) -> Any:
        """Put a NumPy array in shared memory once; tasks get a read-only array over it.

        Other values (byte strings) are returned as they are and sent with each task.
        """
        if type(value).__module__ != "numpy" or not hasattr(value, "dtype"):
            return value
        placed = SharedArray(value)
        self._placed.append(placed)
        return placed

    def shutdown(self) -> None:
        """Stop the workers, then free the shared memory placed for them."""
        try:
            super().shutdown()
        finally:
            for placed in self._placed:
                placed.release()
            self._placed = []

    def workers(self) -> int:
        """Worker processes: ``--workers`` or one per core."""
        return self.options.workers or default_cores()

    def describe(self) -> dict[str, Any]:
        """Adds the start method."""
        return {**super().describe(), "start_method": self.start_method}
