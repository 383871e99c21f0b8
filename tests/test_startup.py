"""`--help` and `list` stay instant: they import none of the heavy packages.

Checked through ``python -X importtime``, which names every module a process imports; the time
itself is measured by benchmarks/startup.py, never asserted here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

#: Packages that take from tens of milliseconds (asyncio) to seconds (ray) to import; each is
#: imported only when used.
HEAVY = ("numpy", "scipy", "matplotlib", "ray", "dask", "distributed", "pandas", "asyncio")


def imported_modules(*args: str) -> set[str]:
    """Top-level names of every module ``dist-bench ARGS`` imports."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dist_bench", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = [line for line in completed.stderr.splitlines() if line.startswith("import time:")]
    assert lines, "python -X importtime printed nothing"
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines}


@pytest.mark.parametrize("args", [["--help"], ["list"], ["run", "--help"]])
def test_help_and_list_import_no_heavy_package(args: list[str]) -> None:
    modules = imported_modules(*args)
    assert "dist_bench" in modules and "click" in modules  # the check sees real imports
    assert not modules & set(HEAVY), f"dist-bench {' '.join(args)} imported {modules & set(HEAVY)}"


def test_a_run_does_import_what_it_uses() -> None:
    # The same check sees heavy imports where they belong (so the test above can fail).
    modules = imported_modules(
        "run",
        "cpu",
        "-b",
        "serial",
        "--tasks",
        "2",
        "--grain",
        "1ms",
        "--repeats",
        "1",
        "--warmup",
        "0",
    )
    assert {"numpy", "scipy"} <= modules
