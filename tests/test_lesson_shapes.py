"""The default cutover's lesson shapes: each measured with serial at the same shape, one start
per backend and worker count, only for the workloads and backends the search has."""

from __future__ import annotations

import dataclasses
import sys

from dist_bench.backends import BackendOptions
from dist_bench.backends.base import Backend
from dist_bench.backends.scripted import SCRIPTED_WORKLOAD, scripted_backend
from dist_bench.lesson_shapes import LESSON_SHAPES, MANY_SLOTS, measure_lesson_shapes
from dist_bench.measure import MeasureSettings, PreparedJob, prepare_job
from dist_bench.memory import SlotMemory
from dist_bench.results_writer import ResultsWriter
from dist_bench.workload import Job, Workload
from tests.scripted_costs import SCRIPTS, make_scripted


class _Search:
    """What ``measure_lesson_shapes`` borrows from the cutover search."""

    def __init__(self, workloads: list[str]) -> None:
        self.writer = ResultsWriter(None, {})
        self.by_name = {
            name: dataclasses.replace(SCRIPTED_WORKLOAD, name=name) for name in workloads
        }
        self.prepared: list[tuple[str, Job]] = []

    def prepare(self, workload: Workload, job: Job) -> PreparedJob:
        self.prepared.append((workload.name, job))
        return prepare_job(workload, job)

    def progress(self, description: str) -> None:
        pass


def test_every_lesson_shape_has_its_serial_baseline() -> None:
    backends = {shape.backend for shape in LESSON_SHAPES}
    for shape in LESSON_SHAPES:
        if shape.backend != "serial":
            assert any(
                other.backend == "serial"
                and (other.workload, other.job) == (shape.workload, shape.job)
                for other in LESSON_SHAPES
            ), shape
    assert {"processes", "threads", "asyncio"} <= backends


def test_only_the_searched_workloads_and_backends_run_one_start_per_worker_count() -> None:
    search = _Search(["io", "wordcount"])
    asked: list[tuple[str, int | None]] = []

    def make(name: str, options: BackendOptions) -> Backend:
        asked.append((name, options.workers))
        return make_scripted(name, options)

    records = measure_lesson_shapes(
        search, ["serial", "threads", "dask"], BackendOptions(), MeasureSettings(2, 0), [], make
    )
    # cpu was not searched, processes and asyncio not asked for: their shapes are passed over.
    assert {(r.workload, r.backend) for r in records} == {
        (workload, backend) for workload in ("io", "wordcount") for backend in ("serial", "threads")
    }
    # serial; threads at their default, at MANY_SLOTS and at 1 worker: each started once.
    assert sorted(asked, key=str) == sorted(
        [
            ("serial", None),
            ("threads", None),
            ("threads", MANY_SLOTS),
            ("threads", 1),
        ],
        key=str,
    )
    assert len(search.writer.results.backends) == len(asked)
    assert search.writer.results.records == records
    assert all(r.verified for r in records)


def test_a_shape_the_search_measured_already_is_not_measured_again() -> None:
    search = _Search(["io"])
    first = measure_lesson_shapes(
        search, ["serial"], BackendOptions(), MeasureSettings(2, 0), [], make_scripted
    )
    again = measure_lesson_shapes(
        search, ["serial"], BackendOptions(), MeasureSettings(2, 0), [], make_scripted
    )
    assert len(first) == 1 and again == []


def test_the_many_waits_shapes_measure_a_slots_memory_once_into_the_metadata() -> None:
    search = _Search(["io", "wordcount"])
    measure_lesson_shapes(
        search,
        ["serial", "threads", "asyncio", "processes"],
        BackendOptions(),
        MeasureSettings(2, 0),
        [],
        make_scripted_any,
    )
    kept = SlotMemory.from_metadata(search.writer.results.metadata)
    # Where the platform has a resident set to read (Linux); elsewhere nothing is kept.
    if sys.platform.startswith("linux"):
        assert kept is not None and kept.slots == MANY_SLOTS
        assert 0 < kept.coroutine_bytes < kept.thread_bytes
    else:
        assert kept is None


def test_without_the_many_waits_shapes_no_memory_is_measured() -> None:
    search = _Search(["wordcount"])
    measure_lesson_shapes(
        search, ["serial", "threads"], BackendOptions(), MeasureSettings(2, 0), [], make_scripted
    )
    assert "slot_memory" not in search.writer.results.metadata


def make_scripted_any(name: str, options: BackendOptions) -> Backend:
    """``make_scripted``, with asyncio scripted like threads (the scripts have no asyncio)."""
    if name == "asyncio":
        script, shares_memory = SCRIPTS["threads"]
        return scripted_backend(name, script, shares_memory)(options)
    return make_scripted(name, options)
