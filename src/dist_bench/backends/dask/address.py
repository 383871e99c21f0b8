"""Parsing ``--address`` for Dask, without touching the network or importing ``distributed``."""

from __future__ import annotations

from dist_bench.errors import UsageError
from dist_bench.units import parse_port

#: Address schemes the Dask client accepts here; ``HOST:PORT`` alone means ``tcp://``.
ACCEPTED_SCHEMES = ("tcp", "tls")


def normalize_address(address: str) -> str:
    """Return ``address`` as ``scheme://host:port``, or raise ``UsageError`` saying what is wrong.

    A bare ``HOST:PORT`` means ``tcp://HOST:PORT``, as it does for ``dask worker``.
    """
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme not in ACCEPTED_SCHEMES:
        accepted = ", ".join(f"{s}://HOST:PORT" for s in ACCEPTED_SCHEMES)
        raise UsageError(
            f"--address {address!r} is not a Dask scheduler address; the dask backend accepts "
            f"{accepted} (e.g. tcp://127.0.0.1:8786)"
        )
    host, colon, port = rest.rpartition(":")
    if not colon or not host or not _is_port(port):
        raise UsageError(
            f"--address {address!r} needs a host and a port, e.g. {scheme}://127.0.0.1:8786"
        )
    return f"{scheme}://{rest}"


def _is_port(text: str) -> bool:
    try:
        parse_port(text)
    except ValueError:
        return False
    return True
