"""How a backend runs its tasks (serial, threads, processes...), read from its results file.

The way tasks run side by side decides what can hold them back: a shared GIL, one event loop,
copies between processes, the network.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from dist_bench.backends.base import BASELINE
from dist_bench.workload import TaskNature


class Execution(Enum):
    """How a backend runs tasks, which decides what can hold them back."""

    #: One task after another in the driver.
    SERIAL = "serial"
    #: OS threads in one interpreter: one GIL, handed over every switch interval.
    THREADS = "threads"
    #: Coroutines on one event loop: one runs at a time, switching only where it awaits.
    EVENT_LOOP = "event loop"
    #: An interpreter (and GIL) per worker on this machine: processes, embedded Dask or Ray.
    PROCESSES = "processes"
    #: Subinterpreters in the driver's process, each with its own GIL (``InterpreterPoolExecutor``).
    INTERPRETERS = "interpreters"
    #: Workers on other machines, reached over the network.
    NODES = "nodes"


#: Built-in backends that share the driver's memory, for files whose run lacks the flag.
_SHARED_MEMORY_BACKENDS = frozenset({BASELINE, "threads", "asyncio"})
#: Built-in backends that run coroutines (``Backend.runs_coroutines``; ``describe`` omits it).
_COROUTINE_BACKENDS = frozenset({"asyncio"})


def execution_of(backend: str, topology: dict[str, Any]) -> Execution:
    """How ``backend`` ran its tasks, from its ``describe()`` in the results file."""
    if topology.get("remote"):
        return Execution.NODES
    if backend == BASELINE:
        return Execution.SERIAL
    if topology.get("own_gil_per_interpreter"):
        return Execution.INTERPRETERS
    if not topology.get("shares_memory", backend in _SHARED_MEMORY_BACKENDS):
        return Execution.PROCESSES
    if topology.get("runs_coroutines", backend in _COROUTINE_BACKENDS):
        return Execution.EVENT_LOOP
    return Execution.THREADS


def holds_gil(nature: TaskNature | None) -> bool:
    """Whether tasks of ``nature`` hold the GIL while they run (undeclared: assumed, as Python)."""
    return nature in (TaskNature.PURE_PYTHON, None)
