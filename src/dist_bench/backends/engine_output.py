"""What an engine logs and warns, kept off dist-bench's lines: in a log file, summed up as notes.

Dask and Ray write to the terminal from their own threads (``distributed``'s loggers, its
``VersionMismatchWarning`` table, Ray's ``ray`` loggers and the raylet's messages), mid-table or
over the progress bar. While an engine backend runs, its loggers hand their records here instead
of to their terminal handlers, its warnings come here instead of to ``warnings.showwarning``, and
each message worth a reader's eye becomes one note: where it came from, its first line, and the
log file that keeps the whole text. The notes travel as the backend's other notes do
(``drain_notes``, then the record's notes the CLI shows). Output an engine's C++ code or child
processes write straight to the terminal's file descriptor is not Python's: ``native_stderr_into``
sends it to a log file where a known step writes it (Ray's C++ GCS client giving up).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

#: Characters of a message's first line quoted in its note.
QUOTE_CHARS = 160


def log_directory() -> Path:
    """Where engine logs go: a folder of this user's own under the temporary directory (0700)."""
    folder = Path(tempfile.gettempdir()) / f"dist-bench-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


@contextlib.contextmanager
def native_stderr_into(path: Path) -> Iterator[None]:
    """Append what this process writes to file descriptor 2 to ``path`` while the block runs.

    C++ code included, which no Python handler sees. For short steps only: dist-bench's own
    stderr lines would go there too.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with path.open("ab") as log:
            os.dup2(log.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


class EngineOutput:
    """While open, an engine's loggers and warnings write to a log file instead of the terminal.

    Args:
        engine: The engine's name, for the file name and the notes.
        loggers: Names of the engine's loggers; their handlers are set aside while open.
        packages: Top-level packages whose warnings are the engine's (by the warning's class or
            the file that warned).
        note_level: Log records at this level or above become notes; below it only the file
            has them. Every warning becomes a note.
    """

    def __init__(
        self,
        engine: str,
        loggers: Sequence[str],
        packages: Sequence[str],
        note_level: int = logging.WARNING,
    ) -> None:
        self.engine = engine
        self.path: Path | None = None
        self._loggers = tuple(loggers)
        self._packages = tuple(packages)
        #: Log records at this level or above become notes.
        self.note_level = note_level
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        #: Notes not drained yet: summary to how many times it came.
        self._pending: dict[str, int] = {}
        self._set_aside: list[tuple[logging.Logger, list[logging.Handler], bool]] = []
        self._handler = _Capture(self)
        self._package_dirs: tuple[str, ...] = ()
        self._previous_showwarning: Any = None

    def open(self) -> None:
        """Take over the engine's loggers and warnings (until ``close``)."""
        for name in self._loggers:
            engine_logger = logging.getLogger(name)
            saved = (engine_logger, engine_logger.handlers[:], engine_logger.propagate)
            self._set_aside.append(saved)
            engine_logger.handlers = [self._handler]
            engine_logger.propagate = False
        self._package_dirs = tuple(_package_dirs(self._packages))
        self._previous_showwarning = warnings.showwarning
        warnings.showwarning = self._show_warning

    def close(self) -> None:
        """Give the loggers and warnings back; the log file stays for the reader."""
        for engine_logger, handlers, propagate in reversed(self._set_aside):
            engine_logger.handlers = handlers
            engine_logger.propagate = propagate
        self._set_aside.clear()
        if warnings.showwarning == self._show_warning:
            warnings.showwarning = self._previous_showwarning
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def record(self, source: str, text: str, note: bool = True) -> None:
        """Keep ``text`` from ``source`` in the log file; with ``note``, sum it up as a note."""
        lines = text.strip().splitlines() or [""]
        with self._lock:
            log = self._open_file()
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"--- {stamp} {source}\n{text.rstrip()}\n")
            log.flush()
            if note:
                summary = f"{source}: {_first_sentence(lines[0])}"
                self._pending[summary] = self._pending.get(summary, 0) + 1

    def drain_notes(self) -> list[str]:
        """One note per distinct message since the last call, naming the log file."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return [
            f"{self.engine} said {summary}{f' (x{count})' if count > 1 else ''}; "
            f"full text in {self.path}"
            for summary, count in pending.items()
        ]

    def _open_file(self) -> TextIO:
        if self._file is None:
            if self.path is None:
                stamp = time.strftime("%Y%m%d-%H%M%S")
                self.path = log_directory() / f"{self.engine}-{stamp}-{os.getpid()}.log"
            self._file = self.path.open("a", encoding="utf-8")
        return self._file

    def _show_warning(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        """``warnings.showwarning`` while open: the engine's warnings here, others as before."""
        package = category.__module__.partition(".")[0]
        if package in self._packages or filename.startswith(self._package_dirs):
            self.record(category.__name__, str(message))
        else:
            self._previous_showwarning(message, category, filename, lineno, file, line)


class _Capture(logging.Handler):
    """The handler the engine's loggers get while captured: every record goes to the log file."""

    def __init__(self, output: EngineOutput) -> None:
        super().__init__()
        self.output = output
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record; at the note level or above, it becomes a note too."""
        with contextlib.suppress(Exception):  # logging must never break the engine
            self.output.record(
                record.name, self.format(record), note=record.levelno >= self.output.note_level
            )


def _first_sentence(line: str) -> str:
    """The message's first sentence, at most ``QUOTE_CHARS`` long.

    What follows it (an ID, a count of retries left, advice) differs between repeats of one
    message, so notes group by the sentence.
    """
    sentence, period, _ = line.strip().partition(". ")
    sentence += period.strip()
    return sentence if len(sentence) <= QUOTE_CHARS else sentence[: QUOTE_CHARS - 1] + "…"


def _package_dirs(packages: Sequence[str]) -> list[str]:
    """The folders the packages live in, for telling their warnings by the file that warned."""
    folders: list[str] = []
    for package in packages:
        with contextlib.suppress(ImportError, ValueError):
            spec = importlib.util.find_spec(package)
            if spec is not None and spec.submodule_search_locations:
                folders += [os.path.join(folder, "") for folder in spec.submodule_search_locations]
    return folders
