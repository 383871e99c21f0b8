"""A throwaway Ray cluster for tests: a head and worker nodes on this machine, each a separate
``ray start --block`` in its own process group and temp dir, with token auth on.

``stop`` ends exactly what ``start`` started (never ``ray stop``, which would kill every Ray on the
machine) and reports anything that survived.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.no_dist_bench import BLOCK_DIST_BENCH
from tests.ports import free_port

#: Polls the GCS until N nodes are alive; run in a child so this process's Ray state is untouched.
_WAIT_FOR_NODES = """
import sys, time
from ray._raylet import GcsClient
address, want, deadline = sys.argv[1], int(sys.argv[2]), time.monotonic() + float(sys.argv[3])
alive = 0
while time.monotonic() < deadline:
    try:
        infos = GcsClient(address=address).get_all_node_info(timeout=5)
        alive = sum(1 for info in infos.values() if info.state == 0)
        if alive >= want:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
print(f"only {alive} of {want} nodes alive", file=sys.stderr)
sys.exit(1)
"""


def ray_executable() -> str:
    """The ``ray`` CLI of the interpreter running the tests."""
    beside = Path(sys.executable).with_name("ray")
    found = str(beside) if beside.exists() else shutil.which("ray")
    if found is None:
        raise RuntimeError("the `ray` command is not installed")
    return found


@dataclass
class RayTestCluster:
    """A running test cluster.

    Attributes:
        address: ``127.0.0.1:PORT`` of the GCS.
        token: The auth token every node was started with.
        root: Directory holding the nodes' temp dirs, logs and ``HOME``.
        env: Environment the nodes run with (a driver needs the same token).
        processes: One ``ray start --block`` per node, head first.
    """

    address: str
    token: str
    root: Path
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def log_tail(self, lines: int = 20) -> str:
        """The end of every node's ``ray start`` output, for failure messages."""
        parts = []
        for log in self.logs:
            text = log.read_text(errors="replace").splitlines() if log.exists() else []
            parts.append(f"--- {log.name}\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)


def start(
    nodes: int = 2,
    cpus_per_node: int = 1,
    timeout: float = 90.0,
    block_dist_bench: bool = True,
    head_cpus: int | None = None,
) -> RayTestCluster:
    """Start a head node and ``nodes - 1`` worker nodes, and wait until all are alive.

    ``head_cpus`` (default ``cpus_per_node``) of 0 makes a head that runs no task, like the
    compose cluster's.

    With ``block_dist_bench`` no process of the cluster can import dist-bench, so whatever the
    driver runs there must arrive by value.

    Raises:
        RuntimeError: a node did not come up in time (the cluster started so far is stopped).
    """
    # Short root under /tmp: Ray's Unix socket paths live below it and must stay < 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="dbray-", dir="/tmp"))
    home = root / "home"
    home.mkdir()
    token = secrets.token_hex(32)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("RAY_ADDRESS", "RAY_AUTH_TOKEN_PATH")
    }
    env.update(
        HOME=str(home),  # keep ~/.ray of the machine out of it
        RAY_AUTH_MODE="token",
        RAY_AUTH_TOKEN=token,
        RAY_USAGE_STATS_ENABLED="0",
    )
    if block_dist_bench:
        site = root / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(BLOCK_DIST_BENCH)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    port = free_port()
    cluster = RayTestCluster(address=f"127.0.0.1:{port}", token=token, root=root, env=env)
    common = ["--disable-usage-stats", "--block"]
    try:
        for index in range(nodes):
            if index == 0:
                cpus = cpus_per_node if head_cpus is None else head_cpus
                role = [
                    "--head",
                    f"--port={port}",
                    "--include-dashboard=false",
                    f"--num-cpus={cpus}",
                ]
            else:
                role = [f"--address={cluster.address}", f"--num-cpus={cpus_per_node}"]
            node_dir = root / f"n{index}"
            log = root / f"node{index}.log"
            cluster.logs.append(log)
            with log.open("wb") as out:
                cluster.processes.append(
                    subprocess.Popen(
                        [ray_executable(), "start", *role, f"--temp-dir={node_dir}", *common],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,  # its own process group, so we stop only it
                    )
                )
            _wait_until_started(cluster, log, timeout)
        wait = subprocess.run(
            [sys.executable, "-c", _WAIT_FOR_NODES, cluster.address, str(nodes), str(timeout)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout + 30,
            check=False,
        )
        if wait.returncode != 0:
            raise RuntimeError(f"Ray test cluster not ready: {wait.stderr.strip()}")
    except BaseException:
        survivors = stop(cluster)
        if survivors:
            print(f"left running: {survivors}", file=sys.stderr)
        raise
    return cluster


def _wait_until_started(cluster: RayTestCluster, log: Path, timeout: float) -> None:
    process = cluster.processes[-1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if b"Ray runtime started" in log.read_bytes():
            return
        if process.poll() is not None:
            raise RuntimeError(
                f"`ray start` exited with {process.returncode}:\n{cluster.log_tail()}"
            )
        time.sleep(0.1)
    raise RuntimeError(f"`ray start` did not start within {timeout} s:\n{cluster.log_tail()}")


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _mentions(process: psutil.Process, text: str) -> bool:
    try:
        return any(text in part for part in process.cmdline())
    except psutil.Error:
        return False


def stop(cluster: RayTestCluster, timeout: float = 20.0) -> list[str]:
    """Stop every node, worker nodes first; return what is still running (should be nothing).

    ``SIGTERM`` to ``ray start --block`` stops its node's processes gracefully; anything of ours
    left after ``timeout`` (recorded descendants, the node's process group, processes naming our
    temp root) is killed.
    """
    ours: dict[int, psutil.Process] = {}
    for popen in cluster.processes:
        for process in _descendants(popen.pid):
            ours[process.pid] = process
    for popen in reversed(cluster.processes):
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=timeout)
    _, alive = psutil.wait_procs(list(ours.values()), timeout=timeout)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    for popen in cluster.processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)  # pgid == pid: start_new_session
        if popen.poll() is None:
            popen.wait(timeout=5)
    psutil.wait_procs(alive, timeout=5)
    groups = {popen.pid for popen in cluster.processes}
    survivors = []
    for process in psutil.process_iter(["pid", "name"]):
        try:
            mine = os.getpgid(process.pid) in groups or _mentions(process, str(cluster.root))
            if mine and process.status() != psutil.STATUS_ZOMBIE:
                survivors.append(f"{process.pid} {process.name()}")
        except (psutil.Error, ProcessLookupError):
            continue
    if not survivors:
        shutil.rmtree(cluster.root, ignore_errors=True)
    return survivors
