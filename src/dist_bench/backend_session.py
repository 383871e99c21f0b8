"""One backend's part of a run: started and shut down (timed), its jobs measured in between.

Every measuring command (``run``, ``cutover``, the lesson shapes, node sweeps) starts a backend
and measures prepared jobs on it through these two functions: a remote cluster's versions are
checked once it starts, and a task that fails becomes its record's error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType

from dist_bench.backends.base import Backend
from dist_bench.chunking import measure_dispatch_s
from dist_bench.errors import TaskFailedError
from dist_bench.measure import MeasureSettings, PreparedJob, measure, new_record
from dist_bench.results import BackendRun, Record
from dist_bench.results_writer import ResultsWriter
from dist_bench.units import AUTO
from dist_bench.versions import VersionCheck, check_versions, client_versions
from dist_bench.workload import started_environment


@contextmanager
def started_backend(
    backend: Backend,
    modules: list[ModuleType],
    writer: ResultsWriter,
    on_version_check: Callable[[str, VersionCheck], None] = lambda backend, check: None,
    probe_dispatch: bool = False,
) -> Iterator[BackendRun]:
    """Start ``backend`` (timed), check a remote cluster's versions, and shut it down (timed).

    The start is recorded in ``writer`` at once, its shutdown time when the block ends, however
    it ends. With ``probe_dispatch``, the backend's cost per dispatch is measured once after it
    starts, for ``--chunk auto`` (``chunking.measure_dispatch_s``).

    Raises:
        ClusterConnectionError: the cluster refused us or its versions mismatch hard.
    """
    run = BackendRun(backend.name, startup_s=0.0)
    try:
        started = time.perf_counter()
        backend.start(ship=modules)
        run.startup_s = time.perf_counter() - started
        run.topology = backend.describe()
        if probe_dispatch:
            run.dispatch_s = measure_dispatch_s(backend)
        writer.add_backend_run(run)
        if backend.remote:
            check = _check_cluster_versions(backend, run)
            on_version_check(backend.name, check)
            writer.save()
            check.raise_if_hard(backend.name)
        yield run
    finally:
        started = time.perf_counter()
        backend.shutdown()
        run.shutdown_s = time.perf_counter() - started
        writer.save()


def _check_cluster_versions(backend: Backend, run: BackendRun) -> VersionCheck:
    check = check_versions(client_versions(), backend.remote_versions(), backend.engine_packages)
    run.topology["versions"] = {"client": check.client, "nodes": check.nodes}
    run.topology["version_warnings"] = check.soft + check.hard
    return check


def measure_prepared(
    backend: Backend,
    prepared: PreparedJob,
    settings: MeasureSettings,
    on_job_done: Callable[[], None] = lambda: None,
) -> Record:
    """Measure one prepared job on a started backend; a failing task becomes the record's error."""
    with started_environment(prepared.workload, prepared.job) as running:
        tasks = prepared.workload.make_tasks(running)
        try:
            return measure(
                backend,
                PreparedJob(prepared.workload, running, prepared.reference),
                tasks,
                settings,
                on_job_done,
            )
        except TaskFailedError as exc:
            failed = new_record(backend, prepared)
            failed.error = str(exc)
            failed.chunk_auto = settings.chunk == AUTO
            failed.chunk = settings.chunk if isinstance(settings.chunk, int) else 1
            return failed
