"""How much the driver's resident memory grew at its peak over a block of work.

What threads and coroutines cost beside each other: both run in the driver, so the memory their
slots hold shows in the driver's resident set (RSS). The peak, not the end: a job's coroutines
are gone when it ends, and so is what a thread touched on its stack but let go. Linux keeps the
peak (``VmHWM`` in ``/proc/self/status``) and resets it to the current RSS on request (``5`` to
``/proc/self/clear_refs``, Linux 4.0 and later); elsewhere nothing is measured.

Why RSS and not ``tracemalloc``: a thread's cost is mostly outside Python's allocators (its stack,
its malloc arena), which tracemalloc never sees, while RSS counts every page the process touched;
and tracemalloc slows every allocation of the jobs it watches, whose times are measured too.
RSS growth is a lower bound: memory the driver already held and freed earlier (a finished job's
objects, a thread stack glibc kept for reuse) is used again without growing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
#: What ``clear_refs`` takes to reset the peak RSS to the current one (proc(5)).
_RESET_PEAK = "5"


@dataclass
class PeakGrowth:
    """The result of ``peak_growth``: bytes, or None where the peak cannot be reset and read."""

    bytes: int | None = None


@contextmanager
def peak_growth() -> Iterator[PeakGrowth]:
    """Measure how far the driver's peak RSS rose above its RSS at the block's start.

    The figure is set when the block ends (however it ends); ``None`` where the platform
    offers no resettable peak.
    """
    growth = PeakGrowth()
    try:
        _CLEAR_REFS.write_text(_RESET_PEAK)
        before = _status_kib("VmRSS")
    except (OSError, ValueError):
        before = None
    try:
        yield growth
    finally:
        if before is not None:
            try:
                growth.bytes = max(0, _status_kib("VmHWM") - before) * 1024
            except (OSError, ValueError):
                growth.bytes = None


def _status_kib(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status``.

    Raises:
        OSError: the file cannot be read. ValueError: it has no such field.
    """
    match = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"no {field} in {_STATUS}")
    return int(match.group(1))
