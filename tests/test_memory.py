"""The driver's peak memory growth over a block: what it counts, and where it cannot measure."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dist_bench import memory
from dist_bench.memory import peak_growth

MIB = 1 << 20

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the resettable peak RSS is Linux's"
)


@linux_only
def test_memory_touched_and_freed_inside_the_block_counts() -> None:
    with peak_growth() as growth:
        block = bytearray(40 * MIB)  # zero-filled: every page touched
        del block
    assert growth.bytes is not None
    # The peak, not the end: freed before the block ended, it still counts (pages: a little less).
    assert growth.bytes >= 30 * MIB


@linux_only
def test_a_peak_reached_before_the_block_does_not_count() -> None:
    before = bytearray(40 * MIB)
    del before
    with peak_growth() as growth:
        pass
    assert growth.bytes is not None and growth.bytes < 10 * MIB


def test_without_a_resettable_peak_nothing_is_measured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(memory, "_CLEAR_REFS", tmp_path / "missing" / "clear_refs")
    with peak_growth() as growth:
        pass
    assert growth.bytes is None
