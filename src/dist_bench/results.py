"""The results file: a versioned JSON document written as measurements finish.

Layout (schema ``dist-bench/results``, version ``SCHEMA_VERSION``)::

    {"schema": "dist-bench/results", "version": 5,
     "metadata": {...host, cores, versions, command, "runtime": {...}, "runtimes": {...},
                  "slot_memory": {...}...},
     "backends": [{"backend": ..., "startup_s": ..., "shutdown_s": ..., "topology": {...}}],
     "records":  [{"workload": ..., "backend": ..., "runtime": "", "wall_s": [...], ...}]}

A record's ``runtime`` is ``""`` when the interpreter that wrote the file measured it (described by
``metadata.runtime``), else the label of another interpreter measured in the same run
(``run --python``), described by ``metadata.runtimes[label]``. ``metadata.slot_memory``, when a
cutover measured the io lesson's many waits, holds a waiting coroutine's and thread's memory
(``memory.SlotMemory``, measured in fresh interpreters).

Records hold raw samples only; every derived number (median, interval, speedup) is computed when the
file is rendered, so a better statistic later re-reads old files. The file is rewritten atomically
(and fsynced) after each record, so an interrupted run keeps everything it finished and the file is
always valid: ``results_writer`` writes it. This module holds the schema and reads every version.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import platform
import socket
import sys
import time
import types
import typing
from dataclasses import asdict, dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from dist_bench.cores import default_cores
from dist_bench.errors import ResultsFileError
from dist_bench.runtime import current_runtime

SCHEMA = "dist-bench/results"
SCHEMA_VERSION = 5

#: Workload, tasks, grain, bytes per task, runtime: records with one key are compared.
SizeKey = tuple[str, int, float, int, str]

#: Packages whose versions are stored with every result (those installed; none is imported).
VERSIONED_PACKAGES = ("dist-bench", "numpy", "scipy", "dask", "distributed", "ray", "cloudpickle")


@dataclass
class Record:
    """One workload at one size on one backend: raw samples and what was checked.

    Attributes:
        wall_s: Wall time of each measured job (warm-ups excluded), in seconds.
        warmup_s: Wall time of each warm-up job; the first is the cold job.
        task_s: Per measured job, the seconds tasks spent running on workers, summed.
        task_cpu_s: Per measured job, the CPU seconds of those tasks, summed (NaN for coroutines,
            whose CPU time cannot be told apart from the other coroutines').
        placement_s: Time to place large inputs on the workers once (Dask scatter, Ray put).
        chunk: Tasks per dispatch (the largest chunk; 1: each task sent on its own). Each task of
            a chunk is credited an equal share of the chunk's time in ``task_s`` and ``task_cpu_s``.
        chunk_auto: ``chunk`` was chosen by ``--chunk auto`` from the measured dispatch cost.
        verified: Every job's answer equalled the serial answer.
        error: Why the measurement failed, if it did (then the samples may be empty).
        notes: What the engine reported (workers lost, tasks retried).
        round: Which pass over the whole grid measured it (``run --rounds``), from 0; rounds
            apart in time show the run-to-run drift ``compare`` needs.
        runtime: The interpreter that measured it: ``""`` for the one in the file's metadata,
            else a label in ``metadata.runtimes`` (its serial baseline is its own).
        nodes: Cluster nodes the job ran on, for a node sweep (``scale``); None otherwise.
        node_cpus: Each node's CPU slice in that sweep (0.5: a CFS quota of half a core).
        node_memory_bytes: Each node's memory limit in that sweep.
        scaling: ``strong`` (the same total work on every size) or ``weak`` (the same work per
            node), for a node sweep; ``weak`` for a weak worker sweep (``run -w 1,2 --weak``,
            ``nodes`` None: its size is ``workers``); None otherwise.
    """

    workload: str
    backend: str
    tasks: int
    grain_s: float
    bytes_per_task: int
    units: int
    workers: int
    wall_s: list[float] = field(default_factory=list)
    warmup_s: list[float] = field(default_factory=list)
    task_s: list[float] = field(default_factory=list)
    task_cpu_s: list[float] = field(default_factory=list)
    distinct_workers: int = 0
    placement_s: float | None = None
    chunk: int = 1
    chunk_auto: bool = False
    verified: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    round: int = 0
    runtime: str = ""
    nodes: int | None = None
    node_cpus: float | None = None
    node_memory_bytes: int | None = None
    scaling: str | None = None

    @property
    def on_runtime(self) -> str:
        """The backend, and the interpreter when not the file's own: ``threads on 3.14.10``."""
        return f"{self.backend} on {self.runtime}" if self.runtime else self.backend

    @property
    def failed(self) -> bool:
        """The measurement failed: it raised, or an answer differed from the serial answer."""
        return self.error is not None or not self.verified

    def size_key(self) -> SizeKey:
        """What makes two records comparable (same workload, same job size, same interpreter)."""
        return (self.workload, self.tasks, self.grain_s, self.bytes_per_task, self.runtime)


@dataclass
class BackendRun:
    """One start of a backend: its cold start-up and shutdown times and its topology.

    ``dispatch_s`` is the cost of one dispatch measured after start-up with no-op tasks (what
    ``--chunk auto`` sizes chunks from); ``None`` when no chunk size was automatic. ``runtime`` is
    as in ``Record``.
    """

    backend: str
    startup_s: float
    shutdown_s: float | None = None
    topology: dict[str, Any] = field(default_factory=dict)
    dispatch_s: float | None = None
    runtime: str = ""


@dataclass
class Results:
    """Everything in one results file."""

    metadata: dict[str, Any]
    backends: list[BackendRun] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)

    def failed(self) -> list[Record]:
        """The measurements that failed (``Record.failed``), in the order they were made."""
        return [record for record in self.records if record.failed]

    def to_json(self) -> dict[str, Any]:
        """The document as written to disk."""
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "metadata": self.metadata,
            "backends": [asdict(run) for run in self.backends],
            "records": [asdict(record) for record in self.records],
        }

    def of_runtime(self, runtime: str = "") -> Results:
        """The records and starts of one interpreter (``""``: the file's own), as a Results."""
        return Results(
            metadata=self.metadata,
            backends=[run for run in self.backends if run.runtime == runtime],
            records=[record for record in self.records if record.runtime == runtime],
        )

    def dumps(self) -> str:
        """The document as JSON text, exactly as the results file holds it."""
        return json.dumps(self.to_json(), indent=1)


def _user_name() -> str:
    """Who ran it: the login name, or ``uid N`` where the system has no name for the uid.

    Inside the cluster's driver container dist-bench runs with the host user's uid (so the files
    it writes are theirs), which the image's passwd does not list: ``getpass.getuser()`` then
    raises ``KeyError`` unless ``USER`` is set.
    """
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def collect_metadata(command: list[str] | None = None) -> dict[str, Any]:
    """Host, cores, interpreter and package versions: what a reader needs to trust a number."""
    versions: dict[str, str] = {}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            continue
    return {
        "host": socket.gethostname(),
        "user": _user_name(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cores": default_cores(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "runtime": current_runtime().to_json(),
        "packages": versions,
        "blas_env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_"))},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command if command is not None else sys.argv,
    }


def load_results(path: Path) -> Results:
    """Read a results file of any supported version.

    Raises:
        ResultsFileError: missing, not JSON, not a dist-bench results file, or a newer version.
    """
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsFileError(f"results file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsFileError(f"cannot read results file {str(path)!r}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ResultsFileError(
            f"{str(path)!r} is not a dist-bench results file "
            f"(not JSON: {exc.msg}, line {exc.lineno})"
        ) from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise ResultsFileError(
            f'{str(path)!r} is not a dist-bench results file (no "schema": "{SCHEMA}")'
        )
    version = document.get("version")
    # A bool is an int to Python (true == 1) and a list is unhashable: neither is a version.
    if type(version) is not int:
        raise ResultsFileError(
            f"{str(path)!r} is a damaged results file: version is {_shown(version)}, "
            "not a whole number"
        )
    if version not in _LOADERS:
        raise ResultsFileError(
            f"{str(path)!r} has results version {version!r}; this dist-bench reads versions "
            f"{', '.join(map(str, _LOADERS))}: upgrade dist-bench to read it"
        )
    try:
        return _LOADERS[version](document)
    except ValueError as exc:
        raise ResultsFileError(f"{str(path)!r} is a damaged results file: {exc}") from None


def _load_v1(document: dict[str, Any]) -> Results:
    # Version 1 had no rounds: each record is round 0, the field's default.
    records = document.get("records")
    if isinstance(records, list) and any(isinstance(r, dict) and "round" in r for r in records):
        raise ValueError("a version 1 file has no rounds")
    return _load_v2(document)


def _load_v2(document: dict[str, Any]) -> Results:
    # Version 2 had one interpreter per file (every record and start is the file's own, ``""``)
    # and no node sweeps (each record's node fields are None, their default).
    for key in ("records", "backends"):
        items = document.get(key)
        if isinstance(items, list) and any(isinstance(i, dict) and "runtime" in i for i in items):
            raise ValueError(f"a version 2 file has no runtime in its {key}")
    records = document.get("records")
    if isinstance(records, list) and any(
        isinstance(r, dict) and any(r.get(name) is not None for name in _NODE_FIELDS)
        for r in records
    ):
        raise ValueError("a version 2 file has no node sweeps")
    return _load_v3(document)


#: The record fields version 3 added for node sweeps: a sweep's size, slice and kind of scaling.
_NODE_FIELDS = ("nodes", "node_cpus", "node_memory_bytes", "scaling")


def _load_v3(document: dict[str, Any]) -> Results:
    # Version 3 had no memory figures (each record's is None) and no worker sweeps (a scaling
    # belonged to a node sweep, with its node count).
    records = document.get("records")
    if isinstance(records, list):
        for index, item in enumerate(records):
            if not isinstance(item, dict):
                continue
            if item.get("peak_rss_growth_bytes") is not None:
                raise ValueError(f"a version 3 file has no memory figures (records[{index}])")
            if item.get("scaling") is not None and item.get("nodes") is None:
                raise ValueError(f"a version 3 file has no worker sweeps (records[{index}])")
    return _load_v4(document)


def _load_v4(document: dict[str, Any]) -> Results:
    # Version 4 kept, per record, the driver's peak memory growth over a job: a lower bound that
    # read near zero where the driver reused memory it had freed. Dropped: version 5 keeps a
    # slot's memory measured in fresh interpreters (metadata.slot_memory) instead.
    records = document.get("records")
    if isinstance(records, list):
        records = [
            {k: v for k, v in item.items() if k != "peak_rss_growth_bytes"}
            if isinstance(item, dict)
            else item
            for item in records
        ]
    return _load_v5({**document, "records": records})


def _load_v5(document: dict[str, Any]) -> Results:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata is {_shown(metadata)}, not an object")
    # The one metadata field dist-bench itself changes: each appending run adds itself to it.
    appended = metadata.get("appended_runs", [])
    if not isinstance(appended, list):
        raise ValueError(f"metadata.appended_runs is {_shown(appended)}, not a list")
    return Results(
        metadata=dict(metadata),
        backends=_build_all(BackendRun, document, "backends"),
        records=_build_all(Record, document, "records"),
    )


def _build_all(cls: type[Any], document: dict[str, Any], key: str) -> list[Any]:
    """The objects of list ``key``, each checked field by field against ``cls``'s types.

    Raises:
        ValueError: naming the first item and field that is missing, unknown or mistyped.
    """
    items = document.get(key)
    if not isinstance(items, list):
        raise ValueError(f"{key} is {_shown(items)}, not a list")
    hints = typing.get_type_hints(cls)
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    built = []
    for index, item in enumerate(items):
        where = f"{key}[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where} is {_shown(item)}, not an object")
        unknown = set(item) - set(hints)
        if unknown:
            raise ValueError(f"{where} has unknown fields {sorted(unknown)}")
        missing = [name for name in required if name not in item]
        if missing:
            raise ValueError(f"{where} has no {missing[0]!r}")
        for name, value in item.items():
            if not _has_type(value, hints[name]):
                expected = _type_name(hints[name])
                raise ValueError(f"{where}.{name} is {_shown(value)}, not {expected}")
        built.append(cls(**item))
    return built


def _has_type(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a field's type (the shapes ``Record`` and ``BackendRun`` use)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (types.UnionType, typing.Union):
        return any(_has_type(value, arg) for arg in args)
    if origin is list:
        return isinstance(value, list) and all(_has_type(item, args[0]) for item in value)
    if origin is dict:
        return isinstance(value, dict) and all(_has_type(item, args[1]) for item in value.values())
    if hint is float:
        # JSON writes 2.0 as 2.0 but a hand-edited file may say 2; NaN stands for "no CPU time".
        return type(value) in (int, float)
    if hint is type(None):
        return value is None
    # bool is a subclass of int: true is no task count, and 1 is no verdict.
    return type(value) is hint


def _type_name(hint: Any) -> str:
    """``int``, ``list[float]``, ``float | None``: a field's type as its annotation reads."""
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("NoneType", "None")


def _shown(value: Any) -> str:
    """A JSON value as the file spells it, cut short."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


#: One loader per schema version, so files written by older releases still open.
_LOADERS = {1: _load_v1, 2: _load_v2, 3: _load_v3, 4: _load_v4, 5: _load_v5}
