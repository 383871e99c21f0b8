"""Task granularity: how tasks are grouped, the automatic size, and chunked jobs end to end."""

from __future__ import annotations

import asyncio
import functools
import math

import pytest

from dist_bench.backends import BackendOptions, create_backend
from dist_bench.chunking import (
    MIN_DISPATCHES_PER_WORKER,
    TARGET_DISPATCH_SHARE,
    Chunks,
    auto_chunk_size,
    plan_chunks,
    probe_dispatch_s,
)
from dist_bench.measure import MeasureSettings, measure, prepare_job
from dist_bench.units import AUTO, parse_chunk
from dist_bench.worker import run_chunk, timed_call_async
from dist_bench.workload import Job, builtin_workloads


@pytest.mark.parametrize(("tasks", "size"), [(10, 3), (7, 7), (7, 100), (100, 1), (1001, 250)])
def test_chunks_cover_every_task_once_evenly(tasks: int, size: int) -> None:
    chunks = Chunks.of(tasks, size)
    assert sum(chunks.lengths) == tasks
    assert max(chunks.lengths) <= size
    assert max(chunks.lengths) - min(chunks.lengths) <= 1
    assert len(chunks.lengths) == math.ceil(tasks / size)


def test_rows_pack_each_chunks_arguments() -> None:
    chunks = Chunks.of(5, 2)
    rows = chunks.rows([(0, "a"), (1, "b"), (2, "c"), (3, "d"), (4, "e")])
    assert rows == [((2, 2), (0, "a", 1, "b")), ((2, 2), (2, "c", 3, "d")), ((2,), (4, "e"))]


def test_placed_inputs_go_top_level_once_per_chunk() -> None:
    big, other = object(), object()
    chunks = Chunks.of(3, 2)
    rows = chunks.rows([(big, 1), (big, 2), (other, 3)], {id(big), id(other)})
    (lengths, packed, *handles), last = rows
    assert lengths == (2, 2) and handles == [big]
    assert [type(a).__name__ for a in packed] == ["PlacedSlot", "int", "PlacedSlot", "int"]
    assert last[2:] == (other,)
    # The worker side puts them back.
    assert run_chunk(lambda a, b: (a, b), lengths, packed, *handles) == (
        [(big, 1), (big, 2)],
        None,
        None,
    )


def test_single_task_dispatch_leaves_the_job_untouched() -> None:
    chunks = Chunks.of(3, 1)
    items = [(1,), (2,), (3,)]
    assert not chunks.batched
    assert chunks.rows(items) == items
    assert chunks.wrap(abs, coroutine=False) is abs


def test_per_task_shares_a_chunks_time_equally() -> None:
    chunks = Chunks.of(3, 2)
    dispatched = [(([10, 20], None, None), 0.4, 0.2, "w1"), (([30], None, None), 0.1, 0.05, "w2")]
    assert chunks.per_task(dispatched) == [
        (10, 0.2, 0.1, "w1"),
        (20, 0.2, 0.1, "w1"),
        (30, 0.1, 0.05, "w2"),
    ]


def test_auto_size_keeps_dispatch_under_the_target_share() -> None:
    # 100 µs per dispatch, 10 µs tasks, 2 workers: c >= 100 * 2 / (share * 10).
    size = auto_chunk_size(100e-6, 10e-6, workers=2, tasks=1_000_000)
    assert size == math.ceil(100e-6 * 2 / (TARGET_DISPATCH_SHARE * 10e-6))
    dispatch_share = (1 / size * 100e-6) / (10e-6 / 2)
    assert dispatch_share <= TARGET_DISPATCH_SHARE


def test_auto_size_leaves_coarse_tasks_alone_and_every_worker_enough_dispatches() -> None:
    assert auto_chunk_size(100e-6, 0.05, workers=2, tasks=1000) == 1
    assert auto_chunk_size(0.0, 1e-6, workers=2, tasks=1000) == 1
    capped = auto_chunk_size(2e-3, 1e-6, workers=4, tasks=1000)
    assert capped == 1000 // (MIN_DISPATCHES_PER_WORKER * 4)


def test_parse_chunk_accepts_auto_and_positive_counts() -> None:
    assert parse_chunk("auto") == AUTO
    assert parse_chunk(" AUTO ") == AUTO
    assert parse_chunk("64") == 64
    for bad in ("0", "-3", "big", "1.5"):
        with pytest.raises(ValueError, match="neither 'auto' nor a positive number"):
            parse_chunk(bad)


def test_auto_chunks_tiny_tasks_on_processes_and_the_answer_matches_serial() -> None:
    workload = builtin_workloads()["cpu"]
    prepared = prepare_job(workload, Job(tasks=2000, grain_s=1e-5, bytes_per_task=0))
    backend = create_backend("processes", BackendOptions(workers=2))
    backend.start()
    try:
        dispatch_s = probe_dispatch_s(backend)
        tasks = workload.make_tasks(prepared.job)
        auto = measure(
            backend,
            prepared,
            tasks,
            MeasureSettings(repeats=1, warmup=0, chunk=AUTO),
            dispatch_s=dispatch_s,
        )
        naive = measure(backend, prepared, tasks, MeasureSettings(repeats=1, warmup=0, chunk=1))
        fixed = measure(backend, prepared, tasks, MeasureSettings(repeats=1, warmup=0, chunk=300))
    finally:
        backend.shutdown()
    expected = plan_chunks(AUTO, backend, 2000, 1e-5, dispatch_s)
    assert (auto.chunk, auto.chunk_auto) == (expected.size, True)
    assert (naive.chunk, naive.chunk_auto) == (1, False)
    assert (fixed.chunk, fixed.chunk_auto) == (Chunks.of(2000, 300).size, False)  # 7 of 286
    assert auto.verified and naive.verified and fixed.verified
    assert fixed.distinct_workers == 2
    assert all(len(r.task_s) == 1 and r.task_s[0] > 0 for r in (auto, naive, fixed))


async def _double_later(value: int) -> int:
    await asyncio.sleep(0.001)
    return 2 * value


def test_chunks_of_coroutines_run_on_the_event_loop() -> None:
    backend = create_backend("asyncio", BackendOptions(workers=2))
    backend.start()
    try:
        chunks = Chunks.of(5, 2)
        call = functools.partial(timed_call_async, chunks.wrap(_double_later, coroutine=True), 1)
        timed = chunks.per_task(
            chunks.dispatch(backend, call, chunks.rows([(i,) for i in range(5)]))
        )
    finally:
        backend.shutdown()
    assert [value for value, _, _, _ in timed] == [0, 2, 4, 6, 8]
    assert all(seconds >= 0.001 / 2 for _, seconds, _, _ in timed)
