"""The Markdown exporter: the terminal's tables and findings as GitHub-flavoured Markdown.

For pasting into a README, an issue or a pull request: one section per workload, one table per
job size with the finding of each backend under it, then the backends, the metadata and what each
column means.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dist_bench.report import scaling_content as scaling
from dist_bench.report.content import (
    BACKEND_COLUMNS,
    BACKENDS_TITLE,
    CROSSOVER_COLUMNS,
    FIT_TABLE_COLUMNS,
    FITS_TITLE,
    MEASUREMENT_COLUMNS,
    PROJECTION_COLUMNS,
    PROJECTIONS_NOTE,
    PROJECTIONS_TITLE,
    Column,
    ReportData,
    WorkloadCutover,
    projection_rows,
    workload_cutover,
)
from dist_bench.report.sentences import node_projection_note, warning_sentence


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
    for workload, groups in data.workloads().items():
        yield f"## {workload}"
        yield ""
        yield from _cutover_lines(workload_cutover(data, workload))
        for group in groups:
            yield f"### {group.title}"
            yield ""
            yield from table_lines(MEASUREMENT_COLUMNS, group.rows())
            yield ""
            note = group.interval_note()
            if note:
                yield f"_{note}_"
                yield ""
            for backend, _, finding in group.findings():
                yield f"- **{backend}**: {finding}"
            for backend, remark in group.remarks():
                yield f"- **{backend}** (note): {remark}"
            yield ""
    yield from _scaling_lines(data)
    projections = projection_rows(data.analysis)
    if projections:
        yield f"## {PROJECTIONS_TITLE}"
        yield ""
        yield from table_lines(PROJECTION_COLUMNS, projections)
        yield ""
        yield f"_{PROJECTIONS_NOTE}_"
        yield ""
    if data.analysis is not None and data.analysis.warnings:
        yield "## Warnings"
        yield ""
        yield from (f"- {warning_sentence(warning)}" for warning in data.analysis.warnings)
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


def _scaling_lines(data: ReportData) -> Iterator[str]:
    sections = scaling.scaling_sections(data)
    if not sections:
        return
    yield f"## {scaling.SCALING_TITLE}"
    yield ""
    for section in sections:
        yield f"### {section.title}"
        yield ""
        yield section.sentence
        yield ""
        yield from table_lines(scaling.SCALING_COLUMNS, section.rows)
        yield ""
    projections = scaling.report_projection_rows(data)
    if projections:
        yield f"### {scaling.NODE_PROJECTIONS_TITLE}"
        yield ""
        yield from table_lines(scaling.NODE_PROJECTION_COLUMNS, projections)
        yield ""
        yield f"_{node_projection_note()}_"
        yield ""


def _cutover_lines(cutover: WorkloadCutover | None) -> Iterator[str]:
    if cutover is None or not cutover.crossovers:
        return
    yield "### Where each step up starts to win"
    yield ""
    for crossover in cutover.reached:
        yield f"- **{cutover.sentence(crossover)}**"
    for crossover in cutover.unshown:
        yield f"- {cutover.sentence(crossover)}"
    if cutover.reached or cutover.unshown:
        yield ""
    yield from table_lines(CROSSOVER_COLUMNS, cutover.crossover_rows())
    yield ""
    yield f"### {FITS_TITLE}"
    yield ""
    yield from table_lines(FIT_TABLE_COLUMNS, cutover.fit_rows())
    yield ""


def render(data: ReportData) -> bytes:
    """The whole report as UTF-8 Markdown."""
    return ("\n".join(_lines(data)) + "\n").encode()
