"""Running dist-bench inside another interpreter (``run --python``) and keeping its records.

A number for Python 3.14 must come from dist-bench running in 3.14, not from a shim around the
host's interpreter. So each other runtime runs ``python -m dist_bench run ...`` itself, with the
host's dist-bench code on its path (a copy of the package as imported here, the built-in workloads
with it, so both sides run the same code and write the same schema), and writes its own results
file; its records then join the host's file, labelled with that runtime.

An interpreter is found by path (``/opt/py314t/bin/python3``: a free-threaded build, a venv), by
version on ``PATH`` (``python3.14``), or in the runtime image root built once per machine
(``runtimes/build-runtime.sh 3.14`` makes ``dist-bench-runtime:python3.14``, which any user in the
docker group can run). Its dependencies (NumPy, SciPy, ...) must be importable there: a venv for a
local interpreter, the image's venv otherwise.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from dist_bench.errors import InterpreterError, UsageError
from dist_bench.results import Results, load_results
from dist_bench.results_writer import ResultsWriter
from dist_bench.runtime import RuntimeInfo, current_runtime
from dist_bench.workload import Workload

#: What ``--python`` calls the interpreter dist-bench itself runs on.
HOST = "host"
#: The runtime image of Python ``X.Y`` (``runtimes/build-runtime.sh X.Y`` makes it).
IMAGE_TEMPLATE = "dist-bench-runtime:python{version}"
#: Where the image keeps its interpreter, in a venv with dist-bench's dependencies.
IMAGE_PYTHON = "/opt/dist-bench/bin/python"
#: Options of ``run`` a runtime's own run must not get: the host writes the file and the plot.
HOST_ONLY_OPTIONS = ("--python", "-o", "--output", "--plot")
#: A version as ``--python`` takes it: ``3.14``, or ``3.14t`` for a free-threaded build.
_VERSION = re.compile(r"^\d+\.\d+t?$")


@dataclass(frozen=True)
class Runtime:
    """An interpreter to measure on, and how to start it.

    Attributes:
        spec: As the user gave it (``3.14``, a path, ``host``).
        python: The command that starts it with dist-bench's dependencies importable; empty for
            the host (measured in this process).
        image: The runtime image it runs in, if any.
    """

    spec: str
    python: tuple[str, ...] = ()
    image: str | None = None

    @property
    def is_host(self) -> bool:
        """Whether this is the interpreter dist-bench runs on."""
        return not self.python


def parse_runtimes(text: str) -> list[Runtime]:
    """``--python``'s comma list, each resolved; the host at most once, in the order given.

    Raises:
        UsageError: a name that is no version, no path and not ``host``, or one given twice.
        InterpreterError: an interpreter that cannot be found (with how to get it).
    """
    specs = [part.strip() for part in text.split(",") if part.strip()]
    if not specs:
        raise UsageError("--python needs at least one interpreter: host, 3.14 or a path")
    runtimes = [resolve_runtime(spec) for spec in specs]
    seen: set[tuple[str, ...]] = set()
    for runtime in runtimes:
        if runtime.python in seen:
            raise UsageError(f"--python names the interpreter {runtime.spec!r} twice")
        seen.add(runtime.python)
    return runtimes


def resolve_runtime(spec: str) -> Runtime:
    """The interpreter ``spec`` names: ``host``, a version, or a path to an executable."""
    host_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    host_free_threaded = current_runtime().free_threaded
    if spec in (HOST, host_version + ("t" if host_free_threaded else "")):
        return Runtime(spec)
    if "/" in spec:
        path = Path(spec).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise InterpreterError(f"--python {spec}: no executable file there")
        if path.resolve() == Path(sys.executable).resolve():
            return Runtime(spec)
        return Runtime(spec, (str(path),))
    if not _VERSION.match(spec):
        raise UsageError(
            f"--python {spec!r}: give 'host', a version such as 3.14 (3.14t: free-threaded) "
            "or the path of an interpreter"
        )
    on_path = shutil.which(f"python{spec}")
    if on_path is not None:
        return Runtime(spec, (on_path,))
    image = IMAGE_TEMPLATE.format(version=spec)
    if _image_exists(image):
        return Runtime(spec, (IMAGE_PYTHON,), image)
    raise InterpreterError(
        f"--python {spec}: no python{spec} on PATH and no runtime image {image}; give the "
        f"interpreter's path, or have root build the image once: runtimes/build-runtime.sh {spec}"
    )


def _image_exists(image: str) -> bool:
    if shutil.which("docker") is None:
        return False
    found = subprocess.run(
        ["docker", "image", "inspect", image],
        capture_output=True,
        check=False,
        timeout=60,
    )
    return found.returncode == 0


def runtime_argv(argv: Sequence[str]) -> list[str]:
    """``run``'s arguments for a runtime's own run: without the options only the host keeps.

    ``argv`` starts after ``run``; options are dropped with their value, in both the
    ``--name value`` and the ``--name=value`` spellings.
    """
    kept: list[str] = []
    skip_value = False
    for argument in argv:
        if skip_value:
            skip_value = False
            continue
        name = argument.split("=", 1)[0]
        if name in HOST_ONLY_OPTIONS:
            skip_value = "=" not in argument
            continue
        if argument.startswith("-o") and not argument.startswith("--") and len(argument) > 2:
            continue  # -oFILE
        kept.append(argument)
    return kept


@contextmanager
def _package_copy() -> Iterator[Path]:
    """A folder holding the ``dist_bench`` package as this process imported it.

    Copied rather than pointed at: an editable install maps ``dist_bench.workloads`` to the
    repository's ``workloads/`` with an import hook the other interpreter does not have.
    """
    import dist_bench

    workloads_folder = Path(str(importlib.import_module("dist_bench.workloads").__file__)).parent
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    with tempfile.TemporaryDirectory(prefix="dist-bench-runtime-") as folder:
        target = Path(folder) / "dist_bench"
        shutil.copytree(Path(dist_bench.__file__).parent, target, ignore=ignore)
        workloads = target / "workloads"
        if not (workloads / "__init__.py").is_file():
            shutil.copytree(workloads_folder, workloads, ignore=ignore)
        yield Path(folder)


def command_for(
    runtime: Runtime, site: Path, out: Path, argv: Sequence[str], mounts: Sequence[Path] = ()
) -> list[str]:
    """The command that runs ``dist-bench run ARGV -o OUT`` inside ``runtime``.

    ``site`` holds the package copy; ``mounts`` are folders the run reads (the working folder,
    the user's workload files), mounted read-only at the same paths in an image.
    """
    inner = [*runtime.python, "-m", "dist_bench", "run", *argv, "-o", str(out)]
    if runtime.image is None:
        return inner
    uid, gid = os.getuid(), os.getgid()
    volumes = [f"--volume={site}:{site}:ro", f"--volume={out.parent}:{out.parent}"]
    volumes += [f"--volume={folder}:{folder}:ro" for folder in sorted(set(mounts))]
    return [
        "docker",
        "run",
        "--rm",
        "--init",
        # Loopback only (the io workload's server); the host's shared memory, as processes
        # there place arrays in /dev/shm, sized as on the host.
        "--network=none",
        "--ipc=host",
        f"--user={uid}:{gid}",
        "--env=HOME=/tmp",
        f"--env=PYTHONPATH={site}",
        f"--workdir={Path.cwd()}",
        *volumes,
        runtime.image,
        *inner,
    ]


def measure_in(runtime: Runtime, argv: Sequence[str], mounts: Sequence[Path] = ()) -> Results:
    """Run ``dist-bench run ARGV`` inside ``runtime`` and return what it measured.

    Its progress goes to this process's standard error; its tables are not shown (the host
    shows every runtime's together).

    Raises:
        InterpreterError: it could not start, or its run failed before writing any record.
    """
    with _package_copy() as site, tempfile.TemporaryDirectory(prefix="dist-bench-out-") as out:
        results_path = Path(out) / "results.json"
        command = command_for(runtime, site, results_path, argv, [Path.cwd(), *mounts])
        env = {**os.environ, "PYTHONPATH": str(site)}
        env.pop("PYTHONHOME", None)
        with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) as child:
            try:
                returncode = child.wait()
            except KeyboardInterrupt:
                _let_it_stop(child)
                partial = load_results(results_path) if results_path.is_file() else None
                raise InterruptedInRuntime(partial) from None
        if not results_path.is_file():
            raise InterpreterError(
                f"dist-bench did not run on --python {runtime.spec} (exit {returncode})"
            )
        results = load_results(results_path)
    if returncode != 0 and not results.records:
        raise InterpreterError(
            f"dist-bench's run on --python {runtime.spec} failed (exit {returncode}) "
            "before measuring anything"
        )
    return results


#: Seconds an interrupted runtime's run gets to save what it measured and stop, per step.
STOP_WAIT_S = 30.0


class InterruptedInRuntime(KeyboardInterrupt):
    """Ctrl-C while another runtime measured; ``results`` is what it had saved (if anything)."""

    def __init__(self, results: Results | None) -> None:
        super().__init__()
        self.results = results


def _let_it_stop(child: subprocess.Popen[bytes]) -> None:
    """Let an interrupted run save and exit, rather than kill it.

    From a terminal it got the Ctrl-C too; else it is sent one. Killing the ``docker run``
    client instead would leave the image's container measuring on.
    """
    for step in range(3):
        if step == 1:
            child.send_signal(signal.SIGINT)
        elif step == 2:
            child.terminate()
        try:
            child.wait(timeout=STOP_WAIT_S)
            return
        except subprocess.TimeoutExpired:
            continue
    child.kill()


def keep_runtime_results(writer: ResultsWriter, results: Results) -> str:
    """Add another runtime's records and starts to ``writer``, labelled; return the label.

    Raises:
        InterpreterError: its label is already used in this run (two builds of one version).
    """
    info = RuntimeInfo.from_json(results.metadata["runtime"])
    label = info.label
    known = writer.results.metadata.setdefault("runtimes", {})
    if label in known or label == RuntimeInfo.from_json(writer.results.metadata["runtime"]).label:
        raise InterpreterError(f"two interpreters of this run are both Python {label}")
    known[label] = {**info.to_json(), "packages": results.metadata.get("packages", {})}
    for run in results.backends:
        writer.add_backend_run(replace(run, runtime=label))
    for record in results.records:
        writer.add_record(replace(record, runtime=label))
    return label


#: The hidden ``run`` flag each other runtime's run gets: measure the backends it has, skip the
#: rest (``interpreters`` before 3.14) instead of failing; interrupted, name no results file (its
#: own is a temporary one, deleted once read: the host says where the records are kept).
AS_RUNTIME = "--as-runtime"


def measure_other_runtimes(
    runtimes: Sequence[Runtime],
    argv: Sequence[str],
    writer: ResultsWriter,
    on_start: Callable[[Runtime], None] = lambda runtime: None,
    workloads: Sequence[Workload] = (),
) -> list[str]:
    """Run ``run ARGV`` in each runtime but the host, one after another; keep their records.

    ``argv`` is the host's ``run`` arguments (after ``run``); ``workloads`` what they name, so
    the folders of the user's own workload files are readable in a runtime image. Returns the
    runtimes' labels, in order.
    """
    child = [*runtime_argv(argv), AS_RUNTIME]
    mounts = [
        Path(workload.module.__file__).parent
        for workload in workloads
        if workload.module is not None
        and workload.module.__file__
        and not workload.module.__name__.startswith("dist_bench.")
    ]
    labels = []
    for runtime in runtimes:
        if runtime.is_host:
            continue
        on_start(runtime)
        try:
            measured = measure_in(runtime, child, mounts)
        except InterruptedInRuntime as stop:
            if stop.results is not None and stop.results.records:
                keep_runtime_results(writer, stop.results)
            raise
        labels.append(keep_runtime_results(writer, measured))
    return labels
