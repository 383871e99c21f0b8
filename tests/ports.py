"""A free TCP port, for tests that start a server on one or point a client at nothing."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on on loopback (free when asked)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
