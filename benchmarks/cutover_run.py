"""The default ``dist-bench cutover``: its wall time and its peak memory, engines included.

Target: the run ends within 3 minutes on the project's 2-core machine (start-ups, the search and
the analysis included). Peak memory has no target; it is recorded so a change that grows it shows.

Memory is the proportional set size (PSS) summed over the whole process tree (dist-bench, the
embedded Dask scheduler and workers, Ray's GCS, raylet and workers), sampled every
``--every`` seconds: PSS splits shared pages (Ray's object store, shared libraries) between the
processes that map them, so the sum counts each page once. Sampling reads every process's
``smaps``, which costs a little CPU; the wall time is taken in the same run. A peak shorter than
the sampling period can be missed.

Run: ``.venv/bin/python benchmarks/cutover_run.py [-o DIR]``; the results and reports land in
DIR (default: a temporary folder), ready for ``benchmarks/confirm_crossovers.py DIR/cutover.json``.
Exits 1 when the time target is missed. Recorded results: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from common import load, verdict

#: Seconds the default run may take on the 2-core machine.
TARGET_S = 180.0


def tree_pss_bytes(root: psutil.Process) -> int:
    """PSS summed over ``root`` and all its descendants (processes that vanish count 0)."""
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return total


def run_default_cutover(folder: Path, every: float = 0.5) -> tuple[float, int, int]:
    """Run the default cutover into ``folder``, sampling its memory.

    Returns its wall seconds, the peak PSS in bytes and its exit code.
    """
    script = Path(sys.executable).with_name("dist-bench")
    command = [str(script), "cutover", "-o", f"{folder}/"]
    print("running:", " ".join(command), flush=True)
    started = time.perf_counter()
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    root = psutil.Process(run.pid)
    peak = 0
    while run.poll() is None:
        peak = max(peak, tree_pss_bytes(root))
        time.sleep(every)
    return time.perf_counter() - started, peak, run.returncode


def fresh_cutovers(folder: Path, count: int) -> list[Path] | None:
    """Run ``count`` default cutovers into ``folder``/run1, run2, ...; print a line for each.

    Returns their results files, or None when one exited with an error (said on stderr).
    """
    paths = []
    for index in range(count):
        run_folder = folder / f"run{index + 1}"
        wall, peak, returncode = run_default_cutover(run_folder)
        if returncode != 0:
            print(f"dist-bench cutover exited with {returncode}", file=sys.stderr)
            return None
        print(f"run {index + 1}: {wall:.0f} s, peak PSS {peak / 2**20:.0f} MiB  [{load()}]")
        if wall > TARGET_S:
            print(f"run {index + 1} took over the {TARGET_S:.0f} s target")
        paths.append(run_folder / "cutover.json")
    return paths


def main() -> int:
    """Run the default cutover once, sampling its memory; print wall time and peak PSS."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, help="folder for the results and reports")
    parser.add_argument("--every", type=float, default=0.5, help="sampling period in seconds")
    options = parser.parse_args()
    folder = options.output or Path(tempfile.mkdtemp(prefix="dist-bench-cutover-"))
    wall, peak, returncode = run_default_cutover(folder, options.every)
    if returncode != 0:
        print(f"dist-bench cutover exited with {returncode}", file=sys.stderr)
        return 1
    print(
        f"peak memory (PSS over the process tree, every {options.every} s): {peak / 2**20:.0f} MiB"
    )
    print(f"results: {folder}/cutover.json")
    met = verdict(
        "default cutover wall time", f"{wall:.0f} s", f"<= {TARGET_S:.0f} s", wall <= TARGET_S
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
