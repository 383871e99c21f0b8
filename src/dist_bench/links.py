"""A node's link, from inside its container: shaping it with tbf, and timing a transfer over it.

Run in the cluster image (``python -m dist_bench.links ...``); stdlib only but for pyroute2
(a pure-Python netlink library, in the image's wheelhouse), imported where shaping needs it.

Where the shaping runs, and why: a one-shot container per node that shares the node's network
namespace (``docker run --network container:NODE``) with NET_ADMIN as its only capability puts a
``tbf`` qdisc on the node's ``eth0`` and exits. The nodes themselves keep every capability
dropped; no host root is needed (a user in the docker group can start it); and the qdisc lives
as long as the namespace, so the node's every outgoing byte (to other nodes, the scheduler, the
driver) is shaped. This kernel has no ingress actions, so each side shapes what it sends: a
transfer between two shaped containers is held to the rate once, by the sender.

Subcommands (each prints one JSON line on success, one plain line on stderr and exit 1 if not):

* ``shape RATE_BITS [--latency-ms MS]``  (root with NET_ADMIN): tbf at RATE_BITS bit/s on eth0,
  below a netem delay when latency is asked for (refused, naming ``sch_netem``, where the kernel
  lacks it);
* ``wait``: return once this container's link is shaped (a driver waits so before it starts);
* ``serve PORT``: accept one connection, read to its end, answer with the byte count;
* ``send HOST PORT BYTES``: send BYTES to a ``serve``, and time until its answer.
"""

from __future__ import annotations

import argparse
import errno
import json
import socket
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The device every container's network namespace reaches the cluster network through.
DEVICE = "eth0"
#: tbf's bucket: 4 ms of the rate (a timer tick at HZ=250, so a sender delayed by one tick
#: loses no tokens); a transfer of a few MiB is still held to the rate (a larger bucket lets
#: its first bytes through at memory speed), ...
BURST_S = 0.004
#: ... and never under 64 KiB: veth hands tbf segmentation-offloaded packets up to that size, and
#: a bucket smaller than a packet stalls it.
MIN_BURST_BYTES = 64 * 1024
#: How long a packet may wait in tbf's queue before it is dropped (TCP then slows down).
QUEUE_LATENCY = "50ms"
#: How long ``serve`` waits for its one sender.
SERVE_WAIT_S = 60.0
#: Bytes per send() call of a timed transfer.
_BLOCK = 1 << 20
_ROOT = 0x10000  # handle 1:
_CHILD = 0x20000  # handle 2:


#: The measured rate must be within this of the set rate (the issue's bar; TCP's headers alone
#: take about 4 % of a 1500-byte frame).
RATE_TOLERANCE = 0.10


@dataclass(frozen=True)
class LinkCheck:
    """A timed transfer between two nodes, against the rate their links were set to."""

    sender: str
    receiver: str
    bytes: int
    seconds: float
    set_rate_bits: int | None

    @property
    def measured_bits(self) -> float:
        """Bits per second the transfer got (payload only)."""
        return self.bytes * 8 / self.seconds

    @property
    def within_tolerance(self) -> bool | None:
        """The measured rate within ``RATE_TOLERANCE`` of the set one (None: not shaped)."""
        if self.set_rate_bits is None:
            return None
        return abs(self.measured_bits / self.set_rate_bits - 1.0) <= RATE_TOLERANCE


class LinkError(Exception):
    """The link could not be shaped or measured: one line that says why."""


def burst_bytes(rate_bits: int) -> int:
    """The tbf bucket for ``rate_bits`` bit/s (see ``BURST_S``)."""
    return max(MIN_BURST_BYTES, int(rate_bits / 8 * BURST_S))


def shape(rate_bits: int, latency_ms: float | None = None, device: str = DEVICE) -> dict[str, Any]:
    """Put tbf (under netem, for a latency) on ``device``; what was set.

    Raises:
        LinkError: pyroute2 missing, no such device, no permission, or no sch_netem for latency.
    """
    try:
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError
    except ImportError:
        raise LinkError("shaping links needs pyroute2 in the cluster image") from None
    options = {"rate": f"{rate_bits}bit", "burst": burst_bytes(rate_bits), "latency": QUEUE_LATENCY}
    with IPRoute() as route:
        found = route.link_lookup(ifname=device)
        if not found:
            raise LinkError(f"this container has no network device {device!r}")
        index = found[0]
        try:
            if latency_ms is not None:
                _add_netem(route, index, latency_ms)
            parent = {} if latency_ms is None else {"parent": _ROOT}
            route.tc(
                "replace",
                "tbf",
                index,
                _ROOT if latency_ms is None else _CHILD,
                **parent,
                **options,
            )
        except NetlinkError as exc:
            if exc.code == errno.EPERM:
                raise LinkError("shaping needs NET_ADMIN in the node's network namespace") from None
            raise LinkError(f"the kernel refused the tbf qdisc: {exc}") from None
    return {"device": device, "rate_bits": rate_bits, "latency_ms": latency_ms, **options}


def _add_netem(route: Any, index: int, latency_ms: float) -> None:
    """A netem delay as the root qdisc (tbf goes below it).

    Raises:
        LinkError: the kernel lacks sch_netem (named, so an administrator knows what to load).
    """
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        route.tc("replace", "netem", index, _ROOT, delay=int(latency_ms * 1000))
    except NetlinkError as exc:
        if not Path("/sys/module/sch_netem").exists():
            raise LinkError(
                "this kernel has no sch_netem module, so no latency can be added "
                "(load it with `modprobe sch_netem` as root, or leave the latency out)"
            ) from None
        raise LinkError(f"the kernel refused the netem qdisc: {exc}") from None


def wait_until_shaped(device: str = DEVICE, timeout_s: float = 60.0) -> dict[str, Any]:
    """Return once ``device`` has a tbf or netem root qdisc (the shaper outside put it there).

    A driver with a shaped link starts its work only then, so none of its bytes go out
    unshaped. Reading qdiscs needs no capability.

    Raises:
        LinkError: no shaping appeared within ``timeout_s``.
    """
    from pyroute2 import IPRoute

    deadline = time.monotonic() + timeout_s
    with IPRoute() as route:
        (index,) = route.link_lookup(ifname=device)[:1] or (None,)
        while index is not None and time.monotonic() < deadline:
            kinds = {q.get_attr("TCA_KIND") for q in route.get_qdiscs(index=index)}
            if kinds & {"tbf", "netem"}:
                return {"device": device, "shaped": sorted(kinds & {"tbf", "netem"})}
            time.sleep(0.1)
    raise LinkError(f"the link of this container was not shaped within {timeout_s:g} s")


def serve(port: int) -> dict[str, Any]:
    """Accept one connection on ``port``, read it to its end, answer with the byte count.

    Raises:
        LinkError: no sender came within ``SERVE_WAIT_S`` (a probe never lingers on a node).
    """
    with socket.create_server(("", port)) as server:
        server.settimeout(SERVE_WAIT_S)
        try:
            connection, _ = server.accept()
        except TimeoutError:
            raise LinkError(
                f"no link probe sent to port {port} within {SERVE_WAIT_S:g} s"
            ) from None
        connection.settimeout(None)
        with connection:
            received = 0
            while chunk := connection.recv(_BLOCK):
                received += len(chunk)
            connection.sendall(struct.pack("!Q", received))
    return {"received": received}


def send(host: str, port: int, size: int, connect_timeout_s: float = 10.0) -> dict[str, Any]:
    """Send ``size`` bytes to a ``serve`` at host:port; the time until it confirmed them all.

    Raises:
        LinkError: no server answered, or it counted other than ``size`` bytes.
    """
    block = b"\0" * _BLOCK
    deadline = time.monotonic() + connect_timeout_s
    while True:
        try:
            connection = socket.create_connection((host, port), timeout=connect_timeout_s)
            break
        except OSError as exc:
            # The server is started just before: give it a moment to listen.
            if time.monotonic() > deadline:
                raise LinkError(f"no link probe answered at {host}:{port} ({exc})") from None
            time.sleep(0.05)
    with connection:
        connection.settimeout(None)
        started = time.perf_counter()
        left = size
        while left > 0:
            sent = connection.send(block[: min(left, _BLOCK)])
            left -= sent
        connection.shutdown(socket.SHUT_WR)
        answer = connection.recv(8)
        seconds = time.perf_counter() - started
    if len(answer) != 8 or struct.unpack("!Q", answer)[0] != size:
        raise LinkError(f"the link probe at {host}:{port} did not receive all {size} bytes")
    return {"bytes": size, "seconds": seconds, "bits_per_s": size * 8 / seconds}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m dist_bench.links``."""
    parser = argparse.ArgumentParser(prog="python -m dist_bench.links")
    commands = parser.add_subparsers(dest="command", required=True)
    shaping = commands.add_parser("shape")
    shaping.add_argument("rate_bits", type=int)
    shaping.add_argument("--latency-ms", type=float)
    shaping.add_argument("--device", default=DEVICE)
    commands.add_parser("wait")
    serving = commands.add_parser("serve")
    serving.add_argument("port", type=int)
    sending = commands.add_parser("send")
    sending.add_argument("host")
    sending.add_argument("port", type=int)
    sending.add_argument("size", type=int)
    sending.add_argument("--wait-s", type=float, default=10.0, help="for the server to listen")
    args = parser.parse_args(argv)
    try:
        if args.command == "shape":
            done = shape(args.rate_bits, args.latency_ms, args.device)
        elif args.command == "wait":
            done = wait_until_shaped()
        elif args.command == "serve":
            done = serve(args.port)
        else:
            done = send(args.host, args.port, args.size, args.wait_s)
    except LinkError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
