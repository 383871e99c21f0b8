"""The columns of the measurement and backend tables: title, meaning and each cell's text.

Every format lays out these same columns (the terminal, Markdown, HTML; the CSV its own way),
so their titles and cell texts live here once and the formats cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dist_bench.analysis import Summary
from dist_bench.report.scaling_sentences import node_slice_text
from dist_bench.results import BackendRun, Record
from dist_bench.units import format_bytes, format_seconds

DASH = "-"


@dataclass(frozen=True)
class Column:
    """One column of a table: its title, what it means (for the glossaries), its cell text.

    ``title`` may hold a line break where the terminal table wraps it; other formats join it.
    ``in_terminal`` is False for columns the 120-character terminal table leaves to the files.
    """

    title: str
    meaning: str
    cell: Callable[[Any], str]
    numeric: bool = True
    in_terminal: bool = True

    @property
    def flat_title(self) -> str:
        """The title on one line."""
        return self.title.replace("-\n", "-").replace("\n", " ")


def answer_text(summary: Summary) -> str:
    """``ok``, ``WRONG`` (differs from serial) or ``error`` (the measurement failed)."""
    record = summary.record
    if record.error:
        return "error"
    return "ok" if record.verified else "WRONG"


def _median_text(summary: Summary) -> str:
    if summary.median_s is None or summary.interval is None:
        return DASH
    low, high = (_bare(end) for end in (summary.interval.low, summary.interval.high))
    return f"{format_seconds(summary.median_s)} ({low}-{high})"


def _bare(seconds: float) -> str:
    """An interval end without repeating the unit (the median beside it carries it)."""
    return format_seconds(seconds).split(" ")[0]


def _speedup_text(summary: Summary) -> str:
    interval = summary.speedup_interval
    if summary.speedup is None or interval is None:
        return DASH
    return f"{summary.speedup:.2f}x ({interval.low:.2f}-{interval.high:.2f})"


def _optional(value: float | None, template: str) -> str:
    return DASH if value is None else template.format(value)


def _backend_text(record: Record) -> str:
    """The backend, with the cluster's size and slice for a node sweep's record."""
    if record.nodes is None:
        return record.backend
    slice_text = node_slice_text(record.node_cpus, record.node_memory_bytes)
    return f"{record.backend} on {record.nodes} node(s) of {slice_text} ({record.scaling})"


#: The columns of a measurement table, in order. The README's column table says the same.
MEASUREMENT_COLUMNS: tuple[Column, ...] = (
    Column(
        "backend",
        "where the job ran (for a node sweep: nodes, each node's slice, strong or weak scaling)",
        lambda s: _backend_text(s.record),
        numeric=False,
    ),
    Column(
        "workers",
        "parallel slots the backend had (threads, processes, or cluster cores)",
        lambda s: str(s.record.workers),
    ),
    Column(
        "chunk",
        "tasks per dispatch (auto N when --chunk auto chose N from the measured dispatch cost)",
        lambda s: f"auto {s.record.chunk}" if s.record.chunk_auto else str(s.record.chunk),
    ),
    Column(
        "median (interval)",
        "median wall time of the measured jobs (from dispatch to the combined answer: "
        "wordcount's merge included), with a distribution-free interval for it "
        "(order statistics; its confidence is given under the table)",
        _median_text,
    ),
    Column(
        "speedup (95 % CI)",
        "serial median / this median, with a bootstrap 95 % interval",
        _speedup_text,
    ),
    Column(
        "effic.",
        "speedup per worker that could be busy (min(workers, dispatches)); 100 % is ideal",
        lambda s: _optional(s.efficiency, "{:.0%}"),
    ),
    Column(
        "Karp-\nFlatt",
        "experimentally determined serial fraction (1/speedup - 1/p) / (1 - 1/p): near 0 the "
        "work parallelises; large, or growing with workers, means overhead or a serial part; "
        "'-' where undefined (no speedup beyond doubt, or above ideal)",
        lambda s: _optional(s.serial_fraction, "{:.2f}"),
        in_terminal=False,
    ),
    Column(
        "task time\nvs serial",
        "how much longer one task took on a worker than alone in the serial run: 2x with 2 "
        "threads on pure-Python code is the GIL making them take turns",
        lambda s: _optional(s.task_time_ratio, "{:.2f}x"),
    ),
    Column(
        "overhead\nper task",
        "wall time not explained by the tasks' own time on the workers, per task: dispatch, "
        "pickling, transfer, idling",
        lambda s: DASH if s.overhead_per_task_s is None else format_seconds(s.overhead_per_task_s),
    ),
    Column(
        "cold\njob",
        "the first, unmeasured job (warm-up): pays lazy imports, worker start, code shipping",
        lambda s: format_seconds(s.record.warmup_s[0]) if s.record.warmup_s else DASH,
    ),
    Column(
        "answer",
        "ok when every job's answer equalled the serial answer; WRONG is a failure, never a "
        "speedup",
        answer_text,
        numeric=False,
    ),
)


def _where(run: BackendRun) -> str:
    topology = run.topology
    where = str(topology.get("address") or "this machine")
    if topology.get("start_method"):
        where += f" (start method {topology['start_method']})"
    return where


#: The columns of the backends table: each backend's life, timed apart from the jobs.
BACKEND_COLUMNS: tuple[Column, ...] = (
    Column(
        "backend",
        "the backend started (and on which interpreter, when not the host's)",
        lambda r: f"{r.backend} on {r.runtime}" if r.runtime else r.backend,
        numeric=False,
    ),
    Column("workers", "parallel slots it reported", lambda r: str(r.topology.get("workers", DASH))),
    Column(
        "start-up",
        "cold start: processes spawned, cluster started or connected",
        lambda r: format_seconds(r.startup_s),
    ),
    Column(
        "shutdown",
        "stopping it (workers joined, cluster stopped or disconnected)",
        lambda r: DASH if r.shutdown_s is None else format_seconds(r.shutdown_s),
    ),
    Column(
        "dispatch\ncost",
        "cost of one dispatch, measured with no-op tasks after start-up (what --chunk auto "
        "sizes chunks from)",
        lambda r: DASH if r.dispatch_s is None else format_seconds(r.dispatch_s),
    ),
    Column("where", "this machine, or the cluster address", _where, numeric=False),
)

BACKENDS_TITLE = "backends: start-up and shutdown (timed apart from the jobs)"


def size_title(record: Record) -> str:
    """Workload and job size: ``cpu: 16 tasks x 50.0 ms grain, 4.0 MiB per task``."""
    title = f"{record.workload}: {record.tasks} tasks x {format_seconds(record.grain_s)} grain"
    if record.bytes_per_task:
        title += f", {format_bytes(record.bytes_per_task)} per task"
    return title
