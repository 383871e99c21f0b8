"""What the scheduler reports as it happens: workers lost, left or joined, as one-line notes."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from typing import Any


class ClusterEvents:
    """Notes from the scheduler's ``all`` topic, filled on the client's event loop.

    Drained from the caller's thread; a deque is safe between the two.
    """

    def __init__(self) -> None:
        self._notes: deque[str] = deque()

    def on_event(self, event: tuple[float, Any]) -> None:
        """Scheduler ``all`` topic handler: note a worker that joined, left or was lost."""
        _, message = event
        if not isinstance(message, dict):
            return
        action = message.get("action")
        worker = message.get("worker", "?")
        if action == "remove-worker":
            self._notes.append(_removed(worker, message))
        elif action == "add-worker":
            self._notes.append(f"worker {worker} joined the cluster")

    def drain(self) -> list[str]:
        """The notes since the last call, oldest first."""
        notes: list[str] = []
        while self._notes:
            notes.append(self._notes.popleft())
        return notes


def _removed(worker: str, message: dict[str, Any]) -> str:
    if message.get("expected"):
        return f"worker {worker} left the cluster (retired or closed)"
    # "processing" counts every task the scheduler had sent to it, queued or running.
    unfinished = _count(message.get("processing-tasks"))
    note = f"worker {worker} lost; Dask re-ran its {unfinished} unfinished task(s) elsewhere"
    recomputed = _count(message.get("lost-computed-tasks"))
    if recomputed:
        note += f" and recomputed {recomputed} result(s) held only there"
    lost_data = _count(message.get("lost-scattered-tasks"))
    if lost_data:
        note += f"; {lost_data} placed input(s) held only there are gone"
    return note


def _count(value: Any) -> int:
    """Size of a key collection in a scheduler event (msgpack may turn sets into lists)."""
    return len(value) if isinstance(value, Collection) and not isinstance(value, str) else 0
