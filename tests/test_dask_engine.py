"""The Dask backend on real clusters: separate scheduler and worker processes, and LocalCluster.

The separate-process cluster runs from an empty working directory with no PYTHONPATH, and a
meta-path blocker keeps ``dist_bench`` unimportable in the scheduler and the workers: like a remote
cluster that never installed dist-bench, everything it runs must arrive by value.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

distributed = pytest.importorskip("distributed")

from dist_bench.backends import create_backend  # noqa: E402
from dist_bench.backends.base import BackendOptions, TaskError  # noqa: E402
from dist_bench.backends.dask.backend import DaskBackend  # noqa: E402
from dist_bench.backends.dask.session import CONNECT_TIMEOUT_S  # noqa: E402
from dist_bench.errors import ClusterConnectionError, UsageError  # noqa: E402
from dist_bench.versions import CHECKED_PACKAGES, check_versions, client_versions  # noqa: E402
from dist_bench.worker import timed_call  # noqa: E402
from dist_bench.workload import Job, Workload, load_workload_file  # noqa: E402
from tests.conftest import error_when_every_worker_dies, off_loopback, opened_while_started  # noqa: E402
from tests.no_dist_bench import BLOCK_DIST_BENCH  # noqa: E402
from tests.ports import free_port  # noqa: E402

pytestmark = [pytest.mark.engine, pytest.mark.slow]

WORKLOAD_SOURCE = '''
"""A workload the cluster has never seen: it lives only in the test's temporary folder."""

import importlib.util
import os

from dist_bench.workload import Job, Workload

OFFSET = 1000


def _square_plus_offset(x):
    return x * x + OFFSET


def task(x):
    """Uses a helper and a global of its own module, which must travel with it."""
    return _square_plus_offset(x)


def make_tasks(job):
    return [(i,) for i in range(job.tasks)]


def importable(names):
    """Which of ``names`` this process could import."""
    found = {}
    for name in names:
        try:
            found[name] = importlib.util.find_spec(name) is not None
        except ImportError:
            found[name] = False
    return found


def fail_at(i, bad):
    if i == bad:
        raise ValueError(f"task {i} is the bad one")
    return i


def die_once(marker, x):
    """The first task to get here kills its worker process; every other run answers."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return x * 3
    os.close(fd)
    os._exit(1)


class Point:
    """A class only the driver has: its instances inside containers must travel by value too."""

    def __init__(self, x, y):
        self.x, self.y = x, y


def apply_all(functions, points):
    """Nested code: functions and user-class instances inside a list and a dict."""
    return sum(f(p.x) + f(p.y) for f in functions for p in points["points"])


def weighted_sum(values, weight):
    return float(values.sum()) * weight, type(values).__name__


WORKLOAD = Workload(
    name="shipped",
    summary="a workload only the driver has",
    make_tasks=make_tasks,
    task=task,
    calibrated=False,
)
'''


LOOPBACK_HTTP = ["--dashboard-address", "127.0.0.1:0"]


@dataclass
class ExternalCluster:
    """A scheduler and workers started as separate processes, each in its own process group."""

    address: str
    processes: list[subprocess.Popen[bytes]]
    workers: int

    def stop(self) -> None:
        """Kill exactly the processes we started (and their children, via the process group).

        Workers first: a worker told to stop while its scheduler is closing can hang in its own
        close (seen with 2026.8), which would cost the SIGKILL timeout.
        """
        scheduler, *workers = self.processes
        for group in (workers, [scheduler]):
            for process in group:
                # The group outlives a leader that already exited (a nanny's worker child).
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
            for process in group:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


def start_cluster(
    folder: Path,
    workers: int,
    *,
    nanny: bool,
    block_dist_bench: bool,
    site: Path | None = None,
) -> ExternalCluster:
    """Start ``dask scheduler`` and ``workers`` x ``dask worker`` on loopback; wait for them.

    ``site`` is put first on the cluster's ``sys.path`` (packages only the cluster has).
    """
    folder.mkdir(parents=True, exist_ok=True)
    cwd = folder / "cwd"  # empty: the workers must not find the workload file next to them
    cwd.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if site is not None:
        env["PYTHONPATH"] = str(site)
    address = f"tcp://127.0.0.1:{free_port()}"

    def launch(cli: str, args: list[str], log: str) -> subprocess.Popen[bytes]:
        if block_dist_bench:
            # The blocker runs first in that process, then the Dask CLI.
            script = f"{BLOCK_DIST_BENCH}from distributed.cli.{cli} import main\nmain()\n"
            command = [sys.executable, "-c", script, *args]
        else:
            command = [sys.executable, "-m", f"distributed.cli.{cli}", *args]
        with open(folder / log, "wb") as out:
            return subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: teardown kills it whole
            )

    port = address.rsplit(":", 1)[1]
    processes = [
        launch(
            "dask_scheduler",
            # --no-dashboard still serves /health and /metrics, on 0.0.0.0:8787 by default.
            ["--host", "127.0.0.1", "--port", port, "--no-dashboard", *LOOPBACK_HTTP],
            "scheduler.log",
        )
    ]
    cluster = ExternalCluster(address, processes, workers)
    try:
        for i in range(workers):
            args = [address, "--nthreads", "1", "--no-dashboard", *LOOPBACK_HTTP]
            args += ["--host", "127.0.0.1"]
            # --death-timeout: should this test process die, orphaned workers exit on their own.
            args += ["--death-timeout", "60", "--nanny" if nanny else "--no-nanny"]
            processes.append(launch("dask_worker", args, f"worker{i}.log"))
        with warnings.catch_warnings():
            # A cluster made to differ: the backend's warning is tested, not this client's.
            warnings.simplefilter("ignore", distributed.versions.VersionMismatchWarning)
            with distributed.Client(address, timeout=30, set_as_default=False) as client:
                if workers:
                    client.wait_for_workers(workers, timeout=60)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExternalCluster]:
    """Scheduler + two single-threaded workers, all unable to import dist_bench."""
    started = start_cluster(
        tmp_path_factory.mktemp("dask-cluster"), 2, nanny=False, block_dist_bench=True
    )
    yield started
    started.stop()


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> Workload:
    """The test workload, loaded in the driver only (under a dist_bench_user_* module name)."""
    path = tmp_path_factory.mktemp("user-workload") / "shipped_wl.py"
    path.write_text(WORKLOAD_SOURCE)
    loaded = load_workload_file(path)
    assert loaded.module is not None
    return loaded


@pytest.fixture
def remote(cluster: ExternalCluster, workload: Workload) -> Iterator[DaskBackend]:
    backend = DaskBackend(BackendOptions(address=cluster.address))
    assert workload.module is not None
    backend.start(ship=[workload.module])
    yield backend
    backend.shutdown()


def fn(workload: Workload, name: str) -> Any:
    return getattr(workload.module, name)


def values(timed: list[tuple[object, ...]]) -> list[object]:
    """Task values out of ``timed_call`` results: (value, seconds, ..., worker id)."""
    return [result[0] for result in timed]


def pids(timed: list[tuple[object, ...]]) -> set[int]:
    """Process ids out of the ``host:pid:thread`` worker ids ``timed_call`` returns last."""
    return {int(str(result[-1]).split(":")[1]) for result in timed}


def test_registry_builds_the_dask_backend() -> None:
    backend = create_backend("dask", BackendOptions(address="tcp://127.0.0.1:8786"))
    assert isinstance(backend, DaskBackend)
    assert backend.remote


def test_runs_timed_tasks_on_separate_process_cluster(
    cluster: ExternalCluster, remote: DaskBackend
) -> None:
    results = remote.map(timed_call, [(abs, 1, -i) for i in range(10)])

    assert values(results) == list(range(10))
    assert all(isinstance(result[1], float) and result[1] >= 0 for result in results)
    assert os.getpid() not in pids(results)
    assert remote.workers() == 2
    assert remote.submit(timed_call, divmod, 1, 17, 5).result(timeout=30)[0] == (3, 2)
    assert remote.drain_notes() == []  # nothing happened, nothing reported
    description = remote.describe()
    assert description["address"] == cluster.address
    assert description["worker_processes"] == 2
    assert description["threads_per_worker"] == 1
    assert description["remote"] is True


def test_remote_versions_lists_scheduler_and_each_worker(
    cluster: ExternalCluster, remote: DaskBackend
) -> None:
    nodes = remote.remote_versions()

    assert [node["node"].split()[0] for node in nodes] == ["scheduler", "worker", "worker"]
    assert nodes[0]["node"] == f"scheduler {cluster.address}"
    for node in nodes:
        assert set(node) == {"node", *CHECKED_PACKAGES}
        assert node["ray"] == ""  # Dask does not report Ray: the check skips it
        assert node["python"] == platform.python_version()
        assert node["dask"] == importlib.metadata.version("dask")
        assert node["numpy"] == np.__version__
        assert all(isinstance(value, str) for value in node.values())
    # Same interpreter and packages on both sides: the pre-run check finds nothing to refuse.
    check = check_versions(client_versions(), nodes, DaskBackend.engine_packages)
    assert check.hard == []
    assert check.soft == []


def test_ships_user_workload_to_workers_that_never_had_it(
    remote: DaskBackend, workload: Workload
) -> None:
    assert workload.module is not None
    module_name = workload.module.__name__
    assert module_name.startswith("dist_bench_user_shipped_wl_")
    # The premise: the workers can import neither dist-bench nor the user's file.
    [seen] = values(
        remote.map(
            timed_call, [(fn(workload, "importable"), 1, ["dist_bench", module_name, "numpy"])]
        )
    )
    assert seen == {"dist_bench": False, module_name: False, "numpy": True}

    tasks = workload.make_tasks(Job(tasks=8, grain_s=0.0, bytes_per_task=0))
    results = remote.map(timed_call, [(workload.task, 1, *args) for args in tasks])

    assert values(results) == [workload.task(*args) for args in tasks]
    assert values(results)[:3] == [1000, 1001, 1004]


def nested_args(workload: Workload) -> tuple[object, ...]:
    point = fn(workload, "Point")
    return ([fn(workload, "task")], {"points": [point(1, 2), point(3, 4)]})


def test_code_nested_in_arguments_is_shipped_too(remote: DaskBackend, workload: Workload) -> None:
    # task(x) = x*x + 1000 over 1, 2, 3, 4. A by-name reference would wedge the worker, not fail
    # the task, hence a future with a timeout rather than map.
    future = remote.submit(timed_call, fn(workload, "apply_all"), 1, *nested_args(workload))
    assert future.result(timeout=30)[0] == 4030


def test_task_error_carries_the_failing_index(remote: DaskBackend, workload: Workload) -> None:
    fail_at = fn(workload, "fail_at")
    with pytest.raises(TaskError) as caught:
        remote.map(timed_call, [(fail_at, 1, i, 3) for i in range(6)])

    assert caught.value.index == 3
    assert isinstance(caught.value.cause, ValueError)
    assert "bad one" in str(caught.value.cause)
    # The backend still works after a failed job.
    assert values(remote.map(timed_call, [(fail_at, 1, 1, 3)])) == [1]


def test_placed_array_reaches_tasks_as_the_array(remote: DaskBackend, workload: Workload) -> None:
    array = np.arange(100_000, dtype=np.float64)
    placed = remote.place(array)
    assert placed is not array

    weighted_sum = fn(workload, "weighted_sum")
    results = remote.map(timed_call, [(weighted_sum, 1, placed, w) for w in (1, 2, 3)])

    expected = float(array.sum())
    assert values(results) == [(expected * w, "ndarray") for w in (1, 2, 3)]
    # Placed data holding instances of a class only the driver has travels by value too
    # (distributed itself would pickle the dict by plain pickle, the instances by name).
    functions, points = nested_args(workload)
    future = remote.submit(
        timed_call, fn(workload, "apply_all"), 1, functions, remote.place(points)
    )
    assert future.result(timeout=30)[0] == 4030


@pytest.mark.timeout(120)  # a hang fails here; how fast it fails: benchmarks/connection_failures.py
def test_unreachable_address_fails_naming_it() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    backend = DaskBackend(BackendOptions(address=address))

    with pytest.raises(ClusterConnectionError) as caught:
        backend.start()

    message = str(caught.value)
    assert address in message
    assert "\n" not in message
    assert "dask scheduler" in message


@pytest.mark.timeout(120)  # a hang fails here; how fast it fails: benchmarks/connection_failures.py
def test_a_port_that_never_speaks_is_an_error_not_a_hang() -> None:
    with socket.socket() as listener:  # accepts connections, never answers the handshake
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(ClusterConnectionError) as caught:
            DaskBackend(BackendOptions(address=address)).start()
    message = str(caught.value)
    assert address in message and "no Dask scheduler answered" in message
    assert "\n" not in message


@pytest.mark.timeout(120)  # a hang fails here
def test_a_port_that_never_speaks_fails_at_the_deadline_given_naming_it() -> None:
    with socket.socket() as listener:  # accepts connections, never answers the handshake
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        options = BackendOptions(address=address, connect_timeout_s=2.5)
        with pytest.raises(ClusterConnectionError) as caught:
            DaskBackend(options).start()
    message = str(caught.value)
    assert f"no Dask scheduler answered at {address} within 2.5 s" in message
    assert "\n" not in message


@pytest.mark.timeout(120)  # a hang fails here
def test_a_scheduler_starved_past_the_default_deadline_is_waited_for_up_to_the_given_one(
    tmp_path: Path,
) -> None:
    """A cluster just brought up on a loaded machine (dist-bench scale): its scheduler answers
    late. Stopped, it gets no CPU at all; it is let go on only after the default deadline."""
    started = start_cluster(tmp_path, 1, nanny=False, block_dist_bench=False)
    group = started.processes[0].pid  # the scheduler's process group

    def resume() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGCONT)

    os.killpg(group, signal.SIGSTOP)
    later = threading.Timer(CONNECT_TIMEOUT_S + 2, resume)
    later.start()
    backend = DaskBackend(BackendOptions(address=started.address, connect_timeout_s=60))
    try:
        backend.start()
        assert backend.workers() == 1
    finally:
        backend.shutdown()
        later.cancel()
        resume()
        started.stop()


@pytest.mark.parametrize(
    "address",
    ["ray://127.0.0.1:10001", "http://127.0.0.1:8786", "tcp://127.0.0.1", "tcp://:8786", "auto"],
)
def test_bad_address_is_a_usage_error_before_anything_starts(address: str) -> None:
    with pytest.raises(UsageError, match=r"tcp://"):
        DaskBackend(BackendOptions(address=address))


def test_bare_host_port_means_tcp() -> None:
    assert DaskBackend(BackendOptions(address="127.0.0.1:8786")).address == "tcp://127.0.0.1:8786"


@pytest.mark.timeout(120)  # a hang fails here; how fast it fails: benchmarks/connection_failures.py
def test_scheduler_without_workers_is_a_clear_error(tmp_path: Path) -> None:
    empty = start_cluster(tmp_path, 0, nanny=False, block_dist_bench=False)
    try:
        backend = DaskBackend(BackendOptions(address=empty.address))
        with pytest.raises(ClusterConnectionError, match="has no workers") as caught:
            backend.start()
        assert empty.address in str(caught.value)
    finally:
        empty.stop()


def test_lost_worker_is_survived_and_reported(tmp_path: Path, workload: Workload) -> None:
    cluster = start_cluster(tmp_path / "cluster", 2, nanny=True, block_dist_bench=False)
    marker = tmp_path / "died-once"
    backend = DaskBackend(BackendOptions(address=cluster.address))
    try:
        assert workload.module is not None
        backend.start(ship=[workload.module])
        die_once = fn(workload, "die_once")

        results = backend.map(timed_call, [(die_once, 1, str(marker), x) for x in range(6)])

        assert marker.exists()  # a worker really died
        assert values(results) == [x * 3 for x in range(6)]
        notes = backend.drain_notes()
        assert any(
            re.fullmatch(r"worker tcp://127\.0\.0\.1:\d+ lost; Dask re-ran its \d+ .*", note)
            for note in notes
        ), notes
        assert backend.drain_notes() == []  # drained
    finally:
        backend.shutdown()
        cluster.stop()


@pytest.mark.timeout(120)  # a hang fails here; how fast it ends: benchmarks/cluster_faults.py
def test_a_job_whose_every_worker_is_lost_fails_in_one_line(tmp_path: Path) -> None:
    # No nanny: nothing restarts the killed worker, as with a killed container or a lost node.
    cluster = start_cluster(tmp_path / "cluster", 1, nanny=False, block_dist_bench=False)
    backend = DaskBackend(BackendOptions(address=cluster.address))
    try:
        message = error_when_every_worker_dies(backend, cluster.processes[1].pid, after_s=1.0)
    finally:
        cluster.stop()
    assert "every worker of the Dask cluster" in message and cluster.address in message


def _dask_children() -> dict[int, str]:
    """Child processes of this one, except multiprocessing's resource tracker (not Dask's: it
    lives as long as the interpreter once anything was spawned)."""
    found = {}
    for child in psutil.Process().children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        if "resource_tracker" not in command:
            found[child.pid] = command
    return found


def test_embedded_cluster_runs_user_code_and_leaves_no_process(workload: Workload) -> None:
    before = _dask_children()
    environ_before = dict(os.environ)
    backend = DaskBackend(BackendOptions(workers=2))
    assert workload.module is not None
    backend.start(ship=[workload.module])
    try:
        started = set(_dask_children()) - set(before)
        assert len(started) == 2, _dask_children()  # one process per worker
        assert backend.workers() == 2
        assert backend.remote is False
        assert backend.remote_versions() == []
        assert backend.describe()["address"] == "embedded LocalCluster"
        # Embedded workers load the user's file by path under the driver's module name, so tasks
        # pickle by name as cheaply as installed code.
        module_name = workload.module.__name__
        [seen] = values(backend.map(timed_call, [(fn(workload, "importable"), 1, [module_name])]))
        assert seen == {module_name: True}
        tasks = workload.make_tasks(Job(tasks=4, grain_s=0.0, bytes_per_task=0))
        results = backend.map(timed_call, [(workload.task, 1, *args) for args in tasks])
        assert values(results) == [1000, 1001, 1004, 1009]
        assert pids(results) <= started
        nested = backend.submit(timed_call, fn(workload, "apply_all"), 1, *nested_args(workload))
        assert nested.result(timeout=30)[0] == 4030
        # Only data of the user's file, under an importable function.
        point = fn(workload, "Point")
        points = [point(1, 2), point(3, 4)]
        assert backend.submit(len, points).result(timeout=30) == 2
    finally:
        backend.shutdown()

    left = set(_dask_children()) & started
    assert not left, {pid: _dask_children()[pid] for pid in left}
    # Dask's nannies set their pre-spawn environment in this process; it must not outlive us.
    assert dict(os.environ) == environ_before


def test_embedded_cluster_listens_on_loopback_only() -> None:
    sockets = opened_while_started(DaskBackend(BackendOptions(workers=1)))
    owners = set(sockets.values())
    # The check sees Dask's servers: the scheduler's and nanny's in this process, a worker's.
    assert any(owner.endswith(f"({os.getpid()})") for owner in owners), sockets
    assert len(owners) >= 2, sockets
    exposed = off_loopback(sockets)
    assert not exposed, f"embedded Dask reachable from other machines: {exposed}"


#: Run in a fresh interpreter, so distributed's own terminal handlers write to this process's
#: real stderr (under pytest they hold pytest's capture from import time): starts an embedded
#: cluster, has a task kill its worker, prints the notes as JSON.
KILL_A_WORKER = """
import json, os, sys
import dask
from dist_bench.backends.base import BackendOptions, TaskError
from dist_bench.backends.dask.backend import DaskBackend

# No second try: the first worker that dies running the task fails it, and the scheduler (in
# this process) logs that as an error.
with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
    backend = DaskBackend(BackendOptions(workers=1))
    backend.start()
try:
    try:
        backend.map(os._exit, [(1,)])  # the worker process dies mid-task
    except TaskError as exc:
        print(type(exc.cause).__name__, file=sys.stderr)
    notes = backend.drain_notes()
finally:
    backend.shutdown()
print(json.dumps(notes))
"""


def test_what_distributed_logs_goes_to_a_log_file_summed_up_in_notes() -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILL_A_WORKER],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stderr.strip() == "KilledWorker", "distributed printed over dist-bench's lines"
    notes = json.loads(done.stdout)
    said = [note for note in notes if note.startswith("dask said distributed.scheduler: ")]
    assert len(said) == 1, notes
    assert "marked as failed because 1 workers died while trying to run it" in said[0]
    assert "\n" not in said[0]
    log = Path(said[0].rpartition("full text in ")[2])
    assert "ERROR Task" in log.read_text()


#: In a fresh interpreter (distributed's warning goes to its real stderr): connects to the
#: cluster at argv[1], prints the notes as JSON.
CONNECT = """
import json, sys
from dist_bench.backends.base import BackendOptions
from dist_bench.backends.dask.backend import DaskBackend

backend = DaskBackend(BackendOptions(address=sys.argv[1]))
backend.start()
try:
    notes = backend.drain_notes()
finally:
    backend.shutdown()
print(json.dumps(notes))
"""

#: A real toolz release other than the one installed here: distributed compares toolz between
#: client, scheduler and workers when a client connects.
OTHER_TOOLZ = "1.0.0"


@pytest.fixture(scope="module")
def other_toolz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding toolz OTHER_TOOLZ, unpacked from its wheel (skipped when offline)."""
    if importlib.metadata.version("toolz") == OTHER_TOOLZ:
        pytest.skip(f"toolz {OTHER_TOOLZ} is the one installed here: no mismatch to make")
    folder = tmp_path_factory.mktemp("toolz")
    got = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         f"toolz=={OTHER_TOOLZ}", "--dest", str(folder)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    wheels = list(folder.glob(f"toolz-{OTHER_TOOLZ}-*.whl"))
    if got.returncode != 0 or not wheels:
        pytest.skip(f"toolz {OTHER_TOOLZ} could not be downloaded: {got.stderr.strip()[-200:]}")
    site = folder / "site"
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extractall(site)
    return site


def test_a_version_mismatch_warning_is_one_note_not_a_table(
    tmp_path: Path, other_toolz: Path
) -> None:
    cluster = start_cluster(tmp_path, 1, nanny=False, block_dist_bench=False, site=other_toolz)
    try:
        done = subprocess.run(
            [sys.executable, "-c", CONNECT, cluster.address],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    finally:
        cluster.stop()
    assert done.stderr == "", "distributed printed over dist-bench's lines"
    notes = json.loads(done.stdout)
    log = notes[0].rpartition(" ")[2] if notes else ""
    said = "dask said VersionMismatchWarning: Mismatched versions found"
    assert notes == [f"{said}; full text in {log}"], notes
    table = Path(log).read_text()
    assert "toolz" in table
    assert OTHER_TOOLZ in table  # the cluster's toolz, as distributed found it
