"""Compose: finding the checkout and a working ``docker compose``, and one project's calls of it.

Drives the top-level ``docker-compose.yml`` (profiles ``dask`` and ``ray``) through whichever of
``docker compose`` (v2) or ``docker-compose`` (v1) is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dist_bench.cluster.credentials import ensure_secrets, secrets_folder
from dist_bench.cluster.spec import DEFAULT_PROJECT, ENGINES, ClusterSpec
from dist_bench.cluster.state import ClusterState, load_state
from dist_bench.cluster.tools import last_line, run_tool
from dist_bench.errors import ClusterError, UsageError

#: Chooses the Compose: ``v2`` (``docker compose``) or ``v1`` (``docker-compose``). Unset: v2
#: when it works, else v1. CI runs the cluster tests under both.
COMPOSE_VARIABLE = "DIST_BENCH_COMPOSE"
#: Compose's profiles of every engine (``down``, ``config``).
ALL_ENGINES = "all"


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
    info = run_tool([docker, "info", "--format", "{{.ServerVersion}}"], timeout=30)
    if info.returncode != 0:
        detail = last_line(info.stderr) or "no answer"
        raise ClusterError(
            f"the Docker daemon is not reachable ({detail}): start it (sudo systemctl start "
            "docker), or check DOCKER_HOST and your access to /var/run/docker.sock"
        )
    if choice != "v1" and run_tool([docker, "compose", "version"], timeout=30).returncode == 0:
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


#: docker-compose.yml's CFS variables (microseconds) and their defaults there.
_CFS_MICROSECONDS = {
    "DIST_BENCH_WORKER_CPU_PERIOD_US": "100000",
    "DIST_BENCH_WORKER_CPU_QUOTA_US": "100000",
}


@dataclass(frozen=True)
class Compose:
    """One compose project in one checkout: every call of compose for it goes through here.

    ``engine`` chooses the profile (``all``: every engine's services) and ``env`` holds the
    variables docker-compose.yml reads (a cluster's state's).
    """

    command: tuple[str, ...]
    root: Path
    project: str
    engine: str = ALL_ENGINES
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def find(cls, project: str) -> Compose:
        """A working compose and the checkout, for ``project`` (no engine chosen yet).

        Raises:
            UsageError, ClusterError: as ``compose_command`` and ``project_root``.
        """
        command = compose_command()
        return cls(tuple(command), project_root(), project)

    def of(self, state: ClusterState, engine: str | None = None) -> Compose:
        """The same project with ``state``'s variables, for its engine (or ``engine``)."""
        return replace(self, engine=engine or state.engine, env=dict(state.env))

    @property
    def secrets(self) -> Path:
        """The project's folder of credentials and saved state."""
        return secrets_folder(self.root, self.project)

    def load_state(self) -> ClusterState | None:
        """The project's saved state (``state.load_state``)."""
        return load_state(self.secrets)

    def argv(self, *args: str) -> list[str]:
        """The compose command line for this project, profile and checkout, then ``args``."""
        engines = ENGINES if self.engine == ALL_ENGINES else (self.engine,)
        return [
            *self.command,
            "--file", str(self.root / "docker-compose.yml"),
            "--project-directory", str(self.root),
            "--project-name", self.project,
            *(flag for name in engines for flag in ("--profile", name)),
            *args,
        ]  # fmt: skip

    def process_env(self) -> dict[str, str]:
        """The environment compose runs in: ours, with the compose variables on top.

        Compose v1 reads ``cpu_period``/``cpu_quota`` as durations (a bare number from a variable
        fails in it: ``None / 1000``) while v2 takes only integers, so for v1 those variables
        get their unit, and their defaults are given (v1 parses the whole file for any command).
        """
        env = {**os.environ, **self.env}
        if self.command[0].endswith("docker-compose"):
            for name, default in _CFS_MICROSECONDS.items():
                value = env.get(name, default)
                env[name] = value if value.endswith("us") else f"{value}us"
        return env

    def run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        """``compose ARGS`` with its output captured (``tools.run_tool``)."""
        return run_tool(self.argv(*args), timeout=timeout, env=self.process_env())

    def attached(self, *args: str) -> int:
        """``compose ARGS`` on this terminal (its output is the point); its exit status."""
        return subprocess.call(self.argv(*args), env=self.process_env())

    def failure(self, what: str, done: subprocess.CompletedProcess[str]) -> str:
        """The one line that says why a compose call failed, with the fix where one is known."""
        text = done.stderr + done.stdout
        if "port is already allocated" in text or "address already in use" in text:
            return f"{what}: a published port is taken; choose free ones (docs/cluster.md, ports)"
        return f"{what}: {last_line(text)} (project {self.project!r})"

    def running_services(self) -> list[str]:
        """Services of the project with a running container."""
        listed = run_tool(
            [
                "docker", "ps", "--filter", f"label=com.docker.compose.project={self.project}",
                "--format", '{{.Label "com.docker.compose.service"}}',
            ],
            timeout=30,
        )  # fmt: skip
        return sorted(set(listed.stdout.split()))


def default_state(compose: Compose, secrets: Path | None = None) -> ClusterState:
    """The variables of a project that never ran (a default Dask cluster's), for ``down``."""
    spec = ClusterSpec("dask", project=compose.project)
    return ClusterState.of(spec, secrets or compose.secrets)


def compose_config(project: str = DEFAULT_PROJECT, engine: str = ALL_ENGINES) -> dict[str, Any]:
    """The compose file as compose resolves it for ``project`` (``docker compose config``).

    Raises:
        ClusterError: compose failed to read it.
    """
    compose = Compose.find(project)
    state = compose.load_state()
    with tempfile.TemporaryDirectory() as placeholders:
        if state is None:
            # Compose checks that the secret files exist; a project that never ran has none.
            state = default_state(compose, Path(placeholders))
            ensure_secrets(Path(placeholders), tls=False)
        done = compose.of(state, engine).run("config", timeout=60)
    if done.returncode != 0:
        raise ClusterError(compose.failure("compose could not read the file", done))
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
