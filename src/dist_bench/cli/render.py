"""What the commands show and how they end: the consoles, progress, tables and exit codes.

Every error the user can act on becomes one red line: exit 2 for input to fix, 1 for a run that
failed, 130 for Ctrl-C. Results already measured are in the results file whatever happens.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from rich.console import Console
from rich.table import Table

from dist_bench.report import Output, analysis_for, render_outputs, write_outputs

# Outside a terminal (CI logs, pipes) rich would wrap at 80 columns; tables read better wider.
stdout = Console(width=None if sys.stdout.isatty() else 120)
stderr = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: A run whose work, done serially, exceeds this says so before it starts (else it would sit
#: silent while the serial reference is computed).
LONG_RUN_S = 60.0


def fail(message: str, code: int) -> NoReturn:
    """Print ``message`` as one red error line and exit with ``code``."""
    stderr.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    sys.exit(code)


def warn(message: str) -> None:
    """Print ``message`` as one yellow warning line on stderr."""
    stderr.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


def fail_on_failed(results: Any) -> None:
    """Exit 1 naming the first failed measurement, if any failed."""
    failed = results.failed()
    if failed:
        first = failed[0]
        reason = first.error or "its answer differs from the serial answer"
        fail(
            f"{len(failed)} measurement(s) failed; first: {first.workload} on "
            f"{first.backend}: {reason}",
            EXIT_FAILED,
        )


def render(results: Any, *, fail_on_errors: bool = True) -> None:
    """Print the tables; then, unless told not to, exit 1 naming the first failed measurement."""
    from dist_bench.report.table import results_tables

    if not results.records:
        return
    stdout.print(results_tables(results))
    if fail_on_errors:
        fail_on_failed(results)


def export(
    outputs: list[Output],
    results: Any,
    project_nodes: Sequence[int] = (),
    *,
    terminal: bool = False,
) -> Any:
    """Render every output (all before the first is written), write them, say where.

    The cutover analysis is computed when a format (or, with ``terminal``, the terminal
    summary) shows it; it is returned (None when not computed).
    """
    from dist_bench.report.content import ReportData

    analysis = analysis_for(results, outputs, project_nodes, terminal=terminal)
    write_outputs(render_outputs(outputs, ReportData(results, analysis)))
    for item in outputs:
        if item.path is not None:
            stderr.print(f"wrote {item.spec.name}: {item.path}", highlight=False, soft_wrap=True)
    return analysis


def show_plan(estimate: Any) -> None:
    """Say, before a long run starts, how long its work takes serially and how to stop it."""
    from dist_bench.units import format_duration

    if estimate.total_s < LONG_RUN_S:
        return
    stderr.print(
        f"plan: the serial reference alone takes about {format_duration(estimate.reference_s)}; "
        f"all jobs about {format_duration(estimate.total_s)} if each ran serially (parallel "
        "backends take less). Ctrl-C stops it, keeping what is measured.",
        highlight=False,
        soft_wrap=True,
    )


def show_version_check(backend: str, check: Any) -> None:
    """The versions on the client and every node of a cluster, then each soft mismatch."""
    from dist_bench.versions import CHECKED_PACKAGES

    table = Table(title=f"{backend} cluster versions", title_justify="left", header_style="bold")
    table.add_column("node")
    for package in CHECKED_PACKAGES:
        table.add_column(package)
    for node in [check.client, *check.nodes]:
        table.add_row(node.get("node", "?"), *(node.get(p, "") or "-" for p in CHECKED_PACKAGES))
    stderr.print(table)
    for warning in check.soft:
        stderr.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


@contextmanager
def progress_bar(unit: str = "jobs") -> Iterator[Callable[[Any], None]]:
    """A progress bar with an ETA on stderr (a terminal only); ``unit="s"`` counts a budget."""
    if not stderr.is_terminal:
        # Rich draws nothing there but still ends with an empty line, which would stand above
        # an error's one line in a CI log or a pipe.
        yield lambda event: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    count = (
        TextColumn("{task.completed:.0f}/{task.total:.0f} s")
        if unit == "s"
        else MofNCompleteColumn()
    )
    columns = (
        TextColumn("{task.description:<32}"),
        BarColumn(),
        count,
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as progress:
        # A seconds bar formats its total from the start, so it needs one before the first event.
        bar = progress.add_task("preparing", total=None if unit == "jobs" else 1.0)

        def update(event: Any) -> None:
            progress.update(
                bar, completed=event.done, total=event.total, description=event.description
            )

        yield update
