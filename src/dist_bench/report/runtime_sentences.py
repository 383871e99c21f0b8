"""Interpreters in words: what each changes for tasks side by side, and its single-thread speed."""

from __future__ import annotations

from dist_bench.runtime import RuntimeInfo


def runtime_reason(info: RuntimeInfo) -> str:
    """What an interpreter changes for tasks side by side: ``free-threaded: no GIL``, ..."""
    if info.free_threaded:
        gil = "free-threaded: no GIL" if not info.gil_enabled else "free-threaded, GIL back on"
    else:
        gil = "one GIL per process: threads take turns"
    if info.interpreters:
        gil += "; subinterpreters: own GIL per interpreter"
    return f"{gil}; start method {info.start_method}"


def runtime_title(info: RuntimeInfo, *, host: bool) -> str:
    """A runtime as a table's title names it: ``Python 3.14.10 (...)``, the host said as such."""
    return f"Python {info.label}{' (host)' if host else ''}: {runtime_reason(info)}"


def serial_speedup_sentence(label: str, speedup: float) -> str:
    """A runtime's single-thread speed against the host's, on the same work."""
    if speedup >= 1:
        return f"{label}'s serial run did the same work {speedup:.2f}x as fast as the host's"
    return f"{label}'s serial run did the same work {1 / speedup:.2f}x slower than the host's"
