"""The local multi-container cluster: build its image, bring it up, ask it, run in it, take it down.

Drives the top-level ``docker-compose.yml`` (profiles ``dask`` and ``ray``) through whichever of
``docker compose`` (v2) or ``docker-compose`` (v1) is installed. Returns data and raises
``ClusterError`` naming the fix; never prints. Commands whose output *is* the point (``logs``,
``run``) hand the terminal to the subprocess and return its exit status.

What lives where (all git-ignored):

- ``cluster/.build/``: the wheelhouse (the exact versions this client has installed), the
  project's wheel, and their stamps. Built on the host, installed in the image with
  ``pip --no-index``: the image build reaches no index and client and nodes match.
- ``cluster/.secrets/PROJECT/``: Ray's token and Dask's TLS certificate (mode 0700 folder),
  mounted into the containers as compose secrets, never copied into an image; and ``state.json``,
  the settings ``up`` used, which ``status``, ``logs``, ``run`` and ``down`` reuse.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from dist_bench.cluster_access import dask_stranger_refused
from dist_bench.errors import ClusterError, EngineNotInstalledError, UsageError
from dist_bench.links import LinkCheck
from dist_bench.units import parse_port

ENGINES = ("dask", "ray")
DEFAULT_PROJECT = "dist-bench"
#: The image plain ``docker compose`` commands use (docker-compose.yml's default): the last one
#: built on this machine, by anyone.
IMAGE = "dist-bench-cluster:latest"
#: The base ``cluster/build-base.sh`` makes from Debian packages when no registry is reachable.
OFFLINE_BASE = "dist-bench-base:bookworm"
OFFLINE_PYTHON = "3.11"  # Debian 12's python3
BUILD_KEY_LABEL = "dist-bench.build-key"

#: Services per engine: the one asked about workers, the scalable workers, the driver.
_SERVICES = {
    "dask": ("scheduler", "dask-worker", "dask-driver"),
    "ray": ("head", "ray-worker", "ray-driver"),
}
#: Published ports: environment variable read by docker-compose.yml, and its default.
_PORTS = {
    "dask": {"DIST_BENCH_DASK_PORT": 8786, "DIST_BENCH_DASK_DASHBOARD_PORT": 8787},
    "ray": {"DIST_BENCH_RAY_CLIENT_PORT": 10001},
}
#: Ray refuses an object store under 75 MiB; below ~1/3 of the node's memory it leaves room for
#: the tasks (Ray's own default is 30 %).
_RAY_MIN_OBJECT_STORE = 80 * 1024**2
_PROBE_EXIT_NOT_READY = 3
#: In the image: sets each role's environment (Dask's TLS) before running a command.
_ENTRYPOINT = "/usr/local/lib/dist-bench/entrypoint.sh"
_PULL_TIMEOUT_S = 120.0
#: How long an interrupted driver gets to save its results and end (it stops its engine).
_DRIVER_STOP_S = 60.0
#: The local CA and certificate last 90 days; ``up`` makes new ones when fewer than 7 are left.
_CERTIFICATE_DAYS = 90
_RENEW_BEFORE_S = 7 * 24 * 3600
#: The image's own unprivileged user: the containers' uid when root runs dist-bench.
_IMAGE_UID = 10001
#: The CFS period of a worker's CPU quota: a node that spent its quota waits for the period's
#: end, so Docker's 100 ms froze a half-core node for up to 50 ms; 10 ms keeps that under a
#: few milliseconds (benchmarks/cfs_period.py measured it, see docs/scaling.md).
CFS_PERIOD_US = 10_000
#: The kernel's shortest quota: a slice must get at least this much per period.
_MIN_CFS_QUOTA_US = 1_000


def container_user() -> tuple[int, int]:
    """The uid and gid every container runs as: the invoking user's, never root's.

    The user's own uid makes the files the driver writes in their folder theirs, and lets the
    containers read the 0600 secrets; for root, the image's own user stands in.
    """
    if os.getuid() == 0:
        return _IMAGE_UID, _IMAGE_UID
    return os.getuid(), os.getgid()


@dataclass(frozen=True)
class ClusterSpec:
    """What ``cluster up`` starts: the engine, N worker containers and each one's limits."""

    engine: str
    workers: int = 2
    cpus: float = 1.0
    memory_bytes: int = 2 * 1024**3
    #: Off by default: Dask speaks mutual TLS (and Ray always asks for its token), so no other
    #: local user can submit code to the cluster. On (``--insecure``, Dask only): plain TCP.
    insecure: bool = False
    project: str = DEFAULT_PROJECT
    #: Each container's outgoing link in bit/s (tbf, see ``links``); None: the bridge's own speed.
    link_rate_bits: int | None = None
    #: A delay added to each container's outgoing packets (netem, where the kernel has it).
    link_latency_ms: float | None = None

    def __post_init__(self) -> None:
        """Refuse what compose would take badly or late.

        Raises:
            UsageError: an unknown engine, no workers, no CPU or too little memory, TLS on Ray.
        """
        if self.engine not in ENGINES:
            raise UsageError(f"unknown engine {self.engine!r}; choose dask or ray")
        if self.workers < 1:
            raise UsageError("--workers must be at least 1")
        if self.cpus * CFS_PERIOD_US < _MIN_CFS_QUOTA_US:
            raise UsageError(
                f"--cpus must be at least {_MIN_CFS_QUOTA_US / CFS_PERIOD_US:g} (e.g. 1 or 0.5)"
            )
        if self.link_latency_ms is not None and self.link_rate_bits is None:
            raise UsageError("--link-latency shapes the link: give --link-rate too")
        if self.memory_bytes < 256 * 1024**2:
            raise UsageError("--memory must be at least 256MiB per worker container")
        if self.insecure and self.engine != "dask":
            raise UsageError("--insecure is for Dask: Ray's cluster always asks for its token")
        _check_project_name(self.project)

    @property
    def tls(self) -> bool:
        """Dask over mutual TLS (Ray is protected by its token instead)."""
        return self.engine == "dask" and not self.insecure

    @property
    def processes_per_worker(self) -> int:
        """Single-threaded worker processes (Dask) or Ray CPUs per container: whole CPUs."""
        return max(1, math.ceil(self.cpus))


@dataclass(frozen=True)
class DriverCommand:
    """``dist-bench ARGS`` for the driver container, as the CLI's own parser read them."""

    args: tuple[str, ...]
    #: Every file the command will write (``-o``, ``--plot``), as given.
    output_paths: tuple[str, ...] = ()
    #: A ``run`` given no ``--address``: it gets the cluster's.
    needs_address: bool = False
    #: A ``run`` given no ``-b``: it gets the cluster's engine.
    needs_backends: bool = False


@dataclass(frozen=True)
class WorkerReport:
    """One worker container as its scheduler or head reports it."""

    name: str
    cores: int
    memory_bytes: int
    processes: int
    versions: dict[str, str]


@dataclass(frozen=True)
class ClusterReport:
    """A running cluster: who joined, with what, and how to reach it."""

    engine: str
    project: str
    workers: list[WorkerReport]
    scheduler_versions: dict[str, str]
    #: Label → address: from this host, and from inside the cluster network.
    addresses: dict[str, str]
    dashboards: dict[str, str]
    #: Environment a client on the host needs (Dask's TLS files; Ray's token file).
    client_env: dict[str, str] = field(default_factory=dict)
    #: Seconds from ``compose up`` until every worker had joined (``up`` only).
    ready_s: float | None = None
    #: Seconds spent preparing the image (``up`` only; near 0 when nothing changed).
    build_s: float | None = None
    #: Any local user can submit code to it (``--insecure``): no TLS, no token.
    open_to_local_users: bool = False
    #: A transfer timed between two nodes, against the set link rate (``status`` only).
    link: LinkCheck | None = None


@dataclass(frozen=True)
class BuildReport:
    """The image ``build`` made or found up to date."""

    image: str
    base_image: str
    rebuilt: bool
    seconds: float


# -- finding the tools and the project -------------------------------------------------------------


def project_root() -> Path:
    """The folder with ``docker-compose.yml`` and ``cluster/``: the checkout dist-bench runs from.

    Raises:
        ClusterError: neither the current folder (or a parent) nor the installed package's
            checkout has them.
    """
    here = Path(__file__).resolve()
    for start in (Path.cwd(), here.parent):
        for folder in (start, *start.parents):
            if (folder / "docker-compose.yml").is_file() and (
                folder / "cluster/Dockerfile"
            ).is_file():
                return folder
    raise ClusterError(
        "dist-bench cluster needs the project's docker-compose.yml and cluster/ folder: run it "
        "from a dist-bench checkout (git clone …; pip install -e '.[engines]')"
    )


#: Chooses the Compose: ``v2`` (``docker compose``) or ``v1`` (``docker-compose``). Unset: v2
#: when it works, else v1. CI runs the cluster tests under both.
COMPOSE_VARIABLE = "DIST_BENCH_COMPOSE"


def compose_command() -> list[str]:
    """``docker compose`` (v2) when it works, else ``docker-compose`` (v1); or as chosen.

    Raises:
        UsageError: ``DIST_BENCH_COMPOSE`` is neither ``v1`` nor ``v2``.
        ClusterError: Docker is missing or its daemon does not answer, or no Compose (or not
            the one chosen) is installed.
    """
    choice = os.environ.get(COMPOSE_VARIABLE, "").strip().lower()
    if choice not in ("", "v1", "v2"):
        raise UsageError(
            f"{COMPOSE_VARIABLE}={choice!r}: use v2 (docker compose), v1 (docker-compose), or "
            "leave it unset for whichever is installed"
        )
    docker = shutil.which("docker")
    if docker is None:
        raise ClusterError(
            "Docker is not installed: install Docker Engine "
            "(https://docs.docker.com/engine/install/) and run this again"
        )
    info = _run([docker, "info", "--format", "{{.ServerVersion}}"], timeout=30)
    if info.returncode != 0:
        detail = _last_line(info.stderr) or "no answer"
        raise ClusterError(
            f"the Docker daemon is not reachable ({detail}): start it (sudo systemctl start "
            "docker), or check DOCKER_HOST and your access to /var/run/docker.sock"
        )
    if choice != "v1" and _run([docker, "compose", "version"], timeout=30).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if choice != "v2" and legacy is not None:
        return [legacy]
    if choice:
        wanted = "`docker compose` (v2)" if choice == "v2" else "`docker-compose` (v1)"
        raise ClusterError(
            f"{COMPOSE_VARIABLE}={choice} asks for {wanted}, which is not installed: install "
            f"it, or unset {COMPOSE_VARIABLE}"
        )
    raise ClusterError(
        "Docker Compose is not installed: install the compose plugin (apt-get install "
        "docker-compose-plugin) or docker-compose, and run this again"
    )


# -- building the image ----------------------------------------------------------------------------


def own_image() -> str:
    """The cluster image of the user running dist-bench, the one its own commands run.

    A tag per user: another user's (or root's) build moves ``latest`` but never this tag, so it
    cannot swap the image under a cluster that runs here (compose would recreate its containers
    at the next ``cluster run``, losing the workers).
    """
    return f"dist-bench-cluster:uid-{os.getuid()}"


def build(base_image: str | None = None, *, project: str = DEFAULT_PROJECT) -> BuildReport:
    """Make the cluster image from this client's exact packages (skipped when up to date).

    Also prepares ``project``'s secrets folder, so plain ``docker compose`` commands work too.

    Raises:
        EngineNotInstalledError: this client lacks Dask or Ray (the image copies its versions).
        ClusterError: Docker, the base image, the wheelhouse or the image build failed.
    """
    started = time.monotonic()
    compose_command()  # Docker must be there before anything is downloaded
    root = project_root()
    requirements = _pinned_requirements()
    base = _resolve_base(root, base_image)
    build_dir = root / "cluster" / ".build"
    wheels_key = _prepare_wheelhouse(build_dir, requirements)
    project_key = _prepare_project_wheel(root, build_dir)
    context = root / "cluster"
    image_key = _digest(
        wheels_key,
        project_key,
        _image_id(base),
        *(
            (context / name).read_text()
            for name in ("Dockerfile", "entrypoint.sh", "healthcheck.py", ".dockerignore")
        ),
    )
    # The certificate too: plain compose commands default to TLS, as `up` does.
    _ensure_secrets(_secrets_dir(root, project), tls=True)
    image = own_image()
    if _image_label(image, BUILD_KEY_LABEL) == image_key:
        return BuildReport(image, base, rebuilt=False, seconds=time.monotonic() - started)
    previous = _image_id(image)
    log = build_dir / "docker-build.log"
    with log.open("w") as out:
        done = subprocess.run(
            [
                "docker",
                "build",
                "--tag",
                image,
                "--tag",
                IMAGE,
                "--label",
                f"{BUILD_KEY_LABEL}={image_key}",
                "--build-arg",
                f"BASE_IMAGE={base}",
                str(context),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise ClusterError(
            f"the cluster image did not build ({_last_line(log.read_text())}); "
            f"the whole log is in {log}"
        )
    if previous and previous != _image_id(image):
        # The image it replaces lost its tag; remove it, or every rebuild leaves one behind.
        _run(["docker", "image", "rm", previous], timeout=120)
    return BuildReport(image, base, rebuilt=True, seconds=time.monotonic() - started)


def _pinned_requirements() -> str:
    """dist-bench's dependencies with the Dask and Ray extras, each pinned to what is installed.

    With grpcio here (``dist-bench[ray-client]``), the image gets Ray Client too, and the head
    then serves it for drivers on the host; with bokeh (``dist-bench[dask-dashboard]``), the
    Dask scheduler serves its dashboard.
    """
    extras = [*ENGINES]
    if importlib.util.find_spec("grpc") is not None:
        extras.append("ray-client")
    if importlib.util.find_spec("bokeh") is not None:
        extras.append("dask-dashboard")
    if importlib.util.find_spec("pyroute2") is not None:
        extras.append("link-shaping")
    wanted: dict[str, str] = {}
    for requirement in importlib_metadata.requires("dist-bench") or []:
        spec, _, marker = requirement.partition(";")
        if marker and not any(f'extra == "{extra}"' in marker for extra in extras):
            continue
        name_and_extras = spec.strip().split(" ")[0]
        for operator in ("<", ">", "=", "!", "~"):
            name_and_extras = name_and_extras.split(operator)[0]
        name = name_and_extras.split("[")[0]
        if name in wanted and "[" not in name_and_extras:
            continue  # ray[client] stays ray[client] when plain ray comes later
        try:
            version = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            raise EngineNotInstalledError(
                f"the cluster image installs the exact versions this client has, and {name} is "
                "not installed here: pip install -e '.[engines]'"
            ) from None
        wanted[name] = f"{name_and_extras}=={version}"
    return "".join(f"{line}\n" for _, line in sorted(wanted.items()))


def _prepare_wheelhouse(build_dir: Path, requirements: str) -> str:
    """Wheels of ``requirements`` and their dependencies, at the versions installed here."""
    freeze = _run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], timeout=120)
    # Constraints pin every package this client has (direct references cannot be constraints).
    constraints = "".join(
        f"{line}\n" for line in freeze.stdout.splitlines() if "==" in line and " @ " not in line
    )
    key = _digest(requirements, constraints, sys.version)
    wheels = build_dir / "wheels"
    stamp = build_dir / "wheels.stamp"
    if stamp.is_file() and stamp.read_text() == key:
        return key
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    (build_dir / "requirements.txt").write_text(requirements)
    (build_dir / "constraints.txt").write_text(constraints)
    download = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            "--dest",
            str(wheels),
            "--requirement",
            str(build_dir / "requirements.txt"),
            "--constraint",
            str(build_dir / "constraints.txt"),
        ],
        timeout=900,
    )
    if download.returncode != 0:
        raise ClusterError(
            f"could not gather the wheels for the cluster image: {_last_line(download.stderr)}"
        )
    stamp.write_text(key)
    return key


def _prepare_project_wheel(root: Path, build_dir: Path) -> str:
    """dist-bench's own wheel, rebuilt when its sources change."""
    # Not the egg-info folder: building the wheel rewrites it (its PKG-INFO holds the README),
    # so the key would change after every build and every `cluster up` would rebuild the image.
    sources = sorted(
        path
        for folder in ("src", "workloads")
        for path in (root / folder).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and not any(part.endswith(".egg-info") for part in path.parts)
    )
    key = _digest(
        *(f"{p.relative_to(root)}\0{p.read_bytes().hex()}" for p in sources),
        (root / "pyproject.toml").read_text(),
    )
    project = build_dir / "project"
    stamp = build_dir / "project.stamp"
    if stamp.is_file() and stamp.read_text() == key and any(project.glob("*.whl")):
        return key
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    wheel = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(project),
            str(root),
        ],
        timeout=600,
    )
    if wheel.returncode != 0:
        raise ClusterError(f"could not build dist-bench's wheel: {_last_line(wheel.stderr)}")
    stamp.write_text(key)
    return key


def _resolve_base(root: Path, requested: str | None) -> str:
    """The base image: the one asked for, else python:X.Y-slim, else the offline Debian base."""
    if requested:
        return requested
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    slim = f"python:{python}-slim"
    if _image_id(slim):
        return slim
    if _image_id(OFFLINE_BASE) and python == OFFLINE_PYTHON:
        return OFFLINE_BASE
    pulled = _run(["docker", "pull", "--quiet", slim], timeout=_PULL_TIMEOUT_S)
    if pulled.returncode == 0:
        return slim
    if python != OFFLINE_PYTHON:
        raise ClusterError(
            f"cannot pull {slim} ({_last_line(pulled.stderr)}), and the offline Debian base has "
            f"Python {OFFLINE_PYTHON} while this client runs {python}: give --base-image an "
            f"image with Python {python}"
        )
    script = root / "cluster" / "build-base.sh"
    if os.geteuid() != 0:
        raise ClusterError(
            f"cannot pull {slim} ({_last_line(pulled.stderr)}); build the offline base with "
            f"`sudo {script}` and run this again"
        )
    made = _run(["bash", str(script), OFFLINE_BASE], timeout=1800)
    if made.returncode != 0:
        raise ClusterError(f"the offline base image did not build: {_last_line(made.stderr)}")
    return OFFLINE_BASE


# -- secrets ---------------------------------------------------------------------------------------


def _secrets_dir(root: Path, project: str) -> Path:
    return root / "cluster" / ".secrets" / project


def _ensure_secrets(folder: Path, *, tls: bool) -> None:
    """Ray's token and Dask's TLS files for one compose project, made here, never in an image.

    The folder is 0700 (only this user); the files in it are 0644 because the containers' own
    unprivileged user reads them through the compose secret mounts.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if folder.parent.name == ".secrets":  # cluster/.secrets/ itself: only this user
        folder.parent.chmod(0o700)
    folder.chmod(0o700)
    token = folder / "ray_token"
    if not token.is_file() or not token.read_text().strip():
        _write_secret(token, secrets.token_hex(32))
    have_tls = (folder / "dask_cert").is_file() and (folder / "dask_cert").stat().st_size > 0
    if tls and not (have_tls and _valid_for(folder / "dask_cert", _RENEW_BEFORE_S)):
        _make_certificates(folder)
    for name in ("dask_ca", "dask_cert", "dask_key"):
        # Without --tls the files are unused, but compose mounts every secret a service names.
        if not (folder / name).exists():
            _write_secret(folder / name, "")
    for path in (token, folder / "dask_ca", folder / "dask_cert", folder / "dask_key"):
        _restrict_secret(path)  # files an earlier version made 0644 too


def _valid_for(certificate: Path, seconds: int) -> bool:
    """The certificate will not have expired ``seconds`` from now."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return True  # nothing could renew it anyway; Dask says so if it has expired
    check = [openssl, "x509", "-checkend", str(seconds), "-noout", "-in", str(certificate)]
    return _run(check, timeout=30).returncode == 0


def _write_secret(path: Path, text: str) -> None:
    path.write_text(text)


def _restrict_secret(path: Path) -> None:
    """0600, owned by the uid the containers run as: compose mounts secrets as they are."""
    path.chmod(0o600)
    uid, gid = container_user()
    if os.getuid() == 0:  # only root can give a file away, and only root needs to
        os.chown(path, uid, gid)


def _make_certificates(folder: Path) -> None:
    """A private CA and one certificate it signs, shared by scheduler, workers and clients.

    Dask checks every peer against the CA (mutual TLS) and not host names, so one certificate
    serves every role. The CA's key is deleted once it signed: nothing else can be issued.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ClusterError(
            "Dask's TLS needs the openssl command to make certificates: install openssl, or "
            "accept a cluster open to every local user with --insecure"
        )
    with tempfile.TemporaryDirectory() as work:
        ca_key, request = Path(work) / "ca.key", Path(work) / "cert.csr"
        extensions = Path(work) / "ext.cnf"
        extensions.write_text("subjectAltName=DNS:scheduler,DNS:localhost,IP:127.0.0.1\n")
        steps = [
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-days", str(_CERTIFICATE_DAYS), "-subj", "/CN=dist-bench local CA",
             "-keyout", str(ca_key), "-out", str(folder / "dask_ca")],
            [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=dist-bench",
             "-keyout", str(folder / "dask_key"), "-out", str(request)],
            [openssl, "x509", "-req", "-in", str(request), "-CA", str(folder / "dask_ca"),
             "-CAkey", str(ca_key), "-CAcreateserial", "-CAserial", str(Path(work) / "ca.srl"),
             "-days", str(_CERTIFICATE_DAYS),
             "-extfile", str(extensions), "-out", str(folder / "dask_cert")],
        ]  # fmt: skip
        for step in steps:
            done = _run(step, timeout=60)
            if done.returncode != 0:
                raise ClusterError(
                    f"openssl could not make the certificates: {_last_line(done.stderr)}"
                )


# -- up, status, logs, run, down -------------------------------------------------------------------


def up(
    spec: ClusterSpec, *, timeout_s: float = 180.0, base_image: str | None = None
) -> ClusterReport:
    """Build if needed, start the cluster and wait until every worker joined (asked of the head).

    Raises:
        ClusterError: Docker or Compose missing, a port taken, the build failed, another
            engine runs under this project, or not all workers joined within ``timeout_s``.
    """
    compose = compose_command()
    root = project_root()
    running = _running_services(spec.project)
    state = _load_state(root, spec.project) if running else None
    if state is not None and state["engine"] != spec.engine:
        raise ClusterError(
            f"a {state['engine']} cluster already runs as project {spec.project!r}: "
            f"`dist-bench cluster down` first, or choose another --project"
        )
    env = _compose_env(root, spec)
    if not running:
        _check_ports(spec.engine, env)
    built = build(base_image, project=spec.project)
    env["DIST_BENCH_BASE_IMAGE"] = built.base_image
    if spec.link_latency_ms is not None:
        from dist_bench.cluster_nodes import check_latency_supported

        check_latency_supported(built.image)
    _ensure_secrets(_secrets_dir(root, spec.project), tls=spec.tls)
    _save_state(
        root,
        spec.project,
        {"engine": spec.engine, "env": env, "link_rate_bits": spec.link_rate_bits},
    )
    head, worker, _ = _SERVICES[spec.engine]
    started = time.monotonic()
    try:
        done = _compose(
            compose, root, spec.project, spec.engine, env,
            ["up", "--detach", "--no-build", "--scale", f"{worker}={spec.workers}", head, worker],
            timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            raise ClusterError(_compose_failure("could not start the cluster", done, spec.project))
        report = _probe(compose, root, spec.project, spec.engine, env, spec.workers, timeout_s)
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
    if spec.tls:
        # Said "ready" only once a client without the certificate has been turned away (Ray
        # gives no answer that tells a refusal apart: see cluster_access).
        dask_stranger_refused(int(env["DIST_BENCH_DASK_PORT"]))
    return _with_times(report, time.monotonic() - started, built.seconds)


def _set_up_nodes(spec: ClusterSpec) -> None:
    """Pin whole-core nodes to cores of their own; shape every container's link, if asked.

    Pinned only where the nodes fit the host's cores: more whole-core nodes than cores share
    them, as before. Everything of the project is shaped (scheduler or head too), so every byte
    between two containers is held to the rate by its sender.
    """
    from dist_bench import cluster_nodes  # it uses this module's docker helpers

    head, worker, _ = _SERVICES[spec.engine]
    workers = cluster_nodes.containers(spec.project, worker)
    cores = cluster_nodes.whole_cores(spec.cpus)
    host_cores = os.cpu_count() or 1
    if cores is not None and len(workers) * cores <= host_cores:
        cluster_nodes.pin_cores(workers, cores, host_cores)
    if spec.link_rate_bits is not None:
        everyone = cluster_nodes.containers(spec.project, head) + workers
        cluster_nodes.shape_links(everyone, spec.link_rate_bits, spec.link_latency_ms)


def status(project: str = DEFAULT_PROJECT) -> ClusterReport:
    """Workers, cores, memory and versions of the running cluster, asked of its scheduler/head.

    Raises:
        ClusterError: no cluster runs under ``project``.
    """
    compose, root, state = _running_cluster(project)
    report = _probe(compose, root, project, state["engine"], state["env"], 0, 0.0)
    from dataclasses import replace

    return replace(report, link=_check_link(project, state))


def _check_link(project: str, state: Mapping[str, Any]) -> LinkCheck | None:
    """A timed transfer between two nodes of a shaped cluster; None on an unshaped one.

    The two are workers, or the head and the one worker; an unshaped bridge moves bytes at
    memory speed, which nothing needs checked.
    """
    from dist_bench import cluster_nodes  # it uses this module's docker helpers

    if state.get("link_rate_bits") is None:
        return None
    head, worker, _ = _SERVICES[state["engine"]]
    nodes = cluster_nodes.containers(project, worker)
    if len(nodes) < 2:
        nodes = cluster_nodes.containers(project, head) + nodes
    if len(nodes) < 2:
        return None
    return cluster_nodes.measure_link(nodes[0], nodes[1], state.get("link_rate_bits"))


def logs(project: str = DEFAULT_PROJECT, *, follow: bool = False, tail: int | None = None) -> int:
    """Show the containers' logs on this terminal (compose's own output); its exit status."""
    compose, root, state = _running_cluster(project)
    args = ["logs", "--no-color"]
    if follow:
        args.append("--follow")
    if tail is not None:
        args += ["--tail", str(tail)]
    return _compose_attached(compose, root, project, state["engine"], state["env"], args)


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
    compose, root, state = _running_cluster(project)
    engine: str = state["engine"]
    env = dict(state["env"])
    env["DIST_BENCH_WORKDIR"] = str(folder)
    # A name of its own, so it can be found and removed whatever happens to compose.
    driver = f"{project}-driver-{os.getpid()}-{secrets.token_hex(3)}"
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    argv = [
        *_compose_argv(compose, root, project, engine),
        # --no-deps: the cluster runs (checked above); compose must not recreate its scheduler
        # or head when their image tag moved since `up` (another build by the same user),
        # which would lose every worker mid-run.
        "run", "--rm", "--no-deps", "--name", driver, *([] if interactive else ["-T"]),
        _SERVICES[engine][2],
        *with_cluster_address(command, engine, _inside_address(engine, env)),
    ]  # fmt: skip
    # Without a terminal, compose runs in a session of its own: an interrupt reaches dist-bench
    # in the container once, through `docker kill --signal INT`, not compose's own handling.
    process = subprocess.Popen(argv, env={**os.environ, **env}, start_new_session=not interactive)
    rate = env.get("DIST_BENCH_LINK_RATE_BITS")
    if rate:
        # The driver waits (entrypoint.sh) until its link is shaped like every node's.
        threading.Thread(target=_shape_driver, args=(driver, int(rate)), daemon=True).start()
    try:
        code = process.wait()
    except KeyboardInterrupt:
        _run(["docker", "kill", "--signal", "INT", driver], timeout=30)
        _run(["docker", "wait", driver], timeout=_DRIVER_STOP_S)
        process.wait(timeout=_DRIVER_STOP_S)
        raise
    finally:
        if process.poll() is None:
            process.kill()
        _run(["docker", "rm", "--force", driver], timeout=60)
    head = _SERVICES[engine][0]
    if code != 0 and head not in _running_services(project):
        raise ClusterError(
            f"the {engine} {head} stopped during the run (dist-bench exited with {code}); results "
            "measured before it are in the -o file; `dist-bench cluster logs` tells why"
        )
    return code


def _shape_driver(driver: str, rate_bits: int) -> None:
    """Shape the driver container's link once it runs (it waits for that before starting)."""
    from dist_bench import cluster_nodes  # it uses this module's docker helpers

    deadline = time.monotonic() + _DRIVER_STOP_S
    while time.monotonic() < deadline:
        state = _run(["docker", "inspect", "--format", "{{.State.Running}}", driver], timeout=30)
        if state.stdout.strip() == "true":
            # A failure here needs no line of its own: the waiting driver then says it was
            # not shaped, and exits.
            with contextlib.suppress(ClusterError):
                cluster_nodes.shape_links([driver], rate_bits)
            return
        time.sleep(0.2)


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
    writable = mode.st_uid == _IMAGE_UID or (mode.st_mode & 0o003) == 0o003
    if not writable:
        raise UsageError(
            f"as root, the cluster's driver runs as uid {_IMAGE_UID} (never root), which cannot "
            f"write in {folder}: run as your own user, or `chown {_IMAGE_UID} {folder}`"
        )


def with_cluster_address(command: DriverCommand, engine: str, address: str) -> list[str]:
    """The driver's arguments: a ``run`` lacking ``--address`` or ``-b`` gets the cluster's."""
    out = list(command.args)
    if command.needs_address:
        out += ["--address", address]
    if command.needs_backends:
        out += ["-b", engine]
    return out


def down(project: str = DEFAULT_PROJECT) -> list[str]:
    """Remove the containers, networks and volumes of ``project``, and its secrets folder.

    Returns what compose reported removing (empty when nothing ran).

    Raises:
        ClusterError: Docker or Compose missing, or compose failed.
    """
    compose = compose_command()
    root = project_root()
    state = _load_state(root, project)
    env = state["env"] if state else _compose_env(root, ClusterSpec("dask", project=project))
    secrets_dir = _secrets_dir(root, project)
    _ensure_secrets(secrets_dir, tls=False)  # compose validates the secret files it names
    done = _compose(
        compose, root, project, "all", env, ["down", "--volumes", "--remove-orphans"], timeout=300
    )
    if done.returncode != 0:
        raise ClusterError(_compose_failure("could not take the cluster down", done, project))
    shutil.rmtree(secrets_dir, ignore_errors=True)
    # v1 says "Removing X ... done" and "Removing network X"; v2 "Container X  Removed".
    return [
        line.strip().removesuffix(" ... done")
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip().endswith((" ... done", "Removed")) or line.startswith("Removing network")
    ]


def compose_config(project: str = DEFAULT_PROJECT, engine: str = "all") -> dict[str, Any]:
    """The compose file as compose resolves it for ``project`` (``docker compose config``).

    Raises:
        ClusterError: compose failed to read it.
    """
    compose = compose_command()
    root = project_root()
    state = _load_state(root, project)
    with tempfile.TemporaryDirectory() as placeholders:
        if state is None:
            # Compose checks that the secret files exist; a project that never ran has none.
            env = _compose_env(root, ClusterSpec("dask", project=project))
            env["DIST_BENCH_SECRETS"] = placeholders
            _ensure_secrets(Path(placeholders), tls=False)
        else:
            env = state["env"]
        done = _compose(compose, root, project, engine, env, ["config"], timeout=60)
    if done.returncode != 0:
        raise ClusterError(_compose_failure("compose could not read the file", done, project))
    import yaml  # installed with Dask and Ray (PyYAML)

    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def published_ports(config: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Every published port in a resolved compose config: (service, host IP, host port)."""
    found: list[tuple[str, str, str]] = []
    for name, service in (config.get("services") or {}).items():
        for port in service.get("ports") or []:
            if isinstance(port, dict):  # compose v2's long form
                found.append((name, str(port.get("host_ip", "")), str(port.get("published", ""))))
                continue
            parts = str(port).split(":")
            host_ip = parts[0] if len(parts) == 3 else ""
            host_port = parts[-2] if len(parts) >= 2 else ""
            found.append((name, host_ip, host_port))
    return found


# -- helpers ---------------------------------------------------------------------------------------


def _compose_env(root: Path, spec: ClusterSpec) -> dict[str, str]:
    """The variables docker-compose.yml reads, for ``spec``."""
    processes = spec.processes_per_worker
    object_store = max(_RAY_MIN_OBJECT_STORE, int(spec.memory_bytes * 0.3))
    # /dev/shm holds the object store plus Ray's own small files: a quarter more is room enough.
    shm = object_store + object_store // 4
    uid, gid = container_user()
    env = {
        "DIST_BENCH_UID": str(uid),
        "DIST_BENCH_GID": str(gid),
        "DIST_BENCH_IMAGE": own_image(),
        "DIST_BENCH_SECRETS": str(_secrets_dir(root, spec.project)),
        "DIST_BENCH_WORKER_CPU_PERIOD_US": str(CFS_PERIOD_US),
        "DIST_BENCH_WORKER_CPU_QUOTA_US": str(round(spec.cpus * CFS_PERIOD_US)),
        "DIST_BENCH_WORKER_MEMORY": str(spec.memory_bytes),
        "DIST_BENCH_WORKER_PROCESSES": str(processes),
        "DIST_BENCH_WORKER_MEMORY_LIMIT": str(spec.memory_bytes // processes),
        "DIST_BENCH_RAY_OBJECT_STORE_BYTES": str(object_store),
        "DIST_BENCH_RAY_SHM_SIZE": str(shm),
        "DIST_BENCH_DASK_SCHEME": "tls" if spec.tls else "tcp",
        "DIST_BENCH_LINK_RATE_BITS": ""
        if spec.link_rate_bits is None
        else str(spec.link_rate_bits),
    }
    for engine_ports in _PORTS.values():
        for variable, default in engine_ports.items():
            text = os.environ.get(variable, str(default))
            try:
                env[variable] = str(parse_port(text))
            except ValueError as exc:
                raise UsageError(f"{variable}: {exc}") from None
    return env


def _check_ports(engine: str, env: Mapping[str, str]) -> None:
    for variable in _PORTS[engine]:
        port = int(env[variable])
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As a server binds (Docker's proxy too): connections of a cluster just used from
            # this host linger in TIME_WAIT on the port, which must not read as "taken".
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise ClusterError(
                    f"port {port} on 127.0.0.1 is taken (another cluster or program holds it): "
                    f"stop it, or choose another with {variable}=PORT"
                ) from None


def _running_services(project: str) -> list[str]:
    """Services of ``project`` with a running container."""
    listed = _run(
        [
            "docker", "ps", "--filter", f"label=com.docker.compose.project={project}",
            "--format", '{{.Label "com.docker.compose.service"}}',
        ],
        timeout=30,
    )  # fmt: skip
    return sorted(set(listed.stdout.split()))


def _running_cluster(project: str) -> tuple[list[str], Path, dict[str, Any]]:
    compose = compose_command()
    root = project_root()
    state = _load_state(root, project)
    if state is None or not _running_services(project):
        raise ClusterError(
            f"no cluster is running as project {project!r}: start one with "
            "`dist-bench cluster up --engine dask|ray`"
        )
    return compose, root, state


def _probe(
    compose: list[str],
    root: Path,
    project: str,
    engine: str,
    env: Mapping[str, str],
    wait_for: int,
    timeout_s: float,
) -> ClusterReport:
    head = _SERVICES[engine][0]
    done = _compose(
        compose, root, project, engine, env,
        ["exec", "-T", head, "/bin/sh", _ENTRYPOINT, "python", "-m", "dist_bench.cluster_probe",
         engine, "--wait", str(wait_for), "--timeout", str(timeout_s)],
        timeout=timeout_s + 120,
    )  # fmt: skip
    if done.returncode not in (0, _PROBE_EXIT_NOT_READY) or not done.stdout.strip():
        raise ClusterError(
            f"the {head} did not answer about its workers ({_last_line(done.stderr)}); "
            f"see `dist-bench cluster logs --project {project}`"
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
    addresses, dashboards, client_env = _endpoints(root, project, engine, env)
    return ClusterReport(
        engine=engine,
        project=project,
        workers=workers,
        scheduler_versions={str(k): str(v) for k, v in raw["scheduler_versions"].items()},
        addresses=addresses,
        dashboards=dashboards,
        client_env=client_env,
        open_to_local_users=_open_to_local_users(engine, env),
    )


def _endpoints(
    root: Path, project: str, engine: str, env: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    folder = _secrets_dir(root, project)
    inside = _inside_address(engine, env)
    if engine == "dask":
        scheme = env["DIST_BENCH_DASK_SCHEME"]
        addresses = {
            "from this host": f"{scheme}://127.0.0.1:{env['DIST_BENCH_DASK_PORT']}",
            "inside the cluster network": inside,
        }
        dashboards = {"Dask": f"http://127.0.0.1:{env['DIST_BENCH_DASK_DASHBOARD_PORT']}/status"}
        client_env: dict[str, str] = {}
        if scheme == "tls":
            client_env = {
                "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(folder / "dask_ca"),
                "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(folder / "dask_cert"),
                "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(folder / "dask_key"),
                "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True",
            }
        return addresses, dashboards, client_env
    addresses = {
        "Ray Client from this host": f"ray://127.0.0.1:{env['DIST_BENCH_RAY_CLIENT_PORT']}",
        "inside the cluster network": inside,
    }
    client_env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(folder / "ray_token")}
    return addresses, {}, client_env


def _open_to_local_users(engine: str, env: Mapping[str, str]) -> bool:
    return engine == "dask" and env.get("DIST_BENCH_DASK_SCHEME") != "tls"


def local_client_env(address: str) -> dict[str, str]:
    """What a client on this host needs to reach ``address``, if it is one of our local clusters.

    Dask's TLS files or Ray's token, read from the state ``cluster up`` saved; empty for any
    other address (a real cluster is configured by its user).

    Raises:
        UsageError: the address is our Dask cluster's, with the other scheme (tcp for tls).
    """
    try:
        root = project_root()
    except ClusterError:
        return {}
    wanted = _host_and_port(address)
    scheme = address.split("://")[0] if "://" in address else None
    for state_file in sorted((root / "cluster" / ".secrets").glob("*/state.json")):
        project = state_file.parent.name
        state = _load_state(root, project)
        if state is None:
            continue
        addresses, _, client_env = _endpoints(root, project, state["engine"], state["env"])
        for ours in addresses.values():
            if _host_and_port(ours) != wanted:
                continue
            dask_scheme_differs = ours.startswith(("tls://", "tcp://")) and not ours.startswith(
                f"{scheme}://"
            )
            if scheme is not None and dask_scheme_differs:
                raise UsageError(
                    f"--address {address}: dist-bench's cluster {project!r} listens there as "
                    f"{ours}; use that address"
                )
            return client_env
    return {}


def configure_local_client(address: str) -> dict[str, str]:
    """Set what reaching our own local cluster at ``address`` needs; returns what was set.

    A variable the user has set is left as it is. Dask reads its settings when first imported,
    so this runs before the engine is; if Dask is loaded already, its configuration is re-read.
    """
    applied = {k: v for k, v in local_client_env(address).items() if k not in os.environ}
    os.environ.update(applied)
    if applied and "dask" in sys.modules:
        import dask.config

        dask.config.refresh()
    return applied


def _host_and_port(address: str) -> tuple[str, str]:
    """``scheme://host:port`` → (host, port), with ``localhost`` read as 127.0.0.1."""
    host, _, port = address.split("://")[-1].rstrip("/").rpartition(":")
    return ("127.0.0.1" if host == "localhost" else host), port


def _inside_address(engine: str, env: Mapping[str, str]) -> str:
    if engine == "dask":
        return f"{env['DIST_BENCH_DASK_SCHEME']}://scheduler:8786"
    return "head:6379"


def _with_times(report: ClusterReport, ready_s: float, build_s: float) -> ClusterReport:
    from dataclasses import replace

    return replace(report, ready_s=ready_s, build_s=build_s)


def _state_path(root: Path, project: str) -> Path:
    return _secrets_dir(root, project) / "state.json"


def _load_state(root: Path, project: str) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(_state_path(root, project).read_text())
    except (OSError, ValueError):
        return None
    return state


def _save_state(root: Path, project: str, state: Mapping[str, Any]) -> None:
    _state_path(root, project).write_text(json.dumps(state, indent=2))


def _check_project_name(project: str) -> None:
    # Compose's own rule for project names; the name is also a folder under cluster/.secrets/.
    if not project or not all(c.islower() or c.isdigit() or c in "-_" for c in project):
        raise UsageError(
            f"--project {project!r}: use lowercase letters, digits, '-' and '_' (compose's rule)"
        )


def _profiles(engine: str) -> list[str]:
    engines = ENGINES if engine == "all" else (engine,)
    return [flag for name in engines for flag in ("--profile", name)]


def _compose_argv(compose: list[str], root: Path, project: str, engine: str) -> list[str]:
    return [
        *compose,
        "--file", str(root / "docker-compose.yml"),
        "--project-directory", str(root),
        "--project-name", project,
        *_profiles(engine),
    ]  # fmt: skip


def _compose(
    compose: list[str],
    root: Path,
    project: str,
    engine: str,
    env: Mapping[str, str],
    args: Sequence[str],
    *,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    return _run(
        [*_compose_argv(compose, root, project, engine), *args],
        timeout=timeout,
        env={**os.environ, **env},
    )


def _compose_attached(
    compose: list[str],
    root: Path,
    project: str,
    engine: str,
    env: Mapping[str, str],
    args: Sequence[str],
) -> int:
    argv = [*_compose_argv(compose, root, project, engine), *args]
    return subprocess.call(argv, env={**os.environ, **env})


def _compose_failure(what: str, done: subprocess.CompletedProcess[str], project: str) -> str:
    text = done.stderr + done.stdout
    if "port is already allocated" in text or "address already in use" in text:
        return f"{what}: a published port is taken; choose free ones (docs/cluster.md, ports)"
    return f"{what}: {_last_line(text)} (project {project!r})"


def _run(
    argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ClusterError(
            f"`{' '.join(argv[:3])} …` did not finish within {timeout:g} s"
        ) from None
    except FileNotFoundError as exc:
        raise ClusterError(f"{argv[0]} is not installed: {exc.strerror}") from None


def _image_id(image: str) -> str:
    """The image's ID, or "" when there is no such image here."""
    return _image_inspect(image, "{{.Id}}")


def _image_label(image: str, label: str) -> str:
    return _image_inspect(image, f'{{{{index .Config.Labels "{label}"}}}}')


def _image_inspect(image: str, template: str) -> str:
    done = _run(["docker", "image", "inspect", "--format", template, image], timeout=30)
    return done.stdout.strip() if done.returncode == 0 else ""


def _digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
