"""Numbers a learner can trust on sight: one row per shape, no figure the fit cannot identify.

A shape measured twice (the cutover search measures some again for evidence) is one row with
every sample; P_eff above the workers, a bandwidth for a backend that moves nothing, and a
Karp-Flatt fraction where it is undefined are never shown as bare numbers.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from dist_bench.analysis import summarize
from dist_bench.costmodel import CostFit
from dist_bench.pooling import pool_records
from dist_bench.report.columns import MEASUREMENT_COLUMNS
from dist_bench.report.content import ReportData
from dist_bench.report.cutover_content import FIT_COLUMNS
from dist_bench.report.plot import label_groups
from dist_bench.report.record_sentences import record_finding
from dist_bench.results import Record, Results
from tests.test_analysis import record as make_record
from tests.test_report import render


def record(backend: str, wall: list[float], workers: int = 2, **changes: object) -> Record:
    """``backend``'s 8 tasks of 10 ms (80 ms of work) with these job times."""
    fields: dict[str, object] = {"warmup_s": [2 * wall[0]], "task_cpu_s": [0.08] * len(wall)}
    fields.update(changes)
    return make_record(
        backend, 0.0, 0.08, 1 if backend == "serial" else workers, wall_s=wall, **fields
    )


SERIAL = record("serial", [0.080, 0.081, 0.082])


def test_a_shape_measured_twice_is_one_row_with_every_sample() -> None:
    first = record("ray", [0.060, 0.061, 0.062])
    again = record("ray", [0.045, 0.044, 0.046], notes=["worker restarted"])
    summaries = [
        s for s in summarize(Results({}, [], [SERIAL, first, again])) if s.record.backend == "ray"
    ]
    assert len(summaries) == 1
    pooled = summaries[0].record
    assert pooled.wall_s == first.wall_s + again.wall_s
    assert pooled.warmup_s[0] == first.warmup_s[0]
    assert pooled.notes == ["worker restarted"]
    # The pooled speedup lies between the two runs' own.
    assert 0.081 / 0.061 < (summaries[0].speedup or 0.0) < 0.081 / 0.045


@pytest.mark.parametrize(
    ("change", "rows"),
    [
        ({}, 1),
        ({"workers": 4}, 2),  # a worker-count sweep: another measurement, its own row
        ({"chunk": 4}, 2),  # another chunk size: its own row
        ({"chunk_auto": True}, 2),
        ({"grain_s": 0.02}, 2),
        ({"error": "boom", "wall_s": []}, 2),  # a failure is a row, never a sample
    ],
)
def test_only_the_same_shape_on_the_same_workers_pools(
    change: dict[str, object], rows: int
) -> None:
    first = record("processes", [0.05, 0.05, 0.05])
    assert len(pool_records([first, replace(first, **change)])) == rows


def test_one_wrong_answer_makes_the_pooled_row_wrong() -> None:
    first = record("threads", [0.08, 0.08, 0.08])
    pooled = pool_records([first, replace(first, verified=False)])
    assert len(pooled) == 1 and not pooled[0].verified


def test_the_report_lists_a_repeated_shape_once() -> None:
    rows = [record("ray", [0.06] * 3), record("ray", [0.05] * 3)]
    groups = ReportData(Results({}, [], [SERIAL, *rows])).groups
    assert [len(g.summaries) for g in groups] == [2]


def _karp_flatt_cell(wall: list[float]) -> str:
    column = next(c for c in MEASUREMENT_COLUMNS if c.flat_title == "Karp-Flatt")
    summary = next(
        s
        for s in summarize(Results({}, [], [SERIAL, record("processes", wall)]))
        if s.record.backend == "processes"
    )
    return column.cell(summary)


@pytest.mark.parametrize(
    ("wall", "shown"),
    [
        ([0.055, 0.056, 0.057], True),  # 1.45x on 2 workers: a serial fraction of 0.38
        ([1.10, 1.11, 1.12], False),  # 70x slower: (1/S - 1/p)/(1 - 1/p) would read 143
        ([0.079, 0.081, 0.083], False),  # level with serial: "serial fraction 1.00"
        ([0.030, 0.031, 0.032], False),  # above ideal (2.6x on 2): negative
    ],
)
def test_karp_flatt_only_where_defined(wall: list[float], shown: bool) -> None:
    assert (_karp_flatt_cell(wall) != "-") is shown


def test_no_speedup_beyond_doubt_is_not_called_partly_parallel() -> None:
    slow = record("processes", [0.078, 0.080, 0.084])
    summary = next(
        s for s in summarize(Results({}, [], [SERIAL, slow])) if s.record.backend == "processes"
    )
    text = record_finding(summary)
    assert "partly" not in text and "serial fraction" not in text
    assert "no speedup beyond doubt" in text


def fit(backend: str, parallelism: float, bandwidth: float | None, shares: bool) -> CostFit:
    return CostFit(
        workload="data",
        backend=backend,
        startup_s=1e-3,
        per_task_overhead_s=1e-4,
        effective_parallelism=parallelism,
        bandwidth_bytes_per_s=bandwidth,
        workers=2,
        points=6,
        shares_memory=shares,
    )


def _cells(item: CostFit) -> dict[str, str]:
    return {c.flat_title: c.cell(item) for c in FIT_COLUMNS}


@pytest.mark.parametrize(
    ("item", "column", "expected"),
    [
        (fit("processes", 1.8, 2e9, False), "P_eff", "1.80"),
        (fit("processes", 3.4, 2e9, False), "P_eff", "n/i (3.4>2)"),
        (fit("processes", float("inf"), 2e9, False), "P_eff", "n/i (no work)"),
        (fit("processes", 1.8, 2 * 2**30, False), "B", "2.0 GiB/s"),
        (fit("serial", 1.0, 528 * 2**30, True), "B", "none (shared)"),
        (fit("threads", 1.0, None, True), "B", "-"),
    ],
)
def test_unidentified_fit_figures_are_explained(item: CostFit, column: str, expected: str) -> None:
    assert _cells(item)[column].startswith(expected)


def test_placement_time_is_shown_where_inputs_were_placed() -> None:
    placed = record("dask", [0.05] * 3, placement_s=0.0123)
    group = ReportData(Results({}, [], [SERIAL, placed, record("threads", [0.06] * 3)])).groups[0]
    remarks = dict(group.remarks())
    assert list(remarks) == ["dask"]
    assert "12.3 ms (dask)" in remarks["dask"] and "not in the median" in remarks["dask"]


def test_close_crossover_labels_share_a_place_and_far_ones_do_not() -> None:
    marks = [(0, 1e-3, 0, "a → b"), (0, 1.2e-3, 0, "c → d"), (0, 5e-3, 0, "e → f")]
    assert label_groups(marks) == [(1e-3, ["a → b", "c → d"]), (5e-3, ["e → f"])]


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_every_report_has_the_glossary(fmt: str) -> None:
    text = render(Results({}, [], [SERIAL, record("processes", [0.05] * 3)]), fmt).decode()
    for term in ("grain", "P_eff", "held-out error", "METG", "Karp-Flatt serial fraction"):
        assert term in text


def test_markdown_findings_name_each_rows_kind_in_table_order() -> None:
    rows = [record("processes", [0.05] * 3), record("threads", [0.08] * 3)]
    text = render(Results({}, [], [SERIAL, *rows]), "md").decode()
    findings = [line for line in text.splitlines() if line.startswith("- **")]
    # Serial's finding repeats the heading; the driver's interpreter comes before the workers'.
    assert [line.split(":")[0] for line in findings[:2]] == [
        "- **threads** _(one interpreter)_",
        "- **processes** _(an interpreter per worker)_",
    ]
    assert not any(line.startswith("- **serial**") for line in findings)


def _calibrated(backend: str, units: int, per_unit_s: float, round_index: int) -> Record:
    """``backend``'s job of ``units`` units of work (1 ms each in its tasks), ``per_unit_s`` of
    wall time per unit."""
    job_s, work_s = per_unit_s * units, 1e-3 * units
    return record(
        backend,
        [job_s * f for f in (0.99, 1.0, 1.01)],
        units=units,
        round=round_index,
        warmup_s=[2 * job_s],
        task_s=[work_s] * 3,
        task_cpu_s=[work_s] * 3,
    )


def test_rounds_calibrated_apart_pool_per_unit_of_work() -> None:
    # Round 1 calibrated 1.5x the units of round 0 (a quieter moment); the machine's speed per
    # unit did not change, so neither did the measurement: one job length, no spread.
    first, second = _calibrated("serial", 100, 1e-3, 0), _calibrated("serial", 150, 1e-3, 1)
    [pooled] = pool_records([first, second])
    assert pooled.units == first.units
    assert pooled.wall_s == pytest.approx(first.wall_s * 2)
    assert pooled.warmup_s == pytest.approx(first.warmup_s * 2)
    assert pooled.task_s == pytest.approx(first.task_s * 2)
    assert pooled.task_cpu_s == pytest.approx(first.task_cpu_s * 2)


def test_a_speedup_divides_times_per_unit_when_the_baseline_was_calibrated_apart() -> None:
    # processes (2x serial's speed per unit) failed in round 0 and ran in round 1 only, where
    # the calibration gave 1.5x the units: serial's pooled row holds round 0's job length.
    serial = [_calibrated("serial", 100, 1e-3, 0), _calibrated("serial", 150, 1e-3, 1)]
    failed = replace(_calibrated("processes", 100, 5e-4, 0), error="boom", wall_s=[])
    processes = _calibrated("processes", 150, 5e-4, 1)
    summaries = summarize(Results({}, [], [*serial, failed, processes]))
    [measured] = [s for s in summaries if s.record.backend == "processes" and s.record.wall_s]
    assert measured.speedup == pytest.approx(2.0)
    assert measured.task_time_ratio == pytest.approx(1.0)
    assert measured.task_cpu_ratio == pytest.approx(1.0)
