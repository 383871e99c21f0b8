"""How long the container cluster takes to end a run that can make no progress, and how it ends.

For each fault it brings up a fresh cluster of its own (its own compose project and free ports),
starts ``dist-bench cluster run -- run cpu …`` with several shapes, waits until the first
measurement is saved, causes the fault with ``docker kill``, and times from the kill to the
run's exit. Goal (issue "every user"): within 10 s, one line naming the cause, results kept.

    python benchmarks/cluster_faults.py                 # every fault, both engines
    python benchmarks/cluster_faults.py --engine ray    # one engine
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from common import free_port, load
from dist_bench import cluster

#: The fault, and the compose services whose containers it kills.
FAULTS = {
    "dask": {"scheduler killed": ("scheduler",), "every worker killed": ("dask-worker",)},
    "ray": {"head killed": ("head",), "every worker killed": ("ray-worker",)},
}
PORTS = {
    "dask": ("DIST_BENCH_DASK_PORT", "DIST_BENCH_DASK_DASHBOARD_PORT"),
    "ray": ("DIST_BENCH_RAY_CLIENT_PORT",),
}
JOB = ("run", "cpu", "--tasks", "8", "--grain", "20ms,500ms,1s", "--repeats", "3")
GIVE_UP_S = 300.0


def containers(project: str, service: str) -> list[str]:
    listed = subprocess.run(
        ["docker", "ps", "--quiet",
         "--filter", f"label=com.docker.compose.project={project}",
         "--filter", f"label=com.docker.compose.service={service}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return listed.stdout.split()


def records(path: Path) -> int:
    try:
        return len(json.loads(path.read_text())["records"])
    except (OSError, ValueError, KeyError):
        return 0


def one_fault(engine: str, fault: str, services: tuple[str, ...]) -> dict[str, str]:
    """Up, run, kill, time the end, down: one row of the table."""
    project = f"dbfault-{engine}-{os.getpid()}"
    for variable in PORTS[engine]:
        os.environ[variable] = str(free_port())
    cluster.up(cluster.ClusterSpec(engine, project=project, memory_bytes=1024**3))
    try:
        with tempfile.TemporaryDirectory() as folder:
            if os.geteuid() == 0:
                os.chown(folder, *cluster.container_user())
            results = Path(folder) / "fault.json"
            run = subprocess.Popen(
                [sys.executable, "-m", "dist_bench", "cluster", "run", "--project", project,
                 "--", *JOB, "-o", results.name],
                cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            deadline = time.monotonic() + GIVE_UP_S
            while records(results) < 1 and run.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            if run.poll() is not None or records(results) < 1:
                run.kill()
                output, _ = run.communicate()
                raise SystemExit(f"the run ended or stalled before its first record:\n{output}")
            victims = [c for service in services for c in containers(project, service)]
            subprocess.run(["docker", "kill", *victims], check=True, capture_output=True)
            killed = time.monotonic()
            try:
                output, _ = run.communicate(timeout=GIVE_UP_S)
            except subprocess.TimeoutExpired:
                # Ctrl-C, as a user would: `cluster run` then stops its driver container, whose
                # compose process holds our pipe open (a plain kill would leave it running).
                run.send_signal(signal.SIGINT)
                output, _ = run.communicate(timeout=GIVE_UP_S)
            ended_s = time.monotonic() - killed
            errors = [line for line in output.splitlines() if line.startswith("error:")]
            return {
                "engine": engine,
                "fault": fault,
                "ended after kill": f"{ended_s:.1f} s",
                "exit": str(run.returncode),
                "records kept": str(records(results)),
                "error lines": str(len(errors)),
                "last line": (errors or output.strip().splitlines() or [""])[-1][:110],
            }
    finally:
        cluster.down(project)


@click.command()
@click.option("--engine", type=click.Choice(["dask", "ray", "both"]), default="both")
def main(engine: str) -> None:
    """Time how each fault ends a cluster run."""
    print(f"# cluster faults ({load()})", flush=True)
    rows = [
        one_fault(name, fault, services)
        for name in (("dask", "ray") if engine == "both" else (engine,))
        for fault, services in FAULTS[name].items()
    ]
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        print("| " + " | ".join(row[c] for c in columns) + " |")
    print(f"# done ({load()})")


if __name__ == "__main__":
    main()
