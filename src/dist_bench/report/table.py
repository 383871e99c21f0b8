"""The terminal table: one table per workload and job size, one row per backend, with the reason."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dist_bench.comparison import Basis, Change, Comparison
from dist_bench.pooling import at_units
from dist_bench.report import scaling_content as scaling
from dist_bench.report.columns import (
    BACKEND_COLUMNS,
    BACKENDS_TITLE,
    MEASUREMENT_COLUMNS,
    Column,
    answer_text,
    size_title,
)
from dist_bench.report.content import ReportData
from dist_bench.report.scaling_sentences import node_projection_note
from dist_bench.report.sections import SizeGroup
from dist_bench.results import Record, Results
from dist_bench.stats import median
from dist_bench.units import format_seconds

#: How the answer cell stands out: a wrong answer or a failure must not be missed.
ANSWER_STYLES = {"ok": "green", "WRONG": "bold red", "error": "bold red"}


def results_tables(results: Results | ReportData) -> RenderableType:
    """All tables for ``results``, grouped by workload and job size in the order measured."""
    data = results if isinstance(results, ReportData) else ReportData(results)
    tables: list[RenderableType] = [_measurement_table(group) for group in data.groups]
    tables += scaling_tables(data)
    if data.results.backends:
        tables.append(columns_table(BACKENDS_TITLE, BACKEND_COLUMNS, data.backend_rows()))
    costs = [f"{label}: {text}" for label, text in data.single_thread_costs()]
    return Group(*tables, *costs)


def columns_table(
    title: str, columns: Sequence[Column], rows: Sequence[Sequence[RenderableType]]
) -> Table:
    """A table of ``columns`` holding ``rows``, without the columns kept out of the terminal."""
    shown = [index for index, column in enumerate(columns) if column.in_terminal]
    table = Table(title=title, title_justify="left", header_style="bold")
    for index in shown:
        column = columns[index]
        # The numbers never wrap; rich narrows the header-only columns instead.
        table.add_column(
            column.title,
            justify="right" if column.numeric else "left",
            no_wrap=(column.numeric and "(" in column.title) or column.title == "backend",
        )
    for row in rows:
        table.add_row(*(row[index] for index in shown))
    return table


def _measurement_table(group: SizeGroup) -> Table:
    rows = [
        [
            Text(cell, style=ANSWER_STYLES[cell]) if column.cell is answer_text else cell
            for cell, column in zip(row, MEASUREMENT_COLUMNS, strict=True)
        ]
        for row in group.rows()
    ]
    table = columns_table(group.title, MEASUREMENT_COLUMNS, rows)
    note = group.interval_note()
    lines = [note] if note else []
    lines += [f"{backend}: {text}" for backend, _, text in group.findings()]
    lines += [f"{backend}: {text}" for backend, text in group.remarks()]
    table.caption = "\n".join(lines)
    table.caption_justify = "left"
    return table


def scaling_tables(data: ReportData) -> list[RenderableType]:
    """One table per node sweep series, its fit and check said under it; then the projections."""
    tables: list[RenderableType] = []
    for section in scaling.scaling_sections(data):
        table = columns_table(section.title, section.columns, section.rows)
        table.caption = section.sentence
        table.caption_justify = "left"
        tables.append(table)
    projections = scaling.report_projection_rows(data)
    if projections:
        table = columns_table(
            scaling.NODE_PROJECTIONS_TITLE, scaling.NODE_PROJECTION_COLUMNS, projections
        )
        table.caption = node_projection_note()
        table.caption_justify = "left"
        tables.append(table)
    return tables


#: How each kind of change stands out in the terminal.
CHANGE_STYLES = {
    Change.SLOWER: "bold red",
    Change.BROKEN: "bold red",
    Change.FASTER: "green",
    Change.FIXED: "green",
    Change.SAME: "dim",
    Change.NEW: "cyan",
    Change.MISSING: "yellow",
}


def comparison_table(comparison: Comparison) -> Table:
    """One row per paired measurement: both medians, the ratio with its interval, the verdict."""
    table = Table(
        title=f"changes beyond noise (threshold {comparison.threshold:.0%}, "
        f"false discovery rate {comparison.fdr:.0%})",
        title_justify="left",
        header_style="bold",
    )
    for title, numeric in (
        ("workload: size", False),
        ("backend", False),
        ("before", True),
        ("after", True),
        ("after / before", True),
        ("vs the rest (95 % CI)", True),
        ("p", True),
        ("change", False),
    ):
        table.add_column(title, justify="right" if numeric else "left", no_wrap=numeric)
    for pair in comparison.pairs:
        ratio = "-" if pair.ratio is None else f"{pair.ratio:.2f}"
        relative = "-" if pair.relative is None else f"{pair.relative:.2f}"
        interval = pair.interval
        if interval is not None:
            # The interval belongs to what was tested: the relative ratio when there is one.
            span = f" ({interval.low:.2f}-{interval.high:.2f})"
            relative, ratio = (
                (relative + span, ratio) if pair.relative else (relative, ratio + span)
            )
        verdict = pair.change.value
        if pair.basis in (Basis.ONE_ROUND, Basis.MODEL) and pair.change is not Change.SAME:
            verdict += f" ({pair.basis.value})"
        table.add_row(
            size_title(pair.record),
            pair.record.backend,
            _median_of(pair.before),
            _median_of(pair.after),
            ratio,
            relative,
            "-" if pair.p_value is None else f"{pair.p_value:.2g}",
            Text(verdict, style=CHANGE_STYLES[pair.change]),
        )
    counts = ", ".join(
        f"{comparison.count(change)} {change.value}"
        for change in Change
        if comparison.count(change)
    )
    among_called, uncorrected = comparison.expected_by_chance()
    rounds = (
        " With rounds, a measurement is tested against the rest of its backend's in the same "
        "rounds (the 'vs the rest' column), which cancels the machine's speed from round to round."
        if comparison.shifts
        else ""
    )
    table.caption = (
        f"{counts}. Ratios are of the time per unit of work.{rounds} A change must be significant "
        f"after Benjamini-Hochberg over the {len(comparison.tested)} pairs, "
        f"{len(comparison.shifts)} backend shifts and {len(comparison.workloads)} workloads "
        f"tested, and pass the threshold: of the {comparison.called} called, "
        f"about {among_called:.1f} may be chance (testing each alone at {comparison.fdr:.0%} "
        f"would expect {uncorrected:.1f} false alarms)."
    )
    table.caption_justify = "left"
    return table


def _median_of(records: Sequence[Record]) -> str:
    if not records:
        return "-"
    if any(record.error for record in records):
        return "error"
    if not all(record.verified and record.wall_s for record in records):
        return "WRONG"
    # In the first one's units of work: rounds (and appended runs) calibrate anew.
    units = records[0].units
    return format_seconds(median([t for r in records for t in at_units(r, units).wall_s]))
