"""``dist-bench scale``: a node-count sweep on the local container cluster.

The library does the work (``node_sweep.run_node_sweep`` over a ``cluster.pool.ComposePool``);
this module parses, shows progress, prints the scaling tables and exits.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import click

from dist_bench.cli.cluster_commands import project_option
from dist_bench.cli.options import bounded_option, list_option, project_nodes_option, value_option
from dist_bench.cli.params import FiniteFloatRange
from dist_bench.cli.render import EXIT_INTERRUPTED, fail, fail_on_failed, progress_bar, stdout
from dist_bench.errors import UsageError
from dist_bench.units import parse_bytes, parse_count, parse_grain, parse_rate

DEFAULT_SCALE_FILE = Path("results/scale.json")


@click.command("scale")
@click.argument("workload")
@click.option("-b", "--backend", type=click.Choice(["dask", "ray"]), required=True)
@list_option(
    "--nodes",
    parse_count,
    "counts",
    default="1,2,4",
    show_default=True,
    help="Cluster sizes, each measured in turn (smallest first).",
)
@click.option(
    "--cpus",
    type=FiniteFloatRange(min=0, min_open=True),
    help="CPUs per node, the same on every size (default: 80 % of this host's cores over the "
    "most nodes, so nodes never share a core and the scheduler and this driver keep the rest; "
    "a fraction is a CFS quota).",
)
@click.option("--memory", default="1GiB", show_default=True, help="Memory per node.")
@bounded_option(
    "--tasks-per-node",
    low=1,
    high=10**6,
    default=8,
    help="Weak scaling: tasks per node. Strong scaling runs the largest size's total on all.",
)
@value_option(
    "--grain",
    parse_grain,
    "duration",
    default="50ms",
    show_default=True,
    help="Serial work per task.",
)
@value_option(
    "--bytes",
    parse_bytes,
    "size",
    "bytes_per_task",
    help="Bytes per task (workloads that move bytes).",
)
@click.option(
    "--scaling",
    type=click.Choice(["strong", "weak", "both"]),
    default="both",
    show_default=True,
    help="Strong: the same total work on every size; weak: the same work per node.",
)
@bounded_option(
    "--repeats",
    low=1,
    default=5,
    help="Measured jobs per size and series (one warm-up before them).",
)
@value_option(
    "--link-rate",
    parse_rate,
    "rate",
    help="Shape every node's link to this rate (tbf), e.g. 1gbit, 100mbit.",
)
@project_nodes_option(
    "Also PROJECT each fitted law to these sizes (default: 2x and 4x the largest), with its "
    "held-out error beside it."
)
@click.option("--keep", is_flag=True, help="Leave the cluster running at its largest size.")
@project_option
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
    from dist_bench.cluster.pool import ComposePool
    from dist_bench.measure import MeasureSettings
    from dist_bench.node_sweep import NodeSweepPlan, run_node_sweep
    from dist_bench.report.content import ReportData
    from dist_bench.report.table import scaling_tables
    from dist_bench.results import collect_metadata
    from dist_bench.results_writer import ResultsWriter
    from dist_bench.scaling import NodeSlice, Scaling
    from dist_bench.workload import resolve_workloads

    (chosen,) = resolve_workloads([workload])
    node_cpus = cpus if cpus is not None else default_node_cpus(os.cpu_count() or 1, max(nodes))
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
        with progress_bar() as on_progress:
            results = run_node_sweep(plan, pool, writer, on_progress)
    except KeyboardInterrupt:
        fail(
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
    fail_on_failed(results)


#: Share of the host's cores the nodes get by default: the scheduler (or head) and the driver
#: dispatch every task, and starved of CPU they would show as a serial fraction the nodes do
#: not have (4 nodes of half a core on 2 cores left them none: 4-node speedups of 1.9x to
#: 3.5x in two runs minutes apart, at load 4-17).
NODES_SHARE = 0.8


def default_node_cpus(host_cores: int, most_nodes: int) -> float:
    """Each node's CPUs when not given: ``NODES_SHARE`` of the cores, in steps of 0.05."""
    return max(0.1, math.floor(host_cores * NODES_SHARE / most_nodes * 20) / 20)
