"""Asking a Ray address what it is, under deadlines, before ``ray.init`` retries for a minute.

Ray is slow to give up on a bad address (20-60 s of retries in C++), so an address is probed
first: a plain TCP connect, then one GCS request under a deadline, which also reports a missing
or rejected auth token and a driver that is not on a node, each as one line.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from ray.exceptions import AuthenticationError

from dist_bench.backends.engine_output import log_directory, native_stderr_into
from dist_bench.backends.ray.address import (
    RAY_CLIENT_PORT,
    START_HINT,
    RayAddress,
    parse_address,
    ray_client_installed,
)
from dist_bench.backends.ray.auth import auth_message
from dist_bench.backends.ray.private import private
from dist_bench.backends.ray.tasks import one_line
from dist_bench.errors import ClusterConnectionError, EngineNotInstalledError

logger = logging.getLogger(__name__)

#: Seconds the probe waits past its deadline for Ray's C++ client to give up too (and say so).
_NATIVE_GIVE_UP_S = 1.0

#: Seconds to wait for a TCP connection to the address.
TCP_TIMEOUT_S = 3.0
#: Seconds to wait for the GCS to answer one request (Ray itself retries for 40 s).
GCS_PROBE_TIMEOUT_S = 5.0


def resolve_auto() -> RayAddress:
    """What ``auto`` means here: ``RAY_ADDRESS``, else the cluster Ray finds on this machine.

    Raises:
        EngineNotInstalledError: ``RAY_ADDRESS`` is a ``ray://`` address and grpcio is missing.
        ClusterConnectionError: no running cluster was found.
    """
    env_address = os.environ.get("RAY_ADDRESS", "").strip()
    if env_address and env_address != "auto":
        resolved = parse_address(env_address)
        if resolved.kind == "client" and not ray_client_installed():
            raise EngineNotInstalledError(
                f"RAY_ADDRESS={env_address} uses Ray Client, which needs grpcio; run: "
                "pip install 'dist-bench[ray-client]'"
            )
        return resolved
    try:
        found = private("ray._private.services", "get_ray_address_from_environment")("auto", None)
    except ConnectionError:
        found = None
    if not found:
        raise ClusterConnectionError(
            f"no running Ray cluster found on this machine for address 'auto'; {START_HINT}"
        )
    return parse_address(found)


def probe_tcp(host: str, port: int, where: str) -> None:
    """Connect once; nothing listening is one line naming the address.

    Raises:
        ClusterConnectionError: the host does not resolve, or nothing accepts the connection.
    """
    try:
        with socket.create_connection((host, port), timeout=TCP_TIMEOUT_S):
            pass
    except socket.gaierror as exc:
        raise ClusterConnectionError(
            f"cannot resolve the host of Ray address {where}: {exc.strerror or exc}"
        ) from None
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ClusterConnectionError(
            f"no Ray cluster answers at {where} ({reason}); {START_HINT}"
        ) from None


def probe_gcs(where: str, source: str | None) -> None:
    """Ask the GCS for its nodes, under a deadline, before ``ray.init`` retries for minutes.

    Finds: a port that is not a GCS, a missing or wrong token, and a driver that is not on a
    node (``ray.init`` would look for a local raylet for 60 s). Skipped if Ray's private GCS
    client is not there.

    Raises:
        ClusterConnectionError: naming which of those it is.
    """
    outcome: dict[str, Any] = {}

    def probe() -> None:
        try:
            client = private("ray._raylet", "GcsClient")(address=where)
            infos = client.get_all_node_info(timeout=GCS_PROBE_TIMEOUT_S)
            # GcsNodeInfo.state: 0 is ALIVE.
            outcome["alive"] = {node_id.hex() for node_id, info in infos.items() if info.state == 0}
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=probe, name="dist-bench-ray-probe", daemon=True)
    # Ray's C++ client says it gave up ("Failed to connect to GCS ... within 5 seconds") on the
    # terminal's descriptor, over dist-bench's own line: into the log instead. It gives up at the
    # same deadline, so a moment more lets it write there before the terminal is back.
    with native_stderr_into(log_directory() / f"ray-probe-{os.getpid()}.log"):
        thread.start()
        # The thread cannot be stopped; if it hangs it ends by itself when Ray's retries run out.
        thread.join(GCS_PROBE_TIMEOUT_S)
        if thread.is_alive():
            thread.join(_NATIVE_GIVE_UP_S)
    if thread.is_alive():
        raise ClusterConnectionError(
            f"{where} accepts connections but no Ray GCS answered within "
            f"{GCS_PROBE_TIMEOUT_S:.0f} s: give the port of `ray start --head --port` "
            "(default 6379)"
        )
    error = outcome.get("error")
    if isinstance(error, AuthenticationError):
        raise ClusterConnectionError(auth_message(where, source))
    if isinstance(error, ImportError | AttributeError | TypeError):
        logger.debug("GCS probe unavailable in this Ray: %s", error)
        return
    if error is not None:
        raise ClusterConnectionError(
            f"the Ray GCS at {where} did not answer: {one_line(error)}; {START_HINT}"
        )
    try:
        local = set(private("ray._private.services", "find_node_ids")())
    except Exception as exc:  # pragma: no cover - private API moved
        logger.debug("cannot list local raylets: %s", exc)
        return
    if not local & outcome["alive"]:
        raise ClusterConnectionError(
            f"this machine is not a node of the Ray cluster at {where} (a Ray driver runs on "
            f"a node): run `ray start --address={where}` here first, or use "
            f"--address ray://HOST:{RAY_CLIENT_PORT} with pip install 'dist-bench[ray-client]'"
        )
