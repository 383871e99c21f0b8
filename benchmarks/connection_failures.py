"""How long ``dist-bench run --address …`` takes to give up on a cluster it cannot use.

Each case runs the installed console script as a user does, against an address on loopback that
cannot serve the run: nothing listening, a port that accepts connections but never speaks the
engine's protocol, and (Dask) a scheduler without workers. Target: the one-line error within
10 s, exit 1. The tests check the line and the exit code (tests/test_dask_engine.py,
tests/test_ray_engine.py, under a hang-guard timeout); this measures how fast.

Run: ``.venv/bin/python benchmarks/connection_failures.py [--runs 3]``. Exits 1 when a target
is missed. Recorded results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from common import free_port, load, median, verdict

#: Seconds from the command's start to its exit.
TARGET_S = 10.0
JOB = ("run", "cpu", "--tasks", "2", "--grain", "1ms", "--repeats", "1")


@contextmanager
def nothing_listening() -> Iterator[int]:
    """A port with nothing behind it."""
    yield free_port()


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@contextmanager
def scheduler_without_workers() -> Iterator[int]:
    """A real ``dask scheduler`` on loopback that no worker ever joins."""
    port = free_port()
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", str(port), "--dashboard-address", ":0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        yield port
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)


CASES: dict[str, tuple[str, str, Callable[[], AbstractContextManager[int]]]] = {
    "dask: nothing listening": ("dask", "tcp://127.0.0.1:{port}", nothing_listening),
    "dask: silent port": ("dask", "tcp://127.0.0.1:{port}", silent_listener),
    "dask: scheduler, no workers": ("dask", "tcp://127.0.0.1:{port}", scheduler_without_workers),
    "ray: nothing listening": ("ray", "127.0.0.1:{port}", nothing_listening),
    "ray: silent port": ("ray", "127.0.0.1:{port}", silent_listener),
}


def main() -> int:
    """Time each case ``--runs`` times; print the median, the exit codes and the error line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    script = Path(sys.executable).with_name("dist-bench")
    print(f"# connection failures ({load()})")
    met = True
    for name, (backend, template, place) in CASES.items():
        walls, codes, line = [], set(), ""
        for _ in range(options.runs):
            with place() as port:
                address = template.format(port=port)
                started = time.perf_counter()
                done = subprocess.run(
                    [str(script), *JOB, "-b", backend, "--address", address],
                    capture_output=True, text=True, check=False, timeout=300,
                )  # fmt: skip
                walls.append(time.perf_counter() - started)
            codes.add(done.returncode)
            lines = [text for text in done.stderr.splitlines() if text.strip()]
            line = lines[-1] if lines else ""
        took = median(walls)
        figure = (
            f"median {took:.1f} s of {options.runs} (max {max(walls):.1f}), exit {sorted(codes)}"
        )
        ok = took <= TARGET_S and codes == {1} and len(lines) == 1
        met = verdict(name, figure, f"≤ {TARGET_S:.0f} s, exit 1, one line", ok) and met
        print(f"    {line[:150]}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
