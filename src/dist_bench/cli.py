"""The ``dist-bench`` command: parses, calls the library, renders.

It is the only module that prints or exits.

Every error the user can act on becomes one red line: exit 2 for input to fix, 1 for a run that
failed, 130 for Ctrl-C. Results already measured are in the results file whatever happens.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dist_bench import __version__
from dist_bench.errors import DistBenchError, UsageError
from dist_bench.report.plot import check_plot_path, write_plot
from dist_bench.units import parse_bytes, parse_count, parse_duration

T = TypeVar("T")

# Outside a terminal (CI logs, pipes) rich would wrap at 80 columns; tables read better wider.
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


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dist-bench")
def cli() -> None:
    r"""Does a cluster pay off for my Python work, and from where?

    Runs the same workloads on serial, threads, asyncio, processes, Dask and Ray, checks every
    answer against the serial one, and reports speedups with confidence intervals and the reason
    behind each number (the GIL, dispatch overhead, moving bytes).

    \b
    Start with:  dist-bench list
                 dist-bench run cpu -b threads,processes
    """


@cli.command("list")
def list_command() -> None:
    """List the built-in workloads and the backends, with whether each engine is installed."""
    from dist_bench.backends import backend_specs
    from dist_bench.workload import builtin_workloads

    workloads = Table(title="workloads", title_justify="left", header_style="bold")
    for column in ("name", "what it is", "default size"):
        workloads.add_column(column)
    from dist_bench.analysis import format_bytes, format_seconds

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
    type=CommaList(parse_duration, "durations"),
    help="Serial work per task (e.g. 1ms,50ms); the I/O workload's latency. "
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
    type=click.IntRange(min=1),
    default=6,
    show_default=True,
    help="Measured jobs per backend and size (6 gives a 96.9 % interval).",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Unmeasured jobs first (the first is the cold one, stored apart).",
)
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(min=1),
    help="Parallel slots for every backend (default: each backend's own).",
)
@click.option(
    "--start-method",
    type=click.Choice(["fork", "forkserver", "spawn"]),
    help="How the processes backend starts workers (default: the platform's).",
)
@click.option(
    "--chunksize",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Tasks per message for the processes and ray backends (Dask has no batching).",
)
@click.option(
    "--address",
    help="Existing cluster for the dask backend (tcp://HOST:8786) or the ray backend "
    "(auto, HOST:6379, ray://HOST:10001). Default: an embedded local cluster.",
)
@click.option(
    "--blas-threads",
    type=click.IntRange(min=1),
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
    "this machine is appended to.",
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
    workers: int | None,
    start_method: str | None,
    chunksize: int,
    address: str | None,
    blas_threads: int,
    no_place: bool,
    output: Path | None,
    plot: Path | None,
) -> None:
    r"""Run WORKLOADS (built-in names, 'all', or paths to .py files) on the chosen backends.

    \b
    Examples:
      dist-bench run cpu -b threads,processes
      dist-bench run io --tasks 48 --grain 20ms -b threads,asyncio,processes
      dist-bench run all -o results.json
      dist-bench run my_workload.py -b dask --address tcp://127.0.0.1:8786
    """
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
            chunksize=chunksize,
            address=address,
            blas_threads=blas_threads,
        ),
    )
    if plot is not None:
        check_plot_path(plot)
    writer = ResultsWriter(output, collect_metadata(sys.argv))
    try:
        with _progress_bar() as on_progress:
            results = run_sweep(plan, writer, on_progress, _show_version_check)
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
    if plot is not None:
        write_plot(results, plot)
    _render(results)


@cli.command("report")
@click.argument("results_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw the speedups to this .png/.svg/.pdf (needs matplotlib).",
)
def report_command(results_file: Path, plot: Path | None) -> None:
    """Show the tables for a results file written by 'dist-bench run -o'."""
    from dist_bench.results import load_results

    if plot is not None:
        check_plot_path(plot)
    results = load_results(results_file)
    if plot is not None:
        write_plot(results, plot)
    _render(results)


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
    return list(dict.fromkeys(chosen))


@contextmanager
def _progress_bar() -> Iterator[Callable[[Any], None]]:
    columns = (
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as progress:
        bar = progress.add_task("preparing", total=None)

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
    failed = [r for r in results.records if r.error is not None or not r.verified]
    if failed and fail_on_errors:
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
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--cpus", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="CPUs per worker container.")  # fmt: skip
@click.option("--memory", default="2GiB", show_default=True, help="Memory per worker container.")
@click.option("--tls", is_flag=True, help="Dask over TLS with certificates made here.")
@click.option("--timeout", default="180s", show_default=True,
              help="How long to wait for every worker to join.")  # fmt: skip
@click.option("--base-image", help="Base image (default: python:X.Y-slim, else an offline one).")
@_project_option
def cluster_up_command(
    engine: str,
    workers: int,
    cpus: float,
    memory: str,
    tls: bool,
    timeout: str,
    base_image: str | None,
    project: str,
) -> None:
    """Build if needed, start, and wait until every worker has joined; show how to reach it."""
    from dist_bench import cluster

    try:
        memory_bytes, timeout_s = parse_bytes(memory), parse_duration(timeout)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    spec = cluster.ClusterSpec(engine, workers, cpus, memory_bytes, tls, project)
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

    sys.exit(cluster.run(args, project))


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
    for label, address in report.addresses.items():
        stdout.print(f"address ({label}): {address}", highlight=False)
    for label, url in report.dashboards.items():
        stdout.print(f"dashboard ({label}): {url}", highlight=False)
    if report.client_env:
        stdout.print("a client on this host needs:", highlight=False)
        for name, value in report.client_env.items():
            stdout.print(f"  export {name}={value}", highlight=False)


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
