"""The interpreters backend: ``InterpreterPoolExecutor`` (Python 3.14, PEP 734).

Each worker is a thread running its own subinterpreter, and each subinterpreter has its own GIL:
pure-Python work runs side by side in one process, without a process's start-up per worker.
Like processes, nothing is shared: every task, argument and result is pickled between
interpreters, and a worker imports the task's module itself. Extension modules that do not
support subinterpreters (NumPy, as of 2.x) cannot be imported there: such tasks fail with the
ImportError, reported as the record's error.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import wait
from types import ModuleType
from typing import Any

from dist_bench.backends.base import ExecutorBackend
from dist_bench.cores import default_cores
from dist_bench.module_files import import_file_as


def _init_interpreter(files: dict[str, str]) -> None:
    """Worker initializer: import the user's workload files under the driver's module names.

    A subinterpreter starts with no modules imported, and pickle finds functions by module name,
    so each one loads them once before its first task (as a spawned process does).
    """
    for module_name, path in files.items():
        import_file_as(module_name, path)


def _noop() -> None:
    """Sent once per worker at start-up so creating interpreters is timed as start-up."""


class InterpretersBackend(ExecutorBackend):
    """Runs tasks on a pool of subinterpreters in the driver's process, one GIL each."""

    name = "interpreters"
    own_interpreters = True
    runs_numpy = False

    def start(self, ship: Sequence[ModuleType] = ()) -> None:
        """Create the pool and wait until every worker's interpreter is up."""
        # Imported here: the module exists only from Python 3.14 (the registry says so first).
        from concurrent.futures import InterpreterPoolExecutor  # type: ignore[attr-defined]

        files = {
            module.__name__: module.__file__
            for module in ship
            if module.__file__ and not module.__name__.startswith("dist_bench.")
        }
        self._pool = InterpreterPoolExecutor(
            max_workers=self.workers(), initializer=_init_interpreter, initargs=(files,)
        )
        # Workers (and their interpreters) start as tasks arrive; a no-op each brings them up.
        wait([self._executor().submit(_noop) for _ in range(self.workers())])
        super().start(ship)

    def workers(self) -> int:
        """Interpreters: ``--workers`` or one per core."""
        return self.options.workers or default_cores()

    def describe(self) -> dict[str, Any]:
        """Marks the execution: an interpreter and a GIL per worker, in this process."""
        return {**super().describe(), "own_gil_per_interpreter": True}
