"""Shared fixtures: backend parametrisation and small workload files written on the fly."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from dist_bench.backends import backend_specs
from dist_bench.backends.base import Backend
from dist_bench.costmodel import CutoverAnalysis
from dist_bench.errors import ClusterConnectionError
from dist_bench.results import Results
from dist_bench.worker import timed_call
from tests.tiny_disk import TinyDisk


def all_backend_params() -> list[object]:
    """Every registered backend; engines that are not installed are skipped with the reason."""
    params: list[object] = []
    for name, spec in backend_specs().items():
        marks = [pytest.mark.engine] if spec.requires else []
        if not spec.available():
            marks.append(pytest.mark.skip(reason=f"{name}: {spec.unavailable_reason()}"))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.fixture
def write_workload(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a workload file into a temporary folder and return its path."""

    def write(body: str, name: str = "my_workload.py") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(body))
        return path

    return write


_INTERPRETER_SINGLETONS = ("forkserver", "resource_tracker")


def alive(process: psutil.Process) -> bool:
    """Whether ``process`` still runs (a zombie, or one gone meanwhile, does not)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.fixture
def no_leftover_children() -> object:
    """Fail the test if it leaves child processes of this process behind."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield None
    leftover = [
        p
        for p in psutil.Process().children(recursive=True)
        if p.pid not in before
        and alive(p)
        # The stdlib's forkserver and resource tracker are per-interpreter singletons that live
        # until the driver exits, by design; pool workers are what must be gone.
        and not any(part in " ".join(p.cmdline()) for part in _INTERPRETER_SINGLETONS)
    ]
    assert not leftover, f"processes left behind: {[(p.pid, p.name()) for p in leftover]}"


SQUARES_WORKLOAD = '''
"""Squares: a tiny user workload for tests."""
from dist_bench import Job, Workload

def make_tasks(job: Job):
    return [(i, job.units) for i in range(job.tasks)]

def square(i, units):
    total = 0
    for _ in range(units):
        total += 1
    return i * i + (total - units)

WORKLOAD = Workload(name="squares", summary="squares", make_tasks=make_tasks, task=square,
                    combine=sum, default_tasks=6, default_grain_s=0.001)
'''


@pytest.fixture(scope="session")
def swept_results() -> Results:
    """A small real run to render: cpu at two grains on serial, threads and processes."""
    from dist_bench.measure import MeasureSettings
    from dist_bench.results import collect_metadata
    from dist_bench.results_writer import ResultsWriter
    from dist_bench.sweep import run_sweep
    from dist_bench.sweep_plan import SizeGrid, SweepPlan
    from dist_bench.workload import resolve_workloads

    plan = SweepPlan(
        workloads=resolve_workloads(["cpu"]),
        backends=["threads", "processes"],
        sizes=SizeGrid(tasks=[4], grain_s=[0.001, 0.003]),
        settings=MeasureSettings(repeats=6, warmup=1),
    )
    return run_sweep(plan, ResultsWriter(None, collect_metadata(["test"])))


def listening_sockets(processes: list[psutil.Process]) -> dict[tuple[str, int], str]:
    """Every TCP socket listening and UDP socket bound in ``processes``: (ip, port) to owner."""
    found: dict[tuple[str, int], str] = {}
    for process in processes:
        try:
            connections = process.net_connections(kind="inet")
            owner = f"{process.name()} ({process.pid})"
        except psutil.Error:  # it exited meanwhile
            continue
        for connection in connections:
            if connection.status == psutil.CONN_LISTEN or connection.type == socket.SOCK_DGRAM:
                found[(connection.laddr.ip, connection.laddr.port)] = owner
    return found


class SocketWatch:
    """The sockets this process and the children it starts listen on, from now on."""

    def __init__(self) -> None:
        self.driver = psutil.Process()
        self._children = {p.pid for p in self.driver.children(recursive=True)}
        self._driver_sockets = set(listening_sockets([self.driver]))

    def opened(self) -> dict[tuple[str, int], str]:
        """Sockets listening now that were not before: (ip, port) to owner."""
        new = [p for p in self.driver.children(recursive=True) if p.pid not in self._children]
        return {
            where: owner
            for where, owner in listening_sockets([self.driver, *new]).items()
            if where not in self._driver_sockets
        }


def opened_while_started(backend: Backend) -> dict[tuple[str, int], str]:
    """The sockets ``backend`` listens on while started, here and in its children, then stopped."""
    watch = SocketWatch()
    backend.start()
    try:
        return watch.opened()
    finally:
        backend.shutdown()


def off_loopback(sockets: dict[tuple[str, int], str]) -> dict[str, str]:
    """The sockets other machines can reach: bound to anything but loopback ("ip:port": owner).

    IPv4-mapped IPv6 addresses count as their IPv4 address (gRPC binds ``[::ffff:127.0.0.1]``).
    """
    reachable: dict[str, str] = {}
    for (ip, port), owner in sockets.items():
        address = ipaddress.ip_address(ip)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_loopback:
            reachable[f"{ip}:{port}"] = owner
    return reachable


@pytest.fixture(scope="session")
def searched() -> tuple[Results, CutoverAnalysis]:
    """One cutover search over the scripted-cost backends (tests/scripted_costs.py), with
    projections to 2, 4 and 8 nodes: shared by the cost model's tests."""
    from tests.scripted_costs import search

    return search(project_nodes=(2, 4, 8))


@pytest.fixture
def tiny_disk(tmp_path: Path) -> TinyDisk:
    """A tiny disk to run commands on; skipped, saying why, where namespaces are not allowed."""
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "true"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if probe.returncode != 0:
        reason = f"cannot make a user and mount namespace here: {probe.stderr.strip()}"
        if os.environ.get("CI"):  # CI's machine allows them: a skip there would hide a failure
            pytest.fail(reason)
        pytest.skip(reason)
    return TinyDisk(tmp_path)


def error_when_every_worker_dies(backend: Backend, process_group: int, after_s: float) -> str:
    """Start ``backend``, run a job of long tasks and SIGKILL ``process_group`` (the cluster's
    only worker) ``after_s`` seconds in; shut it down; return the one-line error the job ended with.
    """
    try:
        backend.start()
        killer = threading.Timer(after_s, os.killpg, (process_group, signal.SIGKILL))
        killer.start()
        try:
            with pytest.raises(ClusterConnectionError) as caught:
                backend.map(timed_call, [(time.sleep, 1, 120.0)] * 2)
        finally:
            killer.join()
    finally:
        backend.shutdown()
    message = str(caught.value)
    assert "results measured before it are kept" in message
    assert "\n" not in message
    return message


def default_ctrl_c() -> None:
    """``preexec_fn`` of a child that stands for a terminal's job: Ctrl-C's default action.

    A suite started in the background has SIGINT ignored, the child would inherit that, and
    Python keeps an ignored SIGINT ignored (no KeyboardInterrupt, so nothing to test).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
