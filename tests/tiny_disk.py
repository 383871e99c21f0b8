"""Runs a command with a tiny disk mounted at a folder, then copies out what the disk holds.

Run it inside a user and mount namespace of its own (``unshare --user --map-root-user --mount``,
as the ``tiny_disk`` fixture does): there an unprivileged user may mount a tmpfs, and the
mount vanishes with the namespace, so nothing outside ever sees it.

    python tests/tiny_disk.py MOUNT_POINT COPY_TO COMMAND...
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Two pages: full after a few records.
SIZE = "8k"


@dataclass(frozen=True)
class TinyDiskRun:
    """What a command run on the tiny disk did, and copies of the files the disk held after."""

    code: int
    out: str
    err: str
    files: Path

    def names(self) -> list[str]:
        """The names of the files left on the disk, sorted."""
        return sorted(path.name for path in self.files.iterdir())


class TinyDisk:
    """A real 8 KiB filesystem (tmpfs, two pages) at ``path``, full after a few records.

    Each ``run`` mounts a fresh one inside a user and mount namespace of its own (see
    tests/tiny_disk.py), so the test needs no root and CI's unprivileged user runs it too.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "tiny"
        self.path.mkdir()
        self.runs = 0

    def run(self, *command: str) -> TinyDiskRun:
        """Run ``command`` with the tiny disk mounted at ``self.path``."""
        self.runs += 1
        files = self.folder / f"left-on-disk-{self.runs}"
        helper = Path(__file__)
        done = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount",
             sys.executable, str(helper), str(self.path), str(files), *command],
            capture_output=True, text=True, check=False, timeout=300, cwd=Path(__file__).parents[1],
        )  # fmt: skip
        if not files.is_dir():
            pytest.fail(f"the tiny disk was not set up: {done.stderr.strip()[-500:]}")
        return TinyDiskRun(done.returncode, done.stdout, done.stderr, files)


def main(argv: list[str]) -> int:
    """Mount, run the command, copy the disk's files to COPY_TO; exit with the command's code."""
    mount_point, copy_to, command = Path(argv[0]), Path(argv[1]), argv[2:]
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount_point)], check=True
    )
    code = subprocess.run(command, check=False).returncode
    copy_to.mkdir()
    for entry in mount_point.iterdir():
        shutil.copy2(entry, copy_to / entry.name)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
