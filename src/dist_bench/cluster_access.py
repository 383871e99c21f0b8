"""Who may drive the local cluster: the check that a client without its credentials is refused.

The local cluster publishes its ports on 127.0.0.1, which every local user can reach. What keeps
them out is the engine's own access control: Dask's mutual TLS (a client must present the
certificate the cluster's private CA signed) and Ray's token.

``cluster up`` says a cluster is ready only after a client without its credentials has been
turned away, each in about a second: for Dask a plain-TCP client, one with no certificate, fails
its handshake; for Ray a GCS client without the token, run on the head (the GCS port is not
published), gets Ray's ``AuthenticationError``. A Ray Client without the token on the published
port gives no such answer (it is never let in, but gives up only after Ray Client's 30 s
connection timeout, as it does when the client server fails), so that port's refusal is checked by
the test suite (``ray_client_refused_without_token``) beside a client with the token that connects.
dist-bench requires Ray 2.52 or later, which honours ``RAY_AUTH_MODE``.
"""

from __future__ import annotations

import os
import subprocess
import sys

from dist_bench.errors import ClusterError

#: Ray Client gives up after 30 s; room for a slow start of the interpreter on top.
_RAY_CHECK_TIMEOUT_S = 90.0


def dask_stranger_refused(port: int) -> None:
    """Check that a Dask client without the certificate cannot use the scheduler on ``port``.

    Raises:
        ClusterError: such a client got in: the cluster is open to every local user.
    """
    if not _dask_refuses_plain_tcp(port):
        raise ClusterError(
            f"the Dask scheduler on 127.0.0.1:{port} accepted a client without the TLS "
            "certificate: it is open to every local user; `dist-bench cluster down`"
        )


def _dask_refuses_plain_tcp(port: int) -> bool:
    """A plain-TCP Dask comm cannot complete its handshake with the scheduler."""
    import asyncio

    import dask.config
    from distributed.comm.core import CommClosedError, connect

    async def attempt() -> bool:
        try:
            comm = await connect(f"tcp://127.0.0.1:{port}", timeout=10)  # type: ignore[no-untyped-call]
        except (TimeoutError, OSError, CommClosedError):
            return True
        try:
            await comm.write({"op": "identity"})
            await comm.read()
        except (OSError, CommClosedError):
            return True
        finally:
            await comm.close()
        return False

    # The stranger has no TLS settings at all (a user's own exported ones would refuse the
    # plain address here, on this side, and prove nothing about the scheduler).
    with dask.config.set({"distributed.comm.require-encryption": False}):
        return asyncio.run(attempt())


#: A refusal comes in about a second (interpreter start-up included); a GCS that cannot be
#: asked keeps Ray's client retrying for 40 s, and counts as not refused after this long.
_GCS_STRANGER_TIMEOUT_S = 15.0

#: Run without the token on the head: exit 0 when the GCS refuses it, 1 when it lets it in.
_RAY_GCS_STRANGER = """
import sys
from ray._raylet import GcsClient
from ray.exceptions import AuthenticationError
try:
    GcsClient(address=sys.argv[1]).get_all_node_info(timeout=10)
except AuthenticationError:
    sys.exit(0)
sys.exit(1)
"""


def ray_gcs_refuses_stranger(address: str) -> bool:
    """A GCS client without the token is refused by the Ray GCS at ``address``.

    Ray reads its auth settings once per process, so the stranger is a fresh interpreter whose
    environment has no ``RAY_AUTH_*``. Anything but Ray's ``AuthenticationError`` (the GCS let it
    in, or could not be asked) counts as not refused.
    """
    stranger = {
        name: value for name, value in os.environ.items() if not name.startswith("RAY_AUTH")
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", _RAY_GCS_STRANGER, address],
            env=stranger, capture_output=True, text=True, timeout=_GCS_STRANGER_TIMEOUT_S,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def ray_client_refused_without_token(port: int) -> bool:
    """A Ray Client with no token does not connect to 127.0.0.1:``port`` (a fresh interpreter).

    Any failure counts as refused, so this proves something only beside a client with the
    token that does connect to the same port.
    """
    stranger = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("RAY_AUTH", "RAY_ADDRESS"))
    }
    stranger["RAY_AUTH_MODE"] = "disabled"  # presents no token
    stranger["RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL"] = "minor"
    code = (
        "import ray, sys\n"
        f"ray.init(address='ray://127.0.0.1:{port}', logging_level='ERROR')\n"
        "sys.exit(0)\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=stranger,
            capture_output=True,
            text=True,
            timeout=_RAY_CHECK_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return True  # never let in within the time: refused as far as anyone can use it
    return done.returncode != 0
