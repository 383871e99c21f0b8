"""The terminal table: one table per workload and job size, one row per backend, with the reason."""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dist_bench.analysis import BASELINE, Summary, row_label, summarize
from dist_bench.results import Results
from dist_bench.units import format_bytes, format_seconds


def results_tables(results: Results) -> RenderableType:
    """All tables for ``results``, grouped by workload and job size in the order measured."""
    groups: dict[tuple[str, int, float, int], list[Summary]] = {}
    for summary in summarize(results):
        groups.setdefault(summary.record.size_key(), []).append(summary)
    # The baseline row first, whatever order the backends ran in (--address runs first).
    tables = [
        _table(sorted(summaries, key=lambda s: s.record.backend != BASELINE))
        for summaries in groups.values()
    ]
    if results.backends:
        tables.append(_backends_table(results))
    return Group(*tables)


def _backends_table(results: Results) -> Table:
    """Each backend's life: cold start-up and shutdown, timed apart from the work, and where."""
    table = Table(
        title="backends: start-up and shutdown (timed apart from the jobs)",
        title_justify="left",
        header_style="bold",
    )
    table.add_column("backend")
    table.add_column("workers", justify="right")
    table.add_column("start-up", justify="right")
    table.add_column("shutdown", justify="right")
    table.add_column("dispatch\ncost", justify="right")
    table.add_column("where")
    for run in results.backends:
        topology = run.topology
        where = str(topology.get("address") or "this machine")
        if topology.get("start_method"):
            where += f" (start method {topology['start_method']})"
        table.add_row(
            run.backend,
            str(topology.get("workers", "-")),
            format_seconds(run.startup_s),
            format_seconds(run.shutdown_s) if run.shutdown_s is not None else "-",
            format_seconds(run.dispatch_s) if run.dispatch_s is not None else "-",
            where,
        )
    return table


def _table(summaries: list[Summary]) -> Table:
    first = summaries[0].record
    title = f"{first.workload}: {first.tasks} tasks x {format_seconds(first.grain_s)} grain"
    if first.bytes_per_task:
        title += f", {format_bytes(first.bytes_per_task)} per task"
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("backend")
    table.add_column("workers", justify="right")
    table.add_column("tasks per\ndispatch", justify="right", no_wrap=True)
    # The numbers never wrap; rich narrows the header-only columns instead.
    table.add_column("median (interval)", justify="right", no_wrap=True)
    table.add_column("speedup (95 % CI)", justify="right", no_wrap=True)
    table.add_column("effic.", justify="right")
    table.add_column("task time\nvs serial", justify="right")
    table.add_column("overhead\nper task", justify="right")
    table.add_column("cold\njob", justify="right")
    table.add_column("answer")
    for summary in summaries:
        table.add_row(*_cells(summary))
    table.caption = "\n".join(_footnotes(summaries))
    table.caption_justify = "left"
    return table


def _cells(summary: Summary) -> list[RenderableType]:
    record = summary.record
    dash = "-"
    interval = summary.interval
    speedup = summary.speedup_interval
    answer = (
        Text("error", style="bold red")
        if record.error
        else Text("ok", style="green")
        if record.verified
        else Text("WRONG", style="bold red")
    )
    median_text = dash
    if summary.median_s is not None and interval is not None:
        median_text = (
            f"{format_seconds(summary.median_s)} ({_bare(interval.low)}-{_bare(interval.high)})"
        )
    return [
        record.backend,
        str(record.workers),
        f"auto: {record.chunk}" if record.chunk_auto else str(record.chunk),
        median_text,
        (
            f"{summary.speedup:.2f}x ({speedup.low:.2f}-{speedup.high:.2f})"
            if summary.speedup is not None and speedup is not None
            else dash
        ),
        f"{summary.efficiency:.0%}" if summary.efficiency is not None else dash,
        f"{summary.task_time_ratio:.2f}x" if summary.task_time_ratio is not None else dash,
        (
            format_seconds(summary.overhead_per_task_s)
            if summary.overhead_per_task_s is not None
            else dash
        ),
        format_seconds(record.warmup_s[0]) if record.warmup_s else dash,
        answer,
    ]


def _bare(seconds: float) -> str:
    """An interval end without repeating the unit (the median beside it carries it)."""
    return format_seconds(seconds).split(" ")[0]


def _footnotes(summaries: list[Summary]) -> Iterator[str]:
    confidences = {s.interval.confidence for s in summaries if s.interval is not None}
    if confidences:
        lowest = min(confidences)
        yield (
            f"median interval: order statistics, {lowest:.1%} confidence for "
            f"{len(summaries[0].record.wall_s)} repeats; speedup interval: bootstrap"
        )
    for summary in summaries:
        yield f"{row_label(summary.record)}: {summary.finding}"
    for summary in summaries:
        for warning in summary.warnings:
            yield f"{row_label(summary.record)}: {warning}"
        for note in summary.record.notes:
            yield f"{row_label(summary.record)}: {note}"
