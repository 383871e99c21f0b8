"""The ``dist-bench`` command: parses, calls the library, renders.

It is the only module that prints or exits.

Every error the user can act on becomes one red line: exit 2 for input to fix, 1 for a run that
failed, 130 for Ctrl-C. Results already measured are in the results file whatever happens.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.table import Table

from dist_bench import __version__
from dist_bench.errors import DistBenchError, UsageError
from dist_bench.report import (
    EXPORTERS,
    Output,
    parse_formats,
    plan_outputs,
    plan_plot,
    render_outputs,
    write_outputs,
)
from dist_bench.units import (
    MAX_REPEATS,
    MAX_WORKERS,
    ChunkMode,
    parse_bytes,
    parse_chunk,
    parse_count,
    parse_duration,
    parse_grain,
    parse_rate,
)

T = TypeVar("T")

# Outside a terminal (CI logs, pipes) rich would wrap at 80 columns; tables read better wider.
if TYPE_CHECKING:  # the cluster module is imported only by the cluster commands
    from dist_bench.cluster import DriverCommand

stdout = Console(width=None if sys.stdout.isatty() else 120)
stderr = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CommaList(click.ParamType):  # type: ignore[type-arg]
    """A comma-separated list of values, each parsed by ``parse`` (``10ms,100ms``)."""

    def __init__(self, parse: Callable[[str], Any], name: str) -> None:
        self.parse = parse
        self.name = name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Split on commas and parse each item; a bad item is a usage error naming it."""
        if isinstance(value, list):
            return value
        try:
            return [self.parse(item) for item in str(value).split(",") if item.strip()] or None
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses ``inf`` and ``nan`` (``nan`` passes every bound)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Convert and check the range as click does, then refuse what is not finite."""
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class OneValue(click.ParamType):  # type: ignore[type-arg]
    """One value parsed by ``parse`` (``5ms``, ``1MB``); a bad value is a usage error."""

    def __init__(self, parse: Callable[[str], Any], name: str) -> None:
        self.parse = parse
        self.name = name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Parse the value (click passes defaults through here too)."""
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dist-bench")
def cli() -> None:
    """Does a cluster pay off for my Python work, and from where?

    Runs the same workloads on serial, threads, asyncio, processes, Dask and Ray, checks every
    answer against the serial one, and reports speedups with confidence intervals and the reason
    behind each number (the GIL, dispatch overhead, moving bytes).

    \b
    Start with:  dist-bench list
                 dist-bench run cpu -b threads,processes
    """  # noqa: D301 - not raw: click's no-rewrap marker is a real backspace ("\b")


@cli.command("list")
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
        status = "yes" if spec.available() else f"[red]no[/red]: {spec.install_hint}"
        backends.add_row(spec.name, spec.summary, status)
    stdout.print(workloads)
    stdout.print(backends)


@cli.command("run")
@click.argument("workloads", nargs=-1, required=True)
@click.option(
    "-b",
    "--backends",
    default="all",
    show_default=True,
    help="Comma-separated backends, or 'all' (every installed one). serial is always run: "
    "it is the baseline.",
)
@click.option(
    "--tasks",
    type=CommaList(parse_count, "counts"),
    help="Tasks per job; a comma list sweeps (e.g. 8,64). Default: the workload's.",
)
@click.option(
    "--grain",
    type=CommaList(parse_grain, "durations"),
    help="Serial work per task (e.g. 1ms,50ms; at most 1 hour); the I/O workload's latency. "
    "Default: the workload's.",
)
@click.option(
    "--bytes",
    "bytes_per_task",
    type=CommaList(parse_bytes, "sizes"),
    help="Data per task for workloads that move data (e.g. 64KiB,4MiB).",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1, max=MAX_REPEATS),
    default=6,
    show_default=True,
    help="Measured jobs per backend and size (6 gives a 96.9 % interval).",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0, max=MAX_REPEATS),
    default=1,
    show_default=True,
    help="Unmeasured jobs first (the first is the cold one, stored apart).",
)
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Measure the whole grid N times in interleaved rounds (each backend restarted per "
    "round); their spread is the run-to-run drift 'compare' needs (2 at least; 3 or more "
    "give its test power).",
)
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(min=1, max=MAX_WORKERS),
    help="Parallel slots for every backend (default: each backend's own).",
)
@click.option(
    "--start-method",
    type=click.Choice(["fork", "forkserver", "spawn"]),
    help="How the processes backend starts workers (default: the platform's).",
)
@click.option(
    "--chunk",
    "chunks",
    type=CommaList(parse_chunk, "chunks"),
    default="auto",
    show_default=True,
    help="Tasks per dispatch on every backend: 'auto' groups tiny tasks so each dispatch carries "
    "enough work to amortise the backend's measured dispatch cost; N sends N at a time; a comma "
    "list measures each (1,auto shows naive beside automatic).",
)
@click.option(
    "--address",
    help="Existing cluster for the dask backend (tcp://HOST:8786) or the ray backend "
    "(auto, HOST:6379, ray://HOST:10001). Default: an embedded local cluster.",
)
@click.option(
    "--blas-threads",
    type=click.IntRange(min=1, max=MAX_WORKERS),
    default=1,
    show_default=True,
    help="BLAS/OpenMP threads per worker.",
)
@click.option(
    "--no-place",
    is_flag=True,
    help="Send large inputs with every job instead of placing them on the workers "
    "once (Dask scatter, Ray put).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Results file (JSON), written as measurements finish; an existing file from "
    "this machine is appended to. One run at a time: a second run given the same file is "
    "refused at its start.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw the speedups to this .png/.svg/.pdf (needs matplotlib).",
)
def run_command(
    workloads: tuple[str, ...],
    backends: str,
    tasks: list[int] | None,
    grain: list[float] | None,
    bytes_per_task: list[int] | None,
    repeats: int,
    warmup: int,
    rounds: int,
    workers: int | None,
    start_method: str | None,
    chunks: list[ChunkMode],
    address: str | None,
    blas_threads: int,
    no_place: bool,
    output: Path | None,
    plot: Path | None,
) -> None:
    """Run WORKLOADS (built-in names, 'all', or paths to .py files) on the chosen backends.

    \b
    Examples:
      dist-bench run cpu -b threads,processes
      dist-bench run io --tasks 48 --grain 20ms -b threads,asyncio,processes
      dist-bench run cpu --tasks 20000 --grain 10us -b processes --chunk 1,auto
      dist-bench run all -o results.json
      dist-bench run cpu io --rounds 3 -o before.json       # ready for 'compare'
      dist-bench run my_workload.py -b dask --address tcp://127.0.0.1:8786
    """  # noqa: D301 - not raw: click's no-rewrap marker is a real backspace ("\b")
    from dist_bench.backends import BackendOptions
    from dist_bench.measure import MeasureSettings
    from dist_bench.results import ResultsWriter, collect_metadata
    from dist_bench.sweep import SizeGrid, SweepPlan, run_sweep
    from dist_bench.workload import resolve_workloads

    chosen_workloads = resolve_workloads([n for arg in workloads for n in _names(arg)])
    plan = SweepPlan(
        workloads=chosen_workloads,
        backends=_resolve_backends(backends, address),
        sizes=SizeGrid(tasks=tasks, grain_s=grain, bytes_per_task=bytes_per_task),
        settings=MeasureSettings(
            repeats=repeats,
            warmup=warmup,
            place_inputs=not no_place,
        ),
        options=BackendOptions(
            workers=workers,
            start_method=start_method,
            address=address,
            blas_threads=blas_threads,
        ),
        chunks=chunks,
        rounds=rounds,
    )
    plot_output = plan_plot(plot) if plot is not None else None
    writer = ResultsWriter(output, collect_metadata(sys.argv))
    try:
        with _progress_bar() as on_progress:
            results = run_sweep(plan, writer, on_progress, _show_version_check, _show_plan)
    except KeyboardInterrupt:
        _render(writer.results, fail_on_errors=False)
        kept = f"; kept in {output}" if output else ""
        _fail(
            f"interrupted: {len(writer.results.records)} measurement(s) finished{kept}",
            EXIT_INTERRUPTED,
        )
    except DistBenchError:
        _render(writer.results, fail_on_errors=False)
        raise
    finally:
        writer.close()
    if plot_output is not None:
        _export([plot_output], results)
    _render(results)


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


@cli.command("report", help=_REPORT_HELP)
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
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw the plots to this .png/.svg/.pdf (needs matplotlib).",
)
@click.option(
    "--project-nodes",
    type=CommaList(parse_count, "counts"),
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

    if output is not None and not formats:
        # -o report.html says which format it wants; anything else must say it with --format.
        suffix = Path(output).suffix.lower()
        if output == "-" or not any(spec.suffix == suffix for spec in EXPORTERS.values()):
            raise UsageError(
                "-o needs --format (e.g. --format html), or a file named .html, .md, ..."
            )
        formats = (suffix,)
    outputs = plan_outputs(parse_formats(formats), output, source=results_file) if formats else []
    if plot is not None:
        outputs.append(plan_plot(plot))
    results = load_results(results_file)
    analysis = _export(outputs, results, project_nodes or (), terminal=not formats)
    if not formats:
        if analysis is not None and analysis.crossovers:
            from dist_bench.report.cutover_table import cutover_summary

            stdout.print(cutover_summary(results, analysis))
        _render(results)


@cli.command("compare")
@click.argument("before", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("after", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--threshold",
    type=FiniteFloatRange(min=0.0, min_open=True),
    default=5.0,
    show_default=True,
    help="Smallest change reported, in percent of the BEFORE time; a backend whose measured "
    "drift between rounds is larger needs a change beyond its drift.",
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
    spread is known, and a change is marked 'drift unknown' and never fails. Benjamini-Hochberg
    holds the false discovery rate over all pairs at 5 %, and a change must also pass the larger
    of --threshold and the backend's drift. Measurements in one file only are new or missing.
    Files from different hosts are compared, with a warning.

    \b
    Exit status:
      0  nothing got slower (faster, new and missing measurements are fine)
      1  a regression: slower beyond noise across rounds, or failing now that passed before
      2  bad input (a file that is missing or not a results file)
    """  # noqa: D301 - not raw: click's no-rewrap marker is a real backspace ("\b")
    from dist_bench.compare import compare
    from dist_bench.report.table import comparison_table
    from dist_bench.results import load_results

    comparison = compare(load_results(before), load_results(after), threshold / 100.0, model=model)
    for warning in comparison.warnings:
        stderr.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    stdout.print(comparison_table(comparison))
    for note in comparison.notes:
        stdout.print(f"note: {note}", highlight=False, soft_wrap=True)
    regressions = comparison.regressions
    slower_backends = comparison.slower_backends
    if regressions:
        first = regressions[0].record
        _fail(
            f"{len(regressions) + len(slower_backends)} regression(s); first: {first.workload} "
            f"on {first.backend} ({regressions[0].change.value})",
            EXIT_FAILED,
        )
    if slower_backends:
        shift = slower_backends[0]
        _fail(
            f"{len(slower_backends)} regression(s): every measurement on {shift.backend} slower "
            f"together (x{shift.ratio:.2f}), beyond its drift between rounds",
            EXIT_FAILED,
        )


def _export(
    outputs: list[Output],
    results: Any,
    project_nodes: Sequence[int] = (),
    *,
    terminal: bool = False,
) -> Any:
    """Render every output (all before the first is written), write them, say where.

    The cutover analysis is computed from the records when a format (or, with ``terminal``,
    the terminal summary) shows it; it is returned (None when not computed).
    """
    from dist_bench.report.content import ReportData

    analysis = None
    if terminal or any(item.spec.uses_analysis for item in outputs):
        from dist_bench.costmodel import analyse

        analysis = analyse(results, project_nodes=project_nodes)
    write_outputs(render_outputs(outputs, ReportData(results, analysis)))
    for item in outputs:
        if item.path is not None:
            stderr.print(f"wrote {item.spec.name}: {item.path}", highlight=False, soft_wrap=True)
    return analysis


#: Where ``cutover`` saves its results and ``advise`` reads them when no path is given.
DEFAULT_CUTOVER_FILE = Path("results/cutover.json")
#: The reports ``cutover`` writes beside its results file (those whose software is installed).
CUTOVER_REPORTS = ("html", "md", "csv", "png")


@cli.command("cutover")
@click.argument("workloads", nargs=-1)
@click.option(
    "-b",
    "--backends",
    default="all",
    show_default=True,
    help="Comma-separated backends, or 'all' (every installed one); serial always runs.",
)
@click.option(
    "--address",
    help="Existing Dask (tcp://HOST:8786) or Ray (auto, HOST:6379) cluster instead of an "
    "embedded one.",
)
@click.option(
    "--budget",
    type=OneValue(parse_duration, "duration"),
    default="120s",
    show_default=True,
    help="Time to spend measuring (e.g. 90s, 10min; at most a day); start-ups and the analysis "
    "come on top. "
    "More budget: more shapes around each crossover, narrower intervals.",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=2, max=MAX_REPEATS),
    default=3,
    show_default=True,
    help="Measured jobs per shape (more: steadier medians, slower search).",
)
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(min=1, max=MAX_WORKERS),
    help="Parallel slots per backend.",
)
@click.option(
    "--blas-threads",
    type=click.IntRange(min=1, max=MAX_WORKERS),
    default=1,
    show_default=True,
    help="BLAS/OpenMP threads per worker.",
)
@click.option(
    "--project-nodes",
    type=CommaList(parse_count, "counts"),
    help="Also PROJECT the speedup of each multi-process backend to this many nodes "
    "(e.g. 2,4,8,16), against the Amdahl bound; labelled as a projection, never measured.",
)
@click.option(
    "-o",
    "--output",
    "output_arg",
    # Kept a str: a trailing "/" (a folder, made if missing) survives; pathlib would drop it.
    type=click.Path(),
    default=str(DEFAULT_CUTOVER_FILE),
    show_default=True,
    help="Results file, or a folder (an existing one, or ending in /) to put cutover.json in; "
    "written as measurements finish, "
    "appended to when it holds earlier results from this machine (one run at a time). The "
    "reports (.html, .md, "
    ".csv, .png) are written beside it, named after it.",
)
def cutover_command(
    workloads: tuple[str, ...],
    backends: str,
    address: str | None,
    budget: float,
    repeats: int,
    workers: int | None,
    blas_threads: int,
    project_nodes: list[int] | None,
    output_arg: str,
) -> None:
    r"""Find where each step up (threads -> processes -> cluster) starts to pay off.

    Sweeps task grain, tasks per job and bytes per task for each WORKLOAD (default: every
    built-in), fits each backend's costs (start-up, dispatch per task, useful parallelism,
    bandwidth), and reports each crossover with a 95 % bootstrap interval and its reason, only
    where measured shapes on both sides show it. The budget goes where it matters: shapes are
    added around each crossover still uncertain, or not yet shown by the measurements.

    
    Examples:
      dist-bench cutover                                 # every workload, every backend, ~2 min
      dist-bench cutover cpu -b threads,processes --budget 30s
      dist-bench cutover cpu -b dask --address tcp://10.0.0.5:8786 --project-nodes 2,4,8,16
    """
    from dist_bench.backends import BackendOptions
    from dist_bench.cutover import CutoverPlan, run_cutover
    from dist_bench.measure import MeasureSettings
    from dist_bench.report.content import ReportData
    from dist_bench.report.cutover_table import cutover_summary
    from dist_bench.results import ResultsWriter, collect_metadata
    from dist_bench.workload import resolve_workloads

    chosen = resolve_workloads([n for arg in workloads or ("all",) for n in _names(arg)])
    plan = CutoverPlan(
        workloads=chosen,
        backends=_resolve_backends(backends, address),
        budget_s=budget,
        settings=MeasureSettings(repeats=repeats, warmup=1),
        options=BackendOptions(workers=workers, address=address, blas_threads=blas_threads),
        project_nodes=tuple(project_nodes or ()),
    )
    output = _cutover_results_path(output_arg)
    writer = ResultsWriter(output, collect_metadata(sys.argv))
    # The reports go beside the results file (cutover.html, ...), checked before measuring.
    available = [name for name in CUTOVER_REPORTS if EXPORTERS[name].available()]
    reports = plan_outputs(parse_formats(available), str(output.parent), stem=output.stem)
    try:
        with _progress_bar(unit="s") as on_progress:
            results, analysis = run_cutover(plan, writer, on_progress, _show_version_check)
    except KeyboardInterrupt:
        _fail(
            f"interrupted: {len(writer.results.records)} measurement(s) kept in {output}; "
            f"'dist-bench report {output}' shows them",
            EXIT_INTERRUPTED,
        )
    finally:
        writer.close()
    stdout.print(cutover_summary(results, analysis))
    write_outputs(render_outputs(reports, ReportData(results, analysis)))
    stdout.print(f"results: {output}  (advice: dist-bench advise --from {output} ...)")
    for report in reports:
        stdout.print(f"{report.spec.name}: {report.path}", highlight=False, soft_wrap=True)
    _fail_on_failed(results)


@cli.command("advise")
@click.option("--tasks", type=OneValue(parse_count, "count"), required=True, help="Tasks per job.")
@click.option(
    "--grain",
    type=OneValue(parse_grain, "duration"),
    required=True,
    help="Serial work per task (e.g. 5ms; at most 1 hour).",
)
@click.option(
    "--bytes",
    "bytes_per_task",
    type=OneValue(parse_bytes, "size"),
    default=0,
    help="Data each task moves (e.g. 1MB). Default: none.",
)
@click.option(
    "--from",
    "source",
    type=click.Path(dir_okay=False, path_type=Path),
    default=str(DEFAULT_CUTOVER_FILE),
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


def _resolve_backends(text: str, address: str | None) -> list[str]:
    from dist_bench.backends import backend_specs, get_backend_spec

    names = _names(text)
    if not names:
        raise UsageError("no backend given to -b; run 'dist-bench list' for the names")
    if names == ["all"]:
        chosen = [name for name, spec in backend_specs().items() if spec.available()]
    else:
        chosen = [get_backend_spec(name).name for name in names]
    engines = [name for name in chosen if name in ("dask", "ray")]
    if address is not None:
        if not engines:
            raise UsageError("--address needs -b dask or -b ray")
        if len(engines) > 1:
            raise UsageError("--address points at one cluster: choose -b dask or -b ray, not both")
        from dist_bench.cluster import configure_local_client

        # One of our own local clusters: its TLS files or token, so no exports are needed.
        configure_local_client(address)
    return list(dict.fromkeys(chosen))


#: A run whose work, done serially, exceeds this says so before it starts (else it would sit
#: silent while the serial reference is computed).
LONG_RUN_S = 60.0


def _show_plan(estimate: Any) -> None:
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


@contextmanager
def _progress_bar(unit: str = "jobs") -> Iterator[Callable[[Any], None]]:
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


def _show_version_check(backend: str, check: Any) -> None:
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


def _render(results: Any, *, fail_on_errors: bool = True) -> None:
    """Print the tables; then, unless told not to, exit 1 naming the first failed measurement."""
    from dist_bench.report.table import results_tables

    if not results.records:
        return
    stdout.print(results_tables(results))
    if fail_on_errors:
        _fail_on_failed(results)


def _cutover_results_path(output: str) -> Path:
    """The results file ``-o`` names: a file, or cutover.json in a folder (made when missing).

    The default's folder (``results/``) is made too; a file's missing folder is not (a typo
    should fail before the run, in ``ResultsWriter``, not create folders).

    Raises:
        UsageError: the folder cannot be made (a file is in the way, no permission).
    """
    path = Path(output)
    try:
        # Inside a folder the user cannot enter, even asking whether it is a folder is refused.
        is_folder = path.is_dir()
    except OSError as exc:
        raise UsageError(f"cannot write {output!r}: {exc.strerror}") from None
    if is_folder or output.endswith(("/", os.sep)):
        folder, path = path, path / DEFAULT_CUTOVER_FILE.name
    elif path == DEFAULT_CUTOVER_FILE:
        folder = path.parent
    else:
        return path
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot make the folder {str(folder)!r} for -o: {exc.strerror}") from None
    return path


def _fail_on_failed(results: Any) -> None:
    """Exit 1 naming the first failed measurement, if any failed."""
    failed = [r for r in results.records if r.error is not None or not r.verified]
    if failed:
        first = failed[0]
        reason = first.error or "its answer differs from the serial answer"
        _fail(
            f"{len(failed)} measurement(s) failed; first: {first.workload} on "
            f"{first.backend}: {reason}",
            EXIT_FAILED,
        )


def _fail(message: str, code: int) -> NoReturn:
    stderr.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    sys.exit(code)


# -- dist-bench cluster: the local multi-container cluster (library: dist_bench.cluster) ---------

_project_option = click.option(
    "--project",
    default="dist-bench",
    show_default=True,
    envvar="DIST_BENCH_CLUSTER_PROJECT",
    help="Compose project name, so several clusters can run side by side.",
)


@cli.group("cluster")
def cluster_group() -> None:
    """A local multi-container Dask or Ray cluster (docker-compose.yml; docs/cluster.md).

    Start with 'dist-bench cluster up --engine dask --workers 2', measure with 'dist-bench
    cluster run -- run cpu' (inside the cluster network), and end with 'dist-bench cluster down'.
    """


@cluster_group.command("build")
@click.option("--base-image", help="Base image (default: python:X.Y-slim, else an offline one).")
@_project_option
def cluster_build_command(base_image: str | None, project: str) -> None:
    """Build the cluster image from this client's exact packages (done by 'up' when needed)."""
    from dist_bench import cluster

    built = cluster.build(base_image, project=project)
    what = "built" if built.rebuilt else "up to date"
    stdout.print(f"{built.image} {what} on {built.base_image} in {built.seconds:.1f} s")


@cluster_group.command("up")
@click.option("--engine", type=click.Choice(["dask", "ray"]), required=True)
@click.option(
    "--workers", type=click.IntRange(min=1, max=MAX_WORKERS), default=2, show_default=True
)
@click.option("--cpus", type=FiniteFloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="CPUs per worker container.")  # fmt: skip
@click.option("--memory", default="2GiB", show_default=True,
              help="Memory per worker container (at most 1 TiB).")  # fmt: skip
@click.option("--insecure", is_flag=True,
              help="Dask without TLS: any local user could run code on it.")  # fmt: skip
@click.option("--timeout", default="180s", show_default=True,
              help="How long to wait for every worker to join.")  # fmt: skip
@click.option("--link-rate", type=OneValue(parse_rate, "rate"),
              help="Shape every container's link with tbf (e.g. 1gbit, 100mbit).")  # fmt: skip
@click.option("--link-latency", type=OneValue(parse_duration, "duration"),
              help="Add this delay to every packet (netem; needs --link-rate).")  # fmt: skip
@click.option("--base-image", help="Base image (default: python:X.Y-slim, else an offline one).")
@_project_option
def cluster_up_command(
    engine: str,
    workers: int,
    cpus: float,
    memory: str,
    insecure: bool,
    timeout: str,
    link_rate: int | None,
    link_latency: float | None,
    base_image: str | None,
    project: str,
) -> None:
    """Build if needed, start, and wait until every worker has joined; show how to reach it."""
    from dist_bench import cluster

    try:
        memory_bytes, timeout_s = parse_bytes(memory), parse_duration(timeout)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    latency_ms = None if link_latency is None else link_latency * 1000
    spec = cluster.ClusterSpec(
        engine, workers, cpus, memory_bytes, insecure, project, link_rate, latency_ms
    )
    report = cluster.up(spec, timeout_s=timeout_s, base_image=base_image)
    stdout.print(
        f"{engine} cluster ready in {report.ready_s:.1f} s "
        f"(image checked in {report.build_s:.1f} s): {len(report.workers)} worker container(s)"
    )
    _show_cluster(report)


@cluster_group.command("status")
@_project_option
def cluster_status_command(project: str) -> None:
    """Workers, cores, memory and versions, as the scheduler or head reports them."""
    from dist_bench import cluster

    _show_cluster(cluster.status(project))


@cluster_group.command("logs")
@click.option("--follow", "-f", is_flag=True, help="Keep following new lines.")
@click.option("--tail", type=click.IntRange(min=0), help="Only the last N lines per container.")
@_project_option
def cluster_logs_command(follow: bool, tail: int | None, project: str) -> None:
    """The containers' logs."""
    from dist_bench import cluster

    sys.exit(cluster.logs(project, follow=follow, tail=tail))


@cluster_group.command(
    "run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@_project_option
@click.argument("args", nargs=-1, required=True, type=click.UNPROCESSED)
def cluster_run_command(project: str, args: tuple[str, ...]) -> None:
    """Run 'dist-bench ARGS' in the driver container, inside the cluster network.

    Example: 'dist-bench cluster run -- run cpu -o results/in-network.json'. A 'run' without
    --address or -b gets the cluster's. The current folder is the driver's working folder.
    """
    from dist_bench import cluster

    sys.exit(cluster.run(driver_command(args), project))


def driver_command(args: Sequence[str]) -> DriverCommand:
    """``args`` read by dist-bench's own parser: outputs, and whether --address and -b were given.

    Every spelling click accepts (``--output=F``, ``-oF``, ``-bdask``) is read as click reads
    it; a command it does not know is passed on as it is (the driver says what is wrong).
    """
    from click.core import ParameterSource

    from dist_bench.cluster import DriverCommand

    command = cli.commands.get(args[0]) if args else None
    if command is None:
        return DriverCommand(tuple(args))
    context = command.make_context(args[0], list(args[1:]), resilient_parsing=True)
    outputs = tuple(
        str(context.params[option.name])
        for option in command.params
        if isinstance(option, click.Option)
        and option.name is not None
        and {"-o", "--plot"} & set(option.opts)
        and context.params.get(option.name) not in (None, "-")
    )
    is_run = args[0] == "run"
    return DriverCommand(
        tuple(args),
        outputs,
        needs_address=is_run and context.params.get("address") is None,
        needs_backends=is_run
        and context.get_parameter_source("backends") is ParameterSource.DEFAULT,
    )


@cluster_group.command("down")
@_project_option
def cluster_down_command(project: str) -> None:
    """Remove the cluster's containers, networks, volumes and secrets."""
    from dist_bench import cluster

    removed = cluster.down(project)
    stdout.print("\n".join(removed) if removed else f"nothing of project {project!r} was running")


def _show_cluster(report: Any) -> None:
    table = Table(title=f"{report.engine} workers", title_justify="left", header_style="bold")
    for column in ("worker", "cores", "memory", "python", report.engine, "numpy"):
        table.add_column(column)
    engine_package = "distributed" if report.engine == "dask" else "ray"
    for worker in report.workers:
        versions = worker.versions
        table.add_row(
            worker.name,
            str(worker.cores),
            f"{worker.memory_bytes / 1024**3:.2f} GiB",
            versions.get("python", ""),
            versions.get(engine_package, ""),
            versions.get("numpy", ""),
        )
    stdout.print(table)
    if report.open_to_local_users:
        stderr.print(
            "[yellow]warning:[/] --insecure: every local user can connect to this cluster and run "
            "code in it as you (no TLS certificate asked)"
        )
    if report.link is not None:
        _show_link(report.link)
    for label, address in report.addresses.items():
        stdout.print(f"address ({label}): {address}", highlight=False)
    for label, url in report.dashboards.items():
        stdout.print(f"dashboard ({label}): {url}", highlight=False)
    if report.client_env:
        stdout.print(
            "dist-bench on this host finds these itself; any other client here needs:",
            highlight=False,
        )
        for name, value in report.client_env.items():
            stdout.print(f"  export {name}={value}", highlight=False)


# -- dist-bench scale: a node-count sweep on the local cluster (library: dist_bench.node_sweep) ---

DEFAULT_SCALE_FILE = Path("results/scale.json")


@cli.command("scale")
@click.argument("workload")
@click.option("-b", "--backend", type=click.Choice(["dask", "ray"]), required=True)
@click.option(
    "--nodes",
    type=CommaList(parse_count, "counts"),
    default="1,2,4",
    show_default=True,
    help="Cluster sizes, each measured in turn (smallest first).",
)
@click.option(
    "--cpus",
    type=FiniteFloatRange(min=0, min_open=True),
    help="CPUs per node, the same on every size (default: this host's cores over the most "
    "nodes, so nodes never share a core; a fraction is a CFS quota).",
)
@click.option("--memory", default="1GiB", show_default=True, help="Memory per node.")
@click.option(
    "--tasks-per-node",
    type=click.IntRange(min=1, max=10**6),
    default=8,
    show_default=True,
    help="Weak scaling: tasks per node. Strong scaling runs the largest size's total on all.",
)
@click.option(
    "--grain",
    type=OneValue(parse_grain, "duration"),
    default="50ms",
    show_default=True,
    help="Serial work per task.",
)
@click.option(
    "--bytes",
    "bytes_per_task",
    type=OneValue(parse_bytes, "size"),
    help="Bytes per task (workloads that move bytes).",
)
@click.option(
    "--scaling",
    type=click.Choice(["strong", "weak", "both"]),
    default="both",
    show_default=True,
    help="Strong: the same total work on every size; weak: the same work per node.",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1, max=MAX_REPEATS),
    default=3,
    show_default=True,
    help="Measured jobs per size and series (one warm-up before them).",
)
@click.option(
    "--link-rate",
    type=OneValue(parse_rate, "rate"),
    help="Shape every node's link to this rate (tbf), e.g. 1gbit, 100mbit.",
)
@click.option(
    "--project-nodes",
    type=CommaList(parse_count, "counts"),
    help="Also PROJECT each fitted law to these sizes (default: 2x and 4x the largest), with "
    "its held-out error beside it.",
)
@click.option("--keep", is_flag=True, help="Leave the cluster running at its largest size.")
@_project_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=str(DEFAULT_SCALE_FILE),
    show_default=True,
    help="Results file, written as each size is measured (appended to from this machine).",
)
def scale_command(
    workload: str,
    backend: str,
    nodes: list[int],
    cpus: float | None,
    memory: str,
    tasks_per_node: int,
    grain: float,
    bytes_per_task: int | None,
    scaling: str,
    repeats: int,
    link_rate: int | None,
    project_nodes: list[int] | None,
    keep: bool,
    project: str,
    output: Path,
) -> None:
    """Measure WORKLOAD on the local cluster at several node counts: how speedup bends.

    Each size is 'cluster up' with that many worker containers, every node the same slice (CPUs
    and memory), whole cores pinned; strong scaling (the same total work on every size) and weak
    scaling (the same work per node) give speedup, efficiency and the Karp-Flatt serial fraction
    per size, with Amdahl's and Gustafson's laws fitted, each checked on the largest size from
    a fit made without it. docs/scaling.md is the lesson.

    \b
    Examples:
      dist-bench scale cpu -b dask                       # 1, 2, 4 nodes of half a core
      dist-bench scale blas -b ray --nodes 1,2 --cpus 1
      dist-bench scale data -b dask --link-rate 100mbit --scaling weak
    """  # noqa: D301 - not raw: click's no-rewrap marker is a real backspace ("\b")
    from dist_bench import cluster
    from dist_bench.cluster_pool import ComposePool
    from dist_bench.measure import MeasureSettings
    from dist_bench.node_sweep import NodeSweepPlan, run_node_sweep
    from dist_bench.report.content import ReportData
    from dist_bench.report.table import scaling_tables
    from dist_bench.results import ResultsWriter, collect_metadata
    from dist_bench.scaling import NodeSlice, Scaling
    from dist_bench.workload import resolve_workloads

    (chosen,) = resolve_workloads([workload])
    node_cpus = cpus if cpus is not None else (os.cpu_count() or 1) / max(nodes)
    try:
        memory_bytes = parse_bytes(memory)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    plan = NodeSweepPlan(
        workload=chosen,
        nodes=nodes,
        tasks_per_node=tasks_per_node,
        grain_s=grain,
        bytes_per_task=(bytes_per_task or chosen.default_bytes) if chosen.moves_bytes else 0,
        scalings=list(Scaling) if scaling == "both" else [Scaling(scaling)],
        settings=MeasureSettings(repeats=repeats, warmup=1),
    )
    pool = ComposePool(
        backend, NodeSlice(node_cpus, memory_bytes), project=project, link_rate_bits=link_rate
    )
    pool.check_fits(max(nodes))
    if output == DEFAULT_SCALE_FILE:
        output.parent.mkdir(exist_ok=True)
    writer = ResultsWriter(output, collect_metadata(sys.argv))
    try:
        with _progress_bar() as on_progress:
            results = run_node_sweep(plan, pool, writer, on_progress)
    except KeyboardInterrupt:
        _fail(
            f"interrupted: {len(writer.results.records)} measurement(s) kept in {output}",
            EXIT_INTERRUPTED,
        )
    finally:
        writer.close()
        if not keep:
            cluster.down(project)
    for table in scaling_tables(ReportData(results, node_projections=project_nodes or ())):
        stdout.print(table)
    stdout.print(f"results: {output}  (every format: dist-bench report {output} --format html)")
    _fail_on_failed(results)


def _show_link(check: Any) -> None:
    """The timed transfer between two nodes, against the rate their links were set to."""
    from dist_bench.units import format_rate

    measured = format_rate(check.measured_bits)
    line = f"link {check.sender} -> {check.receiver}: {measured} measured"
    if check.set_rate_bits is None:
        stdout.print(f"{line} (not shaped: the bridge's own speed)", highlight=False)
        return
    verdict = "within 10 %" if check.within_tolerance else "[bold red]NOT within 10 %[/]"
    stdout.print(f"{line}, set to {format_rate(check.set_rate_bits)}: {verdict}", highlight=False)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the click group and map every error to one line and an exit code."""
    try:
        code = cli.main(args=argv, prog_name="dist-bench", standalone_mode=False)
    except click.UsageError as exc:
        _fail(exc.format_message(), EXIT_USAGE)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except click.Abort:
        _fail("interrupted", EXIT_INTERRUPTED)
    except DistBenchError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)
