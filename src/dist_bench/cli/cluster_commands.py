"""The ``cluster`` commands: build, start, inspect, use and stop the local container cluster.

The library is ``dist_bench.cluster``; it is imported only when a cluster command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from dist_bench import defaults
from dist_bench.backends import CLUSTER_BACKENDS
from dist_bench.cli.params import FiniteFloatRange, OneValue
from dist_bench.cli.render import stderr, stdout
from dist_bench.errors import UsageError
from dist_bench.units import MAX_WORKERS, parse_bytes, parse_duration, parse_rate

if TYPE_CHECKING:  # the cluster module is imported only by the cluster commands
    from dist_bench.cluster import DriverCommand

project_option = click.option(
    "--project",
    default=defaults.CLUSTER_PROJECT,
    show_default=True,
    envvar="DIST_BENCH_CLUSTER_PROJECT",
    help="Compose project name, so several clusters can run side by side.",
)


@click.group("cluster")
def cluster_group() -> None:
    """A local multi-container Dask or Ray cluster (docker-compose.yml; docs/cluster.md).

    Start with 'dist-bench cluster up --engine dask --workers 2', measure with 'dist-bench
    cluster run -- run cpu' (inside the cluster network), and end with 'dist-bench cluster down'.
    """


@cluster_group.command("build")
@click.option("--base-image", help="Base image (default: python:X.Y-slim, else an offline one).")
@project_option
def cluster_build_command(base_image: str | None, project: str) -> None:
    """Build the cluster image from this client's exact packages (done by 'up' when needed)."""
    from dist_bench import cluster

    built = cluster.build(base_image, project=project)
    what = "built" if built.rebuilt else "up to date"
    stdout.print(f"{built.image} {what} on {built.base_image} in {built.seconds:.1f} s")


@cluster_group.command("up")
@click.option("--engine", type=click.Choice(CLUSTER_BACKENDS), required=True)
@click.option("--workers", type=click.IntRange(min=1, max=MAX_WORKERS),
              default=defaults.CLUSTER_WORKERS, show_default=True)  # fmt: skip
@click.option("--cpus", type=FiniteFloatRange(min=0, min_open=True),
              default=defaults.CLUSTER_CPUS, show_default=True,
              help="CPUs per worker container.")  # fmt: skip
@click.option("--memory", default=f"{defaults.CLUSTER_MEMORY_GIB}GiB", show_default=True,
              help="Memory per worker container (at most 1 TiB).")  # fmt: skip
@click.option("--insecure", is_flag=True,
              help="Dask without TLS: any local user could run code on it.")  # fmt: skip
@click.option("--timeout", default=f"{defaults.CLUSTER_UP_TIMEOUT_S:g}s", show_default=True,
              help="How long to wait for every worker to join.")  # fmt: skip
@click.option("--link-rate", type=OneValue(parse_rate, "rate"),
              help="Shape every container's link with tbf (e.g. 1gbit, 100mbit).")  # fmt: skip
@click.option("--link-latency", type=OneValue(parse_duration, "duration"),
              help="Add this delay to every packet (netem; needs --link-rate).")  # fmt: skip
@click.option("--base-image", help="Base image (default: python:X.Y-slim, else an offline one).")
@project_option
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
    show_cluster(report)


@cluster_group.command("status")
@project_option
def cluster_status_command(project: str) -> None:
    """Workers, cores, memory and versions, as the scheduler or head reports them."""
    from dist_bench import cluster

    show_cluster(cluster.status(project))


@cluster_group.command("logs")
@click.option("--follow", "-f", is_flag=True, help="Keep following new lines.")
@click.option("--tail", type=click.IntRange(min=0), help="Only the last N lines per container.")
@project_option
def cluster_logs_command(follow: bool, tail: int | None, project: str) -> None:
    """The containers' logs."""
    from dist_bench import cluster

    sys.exit(cluster.logs(project, follow=follow, tail=tail))


@cluster_group.command(
    "run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@project_option
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

    from dist_bench.cli import cli
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
@project_option
def cluster_down_command(project: str) -> None:
    """Remove the cluster's containers, networks, volumes and secrets."""
    from dist_bench import cluster

    removed = cluster.down(project)
    stdout.print("\n".join(removed) if removed else f"nothing of project {project!r} was running")


def show_cluster(report: Any) -> None:
    """The workers table, then the addresses, dashboards and exports a client needs."""
    """The workers table, then the addresses, dashboards and exports a client needs."""
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
