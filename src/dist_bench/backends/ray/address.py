"""Parsing ``--address`` for Ray, without touching the network or importing Ray.

``auto`` or ``HOST:PORT`` (the GCS port) need this machine to be one of the cluster's nodes,
because a Ray driver talks to its local raylet; ``ray://HOST:10001`` goes through Ray Client (the
optional ``dist-bench[ray-client]`` extra) from anywhere.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from dist_bench.errors import UsageError
from dist_bench.units import parse_port

#: The address forms ``--address`` accepts, for error messages.
ACCEPTED_ADDRESSES = (
    "'auto', 'HOST:PORT' (the GCS port of a cluster this machine is a node of) "
    "or 'ray://HOST:10001' (Ray Client)"
)
#: What to tell a user whose address answers nothing.
START_HINT = "start one with `ray start --head`"
#: Port of Ray Client's server when ``ray://HOST`` gives none.
RAY_CLIENT_PORT = 10001


@dataclass(frozen=True)
class RayAddress:
    """A parsed ``--address``.

    Attributes:
        kind: ``embedded`` (no address), ``auto``, ``gcs`` (``HOST:PORT``) or ``client``
            (``ray://``).
        host: Host to connect to (``None`` for ``embedded`` and ``auto``).
        port: Port to connect to (``None`` for ``embedded`` and ``auto``).
    """

    kind: str
    host: str | None = None
    port: int | None = None

    @property
    def hostport(self) -> str:
        """``HOST:PORT`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def for_ray_init(self) -> str | None:
        """What ``ray.init(address=...)`` is given."""
        if self.kind == "embedded":
            return None
        if self.kind == "auto":
            return "auto"
        if self.kind == "client":
            return f"ray://{self.hostport}"
        return self.hostport


def parse_address(address: str | None) -> RayAddress:
    """Parse ``--address`` for Ray without touching the network.

    Raises:
        UsageError: a scheme other than ``ray://``, or no valid ``HOST:PORT``.
    """
    if address is None or address.strip() == "":
        return RayAddress("embedded")
    text = address.strip()
    if text == "auto":
        return RayAddress("auto")
    kind, rest, default_port = "gcs", text, None
    if "://" in text:
        scheme, rest = text.split("://", 1)
        if scheme.lower() != "ray":
            raise UsageError(
                f"Ray address {address!r}: {scheme}:// is not a Ray address; "
                f"use {ACCEPTED_ADDRESSES}"
            )
        kind, default_port = "client", RAY_CLIENT_PORT
    rest = rest.rstrip("/")
    host, port = _split_host_port(rest, default_port)
    if host is None or port is None:
        raise UsageError(f"Ray address {address!r} is not valid; use {ACCEPTED_ADDRESSES}")
    return RayAddress(kind, host, port)


def _split_host_port(text: str, default_port: int | None) -> tuple[str | None, int | None]:
    if text.startswith("["):  # [IPv6]:port
        host, _, after = text[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ("" if not after else None)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif ":" in text:
        return None, None  # a bare IPv6 address is ambiguous without brackets
    else:
        host, port_text = text, ""
    if not host or "/" in host or port_text is None:
        return None, None
    if port_text == "":
        return host, default_port
    try:
        return host, parse_port(port_text)
    except ValueError:
        return None, None


def ray_client_installed() -> bool:
    """Whether Ray Client can be used here (it needs ``grpcio``, from ``ray[client]``)."""
    return importlib.util.find_spec("grpc") is not None
