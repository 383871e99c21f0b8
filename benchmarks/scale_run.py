"""The default ``dist-bench scale``: its wall time and its peak memory, containers included.

Target: the default sweep (1, 2 and 4 nodes, strong and weak scaling) ends within 5 minutes on
the project's 2-core machine, the cluster's start and every resize included.

Memory is sampled every ``--every`` seconds as the client's PSS summed over its process tree
(``cutover_run.tree_pss_bytes``) plus the memory Docker reports for each of the sweep's
containers (``docker stats``: the cgroup's usage without its page cache), summed at each sample;
the peak of that sum is printed.

Run: ``.venv/bin/python benchmarks/scale_run.py [WORKLOAD] [-b dask|ray] [-o FILE] [OPTIONS]``
(other options go to ``dist-bench scale``). Its own
compose project and free ports keep it apart from any other cluster. Exits 1 when the time target
is missed. Recorded results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from common import free_port, load, verdict
from cutover_run import tree_pss_bytes

#: Seconds the default sweep may take on the 2-core machine.
TARGET_S = 300.0
_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "kB": 1000, "MB": 1000**2}


def containers_bytes(project: str) -> int:
    """Memory in use by the project's running containers, as ``docker stats`` reports it."""
    names = subprocess.run(
        ["docker", "ps", "--quiet", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    if not names:
        return 0
    shown = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", *names],
        capture_output=True, text=True, check=False,
    ).stdout.split("\n")  # fmt: skip
    total = 0
    for line in shown:
        used = line.split("/")[0].strip()
        for unit, size in sorted(_UNITS.items(), key=lambda item: -len(item[0])):
            if used.endswith(unit):
                total += int(float(used[: -len(unit)]) * size)
                break
    return total


def main() -> int:
    """Run one scale sweep, sampling its memory; print the wall time and the peak."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", nargs="?", default="cpu")
    parser.add_argument("-b", "--backend", default="dask", choices=["dask", "ray"])
    parser.add_argument("-o", "--output", type=Path, help="results file (default: temporary)")
    parser.add_argument("--every", type=float, default=1.0, help="sampling period in seconds")
    # Any other option is passed on to `dist-bench scale` (e.g. --nodes 1,2 --link-rate 1gbit).
    options, rest = parser.parse_known_args()
    output = options.output or Path(tempfile.mkdtemp(prefix="dist-bench-scale-")) / "scale.json"
    project = f"dbscale-{os.getpid()}"
    env = {
        **os.environ,
        "DIST_BENCH_DASK_PORT": str(free_port()),
        "DIST_BENCH_DASK_DASHBOARD_PORT": str(free_port()),
        "DIST_BENCH_RAY_CLIENT_PORT": str(free_port()),
    }
    script = Path(sys.executable).with_name("dist-bench")
    command = [str(script), "scale", options.workload, "-b", options.backend, "--project",
               project, "-o", str(output), *rest]  # fmt: skip
    print("running:", " ".join(command), "|", load(), flush=True)
    started = time.perf_counter()
    run = subprocess.Popen(command, env=env)
    root = psutil.Process(run.pid)
    peak = 0
    while run.poll() is None:
        peak = max(peak, tree_pss_bytes(root) + containers_bytes(project))
        time.sleep(options.every)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        print(f"dist-bench scale exited with {run.returncode}", file=sys.stderr)
        return 1
    print(f"peak memory (client PSS + containers, every {options.every} s): {peak / 2**20:.0f} MiB")
    print(f"results: {output}")
    met = verdict(
        f"scale {options.workload} -b {options.backend} wall time",
        f"{wall:.0f} s",
        f"<= {TARGET_S:.0f} s",
        wall <= TARGET_S,
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
