"""The Markdown exporter: the terminal's tables and findings as GitHub-flavoured Markdown.

For pasting into a README, an issue or a pull request: one section per lesson in teaching order,
each with what it teaches, what to expect and whether this run shows it, then its workload's
crossovers and fits (pairs that never cross counted, listed in the HTML and JSON) and one table
per job size with the finding of each backend under it; then the backends, the metadata and what
each column means.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dist_bench.costmodel import AnalysisWarning
from dist_bench.findings import FindingKind
from dist_bench.lessons import WorkloadLesson
from dist_bench.report import cutover_content
from dist_bench.report import scaling_content as scaling
from dist_bench.report.columns import BACKEND_COLUMNS, BACKENDS_TITLE, MEASUREMENT_COLUMNS, Column
from dist_bench.report.content import ReportData
from dist_bench.report.cutover_table import warning_places
from dist_bench.report.glossary import GLOSSARY
from dist_bench.report.lesson_sentences import (
    TEACHING_NOTE,
    check_sentence,
    lesson_expected,
    lesson_text,
    lesson_verdict,
    memory_sentence,
)
from dist_bench.report.record_sentences import ROW_KINDS
from dist_bench.report.scaling_sentences import node_projection_note
from dist_bench.report.sections import SizeGroup
from dist_bench.report.sentences import never_crossing_note, same_kind_note, warning_sentence


def _escape(text: str) -> str:
    """A cell's text with the characters that would break a table row escaped."""
    return text.replace("|", "\\|").replace("\n", " ")


def table_lines(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> Iterator[str]:
    """A Markdown table, numbers right-aligned."""
    yield "| " + " | ".join(_escape(c.flat_title) for c in columns) + " |"
    yield "| " + " | ".join("---:" if c.numeric else "---" for c in columns) + " |"
    for row in rows:
        yield "| " + " | ".join(_escape(cell) for cell in row) + " |"


def _lines(data: ReportData) -> Iterator[str]:
    meta = data.results.metadata
    yield f"# dist-bench results: {meta.get('host', '?')}, {meta.get('started_at', '?')}"
    yield ""
    yield f"_{TEACHING_NOTE}_"
    yield ""
    for section in data.sections():
        yield f"## {section.title}"
        yield ""
        if section.lesson is not None:
            yield from _lesson_lines(section.lesson)
        yield from _cutover_lines(
            cutover_content.workload_cutover(data, section.workload) if section.groups else None
        )
        said = None
        for group in section.groups:
            yield from _group_lines(group, said)
            said = group.interval_note()
    yield from _scaling_lines(data)
    projections = cutover_content.projection_rows(data.analysis)
    if projections:
        yield f"## {cutover_content.PROJECTIONS_TITLE}"
        yield ""
        yield from table_lines(cutover_content.PROJECTION_COLUMNS, projections)
        yield ""
        yield f"_{cutover_content.PROJECTIONS_NOTE}_"
        yield ""
    if data.analysis is not None and data.analysis.warnings:
        yield "## Warnings"
        yield ""
        by_kind: dict[str, list[AnalysisWarning]] = {}
        for warning in data.analysis.warnings:
            by_kind.setdefault(warning.kind.name, []).append(warning)
        for warnings in by_kind.values():
            yield f"- {warning_sentence(warnings[0])}"
            if len(warnings) > 1:
                yield f"  - {same_kind_note(len(warnings) - 1, warning_places(warnings[1:]))}"
        yield ""
    if data.results.backends:
        yield f"## {BACKENDS_TITLE}"
        yield ""
        yield from table_lines(BACKEND_COLUMNS, data.backend_rows())
        yield ""
    yield "## Where and how it was measured"
    yield ""
    for label, value in data.metadata_items():
        yield f"- **{label}**: {_escape(value)}"
    for backend, topology in data.topology_items():
        yield f"- **{backend}** topology: {_escape(topology)}"
    yield ""
    yield "## What the columns mean"
    yield ""
    for column in MEASUREMENT_COLUMNS:
        yield f"- **{column.flat_title}**: {column.meaning}"
    yield ""
    yield "## Glossary"
    yield ""
    yield from (f"- **{term}**: {meaning}" for term, meaning in GLOSSARY)


def _lesson_lines(item: WorkloadLesson) -> Iterator[str]:
    yield lesson_text(item)
    yield ""
    yield f"{lesson_expected(item)} **{lesson_verdict(item)}**"
    yield ""
    yield from (f"- {check_sentence(check)}" for check in item.checks)
    if item.checks:
        yield ""
    memory = memory_sentence(item)
    if memory is not None:
        yield memory
        yield ""


def _group_lines(group: SizeGroup, said: str | None) -> Iterator[str]:
    """A size's table and findings; its interval note unless the table above said the same."""
    yield f"### {group.title}"
    yield ""
    yield from table_lines(MEASUREMENT_COLUMNS, group.rows())
    yield ""
    note = group.interval_note()
    if note and note != said:
        yield f"_{note}_"
        yield ""
    # The baseline's finding repeats the heading; each other row carries its kind (the driver's
    # one interpreter or one per worker) on its own line, in the order the table groups them.
    for kind, findings in group.finding_kinds():
        for backend, finding_kind, finding in findings:
            if finding_kind is not FindingKind.BASELINE:
                yield f"- **{backend}** _({ROW_KINDS[kind]})_: {finding}"
    for backend, remark in group.remarks():
        yield f"- **{backend}** (note): {remark}"
    yield ""


def _scaling_lines(data: ReportData) -> Iterator[str]:
    sections = scaling.scaling_sections(data)
    if not sections:
        return
    yield f"## {scaling.scaling_heading(data.scaling)}"
    yield ""
    for section in sections:
        yield f"### {section.title}"
        yield ""
        yield section.sentence
        yield ""
        yield from table_lines(section.columns, section.rows)
        yield ""
    projections = scaling.report_projection_rows(data)
    if projections:
        yield f"### {scaling.NODE_PROJECTIONS_TITLE}"
        yield ""
        yield from table_lines(scaling.NODE_PROJECTION_COLUMNS, projections)
        yield ""
        yield f"_{node_projection_note()}_"
        yield ""


def _cutover_lines(cutover: cutover_content.WorkloadCutover | None) -> Iterator[str]:
    if cutover is None or not cutover.crossovers:
        return
    yield "### Where each step up starts to win"
    yield ""
    ladder = cutover.ladder_sentences()
    if ladder:
        yield "The ladder, along the grain:"
        yield ""
        yield from (f"- {sentence}" for sentence in ladder)
        yield ""
    for crossover in cutover.reached:
        yield f"- **{cutover.sentence(crossover)}**"
    if cutover.reached:
        yield ""
    if cutover.reached or cutover.unshown:
        yield from table_lines(
            cutover_content.CROSSOVER_COLUMNS, cutover.crossover_rows(shown_only=True)
        )
        yield ""
    never = len(cutover.crossovers) - len(cutover.reached) - len(cutover.unshown)
    if never:
        yield f"_{never_crossing_note(never)}_"
        yield ""
    yield f"### {cutover_content.FITS_TITLE}"
    yield ""
    yield from table_lines(cutover_content.FIT_TABLE_COLUMNS, cutover.fit_rows())
    yield ""
    if cutover.metgs:
        yield f"### {cutover_content.METG_TITLE}"
        yield ""
        yield from table_lines(cutover_content.METG_COLUMNS, cutover.metg_rows())
        yield ""
        yield f"_{cutover_content.METG_NOTE}_"
        yield ""


def render(data: ReportData) -> bytes:
    """The whole report as UTF-8 Markdown."""
    return ("\n".join(_lines(data)) + "\n").encode()
