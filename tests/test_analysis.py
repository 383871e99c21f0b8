"""From records to findings: speedups, efficiency, and which reason each finding names.

These use hand-made records (scripted timings), so the maths is checked without timing anything.
"""

from __future__ import annotations

import pytest

from dist_bench.analysis import RecordWarningKind, summarize
from dist_bench.findings import FindingKind
from dist_bench.report.record_sentences import record_finding, record_warning
from dist_bench.results import BackendRun, Record, Results
from dist_bench.stats import spread
from dist_bench.units import format_bytes, format_seconds


def record(backend: str, wall: float, task_total: float, workers: int = 2, **kw: object) -> Record:
    fields: dict[str, object] = dict(
        workload="w",
        backend=backend,
        tasks=10,
        grain_s=0.01,
        bytes_per_task=0,
        units=1,
        workers=workers,
        wall_s=[wall * f for f in (0.99, 1.0, 1.01)],
        task_s=[task_total] * 3,
        verified=True,
    )
    fields.update(kw)
    return Record(**fields)  # type: ignore[arg-type]


def results(*records: Record, shares: tuple[str, ...] = ("serial", "threads")) -> Results:
    runs = [
        BackendRun(r.backend, 0.1, 0.0, {"shares_memory": r.backend in shares}) for r in records
    ]
    return Results(metadata={}, backends=runs, records=list(records))


def test_speedup_efficiency_and_overhead() -> None:
    serial = record("serial", 0.1, 0.1, workers=1)
    processes = record("processes", 0.055, 0.1)
    _, summary = summarize(results(serial, processes))
    assert summary.speedup == pytest.approx(0.1 / 0.055)
    assert summary.efficiency == pytest.approx(0.1 / 0.055 / 2)
    assert summary.overhead_per_task_s == pytest.approx((0.055 - 0.1 / 2) / 10)
    assert summary.task_time_ratio == pytest.approx(1.0)
    assert summary.finding is FindingKind.PARALLEL
    assert record_finding(summary).startswith("parallel: 1.8x on 2 workers")


def test_gil_contention_is_named() -> None:
    serial = record("serial", 0.1, 0.1, workers=1)
    threads = record("threads", 0.1, 0.2)
    _, summary = summarize(results(serial, threads))
    assert summary.task_time_ratio == pytest.approx(2.0)
    assert summary.finding is FindingKind.GIL
    assert "took turns" in record_finding(summary) and "GIL" in record_finding(summary)


def test_dispatch_overhead_is_named_for_fine_grains() -> None:
    serial = record("serial", 0.1, 0.1, workers=1)
    remote = record("dask", 0.5, 0.1)
    _, summary = summarize(results(serial, remote))
    assert summary.speedup is not None and summary.speedup < 1
    assert summary.finding is FindingKind.DISPATCH
    assert record_finding(summary).startswith("dispatch costs 45.0 ms per task against 10.0 ms")


def test_moving_bytes_is_named_for_data_heavy_losses() -> None:
    serial = record("serial", 0.1, 0.1, workers=1, bytes_per_task=4 << 20)
    processes = record("processes", 0.3, 0.1, bytes_per_task=4 << 20)
    _, summary = summarize(results(serial, processes))
    assert summary.finding is FindingKind.BYTES
    assert "moving 4.0 MiB" in record_finding(summary)


def test_a_wrong_answer_is_never_a_speedup() -> None:
    serial = record("serial", 0.1, 0.1, workers=1)
    liar = record("processes", 0.01, 0.1, verified=False)
    _, summary = summarize(results(serial, liar))
    assert summary.finding is FindingKind.WRONG
    assert "WRONG ANSWER" in record_finding(summary)


def test_unstable_and_too_short_runs_are_warned() -> None:
    noisy = record("serial", 0.0005, 0.0005, workers=1)
    noisy.wall_s = [0.0002, 0.0005, 0.0009]
    (summary,) = summarize(results(noisy))
    unstable, short = summary.warnings
    assert unstable.kind is RecordWarningKind.UNSTABLE
    assert unstable.value == pytest.approx(spread(noisy.wall_s))
    assert short.kind is RecordWarningKind.TOO_SHORT and short.value == pytest.approx(0.0005)
    assert record_warning(unstable).startswith("unstable: runs vary by 66% of their mean")
    assert "under 1 ms" in record_warning(short)


def test_formatting() -> None:
    assert format_seconds(2.5) == "2.50 s"
    assert format_seconds(0.0123) == "12.3 ms"
    assert format_seconds(0.000042) == "42 µs"
    assert format_bytes(4 << 20) == "4.0 MiB"
    assert format_bytes(10) == "10 B"


def test_overlapped_waits_are_called_concurrency() -> None:
    serial = record("serial", 0.5, 0.5, workers=1, task_cpu_s=[0.01] * 3)
    threads = record("threads", 0.1, 0.5, workers=6)
    _, summary = summarize(results(serial, threads))
    assert summary.baseline_cpu_share == pytest.approx(0.02)
    assert summary.finding is FindingKind.WAITS
    assert "overlapped waits: tasks use 2% CPU" in record_finding(summary)


def test_cpu_bound_work_is_not_called_waiting() -> None:
    serial = record("serial", 0.5, 0.5, workers=1, task_cpu_s=[0.49] * 3)
    processes = record("processes", 0.26, 0.5)
    _, summary = summarize(results(serial, processes))
    assert summary.finding is FindingKind.PARALLEL


def test_work_needing_more_cpu_on_workers_names_the_engines_allocator_setting() -> None:
    serial = record("serial", 1.0, 1.0, workers=1, task_cpu_s=[1.0] * 3)
    dask = record("dask", 1.0, 1.9, task_cpu_s=[1.8] * 3)
    runs = results(serial, dask)
    runs.backends[1].topology["worker_environment"] = {"MALLOC_TRIM_THRESHOLD_": "65536"}
    _, summary = summarize(runs)
    assert summary.task_cpu_ratio == pytest.approx(1.8)
    assert summary.finding is FindingKind.SLOWER_WORK
    assert summary.malloc_trim_threshold == "65536"
    assert "1.8x the CPU time" in record_finding(summary)
    assert "MALLOC_TRIM_THRESHOLD_=65536" in record_finding(summary)


def test_tasks_slowed_without_more_cpu_waited_for_a_core() -> None:
    serial = record("serial", 1.0, 1.0, workers=1, task_cpu_s=[1.0] * 3)
    ray = record("ray", 1.0, 1.9, task_cpu_s=[1.0] * 3)
    _, summary = summarize(results(serial, ray))
    assert summary.finding is FindingKind.CORE_WAIT
    assert "waited for a core" in record_finding(summary)
