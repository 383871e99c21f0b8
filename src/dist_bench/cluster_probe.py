"""Asks a running scheduler or head which workers joined; runs *inside* the cluster's containers.

``dist-bench cluster`` execs ``python -m dist_bench.cluster_probe ENGINE [--wait N]`` in the Dask
scheduler or the Ray head container (the image has dist-bench installed): there the engine, the
network, the TLS settings and Ray's token are all at hand, so the host needs none of them. With
``--wait N`` it polls until N workers have joined or the timeout passes. It prints one JSON object
(``ClusterReport``'s fields) on stdout and exits 0 when ready, 3 when the workers did not all join
in time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Any

from dist_bench.cluster_access import ray_gcs_refuses_stranger
from dist_bench.versions import client_versions

EXIT_NOT_READY = 3
_POLL_S = 0.5
#: How long a Ray node has to answer the versions task before it counts as not there.
_ANSWER_TIMEOUT_S = 60.0

#: How long the probe waits for `ray start` on the head to finish, whatever the worker timeout.
_RAY_START_S = 60.0


def _dask_report(wait_for: int, timeout_s: float) -> dict[str, Any]:
    import distributed

    from dist_bench.backends.dask.versions import node_versions

    scheme = os.environ.get("DIST_BENCH_DASK_SCHEME", "tcp")
    client_class: Any = distributed.Client  # untyped in part: Any, as in the Dask backend
    client = client_class(f"{scheme}://localhost:8786", timeout=30, set_as_default=False)
    with client:
        deadline = time.monotonic() + timeout_s
        # Each container runs WORKER_PROCESSES worker processes: count containers by host.
        while True:
            info = client.scheduler_info(n_workers=-1)
            hosts = {worker["host"] for worker in info["workers"].values()}
            if len(hosts) >= wait_for or time.monotonic() >= deadline:
                break
            time.sleep(_POLL_S)
        versions: dict[str, Any] = client.get_versions(check=False)
    by_host: dict[str, dict[str, Any]] = {}
    for address, worker in sorted(info["workers"].items()):
        node = by_host.setdefault(
            worker["host"],
            {
                "name": worker["host"],
                "cores": 0,
                "memory_bytes": 0,
                "processes": 0,
                "versions": node_versions(versions["workers"].get(address) or {}),
            },
        )
        node["cores"] += worker["nthreads"]
        node["memory_bytes"] += worker["memory_limit"] or 0
        node["processes"] += 1
    return {
        "engine": "dask",
        "scheduler": info.get("address", ""),
        "scheduler_versions": node_versions(versions.get("scheduler") or {}),
        "workers": list(by_host.values()),
    }


def _ray_report(wait_for: int, timeout_s: float) -> dict[str, Any]:
    import ray

    deadline = time.monotonic() + timeout_s
    # The head's healthcheck sees the GCS port open a moment before `ray start` has written the
    # address file `auto` reads: until then ray.init finds "no running Ray instance".
    started_by = time.monotonic() + max(timeout_s, _RAY_START_S)
    while True:
        try:
            ray.init(address="auto", logging_level=logging.ERROR, log_to_driver=False)
            break
        except ConnectionError:
            if time.monotonic() > started_by:
                raise
            time.sleep(0.5)
    try:
        while True:
            # Worker nodes are the ones with CPUs: the head and drivers join with none.
            nodes = [
                node
                for node in ray.nodes()  # type: ignore[no-untyped-call]
                if node.get("Alive") and node.get("Resources", {}).get("CPU", 0) > 0
            ]
            out_of_time = time.monotonic() >= deadline
            if len(nodes) >= wait_for or out_of_time:
                # A node killed a moment ago stays "alive" here until its health checks time
                # out; only the nodes that answer count (a replacement may have joined already).
                versions = _ray_versions([node["NodeID"] for node in nodes])
                nodes = [node for node in nodes if node["NodeID"] in versions]
                if len(nodes) >= wait_for or out_of_time:
                    break
            time.sleep(_POLL_S)
        workers = [
            {
                "name": str(node.get("NodeManagerAddress", "?")),
                "cores": int(node["Resources"].get("CPU", 0)),
                "memory_bytes": int(node["Resources"].get("memory", 0)),
                "object_store_bytes": int(node["Resources"].get("object_store_memory", 0)),
                "processes": 1,
                "versions": versions[node["NodeID"]],
            }
            for node in nodes
        ]
    finally:
        ray.shutdown()
    return {
        "engine": "ray",
        "scheduler": "head:6379",
        "stranger_refused": ray_gcs_refuses_stranger("head:6379"),
        "scheduler_versions": _without_node(client_versions()),
        "workers": sorted(workers, key=lambda worker: worker["name"]),
    }


def _ray_versions(node_ids: list[str]) -> dict[str, dict[str, str]]:
    """One task pinned to each node reports the versions installed there.

    Nodes that cannot run it within ``_ANSWER_TIMEOUT_S`` (gone, or busy with a task that holds
    their CPU) are left out.
    """
    if not node_ids:
        return {}
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    @ray.remote(num_cpus=1)
    def versions_here() -> dict[str, str]:
        return _without_node(client_versions())

    refs = {
        node_id: versions_here.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False)
        ).remote()
        for node_id in node_ids
    }
    ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=_ANSWER_TIMEOUT_S)
    answers: dict[str, dict[str, str]] = {}
    for node_id, ref in refs.items():
        if ref not in ready:
            ray.cancel(ref, force=True)
            continue
        try:
            answers[node_id] = ray.get(ref)
        except ray.exceptions.RayError:  # the node died (or was never schedulable) meanwhile
            continue
    return answers


def _without_node(versions: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in versions.items() if name != "node"}


def main(argv: list[str] | None = None) -> int:
    """Print the cluster's report as JSON; 0 when ``--wait`` workers joined, else 3."""
    parser = argparse.ArgumentParser(prog="python -m dist_bench.cluster_probe")
    parser.add_argument("engine", choices=("dask", "ray"))
    parser.add_argument("--wait", type=int, default=0, help="workers to wait for")
    parser.add_argument("--timeout", type=float, default=0.0, help="seconds to wait at most")
    args = parser.parse_args(argv)
    report_of = _dask_report if args.engine == "dask" else _ray_report
    report = report_of(args.wait, args.timeout)
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0 if len(report["workers"]) >= args.wait else EXIT_NOT_READY


if __name__ == "__main__":
    sys.exit(main())
