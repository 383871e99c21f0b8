"""The exceptions dist-bench raises, each with a message that says what to do next.

The library raises; only the CLI turns an error into one red line and an exit code. The tree is
small on purpose (the shape of ``concurrent.futures``' own): callers catch ``DistBenchError`` and
read ``exit_code``.
"""

from __future__ import annotations


class DistBenchError(Exception):
    """Base of every error dist-bench raises on purpose; ``str()`` is the one line to show."""

    #: Exit status the CLI uses: 1 for a run that failed, 2 for input the user can fix.
    exit_code: int = 1


class UsageError(DistBenchError):
    """Input the user can fix before anything runs: names, sizes, paths, files."""

    exit_code = 2


class UnknownNameError(UsageError):
    """A workload or backend name that is not registered; the message lists the valid ones."""

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        super().__init__(f"unknown {kind} {name!r}; choose from: {', '.join(valid)}")
        self.kind = kind
        self.name = name
        self.valid = valid


class EngineNotInstalledError(UsageError):
    """A backend whose engine is not importable; the message carries the install command."""


class ResultsFileError(UsageError):
    """A results file that is not a dist-bench results file, or is from another machine/version."""


class SaveError(DistBenchError):
    """A results file or report that could not be written (disk full, permission).

    Writes are atomic: the file keeps what the last successful write left in it.
    """


class WorkloadFileError(UsageError):
    """A user workload file that is missing, does not import, or declares no workload."""


class ClusterConnectionError(DistBenchError):
    """A cluster address that could not be reached, or refused us (auth, version mismatch)."""


class ClusterError(DistBenchError):
    """The local container cluster could not be built, started, reached or stopped (``cluster``)."""


class TaskFailedError(DistBenchError):
    """A workload task raised: names the workload, the backend, the task index and the cause."""

    def __init__(self, workload: str, backend: str, task_index: int | None, cause: BaseException):
        where = f"task {task_index}" if task_index is not None else "a task"
        super().__init__(
            f"workload {workload!r} on {backend}: {where} raised {type(cause).__name__}: {cause}"
        )
        self.workload = workload
        self.backend = backend
        self.task_index = task_index
        self.cause = cause


class InterpreterError(DistBenchError):
    """Another interpreter (``run --python``) could not be found, or its run failed."""
