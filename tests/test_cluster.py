"""The local container cluster for real: image, compose, workers joining, runs, lost nodes.

Every test here starts real containers through ``dist_bench.cluster`` under a compose project of
its own on free loopback ports, so it never touches a user's cluster or another test's, and takes
the cluster down in teardown whatever happened. Without Docker the tests skip with the reason;
under CI (``CI`` set) a missing Docker engine fails them instead.
"""

from __future__ import annotations

import getpass
import grp
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dist_bench import cluster, cluster_access
from dist_bench.cli import driver_command
from dist_bench.errors import ClusterError
from dist_bench.versions import client_versions
from tests.conftest import default_ctrl_c
from tests.ports import free_port

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

#: The published ports docker-compose.yml reads, per engine (documented in docs/cluster.md).
PORT_VARIABLES = {
    "dask": ("DIST_BENCH_DASK_PORT", "DIST_BENCH_DASK_DASHBOARD_PORT"),
    "ray": ("DIST_BENCH_RAY_CLIENT_PORT",),
}
#: Bounds on waiting for a run, so a hang fails the test instead of stalling CI.
RUN_TIMEOUT_S = 300
#: The job a worker is killed in: one unwarmed job of 24 half-second tasks on two one-core
#: workers lasts ~6 s, so a kill lands mid-job even on a loaded machine (12 x 300 ms with a
#: warm-up could end before a slow `docker kill` did, and then nothing was lost).
LONG_JOB = ("cpu", "--tasks", "24", "--grain", "500ms", "--warmup", "0", "--repeats", "1",
            "-o", "lost.json")  # fmt: skip


@pytest.fixture(scope="module")
def docker() -> None:
    """Docker and the cluster image, built once for the module (reused when up to date)."""
    try:
        cluster.compose_command()
    except ClusterError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the cluster tests on real containers, and: {exc}")
        pytest.skip(f"cluster tests need Docker: {exc}")
    cluster.build()


@contextmanager
def _running(engine: str, name: str, **spec: Any) -> Iterator[tuple[str, dict[str, int]]]:
    """A cluster under its own project and free ports; always taken down afterwards."""
    project = f"dbtest-{name}-{os.getpid()}"
    ports = {variable: free_port() for variable in PORT_VARIABLES[engine]}
    with pytest.MonkeyPatch.context() as patch:
        for variable, port in ports.items():
            patch.setenv(variable, str(port))
        try:
            cluster.up(
                cluster.ClusterSpec(engine, project=project, memory_bytes=1024**3, **spec),
                timeout_s=240,
            )
            yield project, ports
        finally:
            cluster.down(project)
            assert _containers(project) == [], "cluster down left containers behind"


def _containers(project: str, service: str | None = None, *, every: bool = True) -> list[str]:
    filters = ["--filter", f"label=com.docker.compose.project={project}"]
    if service is not None:
        filters += ["--filter", f"label=com.docker.compose.service={service}"]
    return _docker("ps", "--quiet", *(["--all"] if every else []), *filters).split()


def _docker(*args: str) -> str:
    """What a ``docker`` command printed; it must succeed."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def _cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, session: bool = False
) -> subprocess.Popen[str]:
    """dist-bench in a subprocess; ``session``: in a process group of its own, as a terminal's
    foreground job is, so ``os.killpg`` stands for Ctrl-C."""
    return subprocess.Popen(
        [sys.executable, "-m", "dist_bench", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=session,
        preexec_fn=default_ctrl_c if session else None,
    )


def _inside(*args: str) -> cluster.DriverCommand:
    return driver_command(args)


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        out, err = process.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the run did not end within {RUN_TIMEOUT_S} s:\n{out[-2000:]}\n{err[-2000:]}")
    return process.returncode, out + err


@pytest.fixture(autouse=True)
def _driver_can_write(tmp_path: Path) -> None:
    """As root, the driver runs as the image's user (never root): let it write in tmp_path."""
    if os.geteuid() == 0:
        os.chown(tmp_path, *cluster.container_user())


def _written_by_this_user(path: Path) -> dict[str, Any]:
    """The results file the driver container wrote: owned by, and naming, the host's user."""
    owner = path.stat().st_uid
    assert owner == cluster.container_user()[0], f"{path} does not belong to the user who ran it"
    metadata: dict[str, Any] = json.loads(path.read_text())["metadata"]
    assert metadata["user"] == getpass.getuser()
    return metadata


def _run_inside(project: str, engine: str, folder: Path) -> dict[str, Any]:
    """A small ``cluster run`` in the network: its engine's record, verified, in the user's file."""
    code = cluster.run(
        _inside("run", "cpu", "--tasks", "4", "--grain", "20ms", "--repeats", "2", "-o", "in.json"),
        project,
        workdir=folder,
    )
    assert code == 0
    _written_by_this_user(folder / "in.json")
    [record] = [r for r in _records(folder / "in.json") if r["backend"] == engine]
    assert record["verified"]
    return record


def _records(path: Path) -> list[dict[str, Any]]:
    try:
        records: list[dict[str, Any]] = json.loads(path.read_text())["records"]
    except (OSError, ValueError, KeyError):
        return []
    return records


def _wait_until(what: str, condition: Any, process: subprocess.Popen[str]) -> None:
    """Poll ``condition`` until true; fail if the run ends first or it takes too long."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the run ended before {what}: {_finish(process)[1][-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"waited {RUN_TIMEOUT_S} s for {what}")
        time.sleep(0.2)


def _measuring(
    engine: str, project: str, results: Path, *, session: bool = False
) -> subprocess.Popen[str]:
    """A multi-shape ``cluster run`` on a cluster back at two workers, once its first record is
    saved: the moment a fault or an interrupt lands mid-run with something to keep."""
    # Back to two workers after an earlier test's loss (compose rescales).
    cluster.up(cluster.ClusterSpec(engine, project=project, memory_bytes=1024**3), timeout_s=240)
    run = _cli("cluster", "run", "--project", project, "--", "run", "cpu", "--tasks", "8",
               "--grain", "20ms,500ms", "--repeats", "3", "-o", results.name,
               cwd=results.parent, session=session)  # fmt: skip
    _wait_until("the first measurement was saved", lambda: len(_records(results)) >= 1, run)
    return run


def _tasks_running_on(container: str) -> bool:
    """A Ray worker process in ``container`` is executing a task.

    Ray titles its worker processes ``ray::<task>`` while they run one and ``ray::IDLE`` when
    not; its agents are ``ray::…Agent``.
    """
    top = subprocess.run(
        ["docker", "top", container, "-o", "pid,args"], capture_output=True, text=True, check=False
    )
    titles = [line.split(maxsplit=1)[-1] for line in top.stdout.splitlines()[1:]]
    return any(
        title.startswith("ray::") and title != "ray::IDLE" and not title.endswith("Agent")
        for title in titles
    )


def _dask_job_running(project: str) -> bool:
    """A task has stayed on a worker for half a second (asked of the scheduler from the host).

    The no-op tasks of the dispatch probe that precedes the job come and go in milliseconds;
    the job's half-second tasks stay.
    """
    import warnings

    import distributed
    from distributed.security import Security

    report = cluster.status(project)
    env = report.client_env
    security = Security(
        tls_ca_file=env["DASK_DISTRIBUTED__COMM__TLS__CA_FILE"],
        tls_client_cert=env["DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT"],
        tls_client_key=env["DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY"],
        require_encryption=True,
    )
    address = report.addresses["from this host"]
    with warnings.catch_warnings():
        # The host's Python patch release may differ from the image's; the run's check says so.
        warnings.simplefilter("ignore", distributed.versions.VersionMismatchWarning)
        with distributed.Client(address, security=security, timeout=10) as client:

            def processing() -> set[str]:
                return {key for keys in client.processing().values() for key in keys}

            before = processing()
            time.sleep(0.5)
            return bool(before & processing())


# -- no Docker needed beyond the CLI ---------------------------------------------------------------


def test_ci_runs_the_cluster_flow_as_an_unprivileged_user_with_both_composes() -> None:
    # Most people reach Docker as a user in the docker group, not as root: CI must too (.ci/run),
    # or a root-only assumption (a uid the image does not know, a file root may write) slips by.
    if not os.environ.get("CI"):
        pytest.skip("checks the CI setup; outside CI any user may run the suite")
    assert os.geteuid() != 0, "CI runs the suite as root; .ci/run runs it as dist-bench-ci"
    assert grp.getgrnam("docker").gr_gid in os.getgroups()
    with pytest.MonkeyPatch.context() as patch:
        for version, expected in (("v1", "docker-compose"), ("v2", "compose")):
            patch.setenv(cluster.COMPOSE_VARIABLE, version)
            assert cluster.compose_command()[-1].endswith(expected)


def test_an_unknown_compose_choice_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from dist_bench.errors import UsageError

    monkeypatch.setenv(cluster.COMPOSE_VARIABLE, "v3")
    with pytest.raises(UsageError, match="DIST_BENCH_COMPOSE='v3': use v2"):
        cluster.compose_command()


def test_compose_publishes_no_port_beyond_loopback(docker: None) -> None:
    config = cluster.compose_config(f"dbtest-config-{os.getpid()}", "all")
    published = cluster.published_ports(config)
    assert {service for service, _, _ in published} == {"scheduler", "head"}
    assert len(published) == 3
    for service, host_ip, host_port in published:
        assert host_ip == "127.0.0.1", f"{service} publishes port {host_port} on {host_ip!r}"


def test_every_container_is_hardened_and_never_root(docker: None) -> None:
    config = cluster.compose_config(f"dbtest-config-{os.getpid()}", "all")
    services = config["services"]
    assert set(services) == {
        "scheduler", "dask-worker", "dask-driver", "head", "ray-worker", "ray-driver",
    }  # fmt: skip
    uid, gid = cluster.container_user()
    for name, service in services.items():
        assert service["user"] == f"{uid}:{gid}", name
        assert uid != 0
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["read_only"] is True, name
        assert service["init"] is True, name
        assert int(service["pids_limit"]) > 0, name
        assert {mount.split(":")[0] for mount in service["tmpfs"]} == {"/tmp", "/home/dist"}
        # Every role has a CPU and a memory cap, not only the workers (theirs a CFS quota).
        quota = float(service.get("cpu_quota", 0)) / float(service.get("cpu_period", 1))
        assert float(service.get("cpus", quota)) > 0, name
        assert service.get("mem_limit") or service.get("deploy"), name


def test_a_port_left_in_time_wait_is_not_taken() -> None:
    # A cluster just used from this host leaves its port's connections in TIME_WAIT (the side
    # that closes first keeps it): the next `cluster up` must still find the port free.
    with socket.socket() as listener:
        # As servers listen (Go's net.Listen, so Docker's proxy, sets it too); its accepted
        # connections, and their TIME_WAIT, inherit it.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the server side closes first: its end waits in TIME_WAIT
        client.close()
    env = {"DIST_BENCH_DASK_PORT": str(port), "DIST_BENCH_DASK_DASHBOARD_PORT": "0"}
    cluster.check_ports("dask", env)  # raises ClusterError when the port reads as taken


def test_a_taken_port_is_one_line_with_the_fix(docker: None, tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {
            "DIST_BENCH_DASK_PORT": str(port),
            "DIST_BENCH_DASK_DASHBOARD_PORT": str(free_port()),
        }
        code, output = _finish(
            _cli("cluster", "up", "--engine", "dask", "--project", "dbtest-taken", cwd=tmp_path,
                 env=env)
        )  # fmt: skip
    assert code == 1
    assert f"error: port {port} on 127.0.0.1 is taken" in output
    assert "DIST_BENCH_DASK_PORT=PORT" in output
    assert "Traceback" not in output
    assert _containers("dbtest-taken") == []


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PATH": "/nonexistent"}, "error: Docker is not installed: install Docker Engine"),
        ({"DOCKER_HOST": "unix:///nonexistent/docker.sock"}, "error: the Docker daemon is not"),
    ],
    ids=["docker-absent", "daemon-down"],
)
def test_no_docker_is_one_line_with_the_fix(
    env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    code, output = _finish(_cli("cluster", "up", "--engine", "ray", cwd=tmp_path, env=env))
    assert code == 1
    assert expected in output
    assert len(output.strip().splitlines()) <= 2  # rich may wrap the one line
    assert "Traceback" not in output


def test_an_output_path_the_driver_cannot_see_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path.parent / "elsewhere.json"
    code, output = _finish(
        _cli("cluster", "run", "--project", "dbtest-none", "--", "run", "cpu", "-o",
             str(elsewhere), cwd=tmp_path)
    )  # fmt: skip
    assert code == 2
    assert f"{elsewhere}: the cluster's driver sees only the current folder" in output


@pytest.mark.parametrize(
    "spelling",
    [("-o", "{}"), ("--output", "{}"), ("--output={}",), ("-o{}",), ("--plot", "{}.png")],
)
def test_every_spelling_of_an_output_is_read_as_click_reads_it(
    spelling: tuple[str, ...], tmp_path: Path
) -> None:
    elsewhere = str(tmp_path.parent / "elsewhere.json")
    args = ("run", "cpu", *(part.format(elsewhere) for part in spelling))
    command = driver_command(args)
    assert len(command.output_paths) == 1
    assert command.output_paths[0].startswith(elsewhere)


def test_a_run_gets_the_clusters_address_and_engine_unless_given() -> None:
    assert cluster.with_cluster_address(_inside("run", "cpu"), "ray", "head:6379") == [
        "run", "cpu", "--address", "head:6379", "-b", "ray",
    ]  # fmt: skip
    for given in (
        ["run", "cpu", "-b", "dask,serial", "--address=tcp://elsewhere:8786"],
        ["run", "cpu", "-bdask", "--address", "tcp://elsewhere:8786"],
        ["run", "cpu", "--backends=dask", "--address=tcp://elsewhere:8786"],
    ):
        assert cluster.with_cluster_address(_inside(*given), "dask", "tls://s:8786") == given
    assert cluster.with_cluster_address(_inside("list"), "dask", "tls://s:8786") == ["list"]


# -- Dask and Ray: one cluster of two workers per engine, shared by its tests ----------------------


def _two_workers(engine: str) -> Any:
    """A module-scoped fixture: ``engine``'s cluster of two workers, as (project, ports)."""

    @pytest.fixture(scope="module")
    def running_cluster(docker: None) -> Iterator[tuple[str, dict[str, int]]]:
        """The engine's cluster of two workers, taken down after the module's last test."""
        with _running(engine, engine, workers=2) as running:
            yield running

    return running_cluster


dask_cluster = _two_workers("dask")
ray_cluster = _two_workers("ray")


def _status_of_two_workers(project: str, package: str) -> cluster.ClusterReport:
    """``status`` of a cluster that ``up`` waited for: two one-core workers, each running the
    client's version of the engine's ``package``."""
    report = cluster.status(project)
    assert len(report.workers) == 2
    for worker in report.workers:
        assert worker.cores == 1
        assert worker.versions[package] == client_versions()[package]
    return report


# -- Dask ------------------------------------------------------------------------------------------


def test_dask_up_waits_for_every_worker_and_status_asks_the_scheduler(
    dask_cluster: tuple[str, dict[str, int]],
) -> None:
    project, ports = dask_cluster
    report = _status_of_two_workers(project, "distributed")
    assert all(worker.memory_bytes == 1024**3 for worker in report.workers)
    assert report.addresses["from this host"] == f"tls://127.0.0.1:{ports['DIST_BENCH_DASK_PORT']}"
    assert not report.open_to_local_users
    # Secure by default: a client without the certificate is turned away by the scheduler.
    assert cluster_access._dask_refuses_plain_tcp(ports["DIST_BENCH_DASK_PORT"])
    secrets_dir = Path(report.client_env["DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY"]).parent
    assert secrets_dir.stat().st_mode & 0o777 == 0o700
    for name in ("ray_token", "dask_ca", "dask_cert", "dask_key"):
        assert (secrets_dir / name).stat().st_mode & 0o777 == 0o600, name
    # The engines run as an unprivileged user, in containers that Docker itself holds to it.
    for service in ("scheduler", "dask-worker"):
        [container] = _containers(project, service, every=False)[:1]
        uid = _docker("exec", container, "id", "-u")
        assert uid.strip() == str(cluster.container_user()[0])
        [inspected] = json.loads(_docker("inspect", container))
        host = inspected["HostConfig"]
        assert host["CapDrop"] == ["ALL"] or host["CapDrop"] == ["all"]
        assert host["ReadonlyRootfs"] and host["Init"] and host["PidsLimit"] > 0
        assert (host["NanoCpus"] > 0 or host["CpuQuota"] > 0) and host["Memory"] > 0
        written = subprocess.run(
            ["docker", "exec", container, "touch", "/opt/dist-bench/x"], capture_output=True
        )
        assert written.returncode != 0, "the root filesystem is writable"


def test_the_dask_dashboard_it_prints_serves_its_plots(
    dask_cluster: tuple[str, dict[str, int]],
) -> None:
    import urllib.request

    project, ports = dask_cluster
    url = cluster.status(project).dashboards["Dask"]
    assert url == f"http://127.0.0.1:{ports['DIST_BENCH_DASK_DASHBOARD_PORT']}/status"
    with urllib.request.urlopen(url, timeout=30) as page:
        body = page.read().decode()
    # Bokeh's document, not the "install bokeh" page the scheduler serves without it.
    assert "Bokeh" in body and "pip install" not in body


def test_dask_run_inside_the_network_is_verified(
    dask_cluster: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    record = _run_inside(dask_cluster[0], "dask", tmp_path)
    assert record["workers"] == 2
    assert record["distinct_workers"] == 2


def test_dask_from_the_host_by_loopback_is_verified(
    dask_cluster: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    # Over TLS with no variable exported: dist-bench finds its own cluster's certificate.
    _, ports = dask_cluster
    address = f"tls://127.0.0.1:{ports['DIST_BENCH_DASK_PORT']}"
    code, output = _finish(
        _cli("run", "cpu", "-b", "dask", "--address", address, "--tasks", "4", "--grain", "20ms",
             "--repeats", "2", "-o", "host.json", cwd=tmp_path)
    )  # fmt: skip
    assert code == 0, output
    [record] = [r for r in _records(tmp_path / "host.json") if r["backend"] == "dask"]
    assert record["verified"]


def test_another_client_with_the_printed_settings_reaches_dask_and_a_plain_one_does_not(
    dask_cluster: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    project, _ = dask_cluster
    report = cluster.status(project)
    address = report.addresses["from this host"]
    # The exports `cluster up` prints, as any other client would use them.
    args = ("run", "cpu", "-b", "dask", "--address", address, "--tasks", "2", "--repeats", "1")
    code, output = _finish(_cli(*args, "-o", "host.json", cwd=tmp_path, env=report.client_env))
    assert code == 0, output
    assert all(r["verified"] for r in _records(tmp_path / "host.json"))
    # The plain address of our own cluster: one line naming the right one (that the scheduler
    # refuses plain clients is checked by `up`, and in the up test).
    plain = address.replace("tls://", "tcp://")
    code, output = _finish(_cli("run", "cpu", "-b", "dask", "--address", plain, cwd=tmp_path))
    assert code == 2
    assert f"listens there as {address}; use that address" in output
    assert "Traceback" not in output


def test_dask_run_survives_a_killed_worker_container(
    dask_cluster: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    project, _ = dask_cluster
    victim = _containers(project, "dask-worker", every=False)[0]
    run = _cli("cluster", "run", "--project", project, "--", "run", *LONG_JOB, cwd=tmp_path)
    _wait_until("the job ran", lambda: _dask_job_running(project), run)
    # Both workers hold tasks until the job's last half second: the kill lands on one mid-job.
    _docker("kill", victim)
    code, output = _finish(run)
    assert code == 0, output
    [record] = [r for r in _records(tmp_path / "lost.json") if r["backend"] == "dask"]
    assert record["verified"]
    assert any("lost" in note for note in record["notes"]), record["notes"]


def test_ctrl_c_of_a_cluster_run_keeps_results_and_leaves_no_driver(
    dask_cluster: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    project, _ = dask_cluster
    results = tmp_path / "interrupted.json"
    run = _measuring("dask", project, results, session=True)
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    code, output = _finish(run)
    assert code == 130, output
    assert "Traceback" not in output
    assert _records(results)[0]["verified"]
    drivers = _containers(project, "dask-driver")
    assert drivers == [], "the interrupted run left its driver container"


def test_ctrl_c_during_cluster_up_leaves_nothing_started(docker: None, tmp_path: Path) -> None:
    project = f"dbtest-upint-{os.getpid()}"
    env = {variable: str(free_port()) for variable in PORT_VARIABLES["dask"]}
    up = _cli("cluster", "up", "--engine", "dask", "--workers", "1", "--project", project,
              cwd=tmp_path, env=env, session=True)  # fmt: skip
    _wait_until("a container started", lambda: bool(_containers(project)), up)
    os.killpg(up.pid, signal.SIGINT)
    code, output = _finish(up)
    try:
        assert code == 130, output
        assert "Traceback" not in output
        assert _containers(project) == []
    finally:
        cluster.down(project)


# -- Ray -------------------------------------------------------------------------------------------


def test_ray_up_waits_for_every_worker_and_the_token_stays_out_of_the_image(
    ray_cluster: tuple[str, dict[str, int]],
) -> None:
    project, _ = ray_cluster
    report = _status_of_two_workers(project, "ray")
    assert report.stranger_refused is True  # asked on the head, as `up` does before "ready"
    token = Path(report.client_env["RAY_AUTH_TOKEN_PATH"]).read_text().strip()
    assert len(token) >= 32
    # The cluster runs this user's own image tag, which another user's build cannot move.
    images = _docker("inspect", "--format", "{{.Config.Image}}", *_containers(project)).split()
    assert set(images) == {cluster.own_image()}
    inspected = _docker("image", "inspect", cluster.own_image())
    history = _docker("history", "--no-trunc", cluster.own_image())
    assert token not in inspected and token not in history


def test_ray_run_inside_the_network_is_verified(
    ray_cluster: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    record = _run_inside(ray_cluster[0], "ray", tmp_path)
    assert record["workers"] == 2


def test_ray_run_survives_a_killed_worker_container(
    ray_cluster: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    project, _ = ray_cluster
    workers = _containers(project, "ray-worker", every=False)
    run = _cli("cluster", "run", "--project", project, "--", "run", *LONG_JOB, cwd=tmp_path)
    busy: list[str] = []

    def a_worker_runs_tasks() -> bool:
        busy[:] = [worker for worker in workers if _tasks_running_on(worker)]
        return bool(busy)

    _wait_until("tasks ran", a_worker_runs_tasks, run)
    # The busy one: Ray then retries its running task at once, instead of noticing the node is
    # gone only after its health checks time out.
    _docker("kill", busy[0])
    code, output = _finish(run)
    assert code == 0, output
    [record] = [r for r in _records(tmp_path / "lost.json") if r["backend"] == "ray"]
    assert record["verified"]
    assert any("died" in note or "lost" in note for note in record["notes"]), record["notes"]


def test_ray_from_the_host_through_ray_client(docker: None, tmp_path: Path) -> None:
    pytest.importorskip("grpc", reason="Ray Client needs grpcio (dist-bench[ray-client])")
    with _running("ray", "rayclient", workers=1) as (project, ports):
        report = cluster.status(project)
        assert not report.open_to_local_users
        port = ports["DIST_BENCH_RAY_CLIENT_PORT"]
        assert cluster_access.ray_client_refused_without_token(port)
        # No variable exported: dist-bench finds its own cluster's token.
        address = report.addresses["Ray Client from this host"]
        args = ("run", "cpu", "-b", "ray", "--address", address, "--tasks", "2", "--repeats", "1")
        code, output = _finish(_cli(*args, "-o", "host.json", cwd=tmp_path))
        assert code == 0, output
        assert all(r["verified"] for r in _records(tmp_path / "host.json"))


# -- Both engines: a killed head (after every other test of the engine: it breaks the cluster) -----


@pytest.mark.parametrize(
    ("engine", "head", "error"),
    [
        # The driver's own line (`cluster run` adds none after its exit 1).
        ("dask", "scheduler", "error: lost the Dask scheduler"),
        # Ray's driver exits without a word: `cluster run` names the fault.
        ("ray", "head", "error: the ray head stopped during the run"),
    ],
    ids=["dask", "ray"],
)
def test_a_killed_head_is_one_clear_error_and_keeps_results(
    engine: str, head: str, error: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    project, _ = request.getfixturevalue(f"{engine}_cluster")
    results = tmp_path / "head.json"
    run = _measuring(engine, project, results)
    [container] = _containers(project, head, every=False)
    _docker("kill", container)
    code, output = _finish(run)
    assert code != 0
    if engine == "dask":
        # Dask's driver handles the loss itself (a traceback would be dist-bench's own); Ray's
        # core worker ends its driver.
        assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(error), output
    [kept, *_] = _records(results)
    assert kept["backend"] == engine and kept["verified"]


# -- Compose v1 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("engine", "insecure"), [("dask", True), ("ray", False)])
def test_the_cli_flow_under_compose_v1(
    engine: str, insecure: bool, docker: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module's other tests run under the default Compose (v2 where installed, as in CI);
    # this one takes the same steps through the CLI under Debian's docker-compose 1.29, and on
    # Dask the opt-out of TLS, which the other tests never take.
    monkeypatch.setenv(cluster.COMPOSE_VARIABLE, "v1")
    project = f"dbtest-v1-{engine}-{os.getpid()}"
    env = {variable: str(free_port()) for variable in PORT_VARIABLES[engine]}
    up = ("up", "--engine", engine, "--workers", "1", "--memory", "1GiB")
    steps = [
        (*up, "--insecure") if insecure else up,
        ("status",),
        ("run", "--", "run", "cpu", "--tasks", "2", "--repeats", "1", "-o", "v1.json"),
        ("logs", "--tail", "3"),
    ]
    try:
        for command, *args in steps:
            code, output = _finish(_cli("cluster", command, "--project", project, *args,
                                        cwd=tmp_path, env=env))  # fmt: skip
            step = (command, *args)
            assert code == 0, f"cluster {' '.join(step)}: {output}"
            assert "Traceback" not in output
            if command == "up":
                assert ("every local user can connect" in output) == insecure, output
        _written_by_this_user(tmp_path / "v1.json")
        assert all(r["verified"] for r in _records(tmp_path / "v1.json"))
        if insecure:
            # The refusal check can fail: without TLS, a stranger gets in.
            assert not cluster_access._dask_refuses_plain_tcp(int(env["DIST_BENCH_DASK_PORT"]))
    finally:
        code, output = _finish(_cli("cluster", "down", "--project", project, cwd=tmp_path))
    assert code == 0, output
    assert _containers(project) == []
