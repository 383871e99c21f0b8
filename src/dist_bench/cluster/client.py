"""A client on this host reaching one of our local clusters: its TLS files or token, set for it.

``run --address`` with the address ``cluster up`` printed needs no exports: the settings are read
from the state that ``up`` saved.
"""

from __future__ import annotations

import os
import sys

from dist_bench.cluster.compose import project_root
from dist_bench.cluster.credentials import secrets_root
from dist_bench.cluster.state import STATE_FILE, load_state
from dist_bench.errors import ClusterError, UsageError


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
    wanted = host_and_port(address)
    scheme = address.split("://")[0] if "://" in address else None
    for state_file in sorted(secrets_root(root).glob(f"*/{STATE_FILE}")):
        secrets = state_file.parent
        try:
            state = load_state(secrets)
        except ClusterError:  # another project's damaged state: not this address's business
            continue
        if state is None:
            continue
        endpoints = state.endpoints(secrets)
        for ours in endpoints.addresses.values():
            if host_and_port(ours) != wanted:
                continue
            dask_scheme_differs = ours.startswith(("tls://", "tcp://")) and not ours.startswith(
                f"{scheme}://"
            )
            if scheme is not None and dask_scheme_differs:
                raise UsageError(
                    f"--address {address}: dist-bench's cluster {secrets.name!r} listens there "
                    f"as {ours}; use that address"
                )
            return endpoints.client_env
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


def host_and_port(address: str) -> tuple[str, str]:
    """``scheme://host:port`` → (host, port), with ``localhost`` read as 127.0.0.1."""
    host, _, port = address.split("://")[-1].rstrip("/").rpartition(":")
    return ("127.0.0.1" if host == "localhost" else host), port
