"""The checked package versions one Dask node (scheduler or worker) reports."""

from __future__ import annotations

from typing import Any

from dist_bench.versions import CHECKED_PACKAGES


def node_versions(info: Any) -> dict[str, str]:
    """The checked versions in one entry of ``Client.get_versions`` (scheduler or a worker).

    Dask reports its own list of packages; one it does not report (``ray``) is ``""``, which the
    version check skips.
    """
    packages = info.get("packages", {}) if isinstance(info, dict) else {}
    return {key: _version(packages.get(key)) for key in CHECKED_PACKAGES}


def _version(value: Any) -> str:
    """A version as text: ``""`` when unknown; Python's ``3.11.7.final.0`` as ``3.11.7``."""
    if value is None:
        return ""
    text = str(value)
    return text.removesuffix(".final.0")
