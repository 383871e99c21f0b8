"""The process's one Ray connection: embedded on loopback or connected, shared, closed, reaped.

Ray allows one session per process, so backends with the same settings share it (the last one to
close it ends it). Embedded, ``ray.init`` starts a private single-node Ray (GCS, raylet, worker
processes) sized to this machine, listening on loopback only, and closing it reaps every process
it started, by PID (``ray stop`` would kill every Ray on the machine).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, NoReturn

import psutil
import ray
from ray.exceptions import AuthenticationError

from dist_bench.backends.engine_output import EngineOutput
from dist_bench.backends.ray.address import RayAddress
from dist_bench.backends.ray.auth import (
    AUTH_MODE_VAR,
    auth_message,
    reset_ray_auth_state,
    restore_auth_mode,
    token_source,
    wants_token,
)
from dist_bench.backends.ray.private import private
from dist_bench.backends.ray.probe import probe_gcs, probe_tcp, resolve_auto
from dist_bench.backends.ray.tasks import one_line
from dist_bench.errors import ClusterConnectionError

logger = logging.getLogger(__name__)

#: Ray Client connections tried before giving up: its server sometimes loses the server
#: process it starts per connection (seen against a host Ray and once against the containers).
CLIENT_ATTEMPTS = 3
#: Seconds ``close_session`` waits for embedded Ray processes to exit before killing them.
REAP_TIMEOUT_S = 10.0

#: Variables that size BLAS/OpenMP thread pools when a worker process starts.
BLAS_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
#: Ray binds its servers to loopback only when its node address is loopback, and it picks a
#: loopback node address only when it believes clusters are off (its rule for macOS and
#: Windows): this variable says so to every Ray process the embedded ``ray.init`` starts.
_LOCAL_ONLY_VAR = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@dataclass(frozen=True)
class SessionSettings:
    """What a session is opened with; backends with equal settings share one session.

    Attributes:
        target: Where to connect (``embedded`` starts a private Ray).
        cpus: CPUs of an embedded Ray (ignored with an address).
        blas_threads: BLAS/OpenMP threads per worker process.
    """

    target: RayAddress
    cpus: int
    blas_threads: int

    @property
    def key(self) -> tuple[Any, ...]:
        """What must match to share a session (an address ignores ``cpus``)."""
        if self.target.kind == "embedded":
            return ("embedded", self.cpus, self.blas_threads)
        return (self.target, self.blas_threads)


@dataclass
class Session:
    """The process's one Ray connection.

    Attributes:
        key: Settings that must match to share it.
        users: Started backends using it.
        connected_to: ``embedded ray.init`` or the address connected to.
        saved_auth_mode: ``RAY_AUTH_MODE`` before the session (``ray.init`` and ``connect`` may
            set it), as a 1-tuple; ``None`` until saved.
        processes: Processes the embedded ``ray.init`` started (our new descendants).
        output: What Ray logs in this process while the session is open, and the raylet's
            messages to this driver: kept in a log file, summed up as notes.
    """

    key: tuple[Any, ...]
    users: int = 1
    connected_to: str = ""
    saved_auth_mode: tuple[str | None] | None = None
    processes: list[psutil.Process] = field(default_factory=list)
    output: EngineOutput = field(
        default_factory=lambda: EngineOutput("ray", loggers=("ray",), packages=("ray",))
    )


_session: Session | None = None
_session_lock = threading.RLock()


def open_session(settings: SessionSettings) -> Session:
    """Join the running session if it has these settings, else start or connect one.

    Raises:
        ClusterConnectionError: the embedded Ray did not start, or the address refused us.
        RuntimeError: this process is already connected to Ray with other settings.
    """
    global _session
    with _session_lock:
        if _session is not None and ray.is_initialized():
            if _session.key != settings.key:
                raise RuntimeError(
                    f"this process is already connected to Ray ({_session.connected_to}); "
                    "shut that backend down before starting one with other settings"
                )
            _session.users += 1
            return _session
        if ray.is_initialized():
            raise RuntimeError(
                "this process is already connected to Ray by other code; call ray.shutdown() "
                "before starting the ray backend"
            )
        session = Session(settings.key)
        try:
            _capture_output(session.output)
            if settings.target.kind == "embedded":
                _start_embedded(session, settings)
            else:
                _connect(session, settings)
        except BaseException:
            session.users = 1
            close_session(session)
            raise
        _session = session
        return session


def close_session(session: Session) -> None:
    """Drop one user; the last one shuts Ray down, reaps what it started and restores the env."""
    global _session
    with _session_lock:
        session.users -= 1
        if session.users > 0:
            return
        if _session is session:
            _session = None
        try:
            if ray.is_initialized():
                ray.shutdown()
        finally:
            _release_output(session.output)
            _reap(session.processes)
            session.processes = []
            restore_auth_mode(session.saved_auth_mode)
            session.saved_auth_mode = None


#: Where Ray prints the raylet's messages to the driver (a worker died...): straight to
#: ``sys.stdout``, from its error-listening thread, which looks the function up at each message.
_PRINT_MODULE, _PRINT_FUNCTION = "ray._private.worker", "print_to_stdstream"


def _capture_output(output: EngineOutput) -> None:
    """Route Ray's loggers and the raylet's messages to ``output`` (until ``_release_output``)."""
    output.open()

    def print_to_log(data: dict[str, Any], ignore_prefix: bool = False) -> None:
        source = f"({data.get('pid', 'ray')})"
        output.record(source, "\n".join(str(line) for line in data.get("lines", [])))

    with contextlib.suppress(ImportError, AttributeError):  # private: if it moved, Ray prints
        module = importlib.import_module(_PRINT_MODULE)
        original = getattr(module, _PRINT_FUNCTION)
        setattr(module, _PRINT_FUNCTION, print_to_log)
        _saved_printers.append((module, original))


def _release_output(output: EngineOutput) -> None:
    """Undo ``_capture_output``."""
    while _saved_printers:
        module, original = _saved_printers.pop()
        setattr(module, _PRINT_FUNCTION, original)
    output.close()


#: The printers ``_capture_output`` replaced, to put back.
_saved_printers: list[tuple[ModuleType, Any]] = []


def _start_embedded(session: Session, settings: SessionSettings) -> None:
    mode = os.environ.get(AUTH_MODE_VAR)
    if wants_token(mode):
        token_source()  # a bad RAY_AUTH_TOKEN_PATH would abort the process inside ray.init
    session.saved_auth_mode = (mode,)
    reset_ray_auth_state()
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    # Ray's processes inherit the environment at ray.init: cap BLAS/OpenMP in every worker
    # from birth (N workers x a BLAS pool per core would oversubscribe the cores), keep every
    # server on loopback, and hide RAY_ADDRESS, with which ray.init would join that cluster
    # instead of starting its own.
    environment = {**dict.fromkeys(BLAS_ENV_VARS, str(settings.blas_threads)), _LOCAL_ONLY_VAR: "0"}
    with _environ(environment, unset_vars=("RAY_ADDRESS",)), _loopback_node_address():
        try:
            ray.init(
                num_cpus=settings.cpus,
                include_dashboard=False,
                object_store_memory=_object_store_bytes(),
                _memory=_memory_bytes(),
                log_to_driver=False,
                logging_level=logging.ERROR,
                namespace="dist-bench",
            )
        except Exception as exc:
            raise ClusterConnectionError(
                f"the embedded Ray did not start: {one_line(exc)}"
            ) from exc
        finally:
            # Recorded even if ray.init failed half-way, so the session close reaps them.
            session.processes = [
                p for p in me.children(recursive=True) if p.pid not in before and _is_ray_process(p)
            ]
    session.connected_to = "embedded ray.init"


@contextlib.contextmanager
def _loopback_node_address() -> Iterator[None]:
    """Have this driver pick loopback as the embedded node's address while ``ray.init`` runs.

    The driver read ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` when it imported Ray, so its copy is
    set for the call (the processes it starts read the variable themselves). A private
    constant: if it moves, Ray binds as it likes and the loopback test says so.
    """
    try:
        constants: Any = private("ray._private", "ray_constants")
        previous = constants.ENABLE_RAY_CLUSTER
    except AttributeError:  # pragma: no cover - the constant moved
        yield
        return
    constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        constants.ENABLE_RAY_CLUSTER = previous


def _connect(session: Session, settings: SessionSettings) -> None:
    target = settings.target
    if target.kind == "auto":
        target = resolve_auto()
    assert target.host is not None
    assert target.port is not None
    where = target.hostport
    probe_tcp(target.host, target.port, where)
    mode = os.environ.get(AUTH_MODE_VAR)
    # Ray reads no token when the user turned auth off; otherwise find it (or fail) now.
    source = token_source() if wants_token(mode) else None
    if mode is not None and mode.lower() == "token" and source is None:
        # Ray's C++ client aborts the whole process on this; say it in one line instead.
        raise ClusterConnectionError(auth_message(where, None))
    session.saved_auth_mode = (mode,)
    if mode is None and source is not None:
        os.environ[AUTH_MODE_VAR] = "token"
    reset_ray_auth_state()
    if target.kind == "gcs":
        probe_gcs(where, source)
    # Remote workers' environment is the cluster's: cap BLAS through the job's runtime_env.
    init_args: dict[str, Any] = {
        "runtime_env": {"env_vars": dict.fromkeys(BLAS_ENV_VARS, str(settings.blas_threads))},
        "namespace": "dist-bench",
    }
    if target.kind != "client":
        # Ray Client forwards extra arguments to a ray.init on the server; keep them local.
        init_args.update(log_to_driver=False, logging_level=logging.ERROR)
    for attempt in range(1, CLIENT_ATTEMPTS + 1):
        try:
            ray.init(address=target.for_ray_init, **init_args)
            break
        except AuthenticationError as exc:
            raise ClusterConnectionError(auth_message(where, source)) from exc
        except Exception as exc:
            if (
                target.kind == "client"
                and attempt < CLIENT_ATTEMPTS
                and "Initialization failure from server" in str(exc)
            ):
                # Ray Client's server sometimes loses the per-connection server process it
                # has just started (grpcio crashing in it); connecting again works.
                continue
            _raise_connect_error(where, exc)
    session.connected_to = target.for_ray_init or where


def _raise_connect_error(where: str, exc: Exception) -> NoReturn:
    """``ray.init`` failed: one line, with a hint where the cause is known."""
    hint = ""
    if "Version mismatch" in str(exc):
        hint = (
            " (Ray and Python must match the cluster's; for a different Python patch "
            "release set RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL=minor on every node)"
        )
    raise ClusterConnectionError(
        f"could not connect to the Ray cluster at {where}: {one_line(exc)}{hint}"
    ) from exc


@contextlib.contextmanager
def _environ(set_vars: dict[str, str], unset_vars: Sequence[str] = ()) -> Iterator[None]:
    """Set and unset environment variables for the block, then put them back."""
    saved = {name: os.environ.get(name) for name in (*set_vars, *unset_vars)}
    try:
        os.environ.update(set_vars)
        for name in unset_vars:
            os.environ.pop(name, None)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _object_store_bytes() -> int:
    """Object store for an embedded Ray: 15% of available RAM, 256 MiB to 4 GiB.

    Ray's default (30% of RAM) is sized for a machine given over to Ray; dist-bench shares the
    machine with the driver, which builds the same inputs, and with the other backends.
    """
    available = psutil.virtual_memory().available
    return int(min(max(available * 0.15, 256 * 2**20), 4 * 2**30))


def _memory_bytes() -> int:
    """Ray's logical ``memory`` resource: half of available RAM, so its view is honest."""
    return int(max(psutil.virtual_memory().available * 0.5, 512 * 2**20))


def _reap(processes: Sequence[psutil.Process]) -> None:
    """Wait for the processes an embedded ``ray.init`` started to exit; kill any that linger.

    Only processes recorded as new descendants of this process at ``ray.init`` are touched, so
    nothing this run did not start is ever signalled.
    """
    alive = [p for p in processes if _still_running(p)]
    if not alive:
        return
    _, alive = psutil.wait_procs(alive, timeout=REAP_TIMEOUT_S)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            logger.warning("killing leftover Ray process %s (%s)", process.pid, process.name())
            process.kill()
    psutil.wait_procs(alive, timeout=5)


def _is_ray_process(process: psutil.Process) -> bool:
    """Whether a process is Ray's (gcs_server, raylet, ray::..., Python under ray/)."""
    try:
        return "ray" in process.name() or any("ray" in part for part in process.cmdline())
    except psutil.Error:
        return False


def _still_running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
