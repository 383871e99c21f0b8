"""Who may drive the local cluster: the check that a client without its credentials is refused.

The local cluster publishes its ports on 127.0.0.1, which every local user can reach. What keeps
them out is the engine's own access control: Dask's mutual TLS (a client must present the
certificate the cluster's private CA signed) and Ray's token. ``cluster up`` says "ready" only
after a stranger, a client with no certificate or token, has been turned away, so a setting that
silently failed to apply (an old Ray that ignores ``RAY_AUTH_MODE``) cannot pass for protection.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping

from dist_bench.errors import ClusterError

#: Long enough for a refusal on a loaded 2-core machine (the Ray Client check starts a Python).
_CHECK_TIMEOUT_S = 60.0


def stranger_refused(engine: str, env: Mapping[str, str]) -> None:
    """Check that a client without the cluster's credentials cannot use it.

    Raises:
        ClusterError: such a client got in: the cluster is open to every local user.
    """
    if engine == "dask":
        port = int(env["DIST_BENCH_DASK_PORT"])
        if not _dask_refuses_plain_tcp(port):
            raise ClusterError(
                f"the Dask scheduler on 127.0.0.1:{port} accepted a client without the TLS "
                "certificate: it is open to every local user; `dist-bench cluster down`"
            )
        return
    port = int(env["DIST_BENCH_RAY_CLIENT_PORT"])
    if importlib.util.find_spec("grpc") is None:
        return  # the image mirrors this client: without grpcio, the head serves no Ray Client
    if not _ray_client_refuses_no_token(port):
        raise ClusterError(
            f"the Ray head on 127.0.0.1:{port} accepted a Ray Client without the token: it is "
            "open to every local user (Ray before 2.52 ignores RAY_AUTH_MODE); "
            "`dist-bench cluster down`"
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


def _ray_client_refuses_no_token(port: int) -> bool:
    """A Ray Client with no token cannot connect (checked in a fresh interpreter)."""
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
            timeout=_CHECK_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return True  # never let in within the time: refused as far as anyone can use it
    return done.returncode != 0
