"""How a workload is declared, found and checked.

A workload is a plain Python file that defines ``WORKLOAD = Workload(...)``. The built-ins live in
the repository's top-level ``workloads/`` folder (installed as ``dist_bench.workloads``); a user's
own file is loaded from its path the same way, with no change to the package.

One job of a workload is a list of task argument tuples made by ``make_tasks(job)``; every backend
calls ``task(*args)`` for each of them and ``combine`` folds the results into one answer, which must
equal the answer computed serially in the driver.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import pkgutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import Any

from dist_bench.errors import UnknownNameError, WorkloadFileError
from dist_bench.module_files import import_file_as

#: Name of the module attribute a workload file must define.
WORKLOAD_ATTRIBUTE = "WORKLOAD"

#: Relative tolerance for floating-point answers: reductions may add in another order on another
#: backend (BLAS threads, chunking), which changes the last bits but never more than this.
FLOAT_RTOL = 1e-9


@dataclass(frozen=True)
class Job:
    """The size of one job: how many tasks, how much work each, how many bytes each moves.

    ``units`` is the workload's own measure of work per task (loop iterations, words, matrix
    products); dist-bench calibrates it so one task takes about ``grain_s`` seconds serially.
    ``context`` holds what a workload's environment provides (e.g. a server's address).
    """

    tasks: int
    grain_s: float
    bytes_per_task: int
    units: int = 1
    context: dict[str, Any] = field(default_factory=dict)

    def with_units(self, units: int) -> Job:
        """Return this job with ``units`` of work per task."""
        return replace(self, units=units)


TaskArgs = tuple[Any, ...]


class TaskNature(Enum):
    """What a workload's task spends its time on: it decides which explanations can be true.

    The report names the GIL only for code that holds it, and calls a win *concurrency* where the
    tasks wait and *parallelism* where they compute side by side.
    """

    #: Python bytecode the whole time: holds the GIL, so threads take turns.
    PURE_PYTHON = "pure-Python CPU"
    #: Compiled code (NumPy, BLAS) that releases the GIL while it runs.
    RELEASES_GIL = "native code that releases the GIL"
    #: Waiting on something else (a socket): holds neither the GIL nor a core.
    WAITS = "waiting"
    #: Copying data in and out: bytes, not computation, set its cost.
    MOVES_DATA = "moving data"


def no_environment(job: Job) -> AbstractContextManager[dict[str, Any]]:
    """Environment of a workload that needs nothing started around it."""
    return contextlib.nullcontext({})


def results_as_list(results: list[Any]) -> Any:
    """Default ``combine``: the answer is the list of task results, in task order."""
    return results


@dataclass(frozen=True)
class Workload:
    """A workload: the unit every backend runs and every answer is checked against.

    Attributes:
        name: Short name used on the command line.
        summary: One line for ``dist-bench list``.
        lesson: What the workload teaches (the module docstring of a workload file).
        make_tasks: ``job -> [args, ...]``; called in the driver, must be deterministic.
        task: Runs on a worker: ``task(*args) -> result``. Must be importable or shippable.
        combine: Folds the task results (in task order) into the answer that is verified.
        async_task: Optional coroutine version of ``task``, used by backends that run coroutines.
        environment: Context manager started in the driver around a run (e.g. a local server);
            what it yields is passed to ``make_tasks`` as ``job.context``.
        calibrated: When true, ``job.units`` is calibrated so one task takes ``job.grain_s``.
        moves_bytes: When true, ``job.bytes_per_task`` sizes the data each task moves.
        large_inputs: When true, task arguments are big enough that engines should place them
            once (Dask ``scatter``, Ray ``put``) rather than send them with each call.
        nature: What the task spends its time on; it picks the report's explanations. A results
            file keeps only a workload's name, so the report finds it for built-ins
            (``declared_workload``); other workloads get what the measurements alone show.
        uses_numpy: When true, the task works on NumPy arrays (allocator and BLAS settings
            matter to it).
    """

    name: str
    summary: str
    make_tasks: Callable[[Job], list[TaskArgs]]
    task: Callable[..., Any]
    combine: Callable[[list[Any]], Any] = results_as_list
    async_task: Callable[..., Any] | None = None
    environment: Callable[[Job], AbstractContextManager[dict[str, Any]]] = no_environment
    calibrated: bool = True
    moves_bytes: bool = False
    large_inputs: bool = False
    nature: TaskNature | None = None
    uses_numpy: bool = False
    lesson: str = ""
    default_tasks: int = 16
    default_grain_s: float = 0.02
    default_bytes: int = 0
    #: The module the workload was loaded from: shipped by value to remote workers.
    module: ModuleType | None = None
    #: Where it came from: ``builtin`` or the path of the user's file.
    origin: str = "builtin"


def answers_match(expected: Any, actual: Any) -> bool:
    """Tell whether ``actual`` is the same answer as ``expected``.

    Exact for integers, strings and containers of them; floats and arrays compare with a relative
    tolerance of ``FLOAT_RTOL`` because summation order may differ between backends.
    """
    import numpy as np  # here: importing dist_bench must stay light for `--help` and `list`

    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        a, b = np.asarray(expected), np.asarray(actual)
        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            return bool(np.allclose(a, b, rtol=FLOAT_RTOL, atol=0.0))
        return bool(np.array_equal(a, b))
    if isinstance(expected, float | np.floating) or isinstance(actual, float | np.floating):
        try:
            return bool(np.isclose(float(expected), float(actual), rtol=FLOAT_RTOL, atol=0.0))
        except (TypeError, ValueError):
            return False
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            answers_match(expected[k], actual[k]) for k in expected
        )
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(
            answers_match(e, a) for e, a in zip(expected, actual, strict=True)
        )
    return bool(expected == actual)


def builtin_workloads() -> dict[str, Workload]:
    """Load every built-in workload, keyed by name."""
    # Imported by name: the package maps it onto the repository's top-level workloads/ folder.
    package = importlib.import_module("dist_bench.workloads")

    found: dict[str, Workload] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        workload = _workload_of(module, source=info.name)
        found[workload.name] = workload
    return dict(sorted(found.items()))


def declared_workload(name: str) -> Workload | None:
    """The built-in workload called ``name``, or ``None`` (a user's workload, or a renamed one).

    A results file keeps only a workload's name; its declared traits come from here.
    """
    return _builtins_by_name().get(name)


@functools.cache
def _builtins_by_name() -> dict[str, Workload]:
    # Cached: every row of a report asks, and the built-ins do not change within a process.
    return builtin_workloads()


def load_workload_file(path: Path) -> Workload:
    """Load a user's workload file by path.

    The module gets a stable, unique name derived from its path so it can be registered in
    ``sys.modules`` (pickling by reference needs that) and shipped by value to remote workers.

    Raises:
        WorkloadFileError: the file does not exist, does not import, exits when imported, or
            has no ``WORKLOAD``.
    """
    path = path.expanduser().resolve()
    if not path.is_file():
        raise WorkloadFileError(f"workload file {str(path)!r} does not exist")
    if path.suffix != ".py":
        raise WorkloadFileError(f"workload file {str(path)!r} is not a Python (.py) file")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    module_name = f"dist_bench_user_{path.stem}_{digest}"
    try:
        module = import_file_as(module_name, str(path))
    except SystemExit as exc:
        # Not a failure to report as an exception: the file ends the program on import (a
        # script's sys.exit, argparse's --help). Left alone, dist-bench would exit silently.
        raise WorkloadFileError(
            f"workload file {str(path)!r} called sys.exit({exc.code!r}) when imported: a "
            "workload file defines WORKLOAD; put script code under `if __name__ == '__main__':`"
        ) from None
    except Exception as exc:
        raise WorkloadFileError(
            f"workload file {str(path)!r} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    return replace(_workload_of(module, source=str(path)), origin=str(path))


def _workload_of(module: ModuleType, source: str) -> Workload:
    workload = getattr(module, WORKLOAD_ATTRIBUTE, None)
    if not isinstance(workload, Workload):
        raise WorkloadFileError(
            f"{source!r} defines no workload: add `{WORKLOAD_ATTRIBUTE} = Workload(...)` "
            "(see README, 'Your own workload')"
        )
    lesson = workload.lesson or (module.__doc__ or "").strip()
    return replace(workload, module=module, lesson=lesson)


def resolve_workloads(names: Sequence[str]) -> list[Workload]:
    """Turn command-line names into workloads: built-in names, ``all``, or paths to ``.py`` files.

    Raises:
        UnknownNameError: a name that is neither a built-in nor a file path.
        WorkloadFileError: a path that does not hold a workload.
    """
    builtins = builtin_workloads()
    chosen: list[Workload] = []
    for name in names:
        if name == "all":
            chosen.extend(builtins.values())
        elif name in builtins:
            chosen.append(builtins[name])
        elif name.endswith(".py") or "/" in name:
            chosen.append(load_workload_file(Path(name)))
        else:
            raise UnknownNameError("workload", name, [*builtins, "all", "PATH.py"])
    unique: dict[str, Workload] = {}
    for workload in chosen:
        unique.setdefault(workload.name, workload)
    return list(unique.values())


@contextlib.contextmanager
def started_environment(workload: Workload, job: Job) -> Iterator[Job]:
    """Start the workload's environment and yield the job with its context filled in."""
    with workload.environment(job) as context:
        yield replace(job, context=dict(context))
