"""The terminal table: one table per workload and job size, one row per backend, with the reason."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dist_bench.report.content import (
    BACKEND_COLUMNS,
    BACKENDS_TITLE,
    MEASUREMENT_COLUMNS,
    Column,
    ReportData,
    SizeGroup,
    answer_text,
)
from dist_bench.results import Results

#: How the answer cell stands out: a wrong answer or a failure must not be missed.
ANSWER_STYLES = {"ok": "green", "WRONG": "bold red", "error": "bold red"}


def results_tables(results: Results | ReportData) -> RenderableType:
    """All tables for ``results``, grouped by workload and job size in the order measured."""
    data = results if isinstance(results, ReportData) else ReportData(results)
    tables = [_measurement_table(group) for group in data.groups]
    if data.results.backends:
        tables.append(_table(BACKENDS_TITLE, BACKEND_COLUMNS, data.backend_rows()))
    return Group(*tables)


def _table(
    title: str, columns: Sequence[Column], rows: Sequence[Sequence[RenderableType]]
) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        # The numbers never wrap; rich narrows the header-only columns instead.
        table.add_column(
            column.title,
            justify="right" if column.numeric else "left",
            no_wrap=column.numeric and "(" in column.title,
        )
    for row in rows:
        table.add_row(*row)
    return table


def _measurement_table(group: SizeGroup) -> Table:
    shown = [column.in_terminal for column in MEASUREMENT_COLUMNS]
    rows = [
        [
            Text(cell, style=ANSWER_STYLES[cell]) if column.cell is answer_text else cell
            for cell, column, show in zip(row, MEASUREMENT_COLUMNS, shown, strict=True)
            if show
        ]
        for row in group.rows()
    ]
    columns = [column for column in MEASUREMENT_COLUMNS if column.in_terminal]
    table = _table(group.title, columns, rows)
    note = group.interval_note()
    lines = [note] if note else []
    lines += [f"{backend}: {text}" for backend, text in group.findings()]
    lines += [f"{backend}: {text}" for backend, text in group.remarks()]
    table.caption = "\n".join(lines)
    table.caption_justify = "left"
    return table
