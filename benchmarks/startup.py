"""Start-up: how long ``dist-bench --help`` and ``dist-bench list`` take, as a user runs them.

Target: under 0.3 s each (median of ``--runs`` runs of the installed console script, a fresh
interpreter each time). tests/test_startup.py checks the cause (no NumPy, SciPy, matplotlib or
engine imported by these commands); this measures the effect. With hyperfine installed
(``apt-get install hyperfine``), ``hyperfine '.venv/bin/dist-bench --help' '.venv/bin/dist-bench
list'`` gives the same figures with more statistics.

Run: ``.venv/bin/python benchmarks/startup.py [--runs 20]``. Exits 1 when a target is missed.
Recorded results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from common import median, verdict

#: Seconds each command may take.
TARGET_S = 0.3


def main() -> int:
    """Run each command ``--runs`` times and print the median and fastest wall time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    script = Path(sys.executable).with_name("dist-bench")
    met = True
    for args in (["--help"], ["list"]):
        walls = []
        for _ in range(options.runs + 1):  # the first run fills the page cache
            started = time.perf_counter()
            subprocess.run([str(script), *args], check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
        walls = walls[1:]
        figure = f"median {median(walls) * 1e3:.0f} ms, fastest {min(walls) * 1e3:.0f} ms"
        met &= verdict(
            f"dist-bench {' '.join(args)}", figure, f"< {TARGET_S} s", median(walls) < TARGET_S
        )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
