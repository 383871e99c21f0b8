"""The commands that read results files: ``list``, ``report``, ``compare`` and ``advise``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from dist_bench import defaults
from dist_bench.cli.options import plot_option, project_nodes_option, value_option
from dist_bench.cli.params import FiniteFloatRange
from dist_bench.cli.render import EXIT_FAILED, export, fail, render, stdout, warn
from dist_bench.errors import UsageError
from dist_bench.report import EXPORTERS, formats_for_output, parse_formats, plan_outputs, plan_plot
from dist_bench.units import parse_bytes, parse_count, parse_grain


@click.command("list")
def list_command() -> None:
    """List the built-in workloads and the backends, with whether each engine is installed."""
    from dist_bench.backends import backend_specs
    from dist_bench.units import format_bytes, format_seconds
    from dist_bench.workload import builtin_workloads

    workloads = Table(title="workloads", title_justify="left", header_style="bold")
    for column in ("name", "what it is", "default size"):
        workloads.add_column(column)
    for workload in builtin_workloads().values():
        size = f"{workload.default_tasks} tasks x {format_seconds(workload.default_grain_s)}"
        if workload.moves_bytes:
            size += f", {format_bytes(workload.default_bytes)}"
        workloads.add_row(workload.name, workload.summary, size)
    workloads.caption = "or a path to your own workload file (see README, 'Your own workload')"
    workloads.caption_justify = "left"

    backends = Table(title="backends", title_justify="left", header_style="bold")
    for column in ("name", "what it is", "available"):
        backends.add_column(column)
    for spec in backend_specs().values():
        reason = spec.unavailable_reason()
        status = "yes" if reason is None else f"[red]no[/red]: {reason}"
        backends.add_row(spec.name, spec.summary, status)
    stdout.print(workloads)
    stdout.print(backends)


_REPORT_HELP = "\n".join(
    [
        "Show a results file again, or export it, without measuring anything.",
        "",
        "\b",
        "Formats (--format):",
        *(f"  {spec.name:<5} {spec.summary}" for spec in EXPORTERS.values()),
        "",
        "\b",
        "Examples:",
        "  dist-bench report results.json                       # the tables again",
        "  dist-bench report results.json -o report.html         # the format from the suffix",
        "  dist-bench report results.json -f md -o -            # Markdown to standard output",
        "  dist-bench report results.json -f all -o out/        # out/report.html, .md, .csv, ...",
    ]
)


@click.command("report", help=_REPORT_HELP)
@click.argument("results_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-f",
    "--format",
    "formats",
    multiple=True,
    metavar="FORMAT",
    help="Write the report in FORMAT instead of showing the tables: "
    f"{', '.join(EXPORTERS)}, or all; a comma list or repeated for several.",
)
@click.option(
    "-o",
    "--output",
    metavar="PATH",
    help="Where --format writes: a file (one format; without --format its suffix chooses "
    "it), '-' for standard output (one text format), or an existing folder (each format as "
    "report.<suffix>). Default: beside RESULTS_FILE, named after it.",
)
@plot_option("the plots")
@project_nodes_option(
    help="Add PROJECTED speedups on this many nodes (e.g. 2,4,8,16) to the report; "
    "labelled as projections, never measured.",
)
def report_command(
    results_file: Path,
    formats: tuple[str, ...],
    output: str | None,
    plot: Path | None,
    project_nodes: list[int] | None,
) -> None:
    """Show a results file again, or export it, without measuring anything (help: above)."""
    from dist_bench.results import load_results

    # -o report.html says which format it wants; anything else must say it with --format.
    wanted = formats_for_output(formats, output)
    outputs = plan_outputs(parse_formats(wanted), output, source=results_file) if wanted else []
    if plot is not None:
        outputs.append(plan_plot(plot))
    results = load_results(results_file)
    analysis = export(outputs, results, project_nodes or (), terminal=not wanted)
    if not wanted:
        if analysis is not None and analysis.crossovers:
            from dist_bench.report.cutover_table import cutover_summary

            stdout.print(cutover_summary(results, analysis))
        render(results)


@click.command("compare")
@click.argument("before", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("after", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--threshold",
    type=FiniteFloatRange(min=0.0, min_open=True),
    default=5.0,
    show_default=True,
    help="Smallest change reported, in percent of the BEFORE time (the drift between rounds is "
    "in the tests' noise; a backend's shift must also pass its speed's drift).",
)
@click.option(
    "--model",
    is_flag=True,
    help="Match shapes measured in one file only through the other file's fitted cost model "
    "(labelled 'model'; never a regression).",
)
def compare_command(before: Path, after: Path, threshold: float, model: bool) -> None:
    """Compare two results files: which measurements got slower or faster beyond noise.

    Measurements pair up by workload, backend and job size (tasks, grain, bytes per task) and
    are compared in time per unit of work. Files from 'run --rounds N' (N >= 2 in both) are
    tested across rounds, so run-to-run drift counts as noise; with one round only the repeats'
    spread is known, and a change is marked 'drift unknown' and never fails. With rounds, each
    workload's measurements on every backend are also tested together, and each backend's.
    Benjamini-Hochberg holds the false discovery rate over all tests at 5 %, and a change must
    also pass --threshold. Measurements in one file only are new or missing.
    Files from different hosts are compared, with a warning.

    \b
    Exit status:
      0  nothing got slower (faster, new and missing measurements are fine)
      1  a regression: a measurement, a workload on every backend or a whole backend slower
         beyond noise across rounds, or a measurement failing now that passed before
      2  bad input (a file that is missing or not a results file)
    """  # noqa: D301 - not raw: click's no-rewrap marker is a real backspace ("\b")
    from dist_bench.compare import compare
    from dist_bench.report.compare_sentences import failure_message, workload_sentence
    from dist_bench.report.table import comparison_table
    from dist_bench.results import load_results

    comparison = compare(load_results(before), load_results(after), threshold / 100.0, model=model)
    for warning in comparison.warnings:
        warn(warning)
    stdout.print(comparison_table(comparison))
    for note in comparison.notes:
        stdout.print(f"note: {note}", highlight=False, soft_wrap=True)
    for found in comparison.workloads:
        stdout.print(workload_sentence(found), highlight=False, soft_wrap=True)
    failure = failure_message(comparison)
    if failure is not None:
        fail(failure, EXIT_FAILED)


@click.command("advise")
@value_option("--tasks", parse_count, "count", required=True, help="Tasks per job.")
@value_option(
    "--grain",
    parse_grain,
    "duration",
    required=True,
    help="Serial work per task (e.g. 5ms; at most 1 hour).",
)
@value_option(
    "--bytes",
    parse_bytes,
    "size",
    "bytes_per_task",
    default=0,
    help="Data each task moves (e.g. 1MB). Default: none.",
)
@click.option(
    "--from",
    "source",
    type=click.Path(dir_okay=False, path_type=Path),
    default=str(defaults.CUTOVER_FILE),
    show_default=True,
    help="Results file to fit (written by 'dist-bench cutover' or 'run').",
)
@click.option("--workload", help="Only this workload of the file (default: each in it).")
def advise_command(
    tasks: int,
    grain: float,
    bytes_per_task: int,
    source: Path,
    workload: str | None,
) -> None:
    r"""Rank the backends for a job you describe, with predicted times from a saved fit.

    
    Example:
      dist-bench advise --tasks 200 --grain 5ms --bytes 1MB --from results/cutover.json
    """
    from dist_bench.costmodel import JobShape, advise
    from dist_bench.report.cutover_table import advice_table
    from dist_bench.results import load_results

    results = load_results(source)
    ranked = advise(results, JobShape(tasks, grain, bytes_per_task))
    if workload is not None:
        if workload not in ranked:
            raise UsageError(
                f"{str(source)!r} has no fit for workload {workload!r}; it has: "
                f"{', '.join(ranked) or 'none'}"
            )
        ranked = {workload: ranked[workload]}
    if not ranked:
        raise UsageError(
            f"{str(source)!r} holds no verified measurement to fit: run 'dist-bench cutover' first"
        )
    for name, predictions in ranked.items():
        stdout.print(advice_table(name, predictions))
