"""What every report says, before it is dressed as a terminal table, Markdown, CSV or HTML.

The columns (their title, what they mean, and each cell's text), the grouping of records into one
table per workload and job size, the lines under each table and the metadata block live here once,
so the formats cannot drift apart: an exporter only chooses how to lay them out.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from dist_bench.analysis import (
    Execution,
    FindingKind,
    RecordWarning,
    RecordWarningKind,
    Summary,
    measured_grain_s,
    row_label,
    runtime_serial_speedups,
    summarize,
)
from dist_bench.backends.base import BASELINE
from dist_bench.lessons import TEACHING_ORDER, Lesson, WorkloadLesson, lessons
from dist_bench.report.sentences import (
    ROW_GROUP_TITLES,
    crossover_sentence,
    efficiency_text,
    format_axis,
    format_location,
    ladder_sentence,
    lesson_title,
    metg_text,
    node_slice_text,
    placement_sentence,
    reason_label,
    record_finding,
    record_warnings,
    runtime_title,
    serial_speedup_sentence,
    worker_count,
)
from dist_bench.results import BackendRun, Record, Results, SizeKey
from dist_bench.runtime import RuntimeInfo
from dist_bench.scaling import ScalingCurve, scaling_curves
from dist_bench.units import format_bytes, format_seconds

if TYPE_CHECKING:
    from dist_bench.costmodel import (
        Axis,
        CostFit,
        Crossover,
        CutoverAnalysis,
        LadderStep,
        Metg,
        Projection,
    )

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


@dataclass(frozen=True)
class SizeGroup:
    """The records of one workload at one job size: one table, the serial row first."""

    summaries: tuple[Summary, ...]
    #: The interpreter that measured them, when the file holds several (else empty).
    runtime: str = ""

    @property
    def title(self) -> str:
        """``blas: 16 tasks x 928 µs grain (asked 200 µs), 4.0 MiB per task``.

        The grain is the one the serial run measured, which a learner compares every row with;
        the grain asked for follows where it reads differently. Without a serial run, the asked
        grain alone (``size_title``).
        """
        record = self.summaries[0].record
        measured = measured_grain_s(record) if record.backend == BASELINE else None
        on = f" on {self.runtime}" if self.runtime else ""
        if measured is None:
            return size_title(record) + on
        grain, asked = format_seconds(measured), format_seconds(record.grain_s)
        title = f"{record.workload}: {record.tasks} tasks x {grain} grain"
        if grain != asked:
            title += f" (asked {asked})"
        if record.bytes_per_task:
            title += f", {format_bytes(record.bytes_per_task)} per task"
        return title + on

    def label(self, summary: Summary) -> str:
        """The row's name under the table: with its workers where a backend has several rows."""
        label = row_label(summary.record)
        twins = [s for s in self.summaries if row_label(s.record) == label]
        return f"{label} ({worker_count(summary.record.workers)})" if len(twins) > 1 else label

    def rows(self) -> list[list[str]]:
        """The cell texts, one list per backend."""
        return [[column.cell(s) for column in MEASUREMENT_COLUMNS] for s in self.summaries]

    def interval_note(self) -> str | None:
        """Which intervals these are and the confidence the median's really has."""
        confidences = [s.interval.confidence for s in self.summaries if s.interval is not None]
        if not confidences:
            return None
        return (
            f"median interval: order statistics, {min(confidences):.1%} confidence for "
            f"{len(self.summaries[0].record.wall_s)} repeats; speedup interval: bootstrap"
        )

    def findings(self) -> list[tuple[str, FindingKind, str]]:
        """(backend, the kind of its finding, the sentence saying why it got its number)."""
        return [(self.label(s), s.finding, record_finding(s)) for s in self.summaries]

    def finding_kinds(self) -> list[tuple[bool | None, list[tuple[str, FindingKind, str]]]]:
        """The findings per kind of row, concurrency apart from parallelism.

        The baseline (None), the driver's one interpreter (True: threads, asyncio) and one per
        worker (False: processes, Dask, Ray), so a learner reads the two kinds of win apart.
        """
        kinds = [_row_kind(s) for s in self.summaries]
        found = self.findings()
        groups: list[tuple[bool | None, list[tuple[str, FindingKind, str]]]] = []
        for kind in (None, True, False):
            members = [f for f, k in zip(found, kinds, strict=True) if k is kind]
            if members:
                groups.append((kind, members))
        return groups

    def finding_groups(self) -> list[tuple[str | None, list[tuple[str, FindingKind, str]]]]:
        """``finding_kinds`` under a title per kind of row (the baseline's without one)."""
        return [
            (None if kind is None else ROW_GROUP_TITLES[kind], members)
            for kind, members in self.finding_kinds()
        ]

    def remarks(self) -> Iterator[tuple[str, str]]:
        """(backends, text): one per kind of warning and the rows it applies to; engine notes."""
        by_kind: dict[RecordWarningKind, list[tuple[str, RecordWarning]]] = {}
        for summary in self.summaries:
            for warning in summary.warnings:
                by_kind.setdefault(warning.kind, []).append((self.label(summary), warning))
        for rows in by_kind.values():
            yield "; ".join(label for label, _ in rows), record_warnings(rows)
        placed = [(self.label(s), s.record.placement_s) for s in self.summaries]
        placements = [(label, seconds) for label, seconds in placed if seconds is not None]
        if placements:
            yield "; ".join(label for label, _ in placements), placement_sentence(placements)
        for summary in self.summaries:
            for note in summary.record.notes:
                yield self.label(summary), note


#: Rows in the order a learner compares them: serial, then the driver's one interpreter
#: (threads, asyncio), then an interpreter per worker (3.14's interpreters, processes, Dask, Ray).
_EXECUTION_ORDER = {
    Execution.SERIAL: 0,
    Execution.THREADS: 1,
    Execution.EVENT_LOOP: 1,
    Execution.INTERPRETERS: 2,
    Execution.PROCESSES: 2,
    Execution.NODES: 2,
}


def _row_order(summary: Summary) -> int:
    return 0 if summary.record.backend == BASELINE else _EXECUTION_ORDER[summary.execution]


def _row_kind(summary: Summary) -> bool | None:
    """None for the baseline, True for the driver's own interpreter, False for one per worker."""
    order = _row_order(summary)
    return None if order == 0 else order == 1


@dataclass(frozen=True)
class Section:
    """One section of a report: a workload's lesson (if built in) and its tables.

    ``groups`` is empty for a lesson shown by another workload's rows (tiny tasks).
    """

    workload: str
    lesson: WorkloadLesson | None
    groups: list[SizeGroup]

    @property
    def anchor(self) -> str:
        """Its HTML anchor."""
        if self.lesson is not None and not self.groups:
            return f"lesson-{self.lesson.lesson.value}"
        return f"workload-{self.workload}"

    @property
    def title(self) -> str:
        """The section's heading: its lesson's title, or the workload's name."""
        return self.workload if self.lesson is None else lesson_title(self.lesson)


@dataclass
class ReportData:
    """What an exporter renders: the results file and, when one was made, the cutover analysis.

    The summaries are computed once (bootstraps are not free) and shared by every exporter.
    """

    results: Results
    analysis: CutoverAnalysis | None = None
    #: Node counts to project each node sweep's fitted law to (``--project-nodes``); empty:
    #: twice and four times the largest size measured.
    node_projections: Sequence[int] = ()

    @cached_property
    def scaling(self) -> list[ScalingCurve]:
        """Every node sweep's series in the file (strong and weak, per workload and backend)."""
        return scaling_curves(self.results.records)

    @cached_property
    def summaries(self) -> list[Summary]:
        """Every record summarised, in the order measured."""
        return summarize(self.results)

    @cached_property
    def groups(self) -> list[SizeGroup]:
        """One group per workload and job size in the order measured, the baseline row first."""
        grouped: dict[SizeKey, list[Summary]] = {}
        for summary in self.summaries:
            grouped.setdefault(summary.record.size_key(), []).append(summary)
        titles = self.runtime_titles()
        return [
            SizeGroup(tuple(sorted(members, key=_row_order)), titles.get(key[4], ""))
            for key, members in grouped.items()
        ]

    def runtime_titles(self) -> dict[str, str]:
        """Each runtime's title by label (the host's under ``""``); empty with one runtime."""
        meta = self.results.metadata
        others = meta.get("runtimes") or {}
        if not others or "runtime" not in meta:
            return {}
        titles = {"": runtime_title(RuntimeInfo.from_json(meta["runtime"]), host=True)}
        for label, info in others.items():
            titles[label] = runtime_title(RuntimeInfo.from_json(info), host=False)
        return titles

    def workloads(self) -> dict[str, list[SizeGroup]]:
        """The groups of each workload, smallest job first; workloads in teaching order.

        The built-ins in the order their lessons build on each other (``TEACHING_ORDER``), then
        any other in the order measured.
        """
        by_workload: dict[str, list[SizeGroup]] = {}
        for group in self.groups:
            by_workload.setdefault(group.summaries[0].record.workload, []).append(group)
        taught = list(dict.fromkeys(name for _, name in TEACHING_ORDER))
        order = sorted(by_workload, key=lambda w: taught.index(w) if w in taught else len(taught))
        # A cutover search measures sizes in the order it needs them; readers want them sorted.
        return {
            workload: sorted(
                by_workload[workload], key=lambda g: g.summaries[0].record.size_key()[1:]
            )
            for workload in order
        }

    @cached_property
    def lessons(self) -> list[WorkloadLesson]:
        """Each built-in workload's lesson, checked against this run, in teaching order."""
        return lessons(self.summaries)

    def sections(self) -> list[Section]:
        """The report's sections in teaching order.

        A workload with its lesson and tables, or a lesson shown by another workload's rows (tiny
        tasks) with its checks alone.
        """
        shown: set[str] = set()
        sections = []
        taught = {
            item.workload: item for item in self.lessons if item.lesson is not Lesson.TINY_TASKS
        }
        extra = {item.lesson: item for item in self.lessons if item.lesson is Lesson.TINY_TASKS}
        workloads = self.workloads()
        for lesson, workload in TEACHING_ORDER:
            if lesson in extra:
                sections.append(Section(workload, extra[lesson], []))
            elif workload in workloads and workload not in shown:
                sections.append(Section(workload, taught.get(workload), workloads[workload]))
                shown.add(workload)
        sections += [Section(w, None, g) for w, g in workloads.items() if w not in shown]
        return sections

    def backend_rows(self) -> list[list[str]]:
        """The backends table's cell texts, one list per backend start."""
        return [[column.cell(run) for column in BACKEND_COLUMNS] for run in self.results.backends]

    def metadata_items(self) -> list[tuple[str, str]]:
        """(label, value) pairs a reader needs to trust the numbers: host, cores, versions."""
        meta = self.results.metadata
        items = [
            ("host", str(meta.get("host", "?"))),
            ("measured", str(meta.get("started_at", "?"))),
            ("cores used", str(meta.get("cores", "?"))),
            ("logical CPUs", str(meta.get("cpu_count", "?"))),
            ("platform", str(meta.get("platform", "?"))),
            ("Python", f"{meta.get('python', '?')} ({meta.get('python_implementation', '?')})"),
        ]
        packages = meta.get("packages") or {}
        if packages:
            items.append(("packages", ", ".join(f"{k} {v}" for k, v in packages.items())))
        blas = meta.get("blas_env") or {}
        if blas:
            items.append(("BLAS environment", ", ".join(f"{k}={v}" for k, v in blas.items())))
        command = meta.get("command")
        if command:
            items.append(("command", " ".join(map(str, command))))
        runs = meta.get("appended_runs") or []
        if runs:
            items.append(("later runs appended", str(len(runs))))
        items += [("runtime", title) for title in self.runtime_titles().values()]
        items += self.single_thread_costs()
        return items

    def single_thread_costs(self) -> list[tuple[str, str]]:
        """("single-thread cost", sentence) per other runtime with serial runs like the host's."""
        return [
            ("single-thread cost", serial_speedup_sentence(label, speedup))
            for label, speedup in runtime_serial_speedups(self.results).items()
        ]

    def topology_items(self) -> list[tuple[str, str]]:
        """(backend, its topology as ``key=value`` pairs), for each backend start."""
        return [
            (
                run.backend,
                ", ".join(
                    f"{key}={value}"
                    for key, value in run.topology.items()
                    if not isinstance(value, dict | list)
                ),
            )
            for run in self.results.backends
        ]


@dataclass(frozen=True)
class FindingGloss:
    """One kind of finding ``analysis.explain`` gives, as the glossaries name and explain it."""

    kind: FindingKind
    name: str
    meaning: str

    @property
    def anchor(self) -> str:
        """The glossary entry's HTML anchor (after ``finding-``)."""
        return self.kind.value


#: Every kind of finding, for the glossaries; docs/concepts.md tells the longer story.
FINDING_KINDS: tuple[FindingGloss, ...] = (
    FindingGloss(
        FindingKind.BASELINE,
        "baseline",
        "the serial run: every speedup divides by it, every answer is checked against it",
    ),
    FindingGloss(
        FindingKind.PARALLEL,
        "parallel",
        "at least 75 % of ideal speedup: side by side on separate cores (parallelism), or, for "
        "tasks that wait, their waits overlapped (concurrency; the row then reads overlapped)",
    ),
    FindingGloss(
        FindingKind.PARTLY_PARALLEL,
        "partly parallel",
        "a real speedup, but below 75 % of ideal: dispatch overhead or a serial part (its "
        "Karp-Flatt fraction) limits it",
    ),
    FindingGloss(
        FindingKind.GIL,
        "tasks took turns (the GIL)",
        "threads on pure-Python code: each task ran about as many times slower as there were "
        "threads, because only one thread runs Python bytecode at a time",
    ),
    FindingGloss(
        FindingKind.WAITS,
        "overlapped waits",
        "the tasks mostly wait (little CPU time), so the speedup comes from overlapping the "
        "waits, not from cores: concurrency",
    ),
    FindingGloss(
        FindingKind.ONE_AFTER_ANOTHER,
        "one after another",
        "no overlap: an event loop ran coroutines that never await in turn, or each thread kept "
        "the GIL for its switch interval and finished its task within it",
    ),
    FindingGloss(
        FindingKind.DISPATCH,
        "dispatch overhead",
        "sending each task to a worker (pickling, messages, scheduling) costs about as much as "
        "the work: make tasks coarser or batch them",
    ),
    FindingGloss(
        FindingKind.BYTES,
        "moving bytes",
        "the data sent in and out of every task costs more than parallelism saves; shared "
        "memory (threads) or placing inputs once avoids it",
    ),
    FindingGloss(
        FindingKind.SLOWER_WORK,
        "slower work",
        "each task needed more CPU time on the workers than alone: allocator, BLAS threads, "
        "or cache and memory bandwidth shared with other workers",
    ),
    FindingGloss(
        FindingKind.CORE_WAIT,
        "waiting for a core",
        "the tasks took longer for the same CPU time: more busy workers (and the driver) than "
        "cores",
    ),
    FindingGloss(
        FindingKind.WRONG,
        "wrong answer",
        "an answer differed from the serial one: a failure, never a speedup",
    ),
    FindingGloss(
        FindingKind.FAILED,
        "failed",
        "the measurement raised; the reason follows",
    ),
    FindingGloss(
        FindingKind.NO_BASELINE,
        "no baseline",
        "the serial run of this size is missing or failed, so there is no speedup",
    ),
)


#: The words a report uses that a learner may not know yet, each in a sentence.
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("task", "one call of the workload's function on one worker; a job is many tasks"),
    (
        "grain",
        "the serial seconds of work in one task: what the serial run measured (headings show "
        "it, with the grain asked for where the calibration missed)",
    ),
    ("job shape", "tasks per job, grain, and bytes moved per task: the three axes swept"),
    ("speedup", "the serial job's median time over this one's: above 1x is faster"),
    (
        "efficiency",
        "speedup per worker that could be busy: 100 % is ideal, what a serial part, dispatch or "
        "moving bytes take away shows here",
    ),
    (
        "concurrency",
        "tasks taking turns or overlapping their waits on shared resources (threads, an event "
        "loop): pays off when tasks wait",
    ),
    (
        "parallelism",
        "tasks running side by side on separate cores (processes, nodes, or threads in native "
        "code that releases the GIL): pays off when tasks compute",
    ),
    (
        "GIL",
        "CPython's global interpreter lock: one thread runs Python bytecode at a time, handed "
        "over every switch interval (sys.getswitchinterval(), 5 ms by default)",
    ),
    (
        "dispatch",
        "sending a task to a worker: pickling it, a message, scheduling, the result back; "
        "--chunk sends several tasks per dispatch to pay it once",
    ),
    (
        "placement",
        "putting a large input on the workers once (shared memory, Dask scatter, Ray put) "
        "instead of sending it with every task; timed apart from the jobs",
    ),
    ("S, o", "the fitted fixed cost of every job, and the fitted dispatch cost of every task"),
    (
        "P_eff",
        "the fitted effective parallelism: how many tasks' work ran side by side; 1 for "
        "pure-Python threads, at most the workers",
    ),
    ("B", "the fitted bandwidth of moving a task's bytes to and from its worker"),
    (
        "held-out error",
        "how far the cost model misses a measured job it was not fitted on (each left out in "
        "turn, the median miss): above 25 % its crossovers are rough",
    ),
    (
        "crossover",
        "the job size from which one backend beats another: where their fitted times meet, "
        "reported only when measured shapes on both sides show each winner",
    ),
    (
        "Karp-Flatt serial fraction",
        "(1/speedup - 1/p) / (1 - 1/p) for p busy workers: the share of the job that behaved "
        "serially; defined only for a speedup beyond doubt and at most ideal",
    ),
    (
        "Amdahl's law",
        "with a serial share f, p workers give at most 1 / (f + (1 - f)/p): a fixed job's "
        "speedup flattens at 1/f",
    ),
    (
        "Gustafson's law",
        "grow the job with the workers and the serial share shrinks: the scaled speedup is "
        "f + (1 - f) p",
    ),
    (
        "METG",
        "minimum effective task granularity: the smallest grain at which a backend still runs "
        "at half its ideal efficiency; finer tasks waste most of the workers on overhead",
    ),
    (
        "interval",
        "a median's order-statistics interval, or a speedup's bootstrap 95 % interval: two "
        "numbers are different beyond doubt only when their intervals do not overlap",
    ),
    (
        "projection",
        "a speedup predicted from the fitted costs for more nodes than were measured: never a "
        "measurement, always labelled",
    ),
)


def finding_gloss(kind: FindingKind) -> FindingGloss:
    """The glossary entry of a finding kind."""
    return next(gloss for gloss in FINDING_KINDS if gloss.kind is kind)


# ---------------------------------------------------------------------------------------------
# The cutover analysis (costmodel): crossovers, fitted costs, projections

FITS_TITLE = "Fitted costs: T ≈ S + d·o + n·g / P_eff + n·b / B (d: dispatches)"
PROJECTIONS_TITLE = "PROJECTION, not a measurement: predicted speedup on more nodes"
PROJECTIONS_NOTE = (
    "From the fitted costs: the tasks' work spreads over more nodes at the measured efficiency; "
    "start-up, dispatch and moving bytes stay as measured (one driver). Amdahl bound: the work "
    "spread perfectly, only that fixed part serial. Not measured."
)


def _axis_name(axis: Axis) -> str:
    from dist_bench.costmodel import AXIS_NAMES

    return AXIS_NAMES[axis]


def _crossover_value(item: Crossover) -> str:
    low, high = (format_axis(item.axis, end) for end in item.searched)
    if item.unshown and item.model_value is not None:
        model = format_axis(item.axis, item.model_value)
        return f"not shown by the measurements between {low} and {high} (model: {model})"
    if item.equal_span is not None:
        return format_location(item)
    if item.value is None:
        return f"not reached between {low} and {high}"
    return format_location(item)


def _evidence(item: Crossover) -> str:
    """Where each side's winner was measured clearly faster, or why the crossover is unshown."""
    shown = [
        f"{e.faster} at {format_axis(item.axis, e.value)}"
        for e in (item.evidence_below, item.evidence_above)
        if e is not None
    ]
    return "; ".join(shown) if shown else "-"


#: One row per crossover found (reached or not) of a workload.
CROSSOVER_COLUMNS: tuple[Column, ...] = (
    # The terminal summary names the pair in "faster below → above" and leaves the evidence to
    # the files, to stay within 120 columns without wrapping.
    Column(
        "pair",
        "the two backends compared",
        lambda c: " / ".join(c.backends),
        numeric=False,
        in_terminal=False,
    ),
    Column(
        "along",
        "the job size that varies (the other two held where the sweep measured them)",
        lambda c: _axis_name(c.axis),
        numeric=False,
    ),
    Column(
        "crossover (95 % interval)",
        "where the two fitted times meet, with a bootstrap interval (rounds and records "
        "resampled, costs refitted), kept between the measured evidence; 'not reached' when "
        "they do not meet inside the measured range, 'about equal' where they cross but differ "
        "by no more than the run-to-run drift, 'not shown' when the measurements do not show it",
        _crossover_value,
    ),
    Column(
        "measured evidence",
        "the measured shapes nearest the crossover where each side's winner was decisively "
        "faster (the two medians' intervals apart, by more than the run-to-run drift)",
        _evidence,
        numeric=False,
        in_terminal=False,
    ),
    Column(
        "faster below → above",
        "which backend wins at the small end, and which from the crossover on",
        lambda c: (
            f"{c.winner_below} → {c.winner_above}"
            if c.reached
            else f"{c.winner_below} ≈ {c.winner_above}"
            if c.equal_span is not None
            else f"{c.winner_below} → {c.winner_above} (model only)"
            if c.unshown
            else f"{c.winner_below} throughout"
        ),
        numeric=False,
    ),
    Column("why", "the cost that decides it", reason_label, numeric=False),
)


def _or_not_varied(fit: CostFit, name: str, text: str) -> str:
    return "not varied" if name in fit.unidentified else text


#: A fitted P_eff this far above the workers is the model stretched, not noise (the fit's own
#: spread on 3 repeats reaches a few per cent).
PARALLELISM_SLACK = 1.05


def _parallelism_text(fit: CostFit) -> str:
    """P_eff, or why the fit cannot identify it."""
    value = fit.effective_parallelism
    if not math.isfinite(value):
        return "n/i (no work)"
    if value > fit.workers * PARALLELISM_SLACK:
        return f"n/i ({value:.1f}>{fit.workers})"
    return f"{value:.2f}"


def _bandwidth_text(fit: CostFit) -> str:
    """B, or nothing where the backend moves no bytes or none were varied."""
    if not fit.bandwidth_bytes_per_s:
        return DASH
    if fit.shares_memory:
        return "none (shared)"
    return f"{format_bytes(round(fit.bandwidth_bytes_per_s))}/s"


#: One row per fitted backend of a workload: T ≈ S + n·o + n·g/P_eff + n·b/B.
FIT_COLUMNS: tuple[Column, ...] = (
    Column("backend", "the backend fitted", lambda f: f.backend, numeric=False),
    Column(
        "S per job",
        "fixed cost of every job: submitting, gathering, waking workers",
        lambda f: _or_not_varied(f, "startup_s", format_seconds(f.startup_s)),
    ),
    Column(
        "o per dispatch",
        "cost of one dispatch (one task, or one chunk of tasks): pickling, a message, scheduling",
        lambda f: _or_not_varied(f, "per_task_overhead_s", format_seconds(f.per_task_overhead_s)),
    ),
    Column(
        "P_eff",
        "useful parallelism: how many tasks' work really ran side by side (1 for GIL-bound "
        "threads); 'n/i (9.0>2)': not identified, the fit putting it above the workers (the "
        "tasks ran faster than serially, which the model reads as more parallelism); 'n/i "
        "(no work)': the fit saw no cost of the work at all",
        _parallelism_text,
    ),
    Column(
        "B",
        "bandwidth of moving task data ('-': bytes never varied, or cost nothing measurable; "
        "'none (shared)': a backend sharing the driver's memory moves nothing, its per-byte "
        "cost is the work's)",
        _bandwidth_text,
    ),
    Column(
        "held-out error",
        "median miss predicting each measured point from a fit made without it",
        lambda f: DASH if f.holdout_error is None else f"{f.holdout_error:.0%}",
    ),
    Column("points", "job shapes the fit used", lambda f: str(f.points), in_terminal=False),
)


def job_text(tasks: int, grain_s: float, bytes_per_task: int) -> str:
    """A job shape in few characters: ``16 x 5.0 ms, 4.0 MiB``."""
    job = f"{tasks} x {format_seconds(grain_s)}"
    return f"{job}, {format_bytes(bytes_per_task)}" if bytes_per_task else job


def _projected_job(item: Projection) -> str:
    return job_text(item.shape.tasks, item.shape.grain_s, item.shape.bytes_per_task)


#: One row per PROJECTED node count: never a measurement.
PROJECTION_COLUMNS: tuple[Column, ...] = (
    Column("workload", "the workload", lambda p: p.workload, numeric=False),
    Column("backend", "the backend projected", lambda p: p.backend, numeric=False),
    Column(
        "nodes",
        "nodes projected (and measured)",
        lambda p: f"{p.nodes} (measured {p.measured_nodes})",
    ),
    Column("workers", "parallel slots on that many nodes", lambda p: str(p.workers)),
    Column("job", "the job shape projected: the largest measured", _projected_job),
    Column(
        "projected speedup",
        "predicted from the fitted costs, not measured",
        lambda p: f"{p.predicted_speedup:.2f}x",
    ),
    Column(
        "Amdahl bound",
        "the speedup if the work spread perfectly and only the fixed costs stayed serial",
        lambda p: DASH if p.amdahl_bound is None else f"{p.amdahl_bound:.2f}x",
    ),
    Column(
        "held-out error",
        "how far projecting missed on this cluster: a node sweep of the same workload and "
        "backend in this file, fitted without its largest size, against that size (- : no "
        "sweep to check against; run dist-bench scale)",
        lambda p: DASH if p.held_out_error is None else f"{p.held_out_error:+.0%}",
    ),
)


METG_TITLE = "METG(50 %): the smallest grain each backend runs at 50 % efficiency or more"
METG_NOTE = (
    "Task Bench's minimum effective task granularity: efficiency is serial wall / (wall x "
    "parallel slots) along the grain series, interpolated where it first reaches 50 %; the "
    "interval is a bootstrap over rounds (or samples with one round)."
)

#: One row per backend's METG(50 %) on a workload.
METG_COLUMNS: tuple[Column, ...] = (
    Column("backend", "the backend", lambda m: m.backend, numeric=False),
    Column(
        "METG(50 %) (95 % interval)",
        "the smallest grain (serial seconds of work per task) at which the backend does at "
        "least half the work its workers could: interpolated between the measured grains",
        metg_text,
    ),
    Column("at", "the series' job: tasks per job", lambda m: f"{m.tasks} tasks"),
    Column(
        "efficiency measured",
        "serial wall / (wall x parallel slots) at each measured grain",
        efficiency_text,
        numeric=False,
    ),
    Column(
        "resampled",
        "what the bootstrap drew: whole rounds (the drift between them included) or samples",
        lambda m: f"{m.resampled} ({m.rounds} round{'s' if m.rounds > 1 else ''})",
        numeric=False,
    ),
)


def largest_jobs(summaries: Sequence[Summary], workload: str) -> dict[str, Summary]:
    """Per backend, its summary at the largest job (most serial work) it ran with a baseline."""
    largest: dict[str, Summary] = {}
    for summary in summaries:
        record = summary.record
        if record.workload != workload or summary.speedup is None:
            continue
        best = largest.get(record.backend)
        if best is None or record.tasks * record.grain_s > best.record.tasks * best.record.grain_s:
            largest[record.backend] = summary
    return largest


def _job_text(summary: Summary) -> str:
    record = summary.record
    return job_text(record.tasks, record.grain_s, record.bytes_per_task)


def _measured(title: str) -> Column:
    return next(column for column in MEASUREMENT_COLUMNS if column.title == title)


#: Beside each fit: what was measured at that backend's largest job.
LARGEST_JOB_COLUMNS: tuple[Column, ...] = (
    Column("largest job", "the backend's largest job (most serial work) measured", _job_text),
    _measured("speedup (95 % CI)"),
    # Efficiency and serial fraction stay in the files: the terminal summary keeps one line a fit.
    dataclasses.replace(_measured("effic."), in_terminal=False),
    _measured("Karp-\nFlatt"),
)
FIT_TABLE_COLUMNS = FIT_COLUMNS + LARGEST_JOB_COLUMNS


def rows_of(crossovers: Sequence[Crossover]) -> list[list[str]]:
    """``CROSSOVER_COLUMNS`` cells of each crossover."""
    return [[column.cell(c) for column in CROSSOVER_COLUMNS] for c in crossovers]


@dataclass(frozen=True)
class WorkloadCutover:
    """One workload's part of the cutover analysis, ready to lay out."""

    crossovers: list[Crossover]
    fits: list[CostFit]
    largest: dict[str, Summary]
    ladder: list[LadderStep] = field(default_factory=list)

    def ladder_sentences(self) -> list[str]:
        """Each of the ladder's steps on this workload in a sentence."""
        return [ladder_sentence(step) for step in self.ladder]

    metgs: list[Metg] = field(default_factory=list)

    def sentence(self, crossover: Crossover) -> str:
        """One of this workload's crossovers in one plain sentence."""
        return crossover_sentence(crossover, self.fits)

    @property
    def reached(self) -> list[Crossover]:
        """Crossovers inside the measured range."""
        return [c for c in self.crossovers if c.reached]

    @property
    def unshown(self) -> list[Crossover]:
        """Crossings in the range not claimed as a point: about equal there, or model only."""
        return [c for c in self.crossovers if c.unshown or c.equal_span is not None]

    def crossover_rows(
        self, reached_only: bool = False, shown_only: bool = False
    ) -> list[list[str]]:
        """Reached crossovers first, then those not reached.

        With ``shown_only`` only those the model puts in the range; with ``reached_only`` none.
        """
        ordered = self.reached
        if shown_only:
            ordered += self.unshown
        elif not reached_only:
            ordered += [c for c in self.crossovers if not c.reached]
        return rows_of(ordered)

    def fit_rows(self) -> list[list[str]]:
        """``FIT_TABLE_COLUMNS`` cells, the serial fit first."""
        rows = []
        for fit in sorted(self.fits, key=lambda f: f.backend != BASELINE):
            summary = self.largest.get(fit.backend)
            measured = [
                DASH if summary is None else column.cell(summary) for column in LARGEST_JOB_COLUMNS
            ]
            rows.append([*(column.cell(fit) for column in FIT_COLUMNS), *measured])
        return rows

    def metg_rows(self) -> list[list[str]]:
        """``METG_COLUMNS`` cells of each backend's METG."""
        return [[column.cell(item) for column in METG_COLUMNS] for item in self.metgs]


def workload_cutover(data: ReportData, workload: str) -> WorkloadCutover | None:
    """``workload``'s crossovers and fits, or None when there is no analysis of it."""
    analysis = data.analysis
    if analysis is None:
        return None
    fits = [f for f in analysis.fits if f.workload == workload]
    if not fits:
        return None
    return WorkloadCutover(
        [c for c in analysis.crossovers if c.workload == workload],
        fits,
        largest_jobs(data.summaries, workload),
        [step for step in analysis.ladder if step.workload == workload],
        [m for m in analysis.metgs if m.workload == workload],
    )


def projection_rows(analysis: CutoverAnalysis | None) -> list[list[str]]:
    """Every projection's cells (none without an analysis or projections)."""
    if analysis is None:
        return []
    return [[column.cell(p) for column in PROJECTION_COLUMNS] for p in analysis.projections]
