"""The local multi-container cluster: build its image, bring it up, ask it, run in it, take it down.

The library the ``dist-bench cluster`` commands call; it returns data and raises
``ClusterError`` naming the fix, and never prints. One concern per module, each importing only
those above it:

- ``spec``: what a cluster is asked to be and what it reports (``ClusterSpec``, the reports);
- ``tools``: bounded calls of docker and the other tools;
- ``credentials``: Ray's token and Dask's TLS files, in ``cluster/.secrets/PROJECT/``;
- ``state``: the settings ``up`` saved there (``ClusterState``), and the addresses they give;
- ``compose``: finding the checkout and Compose; ``Compose``, one project's calls of it;
- ``image``: the wheelhouse, the project's wheel and the image, in ``cluster/.build/``;
- ``lifecycle``: ``up``, ``status``, ``logs``, ``run``, ``down``;
- ``client``: a client on this host configured for one of our clusters.

(The top-level ``cluster/`` folder of the checkout holds the Dockerfile and compose's files;
this package drives them.)
"""

from __future__ import annotations

from dist_bench.cluster.client import configure_local_client, local_client_env
from dist_bench.cluster.compose import (
    COMPOSE_VARIABLE,
    Compose,
    compose_command,
    compose_config,
    project_root,
    published_ports,
)
from dist_bench.cluster.image import BUILD_KEY_LABEL, OFFLINE_BASE, OFFLINE_PYTHON, build
from dist_bench.cluster.lifecycle import down, logs, run, status, up
from dist_bench.cluster.spec import (
    DEFAULT_PROJECT,
    ENGINES,
    IMAGE,
    BuildReport,
    ClusterReport,
    ClusterSpec,
    DriverCommand,
    WorkerReport,
    container_user,
    own_image,
    with_cluster_address,
)
from dist_bench.cluster.state import ClusterState, check_ports, load_state, save_state

__all__ = [
    "BUILD_KEY_LABEL",
    "COMPOSE_VARIABLE",
    "DEFAULT_PROJECT",
    "ENGINES",
    "IMAGE",
    "OFFLINE_BASE",
    "OFFLINE_PYTHON",
    "BuildReport",
    "ClusterReport",
    "ClusterSpec",
    "ClusterState",
    "Compose",
    "DriverCommand",
    "WorkerReport",
    "build",
    "check_ports",
    "compose_command",
    "compose_config",
    "configure_local_client",
    "container_user",
    "down",
    "load_state",
    "local_client_env",
    "logs",
    "own_image",
    "project_root",
    "published_ports",
    "run",
    "save_state",
    "status",
    "up",
    "with_cluster_address",
]
