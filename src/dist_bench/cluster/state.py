"""A cluster's settings: the variables compose reads, saved by ``up`` for the later commands.

``cluster/.secrets/PROJECT/state.json`` holds them; ``status``, ``logs``, ``run`` and ``down``
reuse them, and what follows from them (addresses, dashboards, a client's settings) is derived
here, in one place.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dist_bench.cluster.spec import (
    CFS_PERIOD_US,
    ENGINES,
    ClusterSpec,
    container_user,
    own_image,
)
from dist_bench.errors import ClusterError, UsageError
from dist_bench.units import parse_port

#: Published ports: environment variable read by docker-compose.yml, and its default.
PORTS = {
    "dask": {"DIST_BENCH_DASK_PORT": 8786, "DIST_BENCH_DASK_DASHBOARD_PORT": 8787},
    "ray": {"DIST_BENCH_RAY_CLIENT_PORT": 10001},
}
#: Ray refuses an object store under 75 MiB; below ~1/3 of the node's memory it leaves room for
#: the tasks (Ray's own default is 30 %).
RAY_MIN_OBJECT_STORE = 80 * 1024**2
RAY_OBJECT_STORE_SHARE = 0.3
#: The file, in a project's secrets folder, that holds its state.
STATE_FILE = "state.json"


@dataclass(frozen=True)
class Endpoints:
    """How to reach a running cluster: addresses and dashboards by label, a client's settings."""

    #: Label → address: from this host, and from inside the cluster network.
    addresses: dict[str, str]
    dashboards: dict[str, str]
    #: Environment a client on the host needs (Dask's TLS files; Ray's token file).
    client_env: dict[str, str]


@dataclass(frozen=True)
class ClusterState:
    """The engine a project's cluster runs and the variables docker-compose.yml reads for it."""

    engine: str
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, spec: ClusterSpec, secrets: Path) -> ClusterState:
        """The variables docker-compose.yml reads for ``spec``, its secrets in ``secrets``.

        Raises:
            UsageError: a port variable set to something that is not a port.
        """
        processes = spec.processes_per_worker
        object_store = max(RAY_MIN_OBJECT_STORE, int(spec.memory_bytes * RAY_OBJECT_STORE_SHARE))
        # /dev/shm holds the object store plus Ray's own small files: a quarter more is room.
        shm = object_store + object_store // 4
        uid, gid = container_user()
        env = {
            "DIST_BENCH_UID": str(uid),
            "DIST_BENCH_GID": str(gid),
            "DIST_BENCH_IMAGE": own_image(),
            "DIST_BENCH_SECRETS": str(secrets),
            "DIST_BENCH_WORKER_CPU_PERIOD_US": str(CFS_PERIOD_US),
            "DIST_BENCH_WORKER_CPU_QUOTA_US": str(round(spec.cpus * CFS_PERIOD_US)),
            "DIST_BENCH_WORKER_MEMORY": str(spec.memory_bytes),
            "DIST_BENCH_WORKER_PROCESSES": str(processes),
            "DIST_BENCH_WORKER_MEMORY_LIMIT": str(spec.memory_bytes // processes),
            "DIST_BENCH_RAY_OBJECT_STORE_BYTES": str(object_store),
            "DIST_BENCH_RAY_SHM_SIZE": str(shm),
            "DIST_BENCH_DASK_SCHEME": "tls" if spec.tls else "tcp",
            # Set when the links are shaped: the driver waits until its own link is too.
            "DIST_BENCH_LINK_RATE_BITS": ""
            if spec.link_rate_bits is None
            else str(spec.link_rate_bits),
        }
        for engine_ports in PORTS.values():
            for variable, default in engine_ports.items():
                text = os.environ.get(variable, str(default))
                try:
                    env[variable] = str(parse_port(text))
                except ValueError as exc:
                    raise UsageError(f"{variable}: {exc}") from None
        return cls(spec.engine, env)

    def with_env(self, **variables: str) -> ClusterState:
        """The same state with ``variables`` set too."""
        return replace(self, env={**self.env, **variables})

    @property
    def link_rate_bits(self) -> int | None:
        """The rate every container's link was shaped to; None when unshaped."""
        rate = self.env.get("DIST_BENCH_LINK_RATE_BITS")
        return int(rate) if rate else None

    def port(self, variable: str) -> int:
        """The published port ``variable`` names (one of ``PORTS``)."""
        return int(self.env[variable])

    @property
    def open_to_local_users(self) -> bool:
        """Any local user can submit code to it (Dask without TLS)."""
        return self.engine == "dask" and self.env.get("DIST_BENCH_DASK_SCHEME") != "tls"

    def inside_address(self) -> str:
        """The scheduler's or head's address inside the cluster network."""
        if self.engine == "dask":
            return f"{self.env['DIST_BENCH_DASK_SCHEME']}://scheduler:8786"
        return "head:6379"

    def endpoints(self, secrets: Path) -> Endpoints:
        """Its addresses and dashboards, and what a client here needs (files in ``secrets``)."""
        inside = self.inside_address()
        if self.engine == "dask":
            scheme = self.env["DIST_BENCH_DASK_SCHEME"]
            dashboard = self.env["DIST_BENCH_DASK_DASHBOARD_PORT"]
            client_env: dict[str, str] = {}
            if scheme == "tls":
                client_env = {
                    "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(secrets / "dask_ca"),
                    "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(secrets / "dask_cert"),
                    "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(secrets / "dask_key"),
                    "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True",
                }
            return Endpoints(
                addresses={
                    "from this host": f"{scheme}://127.0.0.1:{self.env['DIST_BENCH_DASK_PORT']}",
                    "inside the cluster network": inside,
                },
                dashboards={"Dask": f"http://127.0.0.1:{dashboard}/status"},
                client_env=client_env,
            )
        return Endpoints(
            addresses={
                "Ray Client from this host": (
                    f"ray://127.0.0.1:{self.env['DIST_BENCH_RAY_CLIENT_PORT']}"
                ),
                "inside the cluster network": inside,
            },
            dashboards={},
            client_env={
                "RAY_AUTH_MODE": "token",
                "RAY_AUTH_TOKEN_PATH": str(secrets / "ray_token"),
            },
        )

    def to_json(self) -> dict[str, Any]:
        """The document saved in the state file."""
        return {"engine": self.engine, "env": dict(self.env)}

    @classmethod
    def from_json(cls, document: Any) -> ClusterState:
        """The state a saved document holds.

        Raises:
            ValueError: not a state document: no known engine, or variables that are not text.
        """
        if not isinstance(document, dict) or document.get("engine") not in ENGINES:
            raise ValueError(f"no engine of {', '.join(ENGINES)}")
        env = document.get("env")
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise ValueError("'env' is not a table of text variables")
        missing = [v for v in ("DIST_BENCH_SECRETS", *PORTS[document["engine"]]) if v not in env]
        if missing:
            raise ValueError(f"'env' lacks {', '.join(missing)}")
        return cls(document["engine"], dict(env))


def load_state(secrets: Path) -> ClusterState | None:
    """The state saved in the project folder ``secrets``; None when none was saved.

    Raises:
        ClusterError: the file is there but damaged; the message names it and the fix.
    """
    path = secrets / STATE_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ClusterError(f"cannot read the cluster's state {path}: {exc.strerror}") from None
    try:
        return ClusterState.from_json(json.loads(text))
    except ValueError as exc:
        raise ClusterError(
            f"the cluster's state {path} is damaged ({exc}): `dist-bench cluster down "
            f"--project {secrets.name}` removes it with the cluster"
        ) from None


def save_state(secrets: Path, state: ClusterState) -> None:
    """Save ``state`` in the project folder ``secrets`` (which ``ensure_secrets`` made)."""
    (secrets / STATE_FILE).write_text(json.dumps(state.to_json(), indent=2))


def check_ports(engine: str, env: Mapping[str, str]) -> None:
    """Refuse a published port of ``engine`` that another program holds on 127.0.0.1.

    Raises:
        ClusterError: a port is taken; the message names the variable that moves it.
    """
    for variable in PORTS[engine]:
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
