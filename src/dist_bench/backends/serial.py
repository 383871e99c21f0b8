"""The serial backend: every task in turn, in the driver. The baseline every speedup divides."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dist_bench.backends.base import Backend, TaskError, TaskFuture, completed_future


class SerialBackend(Backend):
    """Runs each task in the calling thread, one after another."""

    name = "serial"
    shares_memory = True

    def submit(self, fn: Callable[..., Any], *args: Any) -> TaskFuture:
        """Run ``fn(*args)`` now; the future is already done."""
        return completed_future(fn, *args)

    def map(self, fn: Callable[..., Any], argument_tuples: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Call ``fn`` on each tuple in order; no futures, so the baseline carries no overhead."""
        results: list[Any] = []
        for index, args in enumerate(argument_tuples):
            try:
                results.append(fn(*args))
            except Exception as exc:
                raise TaskError(index, exc) from exc
        return results

    def workers(self) -> int:
        """One: nothing runs side by side."""
        return 1
