"""Each node of the local cluster as a machine of its own: pinned cores, a shaped link, measured.

Compose starts the worker containers alike (``--scale`` gives every replica one configuration),
so what differs per node is set afterwards, container by container, with plain ``docker``
commands a user in the docker group may run:

* whole-core slices get cores of their own (``docker update --cpuset-cpus``), so two nodes
  never share a core and the kernel cannot migrate one node's work onto another's;
* a link rate puts tbf on every node's network device (``links.shape``, run by a one-shot
  container that shares the node's network namespace with NET_ADMIN only: the nodes keep every
  capability dropped);
* ``measure_link`` times a transfer from one node to another, so ``cluster status`` shows the
  rate a job's bytes really get.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from dist_bench.cluster.spec import container_user
from dist_bench.cluster.tools import last_line as _last_line
from dist_bench.cluster.tools import run_tool as _run
from dist_bench.errors import ClusterError, UsageError
from dist_bench.links import LinkCheck

#: The Python of the cluster image (the image's entry point is for the engines' roles).
IMAGE_PYTHON = "/opt/dist-bench/bin/python"
#: The port the link probe listens on inside a node (the cluster network only; never published).
PROBE_PORT = 7999
#: A timed transfer lasts about this long at the set rate: long enough that TCP's start and
#: tbf's first bucket are a few per cent of it, short enough for ``cluster status``.
PROBE_SECONDS = 2.0
#: ... and moves at least this much (on the slowest link, 1 Mbit/s, that takes 34 s).
PROBE_MIN_BYTES = 4 * 1024**2
#: What an unshaped link (memory speed through the bridge) is timed with.
PROBE_UNSHAPED_BYTES = 256 * 1024**2


def containers(project: str, service: str) -> list[str]:
    """Names of ``service``'s running containers in ``project``, in replica order."""
    listed = _run(
        [
            "docker", "ps",
            "--filter", f"label=com.docker.compose.project={project}",
            "--filter", f"label=com.docker.compose.service={service}",
            "--format", '{{.Label "com.docker.compose.container-number"}} {{.Names}}',
        ],
        timeout=30,
    )  # fmt: skip
    rows = [line.split() for line in listed.stdout.splitlines() if line.strip()]
    return [name for _, name in sorted((int(number), name) for number, name in rows)]


def whole_cores(cpus: float) -> int | None:
    """Cores per node for a whole-core slice; None for a fractional one (a CFS quota)."""
    return int(cpus) if cpus >= 1 and float(cpus).is_integer() else None


def cpusets(nodes: int, cores_per_node: int, host_cores: int) -> list[str]:
    """Each node's own cores, as ``docker update --cpuset-cpus`` spells them (``0``, ``2-3``).

    Raises:
        UsageError: the nodes need more cores than the host has.
    """
    if nodes * cores_per_node > host_cores:
        raise UsageError(
            f"{nodes} nodes of {cores_per_node} core(s) need {nodes * cores_per_node} cores; "
            f"this host has {host_cores}: use fewer nodes or a fractional slice (--cpus 0.5)"
        )
    sets = []
    for node in range(nodes):
        first = node * cores_per_node
        last = first + cores_per_node - 1
        sets.append(str(first) if first == last else f"{first}-{last}")
    return sets


def pin_cores(names: Sequence[str], cores_per_node: int, host_cores: int) -> list[str]:
    """Give each container in ``names`` cores of its own; the cpusets set.

    Raises:
        UsageError: more cores needed than the host has.
        ClusterError: docker refused the update.
    """
    sets = cpusets(len(names), cores_per_node, host_cores)
    for name, cores in zip(names, sets, strict=True):
        done = _run(["docker", "update", "--cpuset-cpus", cores, name], timeout=60)
        if done.returncode != 0:
            raise ClusterError(f"could not pin {name} to cores {cores}: {_last_line(done.stderr)}")
    return sets


def check_latency_supported(image: str) -> None:
    """Refuse a link latency before any node starts if this kernel cannot add one (no netem).

    netem is tried on the loopback device of a throwaway container with no network: nothing
    else is touched.

    Raises:
        ClusterError: one line naming the missing module (sch_netem).
    """
    done = _run(
        [
            "docker", "run", "--rm", "--network", "none",
            "--cap-drop", "ALL", "--cap-add", "NET_ADMIN",
            "--security-opt", "no-new-privileges:true", "--read-only", "--user", "0:0",
            "--entrypoint", IMAGE_PYTHON, image,
            "-m", "dist_bench.links", "shape", "1000000000", "--latency-ms", "1", "--device", "lo",
        ],
        timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        raise ClusterError(f"--link-latency: {_last_line(done.stderr)}")


def shape_links(names: Sequence[str], rate_bits: int, latency_ms: float | None = None) -> None:
    """Put tbf at ``rate_bits`` bit/s on the network device of every container in ``names``.

    Raises:
        ClusterError: a shaper failed (its one line: no sch_netem for a latency, no pyroute2).
    """
    for name in names:
        argv = [
            "docker", "run", "--rm",
            "--network", f"container:{name}",
            "--cap-drop", "ALL", "--cap-add", "NET_ADMIN",
            "--security-opt", "no-new-privileges:true",
            "--read-only", "--user", "0:0",
            "--entrypoint", IMAGE_PYTHON,
            image_of(name), "-m", "dist_bench.links", "shape", str(rate_bits),
        ]  # fmt: skip
        if latency_ms is not None:
            argv += ["--latency-ms", f"{latency_ms:g}"]
        done = _run(argv, timeout=120)
        if done.returncode != 0:
            raise ClusterError(f"could not shape {name}'s link: {_last_line(done.stderr)}")


def measure_link(sender: str, receiver: str, set_rate_bits: int | None) -> LinkCheck:
    """Time a transfer from container ``sender`` to ``receiver`` over the cluster network.

    The probe runs in two one-shot containers that share the nodes' network namespaces (their
    devices, their qdiscs) but not their CPU quotas: a half-core node's own Python cannot push
    1 Gbit/s through TCP, and this measures the link, not the node.

    Raises:
        ClusterError: the probe did not run or did not answer.
    """
    size = PROBE_UNSHAPED_BYTES
    timeout = 120.0
    if set_rate_bits is not None:
        size = max(PROBE_MIN_BYTES, math.ceil(set_rate_bits / 8 * PROBE_SECONDS))
        timeout += 3 * size * 8 / set_rate_bits
    listening = _run(
        [*_probe_run(receiver), "--detach", image_of(receiver), "-m", "dist_bench.links", "serve",
         str(PROBE_PORT)],
        timeout=60,
    )  # fmt: skip
    if listening.returncode != 0:
        raise ClusterError(
            f"the link probe did not start beside {receiver}: {_last_line(listening.stderr)}"
        )
    sent = _run(
        [*_probe_run(sender), image_of(sender), "-m", "dist_bench.links", "send", receiver,
         str(PROBE_PORT), str(size)],
        timeout=timeout,
    )  # fmt: skip
    if sent.returncode != 0 or not sent.stdout.strip():
        raise ClusterError(
            f"the link probe from {sender} to {receiver} failed: {_last_line(sent.stderr)}"
        )
    timed = json.loads(sent.stdout.strip().splitlines()[-1])
    return LinkCheck(sender, receiver, int(timed["bytes"]), float(timed["seconds"]), set_rate_bits)


def _probe_run(node: str) -> list[str]:
    """``docker run`` of a probe in ``node``'s network namespace, as locked down as the nodes."""
    uid, gid = container_user()
    return [
        "docker", "run", "--rm", "--network", f"container:{node}",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true", "--read-only",
        "--user", f"{uid}:{gid}", "--entrypoint", IMAGE_PYTHON,
    ]  # fmt: skip


def image_of(container: str) -> str:
    """The image ID ``container`` runs: its helpers run the same code, whatever the tag is now.

    Raises:
        ClusterError: no such container.
    """
    shown = _run(["docker", "inspect", "--format", "{{.Image}}", container], timeout=30)
    if shown.returncode != 0:
        raise ClusterError(f"no container {container!r}: {_last_line(shown.stderr)}")
    return shown.stdout.strip()
