"""Node sweeps and shaped links on real containers: the compose cluster resized, pinned, shaped.

Each test brings up a cluster under a compose project of its own on free loopback ports and
takes it down whatever happens (see tests/test_cluster.py for the same rules). Jobs are tiny: the
point is that each size really has that many nodes of that slice, that every answer is verified,
and that a shaped link measures near its rate; the scaling maths is tested on the scripted pool.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from dist_bench import cluster
from dist_bench.cluster.nodes import check_latency_supported, containers
from dist_bench.cluster.pool import ComposePool
from dist_bench.cluster.spec import CFS_PERIOD_US
from dist_bench.errors import ClusterError
from dist_bench.measure import MeasureSettings
from dist_bench.node_sweep import NodeSweepPlan, run_node_sweep
from dist_bench.results_writer import ResultsWriter
from dist_bench.scaling import NodeSlice, Scaling
from dist_bench.workload import resolve_workloads
from tests.ports import free_port
from tests.test_cluster import PORT_VARIABLES, docker  # noqa: F401 - a fixture

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900), pytest.mark.usefixtures("docker")]

MEMORY = 768 * 1024**2


@pytest.fixture
def project(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A project name of this test's own, free ports for both engines; taken down afterwards."""
    name = f"dbnodes-{request.node.name.split('_')[1]}-{os.getpid()}"
    for variables in PORT_VARIABLES.values():
        for variable in variables:
            monkeypatch.setenv(variable, str(free_port()))
    try:
        yield name
    finally:
        cluster.down(name)


def _inspect(name: str) -> dict[str, object]:
    shown = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True)
    host: dict[str, object] = json.loads(shown.stdout)[0]["HostConfig"]
    return host


def _sweep(engine: str, project: str, nodes: tuple[int, ...], cpus: float) -> ComposePool:
    (cpu,) = resolve_workloads(["cpu"])
    plan = NodeSweepPlan(
        workload=cpu,
        nodes=nodes,
        tasks_per_node=2,
        grain_s=0.005,
        scalings=(Scaling.STRONG,),
        settings=MeasureSettings(repeats=1, warmup=1),
    )
    pool = ComposePool(engine, NodeSlice(cpus, MEMORY), project=project)
    results = run_node_sweep(plan, pool, ResultsWriter(None, {"host": "here"}))
    assert [(r.nodes, r.node_cpus, r.scaling) for r in results.records] == [
        (n, cpus, "strong") for n in nodes
    ]
    assert all(r.verified and r.error is None for r in results.records)
    assert [len(report.workers) for report in pool.reports] == list(nodes)
    return pool


def test_dask_three_sizes_of_half_a_core_each_a_cfs_quota(project: str) -> None:
    _sweep("dask", project, (1, 2, 3), cpus=0.5)
    workers = containers(project, "dask-worker")
    assert len(workers) == 3
    for name in workers:
        host = _inspect(name)
        # Half a core as a quota over the short period cluster up sets (not Docker's 100 ms).
        assert (host["CpuPeriod"], host["CpuQuota"]) == (
            CFS_PERIOD_US,
            CFS_PERIOD_US // 2,
        )
        assert host["Memory"] == MEMORY


def test_ray_two_sizes_of_a_whole_core_each_pinned(project: str) -> None:
    if (os.cpu_count() or 1) < 2:
        pytest.skip("two one-core nodes need two cores")
    _sweep("ray", project, (1, 2), cpus=1.0)
    workers = containers(project, "ray-worker")
    assert [_inspect(name)["CpusetCpus"] for name in workers] == ["0", "1"]


def test_a_shaped_link_measures_near_its_rate(project: str) -> None:
    rate = 100 * 1000**2
    spec = cluster.ClusterSpec(
        "dask", workers=2, memory_bytes=MEMORY, project=project, link_rate_bits=rate
    )
    cluster.up(spec, timeout_s=240)
    check = cluster.status(project).link
    assert check is not None and check.set_rate_bits == rate
    # Unshaped, the bridge moves GB/s: near 100 Mbit/s only because tbf holds it there.
    assert check.within_tolerance, f"{check.measured_bits / 1e6:.1f} Mbit/s measured"


def test_a_latency_is_refused_before_any_node_where_the_kernel_lacks_netem(project: str) -> None:
    try:
        check_latency_supported(cluster.own_image())
    except ClusterError:
        pass
    else:
        pytest.skip("this kernel has sch_netem: a latency is added, not refused")
    spec = cluster.ClusterSpec(
        "dask", workers=1, memory_bytes=MEMORY, project=project,
        link_rate_bits=10**9, link_latency_ms=5.0,
    )  # fmt: skip
    with pytest.raises(ClusterError, match="no sch_netem module") as refused:
        cluster.up(spec, timeout_s=240)
    assert "\n" not in str(refused.value)
    assert containers(project, "dask-worker") == [], "refused only after starting nodes"
