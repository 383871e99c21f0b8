"""Measuring a job: what the engine reported is kept in the record, whenever it happened."""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from dist_bench.backends.serial import SerialBackend
from dist_bench.measure import MeasureSettings, measure, prepare_job
from dist_bench.workload import Job, builtin_workloads


class _ReportingSerial(SerialBackend):
    """The serial backend, with engine reports scripted per ``drain_notes`` call."""

    def __init__(self, reports: list[list[str]]) -> None:
        super().__init__()
        self.reports = deque(reports)

    def drain_notes(self) -> list[str]:
        return self.reports.popleft() if self.reports else []


def test_notes_from_before_and_during_the_jobs_are_all_kept() -> None:
    prepared = prepare_job(
        builtin_workloads()["cpu"], Job(tasks=2, grain_s=0.001, bytes_per_task=0)
    )
    backend = _ReportingSerial([["worker A lost"], [], ["worker B lost"]])
    backend.start()
    try:
        tasks = prepared.workload.make_tasks(prepared.job)
        record = measure(backend, prepared, tasks, MeasureSettings(repeats=2, warmup=0))
    finally:
        backend.shutdown()
    assert record.verified
    assert record.notes == ["before the first job: worker A lost", "worker B lost"]


class _VirtualClockSerial(SerialBackend):
    """The serial backend on a clock that only the workload's merge moves."""

    now = 0.0

    def clock(self) -> float:
        return self.now


def test_the_merge_of_the_results_is_part_of_the_timed_job() -> None:
    backend = _VirtualClockSerial()
    wordcount = builtin_workloads()["wordcount"]

    def merge_taking_a_second(results: list[dict[str, int]]) -> dict[str, int]:
        backend.now += 1.0
        return wordcount.combine(results)

    workload = replace(wordcount, combine=merge_taking_a_second)
    prepared = prepare_job(workload, Job(tasks=3, grain_s=0.001, bytes_per_task=0))
    backend.start()
    try:
        tasks = workload.make_tasks(prepared.job)
        record = measure(backend, prepared, tasks, MeasureSettings(repeats=2, warmup=1))
    finally:
        backend.shutdown()
    assert record.verified
    assert record.wall_s == [1.0, 1.0] and record.warmup_s == [1.0]
