"""Writing a results file while a run goes on: atomic saves, appending, one writer at a time.

The file is rewritten atomically (and fsynced) after each record, so an interrupted run keeps
everything it finished and the file is always valid; ``ResultsWriter`` holds a lock on it for
the run, and appends to an existing file only when it is a dist-bench file from the same host.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path
from typing import Any

from dist_bench.errors import ResultsFileError, SaveError
from dist_bench.results import BackendRun, Record, Results, load_results


def write_atomically(path: Path, results: Results) -> None:
    """Write the results file atomically (see ``replace_file``)."""
    replace_file(path, results.dumps().encode())


def replace_file(path: Path, content: bytes) -> None:
    """Write through a temporary file and a rename: a crash never leaves half a file.

    The content is fsynced before the rename and the folder after it, so a power cut leaves the
    old file or the new one, never an empty one. A failed write (disk full) leaves ``path`` as it
    was and no temporary file behind.

    Raises:
        OSError: the folder cannot be written, or the disk is full.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class ResultsWriter:
    """Keeps a results file up to date while a run goes on.

    Opening checks the path at once (hyperfine's rule: a bad path fails in the first second, not
    after ten minutes). An existing file is appended to only if it is a dist-bench results file
    from the same host; anything else is refused rather than overwritten, so no earlier
    measurement is ever lost. ``results`` holds this run only; the file holds earlier runs too.

    One writer at a time: opening takes a lock on the file (``flock`` on a ``.NAME.lock`` file
    beside it) and ``close`` releases it (so does the kernel, if the process dies). A second run
    given the same file is refused at its start: two runs at once on one machine compete for its
    cores and would both measure the other's load, so merging their records would keep wrong
    numbers rather than save right ones.
    """

    def __init__(self, path: Path | None, metadata: dict[str, Any]) -> None:
        self.path = path
        self.results = Results(metadata=metadata)
        self._file = Results(metadata=metadata)
        self._lock: int | None = None
        self._saved_records = 0
        if path is None:
            return
        try:
            self._open(path, metadata)
        except OSError as exc:
            self.close()
            raise ResultsFileError(f"cannot write {str(path)!r}: {exc.strerror}") from None
        except BaseException:
            self.close()
            raise

    def _open(self, path: Path, metadata: dict[str, Any]) -> None:
        if path.is_dir():
            raise ResultsFileError(f"output path {str(path)!r} is a directory; give a file name")
        if not path.parent.is_dir():
            raise ResultsFileError(
                f"cannot write {str(path)!r}: folder {str(path.parent)!r} does not exist"
            )
        self._lock = _take_lock(path)
        if path.exists():
            earlier = load_results(path)
            if earlier.metadata.get("host") != metadata.get("host"):
                raise ResultsFileError(
                    f"{str(path)!r} holds results from host {earlier.metadata.get('host')!r}; "
                    "results from different machines are not mixed: choose another -o file"
                )
            earlier.metadata.setdefault("appended_runs", []).append(metadata)
            self._file = earlier
        write_atomically(path, self._file)

    def close(self) -> None:
        """Release the file for other runs (the file itself is complete after every save)."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add_backend_run(self, run: BackendRun) -> None:
        """Record a backend start and save."""
        self.results.backends.append(run)
        self._file.backends.append(run)
        self.save()

    def add_record(self, record: Record) -> None:
        """Record a measurement and save."""
        self.results.records.append(record)
        self._file.records.append(record)
        self.save()

    def save(self) -> None:
        """Write the current state (after a record was changed in place).

        Raises:
            SaveError: the write failed (disk full, permission taken away); the file on
                disk is as the last successful save left it.
        """
        if self.path is None:
            return
        try:
            write_atomically(self.path, self._file)
        except OSError as exc:
            raise SaveError(
                f"cannot save results to {str(self.path)!r}: {exc.strerror}; the file is intact, "
                f"with the {self._saved_records} measurement(s) of this run saved before"
            ) from None
        self._saved_records = len(self.results.records)


def lock_path(path: Path) -> Path:
    """The lock file beside results file ``path`` (its name is hidden: ``.NAME.lock``)."""
    return path.with_name(f".{path.name}.lock")


def _take_lock(path: Path) -> int:
    """Lock results file ``path`` for this process; return the lock's file descriptor.

    The lock is on a file beside it, not on the results file: each save replaces that file (a
    new inode), which would leave a lock on the old one guarding nothing. Opened read-only, so a
    lock file made by another user sharing the folder (a container's driver) still serves.

    Raises:
        ResultsFileError: another process holds the lock.
        OSError: the lock file cannot be made.
    """
    descriptor = os.open(lock_path(path), os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise ResultsFileError(
            f"{str(path)!r} is being written by another dist-bench run: wait for it to end, "
            "or choose another -o file"
        ) from None
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor
