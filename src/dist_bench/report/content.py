"""What every report says, computed once: ``ReportData``, the results and their analysis.

An exporter renders a ``ReportData``: the records summarised once (bootstraps are not free),
grouped into one table per workload and job size in teaching order, the lessons checked
against this run, the backends' rows and the metadata block. The columns live in
``columns``, the sections and tables in ``sections``, the cutover tables in
``cutover_content``, the glossaries in ``glossary``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from dist_bench.analysis import Summary, summarize
from dist_bench.lessons import TEACHING_ORDER, Lesson, WorkloadLesson, lessons
from dist_bench.memory import SlotMemory
from dist_bench.report.columns import BACKEND_COLUMNS
from dist_bench.report.runtime_sentences import runtime_title, serial_speedup_sentence
from dist_bench.report.sections import Section, SizeGroup, row_order
from dist_bench.results import Results, SizeKey
from dist_bench.runtime import RuntimeInfo
from dist_bench.runtime_speed import runtime_serial_speedups
from dist_bench.scaling import ScalingCurve, scaling_curves

if TYPE_CHECKING:
    from dist_bench.costmodel import CutoverAnalysis


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
            SizeGroup(tuple(sorted(members, key=row_order)), titles.get(key[4], ""))
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
        return lessons(self.summaries, SlotMemory.from_metadata(self.results.metadata))

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
