"""The Ray backend against real Ray: an embedded ``ray.init`` and a two-node ``ray start`` cluster.

The cluster's nodes are separate ``ray start --block`` processes with token auth on and
``dist_bench`` unimportable in every one of them (see ``tests/ray_cluster.py``): like a remote
cluster that never installed dist-bench, everything the driver runs there must arrive by value.
The driver runs in this process, which is allowed because this machine is one of the nodes.
"""

from __future__ import annotations

import functools
import importlib.util
import operator
import os
import platform
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import psutil
import pytest

ray = pytest.importorskip("ray")

from dist_bench.backends import create_backend  # noqa: E402
from dist_bench.backends.base import BackendOptions, TaskError  # noqa: E402
from dist_bench.backends.ray.address import parse_address, ray_client_installed  # noqa: E402
from dist_bench.backends.ray.backend import RayBackend  # noqa: E402
from dist_bench.chunking import Chunks  # noqa: E402
from dist_bench.cluster_access import ray_gcs_refuses_stranger  # noqa: E402
from dist_bench.errors import (  # noqa: E402
    ClusterConnectionError,
    EngineNotInstalledError,
    UsageError,
)
from dist_bench.worker import timed_call  # noqa: E402
from tests import ray_cluster  # noqa: E402
from tests.conftest import alive, error_when_every_worker_dies, off_loopback, opened_while_started  # noqa: E402
from tests.ports import free_port  # noqa: E402

pytestmark = [pytest.mark.engine, pytest.mark.slow]

RAY_PROCESS_NAMES = ("raylet", "gcs_server", "ray::")
AUTH_VARS = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS")


@pytest.fixture(scope="module", autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A clean HOME and no Ray auth variables: the embedded Ray writes ~/.ray/auth_token, which
    must not land in the real home, and the machine's settings must not leak into the tests."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        for name in AUTH_VARS:
            patch.delenv(name, raising=False)
        yield home


def _is_ray_process(process: psutil.Process) -> bool:
    try:
        name = process.name()
        return any(name.startswith(prefix) for prefix in RAY_PROCESS_NAMES) or (
            "ray" in " ".join(process.cmdline()[:3])
        )
    except psutil.Error:
        return False


# -- embedded (these run first: the module's cluster is not up yet) --------------------------------


def test_embedded_runs_tasks_and_shutdown_leaves_no_ray_process() -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    backend = RayBackend(BackendOptions(workers=2))
    assert backend.workers() == 2  # known before start: the size it will ask for
    assert not backend.remote
    started = time.perf_counter()
    backend.start()
    start_s = time.perf_counter() - started
    try:
        ours = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
        names = {p.name() for p in ours}
        assert {"raylet", "gcs_server"} <= names, names
        assert backend.workers() == 2
        timed = backend.map(timed_call, [(pow, 1, 2, n) for n in range(8)])
        assert [value for value, *_ in timed] == [2**n for n in range(8)]
        assert backend.submit(operator.mul, 6, 7).result(timeout=60) == 42
        assert backend.remote_versions() == []  # workers run this very interpreter
        described = backend.describe()
        assert described["address"] == "embedded ray.init"
        assert described["nodes"] == 1
        assert described["cpus"] == 2
    finally:
        stopped = time.perf_counter()
        backend.shutdown()
        stop_s = time.perf_counter() - stopped
    print(f"embedded ray: start {start_s:.2f} s, shutdown {stop_s:.2f} s")
    left = [p for p in ours if alive(p)]
    assert not left, f"Ray processes left behind: {[(p.pid, p.name()) for p in left]}"
    new_ray = [
        p
        for p in psutil.Process().children(recursive=True)
        if p.pid not in before and alive(p) and _is_ray_process(p)
    ]
    assert not new_ray, [(p.pid, p.name()) for p in new_ray]
    # ray.init turns token mode on in os.environ; shutdown puts the environment back.
    assert "RAY_AUTH_MODE" not in os.environ
    assert not ray.is_initialized()


def test_a_second_backend_with_the_same_settings_shares_the_session() -> None:
    first = RayBackend(BackendOptions(workers=1))
    first.start()
    try:
        second = RayBackend(BackendOptions(workers=1))
        second.start()
        assert second.map(operator.add, [(1, 2)]) == [3]
        second.shutdown()
        assert ray.is_initialized(), "the first backend's session must survive the second"
        assert first.map(operator.add, [(2, 2)]) == [4]
        with pytest.raises(RuntimeError, match="already connected"):
            RayBackend(BackendOptions(workers=2)).start()
        assert first.map(operator.add, [(3, 3)]) == [6]
    finally:
        first.shutdown()
    assert not ray.is_initialized()


def test_embedded_ray_listens_on_loopback_only() -> None:
    sockets = opened_while_started(RayBackend(BackendOptions(workers=1)))
    owners = " ".join(sockets.values())
    # The check sees Ray's servers: the GCS, the raylet and the driver's own core worker.
    assert "gcs_server" in owners and "raylet" in owners, sockets
    assert f"({os.getpid()})" in owners, sockets
    exposed = off_loopback(sockets)
    assert not exposed, f"embedded Ray reachable from other machines: {exposed}"


def _times_said(message: str, notes: list[str]) -> int:
    """How many times the engine said ``message``, from notes like "... (x3); full text in ..."."""
    counts = [re.search(r" \(x(\d+)\); full text in ", note) for note in notes if message in note]
    return sum(int(found.group(1)) if found else 1 for found in counts)


def test_what_ray_says_goes_to_a_log_file_summed_up_in_notes(
    capfd: pytest.CaptureFixture[str],
) -> None:
    def die(x: int) -> int:
        os._exit(1)  # every try: the raylet tells the driver each time a worker dies

    backend = RayBackend(BackendOptions(workers=1))
    backend.start()
    try:
        capfd.readouterr()
        with pytest.raises(TaskError) as caught:
            backend.map(die, [(1,)])
        assert isinstance(caught.value.cause, ray.exceptions.WorkerCrashedError)
        # The raylet's messages arrive on Ray's own thread, after the task's error: one per
        # death (the first try and three retries), summed up per kind in each drain.
        notes: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _times_said("A worker died", notes) < 4:
            notes += backend.drain_notes()
            time.sleep(0.2)
    finally:
        backend.shutdown()
    out, err = capfd.readouterr()
    assert "worker died" not in out + err, "Ray printed over dist-bench's lines"
    assert _times_said("A worker died", notes) == 4, notes
    said = [note for note in notes if note.startswith("ray said (raylet): A worker died")]
    assert all("\n" not in note for note in said)
    log = Path(said[0].rpartition("full text in ")[2])
    assert log.is_file()
    assert log.read_text().count("A worker died or was killed") == 4  # the whole text, each time


# -- addresses that cannot work --------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1:6379", "http://127.0.0.1:8265", "127.0.0.1:notaport", "a:b:c"]
)
def test_an_address_ray_cannot_use_is_a_usage_error(address: str) -> None:
    with pytest.raises(UsageError, match=r"auto.*HOST:PORT.*ray://"):
        RayBackend(BackendOptions(address=address))


def test_address_forms_are_parsed() -> None:
    assert parse_address(None).kind == "embedded"
    assert parse_address("auto").kind == "auto"
    assert parse_address("10.0.0.5:6379").for_ray_init == "10.0.0.5:6379"
    assert parse_address("ray://head").for_ray_init == "ray://head:10001"
    assert parse_address("[::1]:6379").hostport == "[::1]:6379"


def test_ray_client_without_grpcio_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes grpcio unimportable here, as on a machine without it.
    monkeypatch.setitem(sys.modules, "grpc", None)
    assert not ray_client_installed()
    with pytest.raises(EngineNotInstalledError, match=r"dist-bench\[ray-client\]"):
        create_backend("ray", BackendOptions(address="ray://127.0.0.1:10001"))


@pytest.mark.parametrize(
    ("failures", "calls", "said"),
    [
        # Ray Client's transient server-side failure is tried again, at most 3 times...
        ([ConnectionAbortedError("Initialization failure from server")] * 3, 3, "Initialization"),
        # ...and any other failure is said at once.
        ([ConnectionAbortedError("Initialization failure from server"), RuntimeError("boom")],
         2, "boom"),
    ],
)  # fmt: skip
def test_ray_client_connects_again_after_the_servers_transient_failure(
    monkeypatch: pytest.MonkeyPatch, failures: list[Exception], calls: int, said: str
) -> None:
    # The failure cannot be caused on demand, so ray.init plays it; the rest runs for real.
    pytest.importorskip("grpc")
    attempts: list[str] = []

    def failing_init(address: str, **_: object) -> None:
        attempts.append(address)
        raise failures[len(attempts) - 1]

    monkeypatch.setattr(ray, "init", failing_init)
    with socket.socket() as server:  # something listening, for the TCP probe
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"ray://127.0.0.1:{server.getsockname()[1]}"
        backend = RayBackend(BackendOptions(address=address))
        with pytest.raises(ClusterConnectionError, match=said) as caught:
            backend.start()
    assert len(attempts) == calls
    assert "\n" not in str(caught.value)


@pytest.mark.timeout(120)  # a hang fails here; how fast it fails: benchmarks/connection_failures.py
def test_an_unreachable_address_fails_in_one_line() -> None:
    address = f"127.0.0.1:{free_port()}"
    backend = RayBackend(BackendOptions(address=address))
    with pytest.raises(ClusterConnectionError) as caught:
        backend.start()
    message = str(caught.value)
    assert address in message
    assert "ray start --head" in message
    assert "\n" not in message
    assert not ray.is_initialized()


@pytest.mark.timeout(120)  # a hang fails here; how fast it fails: benchmarks/connection_failures.py
def test_a_port_that_is_not_a_ray_gcs_fails_in_one_line(capfd: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as listener:  # accepts connections, never speaks gRPC
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(ClusterConnectionError, match="no Ray GCS answered") as caught:
            RayBackend(BackendOptions(address=address)).start()
        assert address in str(caught.value)
    # Ray's C++ client's own "Failed to connect to GCS" went to the terminal, over that line.
    assert "Failed to connect" not in capfd.readouterr().err


@pytest.mark.timeout(300)  # a hang fails here; how fast it ends: benchmarks/cluster_faults.py
def test_a_job_whose_every_worker_node_is_lost_fails_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The head runs no task (as in the compose cluster): once the worker node is gone, no CPU is.
    cluster = ray_cluster.start(nodes=2, cpus_per_node=1, head_cpus=0, block_dist_bench=False)
    monkeypatch.setenv("RAY_AUTH_TOKEN", cluster.token)
    backend = RayBackend(BackendOptions(address=cluster.address))
    try:
        message = error_when_every_worker_dies(backend, cluster.processes[1].pid, after_s=2.0)
    finally:
        ray_cluster.stop(cluster)
    assert "every worker node of the Ray cluster" in message and cluster.address in message


# -- a two-node cluster ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(private_home: Path) -> Iterator[ray_cluster.RayTestCluster]:
    started = time.perf_counter()
    running = ray_cluster.start(nodes=2, cpus_per_node=1)
    print(f"ray test cluster up in {time.perf_counter() - started:.2f} s")
    yield running
    started = time.perf_counter()
    survivors = ray_cluster.stop(running)
    print(f"ray test cluster down in {time.perf_counter() - started:.2f} s")
    assert not survivors, f"test cluster processes survived: {survivors}"


@pytest.fixture
def with_token(
    cluster: ray_cluster.RayTestCluster, monkeypatch: pytest.MonkeyPatch
) -> ray_cluster.RayTestCluster:
    """The cluster's token in RAY_AUTH_TOKEN only (RAY_AUTH_MODE unset), as a user would set it."""
    monkeypatch.setenv("RAY_AUTH_TOKEN", cluster.token)
    return cluster


@pytest.fixture
def connected(with_token: ray_cluster.RayTestCluster) -> Iterator[RayBackend]:
    backend = RayBackend(BackendOptions(address=with_token.address))
    started = time.perf_counter()
    backend.start()
    print(f"connect + warm-up {time.perf_counter() - started:.2f} s")
    yield backend
    backend.shutdown()
    assert not ray.is_initialized()
    assert "RAY_AUTH_MODE" not in os.environ, "the auth mode set for the connection must go"


def test_a_cluster_runs_tasks_on_both_nodes(connected: RayBackend) -> None:
    assert connected.remote
    assert connected.workers() == 2
    assert connected.describe()["nodes"] == 2

    def node_of(seconds: float) -> str:
        time.sleep(seconds)  # long enough that one CPU per node forces both nodes to work
        return str(ray.get_runtime_context().get_node_id())

    nodes = connected.map(node_of, [(0.5,)] * 4)
    assert len(set(nodes)) == 2

    timed = connected.map(timed_call, [(pow, 1, 3, n) for n in range(6)])
    assert [value for value, *_ in timed] == [3**n for n in range(6)]

    versions = connected.remote_versions()
    assert len(versions) == 2
    assert len({v["node"] for v in versions}) == 2
    assert {v["python"] for v in versions} == {platform.python_version()}
    assert {v["ray"] for v in versions} == {ray.__version__}
    assert {v["dist_bench"] for v in versions} == {"missing"}


def test_auto_finds_the_cluster_named_by_ray_address(
    with_token: ray_cluster.RayTestCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAY_ADDRESS", with_token.address)
    backend = RayBackend(BackendOptions(address="auto"))
    backend.start()
    try:
        assert backend.workers() == 2
        assert backend.map(abs, [(-3,), (4,)]) == [3, 4]
    finally:
        backend.shutdown()


def test_dist_bench_is_really_missing_on_the_cluster(connected: RayBackend) -> None:
    def can_import_dist_bench() -> bool:
        try:
            import dist_bench  # noqa: F401
        except ImportError:
            return False
        return True

    assert connected.map(can_import_dist_bench, [(), ()]) == [False, False]


USER_MODULE = '''
"""Stdlib only; lives in a temporary folder no worker can see."""
import math

SCALE = 3

def _helper(x):
    return math.isqrt(x) * SCALE

def task(x):
    return _helper(x * x) + 1
'''


def _import_user_module(tmp_path: Path) -> ModuleType:
    path = tmp_path / "shipped_user_code.py"
    path.write_text(USER_MODULE)
    name = f"dist_bench_user_test_{os.getpid()}_{time.monotonic_ns()}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_user_code_is_shipped_by_value(
    with_token: ray_cluster.RayTestCluster, tmp_path: Path
) -> None:
    module = _import_user_module(tmp_path)
    try:
        expected = [x * 3 + 1 for x in range(5)]
        shipped = RayBackend(BackendOptions(address=with_token.address))
        shipped.start(ship=[module])
        try:
            assert shipped.map(module.task, [(x,) for x in range(5)]) == expected
            timed = shipped.map(timed_call, [(module.task, 1, x) for x in range(5)])
            assert [value for value, *_ in timed] == expected
        finally:
            shipped.shutdown()
        # Without shipping, the workers look the module up by name and cannot find it.
        unshipped = RayBackend(BackendOptions(address=with_token.address))
        unshipped.start()
        try:
            with pytest.raises(TaskError) as caught:
                unshipped.map(module.task, [(1,)])
            assert caught.value.index == 0
            assert isinstance(caught.value.cause, ModuleNotFoundError | ImportError)
        finally:
            unshipped.shutdown()
    finally:
        del sys.modules[module.__name__]


def test_a_failing_task_reports_its_index_and_cause(connected: RayBackend) -> None:
    items = [(1, 1), (1, 1), (1, 1), (1, 0), (1, 1)]
    with pytest.raises(TaskError) as caught:
        connected.map(operator.floordiv, items)
    assert caught.value.index == 3
    assert isinstance(caught.value.cause, ZeroDivisionError)
    with pytest.raises(ZeroDivisionError):
        connected.submit(operator.floordiv, 1, 0).result(timeout=60)
    assert connected.map(operator.add, [(1, 2)]) == [3]


def test_a_worker_that_dies_is_retried_and_noted(connected: RayBackend, tmp_path: Path) -> None:
    marker = tmp_path / "died-once"
    assert connected.drain_notes() == []

    def die_the_first_time(x: int) -> int:
        if not marker.exists():
            marker.touch()
            os._exit(1)  # the worker process dies mid-task, as on an OOM kill
        return x * 10

    assert connected.map(die_the_first_time, [(x,) for x in range(4)]) == [0, 10, 20, 30]
    assert marker.exists()
    notes = connected.drain_notes()
    assert any("re-ran 1 task" in note for note in notes), notes
    assert connected.drain_notes() == []


def test_placed_arrays_reach_tasks_as_values(connected: RayBackend) -> None:
    array = np.arange(1_000_000, dtype=np.float64)
    placed = connected.place(array)
    assert isinstance(placed, ray.ObjectRef)
    assert connected.map(np.sum, [(placed,), (placed,)]) == [array.sum()] * 2
    chunks = Chunks.of(3, 2)
    call = functools.partial(timed_call, chunks.wrap(np.dot, coroutine=False), 1)
    timed = chunks.per_task(
        chunks.dispatch(connected, call, chunks.rows([(placed, placed)] * 3, {id(placed)}))
    )
    # BLAS sums in a different order with one thread than with the driver's several.
    assert [value for value, *_ in timed] == [pytest.approx(array @ array, rel=1e-12)] * 3


def test_the_gcs_refuses_a_client_without_the_token(cluster: ray_cluster.RayTestCluster) -> None:
    # What `cluster up` asks on the head before it says "ready"; beside it, an address where no
    # GCS answers is not taken for a refusal.
    assert ray_gcs_refuses_stranger(cluster.address)
    assert not ray_gcs_refuses_stranger(f"127.0.0.1:{free_port()}")


@pytest.mark.timeout(120)  # a hang fails here; how fast it fails: benchmarks/connection_failures.py
def test_a_wrong_token_is_refused_in_one_line(
    cluster: ray_cluster.RayTestCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAY_AUTH_TOKEN", "0" * 64)
    with pytest.raises(ClusterConnectionError) as caught:
        RayBackend(BackendOptions(address=cluster.address)).start()
    message = str(caught.value)
    assert "rejected the auth token from the RAY_AUTH_TOKEN environment variable" in message
    assert cluster.address in message
    assert "\n" not in message
    assert not ray.is_initialized()


def test_a_missing_token_says_where_to_put_one(
    cluster: ray_cluster.RayTestCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ray/auth_token there
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    with pytest.raises(ClusterConnectionError) as caught:
        RayBackend(BackendOptions(address=cluster.address)).start()
    message = str(caught.value)
    assert "none was found" in message
    assert "RAY_AUTH_TOKEN" in message
    assert "auth_token" in message


def test_token_mode_without_a_token_is_an_error_not_an_abort(
    cluster: ray_cluster.RayTestCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Ray's GCS client aborts the whole process on this (a C++ check), so it must be caught first.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    with pytest.raises(ClusterConnectionError, match="none was found"):
        RayBackend(BackendOptions(address=cluster.address)).start()
    assert os.environ["RAY_AUTH_MODE"] == "token"  # the user's own setting is left alone


def test_an_unreadable_token_path_is_an_error_not_an_abort(
    cluster: ray_cluster.RayTestCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Ray aborts the whole process on this too.
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "no-such-token"))
    with pytest.raises(ClusterConnectionError, match="RAY_AUTH_TOKEN_PATH"):
        RayBackend(BackendOptions(address=cluster.address)).start()


def test_the_token_file_in_home_is_used(
    cluster: ray_cluster.RayTestCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text(cluster.token)
    monkeypatch.setenv("HOME", str(tmp_path))
    backend = RayBackend(BackendOptions(address=cluster.address))
    backend.start()
    try:
        assert backend.map(operator.mul, [(6, 7)]) == [42]
    finally:
        backend.shutdown()
