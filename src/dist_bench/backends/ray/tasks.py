"""What runs on Ray's workers (the task functions) and what the driver holds for each task.

The task functions are defined inside a function on purpose: cloudpickle sends such functions by
value, so workers that do not have dist-bench installed (a remote cluster) can still run them.
They only import what every Ray worker has. Each returns the task's attempt number with its value,
so the driver learns of retries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ray
from ray.exceptions import RayError


@dataclass(frozen=True)
class TaskFunctions:
    """The plain functions behind the backend's Ray remote functions (see ``task_functions``)."""

    call: Callable[..., tuple[int, Any]]
    bind: Callable[[bytes], Callable[..., tuple[int, Any]]]
    versions: Callable[[Sequence[str]], dict[str, str]]


def task_functions() -> TaskFunctions:
    """The functions Ray runs on workers (made here, so they travel by value)."""

    def attempt_number() -> int:
        # Which try of this task this is (0 first): a retry means Ray lost a worker or node while
        # running it. Ray has no public API for it; 0 when the private one moves.
        try:
            import ray._private.worker

            worker: Any = ray._private.worker.global_worker
            return int(worker.core_worker.get_current_task_attempt_number())
        except Exception:
            return 0

    def call(fn: Callable[..., Any], *args: Any) -> tuple[int, Any]:
        # Arguments are top-level, so Ray resolves placed ObjectRefs before the call.
        return attempt_number(), fn(*args)

    def bind(pickled_fn: bytes) -> Callable[..., tuple[int, Any]]:
        # ``call`` with the function built in: Ray ships a remote function once, not with every
        # task, which saves ~15% of Ray's per-task cost on tiny tasks. The function travels
        # pickled and is loaded inside the first task on each worker, so a worker that cannot
        # load it (a module it lacks) raises that error from the task, like ``call`` does,
        # instead of Ray's multi-line "failed to import" placeholder.
        loaded: list[Callable[..., Any]] = []

        def bound(*args: Any) -> tuple[int, Any]:
            if not loaded:
                import pickle

                loaded.append(pickle.loads(pickled_fn))
            return attempt_number(), loaded[0](*args)

        return bound

    def versions(packages: Sequence[str]) -> dict[str, str]:
        # ``packages`` is the driver's list of checked packages (versions.CHECKED_PACKAGES),
        # passed in because the node may not have dist-bench to import it from.
        import importlib.metadata
        import importlib.util
        import platform
        import socket

        import ray
        import ray.util

        def version(distribution: str) -> str:
            # "" for a package not installed: the version check compares only what both sides
            # report (as for the client and Dask's nodes).
            if distribution == "python":
                return platform.python_version()
            try:
                return importlib.metadata.version(distribution)
            except importlib.metadata.PackageNotFoundError:
                return ""

        def importable(module: str) -> bool:
            # Installed metadata is not enough: the package must import on this node.
            try:
                return importlib.util.find_spec(module) is not None
            except ImportError:
                return False

        node_id = ray.get_runtime_context().get_node_id()
        return {
            "node": f"{ray.util.get_node_ip_address()} ({node_id[:8]})",  # type: ignore[no-untyped-call]
            "hostname": socket.gethostname(),
            **{package: version(package) for package in packages},
            "dist_bench": (version("dist-bench") or "missing")
            if importable("dist_bench")
            else "missing",
        }

    return TaskFunctions(call=call, bind=bind, versions=versions)


def as_task(function: Callable[..., Any]) -> Any:
    """A Ray remote function for ``function``, with the retry policy of every task.

    Ray's default for lost workers (three retries) and none for exceptions: a task that raises
    is a failed benchmark, not something to run again.
    """
    return ray.remote(num_cpus=1, max_retries=3, retry_exceptions=False)(function)


class RayTaskFuture:
    """What ``RayBackend.submit`` returns: ``result(timeout)`` over an ``ObjectRef``.

    Args:
        ref: The task's ``ObjectRef`` (its value is ``(attempt, result)``).
        count_attempts: Told the task's attempt number when its result arrives.
    """

    def __init__(
        self, ref: ray.ObjectRef[Any], count_attempts: Callable[[Sequence[int]], None]
    ) -> None:
        self.ref = ref
        self._count_attempts = count_attempts

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the task; raise the task's own exception if it raised.

        Raises:
            TimeoutError: ``timeout`` seconds passed (Ray's ``GetTimeoutError`` is one).
        """
        try:
            attempt, value = ray.get(self.ref, timeout=timeout)
        except RayError as exc:
            raise original_exception(exc) from None
        self._count_attempts([attempt])
        return value

    def done(self) -> bool:
        """Whether the task has finished (or failed)."""
        ready, _ = ray.wait([self.ref], timeout=0)
        return bool(ready)

    def cancel(self) -> bool:
        """Refuse, as ``Future.cancel`` does for a task it cannot stop: return False.

        ``ray.cancel`` on a task whose reply is arriving aborts the whole driver in Ray 2.60
        (task_manager.cc "Tried to complete task that was not pending"; seen in this project's
        test runs), so the task is left to finish.
        """
        return False


def original_exception(exc: BaseException) -> BaseException:
    """The exception behind Ray's wrapper.

    That is what the task raised (``RayTaskError.cause``), or what stopped a worker from loading
    the task (``RaySystemError.client_exc``, e.g. a module it does not have).
    """
    for _ in range(3):  # a task whose argument would not load: RayTaskError(RaySystemError(...))
        inner = getattr(exc, "cause", None) or getattr(exc, "client_exc", None)
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``: how a Ray failure is quoted in dist-bench's lines."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
