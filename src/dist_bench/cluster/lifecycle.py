"""A cluster's life: ``up`` (until every worker joined), ``status``, ``logs``, ``run``, ``down``.

Returns data and raises ``ClusterError`` naming the fix; never prints. Commands whose output *is*
the point (``logs``, ``run``) hand the terminal to the subprocess and return its exit status.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from dist_bench import defaults
from dist_bench.cluster import nodes
from dist_bench.cluster.compose import ALL_ENGINES, Compose, default_state
from dist_bench.cluster.credentials import ensure_secrets
from dist_bench.cluster.image import build
from dist_bench.cluster.spec import (
    DEFAULT_PROJECT,
    IMAGE_UID,
    ClusterReport,
    ClusterSpec,
    DriverCommand,
    WorkerReport,
    with_cluster_address,
)
from dist_bench.cluster.state import ClusterState, check_ports, save_state
from dist_bench.cluster.tools import last_line, run_tool
from dist_bench.cluster_access import dask_stranger_refused
from dist_bench.errors import ClusterError, DistBenchError, UsageError
from dist_bench.links import LinkCheck

#: Services per engine: the one asked about workers, the scalable workers, the driver.
SERVICES = {
    "dask": ("scheduler", "dask-worker", "dask-driver"),
    "ray": ("head", "ray-worker", "ray-driver"),
}
#: The exit status of ``cluster_probe`` when not every worker joined in time.
PROBE_EXIT_NOT_READY = 3
#: In the image: sets each role's environment (Dask's TLS) before running a command.
ENTRYPOINT = "/usr/local/lib/dist-bench/entrypoint.sh"
#: How long an interrupted driver gets to save its results and end (it stops its engine).
DRIVER_STOP_S = 60.0


def up(
    spec: ClusterSpec,
    *,
    timeout_s: float = defaults.CLUSTER_UP_TIMEOUT_S,
    base_image: str | None = None,
) -> ClusterReport:
    """Build if needed, start the cluster and wait until every worker joined (asked of the head).

    Raises:
        ClusterError: Docker or Compose missing, a port taken, the build failed, another
            engine runs under this project, or not all workers joined within ``timeout_s``.
    """
    compose = Compose.find(spec.project)
    running = compose.running_services()
    earlier = compose.load_state() if running else None
    if earlier is not None and earlier.engine != spec.engine:
        raise ClusterError(
            f"a {earlier.engine} cluster already runs as project {spec.project!r}: "
            f"`dist-bench cluster down` first, or choose another --project"
        )
    state = ClusterState.of(spec, compose.secrets)
    if not running:
        check_ports(spec.engine, state.env)
    built = build(base_image, project=spec.project)
    state = state.with_env(DIST_BENCH_BASE_IMAGE=built.base_image)
    if spec.link_latency_ms is not None:
        nodes.check_latency_supported(built.image)
    ensure_secrets(compose.secrets, tls=spec.tls)
    save_state(compose.secrets, state)
    compose = compose.of(state)
    head, worker, _ = SERVICES[spec.engine]
    started = time.monotonic()
    try:
        done = compose.run(
            "up", "--detach", "--no-build", "--scale", f"{worker}={spec.workers}", head, worker,
            timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            raise ClusterError(compose.failure("could not start the cluster", done))
        report = _probe(compose, state, spec.workers, timeout_s)
    except KeyboardInterrupt:
        if not running:  # nothing half-started is left behind; a cluster that ran, runs on
            down(spec.project)
        raise
    joined = len(report.workers)
    if joined < spec.workers:
        raise ClusterError(
            f"only {joined} of {spec.workers} {spec.engine} workers joined within "
            f"{timeout_s:g} s; see `dist-bench cluster logs --project {spec.project}` "
            "(a worker short of memory or CPU?), then `dist-bench cluster down`"
        )
    _set_up_nodes(spec)
    # Said "ready" only once a client without the credentials has been turned away (Dask's from
    # this host, Ray's on the head, whose GCS port is not published: see cluster_access).
    if spec.engine == "dask" and spec.tls:
        dask_stranger_refused(state.port("DIST_BENCH_DASK_PORT"))
    if spec.engine == "ray" and report.stranger_refused is not True:
        raise ClusterError(
            "the Ray head did not refuse a client without the token: the cluster may be open "
            f"to every local user; `dist-bench cluster down --project {spec.project}`"
        )
    return replace(report, ready_s=time.monotonic() - started, build_s=built.seconds)


def _set_up_nodes(spec: ClusterSpec) -> None:
    """Pin whole-core nodes to cores of their own; shape every container's link, if asked.

    Pinned only where the nodes fit the host's cores: more whole-core nodes than cores share
    them, as before. Everything of the project is shaped (scheduler or head too), so every byte
    between two containers is held to the rate by its sender.
    """
    head, worker, _ = SERVICES[spec.engine]
    workers = nodes.containers(spec.project, worker)
    cores = nodes.whole_cores(spec.cpus)
    host_cores = os.cpu_count() or 1
    if cores is not None and len(workers) * cores <= host_cores:
        nodes.pin_cores(workers, cores, host_cores)
    if spec.link_rate_bits is not None:
        everyone = nodes.containers(spec.project, head) + workers
        nodes.shape_links(everyone, spec.link_rate_bits, spec.link_latency_ms)


def status(project: str = DEFAULT_PROJECT) -> ClusterReport:
    """Workers, cores, memory and versions of the running cluster, asked of its scheduler/head.

    On a shaped cluster, also a transfer timed between two nodes against the set rate.

    Raises:
        ClusterError: no cluster runs under ``project``.
    """
    compose, state = _running_cluster(project)
    report = _probe(compose, state, 0, 0.0)
    return replace(report, link=_check_link(project, state))


def _check_link(project: str, state: ClusterState) -> LinkCheck | None:
    """A timed transfer between two nodes of a shaped cluster; None on an unshaped one.

    The two are workers, or the head and the one worker; an unshaped bridge moves bytes at
    memory speed, which nothing needs checked.
    """
    if state.link_rate_bits is None:
        return None
    head, worker, _ = SERVICES[state.engine]
    pair = nodes.containers(project, worker)
    if len(pair) < 2:
        pair = nodes.containers(project, head) + pair
    if len(pair) < 2:
        return None
    return nodes.measure_link(pair[0], pair[1], state.link_rate_bits)


def logs(project: str = DEFAULT_PROJECT, *, follow: bool = False, tail: int | None = None) -> int:
    """Show the containers' logs on this terminal (compose's own output); its exit status."""
    compose, _ = _running_cluster(project)
    args = ["logs", "--no-color"]
    if follow:
        args.append("--follow")
    if tail is not None:
        args += ["--tail", str(tail)]
    return compose.attached(*args)


def run(
    command: DriverCommand, project: str = DEFAULT_PROJECT, *, workdir: Path | None = None
) -> int:
    """Run ``dist-bench ARGS`` in the driver container, inside the cluster network.

    For ``run``, a missing ``--address`` is set to the cluster's in-network address and a
    missing ``-b`` to its engine. ``workdir`` (default: the current folder) is mounted as the
    driver's working folder, so relative paths (``-o results.json``, a workload file) work.
    Returns the exit status of dist-bench in the container. Ctrl-C is passed on to dist-bench
    there, which keeps what it measured; the driver container is gone when this returns.

    Raises:
        UsageError: an output path outside ``workdir``.
        ClusterError: no cluster runs, or its scheduler/head stopped during the run.
        KeyboardInterrupt: after the driver container, interrupted too, has ended.
    """
    folder = (workdir or Path.cwd()).resolve()
    _check_paths_inside(command.output_paths, folder)
    _check_driver_can_write(command.output_paths, folder)
    compose, state = _running_cluster(project)
    compose = compose.of(state.with_env(DIST_BENCH_WORKDIR=str(folder)))
    engine = state.engine
    # A name of its own, so it can be found and removed whatever happens to compose.
    driver = f"{project}-driver-{os.getpid()}-{secrets.token_hex(3)}"
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    # --no-deps: the cluster runs as `up` made it; compose would otherwise recreate a head or
    # scheduler whose computed config differs in any way (seen in the test suite: the head
    # recreated without its workers, so the run found no CPUs).
    argv = compose.argv(
        "run", "--rm", "--no-deps", "--name", driver, *([] if interactive else ["-T"]),
        SERVICES[engine][2],
        *with_cluster_address(command, engine, state.inside_address()),
    )  # fmt: skip
    # Without a terminal, compose runs in a session of its own: an interrupt reaches dist-bench
    # in the container once, through `docker kill --signal INT`, not compose's own handling.
    process = subprocess.Popen(argv, env=compose.process_env(), start_new_session=not interactive)
    if state.link_rate_bits is not None:
        # The driver waits (entrypoint.sh) until its link is shaped like every node's.
        threading.Thread(
            target=_shape_driver, args=(driver, state.link_rate_bits), daemon=True
        ).start()
    try:
        code = process.wait()
    except KeyboardInterrupt:
        run_tool(["docker", "kill", "--signal", "INT", driver], timeout=30)
        run_tool(["docker", "wait", driver], timeout=DRIVER_STOP_S)
        process.wait(timeout=DRIVER_STOP_S)
        raise
    finally:
        if process.poll() is None:
            process.kill()
        run_tool(["docker", "rm", "--force", driver], timeout=60)
    head = SERVICES[engine][0]
    # A Dask driver that exits with dist-bench's status 1 has named the fault in its one line
    # ("lost the Dask scheduler …"); a second line would only repeat it. A Ray driver exits 1
    # without a word when its head is gone (Ray's core worker ends the process once the GCS
    # stays unreachable), so there the naming is left to us.
    named_by_driver = engine == "dask" and code == DistBenchError.exit_code
    if code != 0 and not named_by_driver and head not in compose.running_services():
        raise ClusterError(
            f"the {engine} {head} stopped during the run (dist-bench exited with {code}); results "
            "measured before it are in the -o file; `dist-bench cluster logs` tells why"
        )
    return code


def _shape_driver(driver: str, rate_bits: int) -> None:
    """Shape the driver container's link once it runs (it waits for that before starting)."""
    deadline = time.monotonic() + DRIVER_STOP_S
    while time.monotonic() < deadline:
        running = run_tool(
            ["docker", "inspect", "--format", "{{.State.Running}}", driver], timeout=30
        )
        if running.stdout.strip() == "true":
            # A failure here needs no line of its own: the waiting driver then says it was
            # not shaped, and exits.
            with contextlib.suppress(ClusterError):
                nodes.shape_links([driver], rate_bits)
            return
        time.sleep(0.2)


def down(project: str = DEFAULT_PROJECT) -> list[str]:
    """Remove the containers, networks and volumes of ``project``, and its secrets folder.

    Returns what compose reported removing (empty when nothing ran).

    Raises:
        ClusterError: Docker or Compose missing, or compose failed.
    """
    compose = Compose.find(project)
    try:
        state = compose.load_state()
    except ClusterError:  # a damaged state file: it goes with the rest
        state = None
    compose = compose.of(state or default_state(compose), ALL_ENGINES)
    ensure_secrets(compose.secrets, tls=False)  # compose validates the secret files it names
    done = compose.run("down", "--volumes", "--remove-orphans", timeout=300)
    if done.returncode != 0:
        raise ClusterError(compose.failure("could not take the cluster down", done))
    shutil.rmtree(compose.secrets, ignore_errors=True)
    # v1 says "Removing X ... done" and "Removing network X"; v2 "Container X  Removed".
    return [
        line.strip().removesuffix(" ... done")
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip().endswith((" ... done", "Removed")) or line.startswith("Removing network")
    ]


def _check_paths_inside(paths: Sequence[str], folder: Path) -> None:
    """The driver container sees only ``folder``: an output path elsewhere would be lost.

    Raises:
        UsageError: an ``-o``/``--plot`` path outside ``folder``.
    """
    for value in paths:
        path = Path(value) if Path(value).is_absolute() else folder / value
        if not path.resolve().is_relative_to(folder):
            raise UsageError(
                f"{value}: the cluster's driver sees only the current folder ({folder}); give "
                "a path inside it"
            )


def _check_driver_can_write(paths: Sequence[str], folder: Path) -> None:
    """Root's driver runs as the image's user: it must be able to write the outputs asked for.

    Raises:
        UsageError: root asked for an output in a folder the image's user cannot write.
    """
    if os.getuid() != 0 or not paths:
        return
    mode = folder.stat()
    writable = mode.st_uid == IMAGE_UID or (mode.st_mode & 0o003) == 0o003
    if not writable:
        raise UsageError(
            f"as root, the cluster's driver runs as uid {IMAGE_UID} (never root), which cannot "
            f"write in {folder}: run as your own user, or `chown {IMAGE_UID} {folder}`"
        )


def _running_cluster(project: str) -> tuple[Compose, ClusterState]:
    """Compose for ``project``'s running cluster, with its saved state.

    Raises:
        ClusterError: no cluster runs as ``project`` (or it was not started by ``up``).
    """
    compose = Compose.find(project)
    state = compose.load_state()
    if state is None or not compose.running_services():
        raise ClusterError(
            f"no cluster is running as project {project!r}: start one with "
            "`dist-bench cluster up --engine dask|ray`"
        )
    return compose.of(state), state


def _probe(compose: Compose, state: ClusterState, wait_for: int, timeout_s: float) -> ClusterReport:
    """Ask the scheduler or head about its workers, waiting for ``wait_for`` of them to join."""
    head = SERVICES[state.engine][0]
    done = compose.run(
        "exec", "-T", head, "/bin/sh", ENTRYPOINT, "python", "-m", "dist_bench.cluster_probe",
        state.engine, "--wait", str(wait_for), "--timeout", str(timeout_s),
        timeout=timeout_s + 120,
    )  # fmt: skip
    if done.returncode not in (0, PROBE_EXIT_NOT_READY) or not done.stdout.strip():
        raise ClusterError(
            f"the {head} did not answer about its workers ({last_line(done.stderr)}); "
            f"see `dist-bench cluster logs --project {compose.project}`"
        )
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    workers = [
        WorkerReport(
            name=str(w["name"]),
            cores=int(w["cores"]),
            memory_bytes=int(w["memory_bytes"]),
            processes=int(w["processes"]),
            versions={str(k): str(v) for k, v in w["versions"].items()},
        )
        for w in raw["workers"]
    ]
    endpoints = state.endpoints(compose.secrets)
    return ClusterReport(
        engine=state.engine,
        project=compose.project,
        workers=workers,
        scheduler_versions={str(k): str(v) for k, v in raw["scheduler_versions"].items()},
        addresses=endpoints.addresses,
        dashboards=endpoints.dashboards,
        client_env=endpoints.client_env,
        open_to_local_users=state.open_to_local_users,
        stranger_refused=raw.get("stranger_refused"),
    )
