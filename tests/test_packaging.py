"""The wheel holds every package of the source tree (a new one left off the list is missing there).

An editable install finds every folder anyway, so only the wheel, the cluster image's install,
shows a package missing from ``pyproject.toml``: this test reads the list and the tree.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_in_src_is_listed_for_the_wheel() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    source = ROOT / "src"
    in_tree = {
        ".".join(init.parent.relative_to(source).parts)
        for init in source.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert in_tree - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert "dist_bench.workloads" in listed  # shipped from the top-level workloads/ folder
