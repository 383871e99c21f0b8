"""What one waiting slot costs in memory: a coroutine and a thread, each in a fresh interpreter.

The io lesson puts a hundred waits on coroutines beside a hundred on threads; what each side's
slots hold is part of that lesson. It is measured here, outside the timed jobs, in short-lived
child interpreters (``sys.executable``) that start N slots all waiting on one event and read
their resident memory (``VmRSS`` in ``/proc/self/status``) before and after:

- A fresh process has no freed memory to reuse. In the long-lived driver a finished job's
  objects and the thread stacks glibc keeps are used again without growing the resident set,
  so the driver's growth over a job is a lower bound that can read near zero (82 B a
  coroutine, when a coroutine, its frame and its Task take one or two KiB in CPython).
- It does not perturb the timings: no job runs while it measures, and nothing it allocates
  stays in the driver.

RSS, not ``tracemalloc``: a thread's cost is mostly outside Python's allocators (its stack, its
malloc arena), which RSS counts and tracemalloc never sees. Each kind is measured ``repeats``
times, each in its own interpreter, and the median kept. Linux only; elsewhere nothing.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: A slot per wait of the io lesson's many-waits shape (``lesson_shapes.MANY_SLOTS``).
DEFAULT_SLOTS = 100
#: Fresh interpreters per kind; the median is kept (one may be slowed or disturbed).
DEFAULT_REPEATS = 5
#: How long one child may take: it starts, makes its slots, reads two numbers and ends.
_CHILD_TIMEOUT_S = 60.0
_STATUS = Path("/proc/self/status")

#: Run as ``python -I -S -c _CHILD kind slots``: the growth of VmRSS, in kB, while ``slots``
#: coroutines (as asyncio Tasks) or threads all wait on one event. Standard library only, so the
#: child imports nothing of dist-bench; the event loop, or the threading machinery, is set up
#: before the first reading: only the slots are counted.
_CHILD = r"""
import asyncio, re, sys, threading

def rss_kib():
    with open("/proc/self/status") as status:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", status.read(), re.M).group(1))

def coroutines(slots):
    async def wait(event):
        await event.wait()

    async def main():
        event = asyncio.Event()
        await asyncio.sleep(0)
        before = rss_kib()
        tasks = [asyncio.create_task(wait(event)) for _ in range(slots)]
        await asyncio.sleep(0)  # every task runs to its wait
        after = rss_kib()
        event.set()
        await asyncio.gather(*tasks)
        return after - before

    return asyncio.run(main())

def threads(slots):
    event = threading.Event()
    started = threading.Barrier(slots + 1)

    def wait():
        started.wait()
        event.wait()

    before = rss_kib()
    pool = [threading.Thread(target=wait) for _ in range(slots)]
    for thread in pool:
        thread.start()
    started.wait()  # every thread runs to its wait
    after = rss_kib()
    event.set()
    for thread in pool:
        thread.join()
    return after - before

kind, slots = sys.argv[1], int(sys.argv[2])
print({"coroutine": coroutines, "thread": threads}[kind](slots))
"""


@dataclass(frozen=True)
class SlotMemory:
    """Resident memory of one waiting slot of each kind: the median of fresh interpreters.

    Attributes:
        coroutine_bytes: One coroutine waiting (its frame and its asyncio Task).
        thread_bytes: One thread waiting (its stack's touched pages, its thread state).
        slots: Slots started at once in each interpreter.
        repeats: Interpreters per kind whose median is kept.
    """

    coroutine_bytes: int
    thread_bytes: int
    slots: int
    repeats: int

    def to_json(self) -> dict[str, int]:
        """A JSON-ready dict (the results file's ``metadata.slot_memory``)."""
        return {
            "coroutine_bytes": self.coroutine_bytes,
            "thread_bytes": self.thread_bytes,
            "slots": self.slots,
            "repeats": self.repeats,
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> SlotMemory | None:
        """The figures a results file keeps, the latest run's first (None: none, or malformed).

        A run appending to a file keeps its metadata in ``appended_runs``.
        """
        runs = [*reversed(metadata.get("appended_runs") or []), metadata]
        item = next(
            (r["slot_memory"] for r in runs if isinstance(r, dict) and "slot_memory" in r), None
        )
        fields = ("coroutine_bytes", "thread_bytes", "slots", "repeats")
        if not isinstance(item, dict) or any(type(item.get(f)) is not int for f in fields):
            return None
        return cls(*(item[f] for f in fields))


def slot_memory(slots: int = DEFAULT_SLOTS, repeats: int = DEFAULT_REPEATS) -> SlotMemory | None:
    """Measure a waiting coroutine's and a waiting thread's memory, each in fresh interpreters.

    None where ``/proc/self/status`` gives no resident set (not Linux) or a child fails.
    """
    if not _STATUS.is_file():
        return None
    try:
        coroutine = _median_per_slot("coroutine", slots, repeats)
        thread = _median_per_slot("thread", slots, repeats)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return SlotMemory(coroutine, thread, slots, repeats)


def _median_per_slot(kind: str, slots: int, repeats: int) -> int:
    """Bytes per slot of ``kind``: the median over ``repeats`` fresh interpreters.

    Raises:
        OSError, SubprocessError: a child could not run or failed. ValueError: it said no number.
    """
    growths = []
    for _ in range(repeats):
        # -I -S: no site packages or environment, so the child holds only what it measures.
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _CHILD, kind, str(slots)],
            capture_output=True,
            text=True,
            timeout=_CHILD_TIMEOUT_S,
            check=True,
        )
        growths.append(int(done.stdout) * 1024)
    return max(0, round(statistics.median(growths) / slots))
