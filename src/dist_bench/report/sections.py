"""A report's sections and tables: one section per workload (its lesson), one table per size.

``SizeGroup`` is one workload at one job size, its rows in the order a learner compares them
(serial, the driver's one interpreter, an interpreter per worker) with the findings and
remarks under it; ``Section`` a workload's lesson and its groups.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dist_bench.analysis import (
    RecordWarning,
    RecordWarningKind,
    Summary,
    measured_grain_s,
    row_label,
)
from dist_bench.backends.base import BASELINE
from dist_bench.execution import Execution
from dist_bench.findings import FindingKind
from dist_bench.lessons import WorkloadLesson
from dist_bench.report.columns import MEASUREMENT_COLUMNS, size_title
from dist_bench.report.lesson_sentences import lesson_title
from dist_bench.report.record_sentences import (
    ROW_GROUP_TITLES,
    placement_sentence,
    record_finding,
    record_warnings,
    worker_count,
)
from dist_bench.units import format_bytes, format_seconds


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


def row_order(summary: Summary) -> int:
    """A row's place: 0 the baseline, 1 the driver's one interpreter, 2 one per worker."""
    return 0 if summary.record.backend == BASELINE else _EXECUTION_ORDER[summary.execution]


def _row_kind(summary: Summary) -> bool | None:
    """None for the baseline, True for the driver's own interpreter, False for one per worker."""
    order = row_order(summary)
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
