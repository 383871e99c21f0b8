"""The shapes the default cutover adds after its search: lessons an adaptive search never asks for.

The search measures each backend as started, one task per dispatch, on lines through one centre
shape. Three lessons need more: tiny tasks sent one per dispatch against batched (``--chunk
auto``); Amdahl's law fitted through several worker counts (a backend restarted with fewer
workers: processes on 1 and 2, threads on 1 beside their default pool); and a wait-bound job on
a hundred coroutines beside threads (asyncio given its own slot count, not the threads'
default), with what a waiting slot of each holds (``memory.slot_memory``, measured in fresh
interpreters apart from the jobs, kept in the file's ``metadata.slot_memory``). Each is a fixed,
cheap shape on a backend that starts in well under a second, measured with serial at the same
shape so every row has its baseline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

from dist_bench.backend_session import measure_prepared, started_backend
from dist_bench.backends import BackendOptions
from dist_bench.backends.base import BASELINE
from dist_bench.measure import MeasureSettings, PreparedJob
from dist_bench.memory import slot_memory
from dist_bench.results import Record
from dist_bench.results_writer import ResultsWriter
from dist_bench.sweep import BackendFactory
from dist_bench.units import AUTO, ChunkMode
from dist_bench.workload import Job, Workload

#: The tiny-task shape: 10 µs of work per task, as many tasks as keep serial's job near 10 ms
#: (one task per dispatch on processes then takes about 0.1-0.2 s a job).
TINY_JOB = Job(tasks=1000, grain_s=1e-5, bytes_per_task=0)
#: The Amdahl shape: wordcount's largest job in the default search (16 tasks of half its default
#: grain), where fixed costs weigh least.
AMDAHL_JOB = Job(tasks=16, grain_s=0.01, bytes_per_task=0)
#: A hundred waits of 2 ms on the loopback server (a connection costs a few hundred µs on top):
#: 100 coroutines or threads overlap them all at once, where the threads' default pool (cores +
#: 4) takes them a few at a time; serial's job stays near a quarter of a second.
MANY_WAITS_JOB = Job(tasks=100, grain_s=0.002, bytes_per_task=0)
MANY_SLOTS = 100


@dataclass(frozen=True)
class LessonShape:
    """One extra measurement: a workload's job on a backend, with its own workers and chunking.

    ``workers`` ``None`` is the backend's default. ``memory``: beside it, a waiting slot's memory
    is measured (``memory.slot_memory``, once a run).
    """

    workload: str
    job: Job
    backend: str
    workers: int | None = None
    chunk: ChunkMode = 1
    memory: bool = False


LESSON_SHAPES: tuple[LessonShape, ...] = (
    LessonShape("cpu", TINY_JOB, BASELINE),
    LessonShape("cpu", TINY_JOB, "processes"),
    LessonShape("cpu", TINY_JOB, "processes", chunk=AUTO),
    LessonShape("wordcount", AMDAHL_JOB, BASELINE),
    LessonShape("wordcount", AMDAHL_JOB, "processes", workers=1),
    LessonShape("wordcount", AMDAHL_JOB, "processes", workers=2),
    # Threads: 1 worker here and their default pool in the search, enough to show no gain.
    LessonShape("wordcount", AMDAHL_JOB, "threads", workers=1),
    LessonShape("io", MANY_WAITS_JOB, BASELINE),
    LessonShape("io", MANY_WAITS_JOB, "threads"),
    LessonShape("io", MANY_WAITS_JOB, "asyncio", workers=MANY_SLOTS, memory=True),
    LessonShape("io", MANY_WAITS_JOB, "threads", workers=MANY_SLOTS, memory=True),
)


class Search(Protocol):
    """What the cutover search lends: its plan's parts, its cache of prepared jobs, its clock."""

    writer: ResultsWriter
    by_name: dict[str, Workload]

    def prepare(self, workload: Workload, job: Job) -> PreparedJob:
        """``job`` calibrated and answered, once however many backends run it."""
        ...

    def progress(self, description: str) -> None:
        """Report what is being measured now."""
        ...


def measure_lesson_shapes(
    search: Search,
    backends: Sequence[str],
    options: BackendOptions,
    settings: MeasureSettings,
    modules: list[ModuleType],
    make_backend: BackendFactory,
) -> list[Record]:
    """Measure every lesson shape whose workload and backend the search has, one start each.

    Shapes of one backend and worker count share a start; each record is written as measured.
    A shape the search already measured as asked (serial, or a backend at its own worker count)
    is not measured again. After them, when a shape wants it, a waiting slot's memory is
    measured and kept in the results' metadata (``slot_memory``; nothing where not Linux).
    """
    wanted = [
        shape
        for shape in LESSON_SHAPES
        if shape.workload in search.by_name
        and shape.backend in backends
        and not _measured(search.writer.results.records, shape)
    ]
    starts: dict[tuple[str, int | None], list[LessonShape]] = {}
    for shape in wanted:
        starts.setdefault((shape.backend, shape.workers), []).append(shape)
    records = []
    for (name, workers), shapes in starts.items():
        asked = workers if workers is not None else options.workers
        backend = make_backend(name, dataclasses.replace(options, workers=asked))
        # Probed and recorded as the search's starts are, for the --chunk auto shapes.
        probe = any(shape.chunk == AUTO for shape in shapes)
        with started_backend(backend, modules, search.writer, probe_dispatch=probe):
            for shape in shapes:
                workload = search.by_name[shape.workload]
                prepared = search.prepare(workload, shape.job)
                search.progress(f"lesson: {workload.name} on {name}")
                record = measure_prepared(
                    backend, prepared, dataclasses.replace(settings, chunk=shape.chunk)
                )
                search.writer.add_record(record)
                records.append(record)
    if any(shape.memory for shape in wanted):
        # After every backend stopped: the children's memory and CPU disturb no timed job.
        search.progress("lesson: a waiting slot's memory")
        memory = slot_memory(MANY_SLOTS)
        if memory is not None:
            search.writer.results.metadata["slot_memory"] = memory.to_json()
            search.writer.save()
    return records


def _measured(records: Sequence[Record], shape: LessonShape) -> bool:
    """Whether the search measured ``shape`` already: its job, backend, chunking and workers.

    A shape at the backend's default worker count (``None``) matches any the search ran.
    """
    job = shape.job
    return any(
        (r.workload, r.backend, r.tasks, r.grain_s, r.bytes_per_task)
        == (shape.workload, shape.backend, job.tasks, job.grain_s, job.bytes_per_task)
        and r.chunk_auto == (shape.chunk == AUTO)
        and (shape.workers is None or r.workers == shape.workers)
        and r.error is None
        for r in records
    )
