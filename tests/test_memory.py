"""A waiting slot's memory, measured in fresh interpreters: plausible, kept and read back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dist_bench import memory
from dist_bench.memory import SlotMemory, slot_memory

KIB = 1024

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the resident set is read from Linux's /proc"
)


@linux_only
def test_a_waiting_thread_holds_more_than_a_waiting_coroutine_and_both_hold_some() -> None:
    # Here (CPython 3.11, x86-64 Linux) ten probes in a row each gave 1.1 KiB a coroutine (its
    # frame and its Task) and 16.2 KiB a thread (its stack's touched pages, its thread state).
    measured = slot_memory(slots=100, repeats=3)
    assert measured is not None
    assert (measured.slots, measured.repeats) == (100, 3)
    # The driver's own growth over a job once read 82 B a coroutine: impossible in CPython.
    assert 256 <= measured.coroutine_bytes <= 16 * KIB
    assert measured.coroutine_bytes < measured.thread_bytes <= 1024 * KIB


def test_without_a_resident_set_to_read_nothing_is_measured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(memory, "_STATUS", tmp_path / "missing" / "status")
    assert slot_memory() is None


def test_the_figures_are_read_back_from_the_latest_run_that_kept_them() -> None:
    first, latest = SlotMemory(1100, 16_000, 100, 5), SlotMemory(1200, 17_000, 100, 3)
    metadata = {
        "slot_memory": first.to_json(),
        "appended_runs": [{"slot_memory": latest.to_json()}, {"host": "h"}],
    }
    assert SlotMemory.from_metadata(metadata) == latest
    assert SlotMemory.from_metadata({"slot_memory": first.to_json()}) == first
    assert SlotMemory.from_metadata({}) is None
    damaged = {**first.to_json(), "thread_bytes": "16 KiB"}
    assert SlotMemory.from_metadata({"slot_memory": damaged}) is None
