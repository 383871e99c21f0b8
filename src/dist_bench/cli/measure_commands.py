"""The commands that measure: ``run`` (a grid of sizes) and ``cutover`` (the adaptive search)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from dist_bench import defaults
from dist_bench.cli.options import (
    address_option,
    backends_option,
    blas_threads_option,
    bounded_option,
    list_option,
    plot_option,
    project_nodes_option,
    worker_counts_option,
    workers_option,
)
from dist_bench.cli.params import KeepsArguments, OneValue, split_names
from dist_bench.cli.render import (
    EXIT_INTERRUPTED,
    export,
    fail,
    fail_on_failed,
    progress_bar,
    render,
    show_plan,
    show_version_check,
    stderr,
    stdout,
    warn,
)
from dist_bench.errors import DistBenchError
from dist_bench.report import plan_plot, plan_reports_beside, render_outputs, write_outputs
from dist_bench.units import (
    ChunkMode,
    parse_bytes,
    parse_chunk,
    parse_count,
    parse_duration,
    parse_grain,
)


def resolve_backends(text: str, address: str | None) -> list[str]:
    """The backends ``-b`` names (``backends.resolve_backends``); ``address`` made reachable.

    When ``address`` is one of our own local clusters, its TLS files or token are configured
    here, so no exports are needed.
    """
    from dist_bench.backends import resolve_backends as resolve

    chosen = resolve(split_names(text), address)
    if address is not None:
        from dist_bench.cluster import configure_local_client

        configure_local_client(address)
    return chosen


@click.command("run", cls=KeepsArguments)
@click.argument("workloads", nargs=-1, required=True)
@backends_option
@list_option(
    "--tasks",
    parse_count,
    "counts",
    help="Tasks per job; a comma list sweeps (e.g. 8,64). Default: the workload's.",
)
@list_option(
    "--grain",
    parse_grain,
    "durations",
    help="Serial work per task (e.g. 1ms,50ms; at most 1 hour); the I/O workload's latency. "
    "Default: the workload's.",
)
@list_option(
    "--bytes",
    parse_bytes,
    "sizes",
    "bytes_per_task",
    help="Data per task for workloads that move data (e.g. 64KiB,4MiB).",
)
@bounded_option(
    "--repeats",
    low=1,
    default=defaults.REPEATS,
    help="Measured jobs per backend and size (6 gives a 96.9 % interval).",
)
@bounded_option(
    "--warmup",
    low=0,
    default=defaults.WARMUP,
    help="Unmeasured jobs first (the first is the cold one, stored apart).",
)
@bounded_option(
    "--rounds",
    low=1,
    high=None,
    default=1,
    help="Measure the whole grid N times in interleaved rounds (each backend restarted per "
    "round); their spread is the run-to-run drift 'compare' needs (2 at least; 3 or more "
    "give its test power).",
)
@worker_counts_option
@click.option(
    "--weak",
    is_flag=True,
    help="With -w 1,2,...: weak scaling. Each count runs --tasks tasks per worker (the same "
    "work per worker), serial runs every count's job, and the report fits Gustafson's law "
    "through the counts.",
)
@click.option(
    "--start-method",
    type=click.Choice(["fork", "forkserver", "spawn"]),
    help="How the processes backend starts workers (default: the platform's).",
)
@list_option(
    "--chunk",
    parse_chunk,
    "chunks",
    "chunks",
    default="auto",
    show_default=True,
    help="Tasks per dispatch on every backend: 'auto' groups tiny tasks so each dispatch carries "
    "enough work to amortise the backend's measured dispatch cost; N sends N at a time; a comma "
    "list measures each (1,auto shows naive beside automatic).",
)
@address_option
@blas_threads_option
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
@plot_option("the speedups")
@click.option(
    "--python",
    "python",
    help="Interpreters to measure on, one after another, each against its own serial run: "
    "'host' (this one), a version (3.14: python3.14 on PATH, else the runtime image "
    "runtimes/build-runtime.sh makes) or a path (a free-threaded build, a venv). "
    "Default: host only.",
)
@click.option(
    "--as-runtime",
    is_flag=True,
    hidden=True,
    help="Run as one interpreter of another run's --python: skip the backends this one lacks, "
    "saying why; an interruption names no file (that run keeps the records and says where).",
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
    workers: list[int] | None,
    weak: bool,
    start_method: str | None,
    chunks: list[ChunkMode],
    address: str | None,
    blas_threads: int,
    no_place: bool,
    output: Path | None,
    plot: Path | None,
    python: str | None,
    as_runtime: bool,
) -> None:
    """Run WORKLOADS (built-in names, 'all', or paths to .py files) on the chosen backends.

    \b
    Examples:
      dist-bench run cpu -b threads,processes
      dist-bench run io --tasks 48 --grain 20ms -b threads,asyncio,processes
      dist-bench run cpu --tasks 20000 --grain 10us -b processes --chunk 1,auto
      dist-bench run all -o results.json
      dist-bench run cpu io --rounds 3 -o before.json       # ready for 'compare'
      dist-bench run wordcount -b processes -w 1,2 --rounds 3   # Amdahl through 1 and 2
      dist-bench run cpu -b processes -w 1,2 --weak          # Gustafson: work grows with workers
      dist-bench run my_workload.py -b dask --address tcp://127.0.0.1:8786
      dist-bench run cpu -b threads,interpreters,processes --python host,3.14
    """  # noqa: D301 - not raw: click's no-rewrap marker is a real backspace ("\b")
    from dist_bench.backends import BackendOptions, split_available
    from dist_bench.measure import MeasureSettings
    from dist_bench.results import collect_metadata
    from dist_bench.results_writer import ResultsWriter
    from dist_bench.runtime_launch import measure_other_runtimes, parse_runtimes, resolve_runtime
    from dist_bench.sweep import run_sweep
    from dist_bench.sweep_plan import SizeGrid, SweepPlan
    from dist_bench.workload import resolve_workloads

    chosen_workloads = resolve_workloads([n for arg in workloads for n in split_names(arg)])
    runtimes = parse_runtimes(python) if python else [resolve_runtime("host")]
    chosen_backends = resolve_backends(backends, address)
    if as_runtime or len(runtimes) > 1:
        chosen_backends, skipped = split_available(chosen_backends)
        for name, reason in skipped.items():
            warn(f"{name} skipped on this interpreter: {reason}")
    plan = SweepPlan(
        workloads=chosen_workloads,
        backends=chosen_backends,
        sizes=SizeGrid(tasks=tasks, grain_s=grain, bytes_per_task=bytes_per_task),
        settings=MeasureSettings(repeats=repeats, warmup=warmup, place_inputs=not no_place),
        options=BackendOptions(
            workers[0] if workers and len(workers) == 1 else None,
            start_method,
            address,
            blas_threads,
        ),
        chunks=chunks,
        rounds=rounds,
        worker_counts=workers if workers and len(workers) > 1 else (),
        weak=weak,
    )
    plot_output = plan_plot(plot) if plot is not None else None
    writer = ResultsWriter(output, collect_metadata(sys.argv))
    try:
        if any(runtime.is_host for runtime in runtimes):
            with progress_bar() as on_progress:
                run_sweep(plan, writer, on_progress, show_version_check, show_plan, _show_skipped)
        measure_other_runtimes(
            runtimes,
            click.get_current_context().meta["arguments"],
            writer,
            lambda runtime: stderr.print(f"measuring on --python {runtime.spec} ...", style="bold"),
            chosen_workloads,
        )
        results = writer.results
    except KeyboardInterrupt:
        render(writer.results, fail_on_errors=False)
        # A runtime's own file is a temporary one its host reads and deletes.
        kept = f"; kept in {output}" if output and not as_runtime else ""
        fail(
            f"interrupted: {len(writer.results.records)} measurement(s) finished{kept}",
            EXIT_INTERRUPTED,
        )
    except DistBenchError:
        render(writer.results, fail_on_errors=False)
        raise
    finally:
        writer.close()
    if plot_output is not None:
        export([plot_output], results)
    render(results)


def _show_skipped(workload: Any, backend: Any) -> None:
    warn(
        f"{workload.name} is not measured on {backend.name}: its tasks use NumPy, which cannot "
        "be imported in a subinterpreter"
    )


@click.command("cutover")
@click.argument("workloads", nargs=-1)
@backends_option
@address_option
@click.option(
    "--budget",
    type=OneValue(parse_duration, "duration"),
    default=f"{defaults.CUTOVER_BUDGET_S:g}s",
    show_default=True,
    help="Time to spend measuring (e.g. 90s, 10min; at most a day); start-ups and the analysis "
    "come on top. "
    "More budget: more shapes around each crossover, narrower intervals.",
)
@bounded_option(
    "--repeats",
    low=2,
    default=defaults.CUTOVER_REPEATS,
    help="Measured jobs per shape (more: steadier medians, slower search).",
)
@workers_option
@blas_threads_option
@project_nodes_option(
    help="Also PROJECT the speedup of each multi-process backend to this many nodes "
    "(e.g. 2,4,8,16), against the Amdahl bound; labelled as a projection, never measured.",
)
@click.option(
    "-o",
    "--output",
    "output_arg",
    # Kept a str: a trailing "/" (a folder, made if missing) survives; pathlib would drop it.
    type=click.Path(),
    default=str(defaults.CUTOVER_FILE),
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
    """Find where each step up (threads -> processes -> cluster) starts to pay off.

    Sweeps task grain, tasks per job and bytes per task for each WORKLOAD (default: every
    built-in), fits each backend's costs (start-up, dispatch per task, useful parallelism,
    bandwidth), answers the ladder (serial -> threads/asyncio -> processes -> Dask/Ray), and
    reports each crossover with a 95 % bootstrap interval and its reason, only where measured
    shapes on both sides show it decisively: faster beyond the drift measured between two
    rounds (each backend started again for the second), in both. A shallow crossing reads
    "about equal". The budget goes where it matters: shapes are added around each crossover
    still uncertain, or not yet shown by the measurements.

    \b
    Examples:
      dist-bench cutover                                 # every workload, every backend, ~2 min
      dist-bench cutover cpu -b threads,processes --budget 30s
      dist-bench cutover cpu -b dask --address tcp://10.0.0.5:8786 --project-nodes 2,4,8,16
    """  # noqa: D301 - not raw: click's no-rewrap marker is a real backspace ("\b")
    from dist_bench.backends import BackendOptions
    from dist_bench.cutover import CutoverPlan, run_cutover
    from dist_bench.measure import MeasureSettings
    from dist_bench.report.content import ReportData
    from dist_bench.report.cutover_table import cutover_summary
    from dist_bench.results import collect_metadata
    from dist_bench.results_writer import ResultsWriter
    from dist_bench.workload import resolve_workloads

    chosen = resolve_workloads([n for arg in workloads or ("all",) for n in split_names(arg)])
    plan = CutoverPlan(
        workloads=chosen,
        backends=resolve_backends(backends, address),
        budget_s=budget,
        settings=MeasureSettings(repeats=repeats),
        options=BackendOptions(workers=workers, address=address, blas_threads=blas_threads),
        project_nodes=tuple(project_nodes or ()),
    )
    output = defaults.cutover_results_path(output_arg)
    writer = ResultsWriter(output, collect_metadata(sys.argv))
    # The reports go beside the results file (cutover.html, ...), checked before measuring.
    reports = plan_reports_beside(output, defaults.CUTOVER_REPORTS)
    try:
        with progress_bar(unit="s") as on_progress:
            results, analysis = run_cutover(plan, writer, on_progress, show_version_check)
    except KeyboardInterrupt:
        fail(
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
    fail_on_failed(results)
