"""Each table's heading shows the grain the serial run measured, and the one asked for beside it."""

from __future__ import annotations

from dist_bench.report.content import ReportData
from dist_bench.results import Record, Results


def record(backend: str, task_total: float, grain_s: float = 0.0002, **kw: object) -> Record:
    fields: dict[str, object] = dict(
        workload="blas",
        backend=backend,
        tasks=16,
        grain_s=grain_s,
        bytes_per_task=0,
        units=1,
        workers=1,
        wall_s=[task_total * 1.01] * 3,
        task_s=[task_total * f for f in (0.98, 1.0, 1.03)],
        verified=True,
    )
    fields.update(kw)
    return Record(**fields)  # type: ignore[arg-type]


def title(*records: Record) -> str:
    (group,) = ReportData(Results(metadata={}, backends=[], records=list(records))).groups
    return group.title


def test_the_heading_shows_the_measured_grain_and_the_one_asked() -> None:
    measured = record("serial", 16 * 928e-6)
    assert title(record("threads", 0.1), measured) == (
        "blas: 16 tasks x 928 µs grain (asked 200 µs)"
    )


def test_the_asked_grain_is_left_out_where_it_reads_the_same() -> None:
    assert title(record("serial", 16 * 201e-6)) == "blas: 16 tasks x 201 µs grain (asked 200 µs)"
    assert title(record("serial", 16 * 200.2e-6)) == "blas: 16 tasks x 200 µs grain"


def test_without_a_serial_run_the_heading_shows_the_grain_asked() -> None:
    assert title(record("threads", 0.1)) == "blas: 16 tasks x 200 µs grain"
    failed = record("serial", 0.1, verified=False)
    assert title(failed) == "blas: 16 tasks x 200 µs grain"


def test_bytes_per_task_follow_the_grains() -> None:
    heading = title(record("serial", 16 * 1e-3, bytes_per_task=512 * 1024))
    assert heading == "blas: 16 tasks x 1.0 ms grain (asked 200 µs), 512.0 KiB per task"
