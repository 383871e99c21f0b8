"""Version check between this client and a remote cluster, before anything is measured.

Code and data cross the wire pickled: a worker on another Python minor version or another engine
release may fail to load them, or worse, load them differently. So a hard mismatch refuses to run
and names the fix; a soft one (a patch level) is shown as a warning.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata

from dist_bench.errors import ClusterConnectionError

#: The packages compared, in the order shown, each with how much of its version must match
#: (1: major, 2: major.minor, 3: everything): the engines exactly, the others by the part that
#: changes how pickled code and data load. The one list: engines report these on their nodes.
MUST_MATCH_PARTS = {
    "python": 2,
    "dask": 3,
    "distributed": 3,
    "ray": 3,
    "numpy": 1,
    "cloudpickle": 1,
    "msgpack": 1,
}
#: Names of the packages compared, in the order shown.
CHECKED_PACKAGES = tuple(MUST_MATCH_PARTS)


@dataclass(frozen=True)
class VersionCheck:
    """What differs between the client and each node."""

    client: dict[str, str]
    nodes: list[dict[str, str]]
    hard: list[str] = field(default_factory=list)
    soft: list[str] = field(default_factory=list)

    def raise_if_hard(self, backend: str) -> None:
        """Refuse to measure across a hard mismatch.

        Raises:
            ClusterConnectionError: naming the first mismatch and how to fix it.
        """
        if self.hard:
            more = f" (and {len(self.hard) - 1} more)" if len(self.hard) > 1 else ""
            raise ClusterConnectionError(f"{backend} cluster: {self.hard[0]}{more}")


def client_versions() -> dict[str, str]:
    """Versions of the checked packages in this interpreter ("" for one not installed)."""
    versions = {"node": "this client", "python": platform.python_version()}
    for package in CHECKED_PACKAGES[1:]:
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            versions[package] = ""
    return versions


def check_versions(
    client: dict[str, str], nodes: list[dict[str, str]], engine_packages: tuple[str, ...]
) -> VersionCheck:
    """Compare ``client`` with every node for the packages that matter to this engine.

    ``engine_packages`` names the packages this engine needs on both sides (e.g. ``("dask",
    "distributed")``); the others are compared only where both sides report a version.
    """
    hard: list[str] = []
    soft: list[str] = []
    for node in nodes:
        name = node.get("node", "?")
        for package in CHECKED_PACKAGES:
            ours, theirs = client.get(package, ""), node.get(package, "")
            if not ours or not theirs:
                if package in engine_packages and ours and not theirs:
                    hard.append(f"{package} is missing on {name}; install {package}=={ours} there")
                continue
            if ours == theirs:
                continue
            parts = MUST_MATCH_PARTS[package]
            if _prefix(ours, parts) != _prefix(theirs, parts):
                hard.append(
                    f"{package} {theirs} on {name} but {ours} here; install the same "
                    f"{package} on both (e.g. pip install {_pin(package, theirs)} here)"
                )
            else:
                soft.append(f"{package} {theirs} on {name}, {ours} here (a patch difference)")
    return VersionCheck(client, nodes, hard, soft)


def _prefix(version: str, parts: int) -> tuple[str, ...]:
    return tuple(version.split(".")[:parts])


def _pin(package: str, version: str) -> str:
    if package == "python":
        return f"a Python {'.'.join(_prefix(version, 2))} interpreter"
    return f"'{package}=={version}'"
