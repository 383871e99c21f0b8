"""The Ray backend: tasks on an embedded ``ray.init()`` or on a running Ray cluster.

Embedded (no ``--address``), ``ray.init`` starts a private single-node Ray (GCS, raylet, worker
processes) sized to this machine and ``shutdown`` stops every process it started. With
``--address`` the driver joins a running cluster: ``auto`` or ``HOST:PORT`` (the GCS port) need
this machine to be one of the cluster's nodes, because a Ray driver talks to its local raylet;
``ray://HOST:10001`` goes through Ray Client (the optional ``dist-bench[ray-client]`` extra) from
anywhere.

Ray is slow to give up on a bad address (20-60 s of retries in C++), so an address is probed
first: a plain TCP connect, then one GCS request under a deadline, which also reports a missing
or rejected auth token and a driver that is not on a node, each as one line.

Token auth (Ray 2.52+; on by default for ``ray.init`` since 2.59): ``RAY_AUTH_MODE`` selects
``token`` or ``disabled``; the token comes, in Ray's order, from ``RAY_AUTH_TOKEN``, the file named
by ``RAY_AUTH_TOKEN_PATH``, or ``~/.ray/auth_token``. Embedded, Ray generates that file when it is
missing. With an address, Ray itself sends a token only for ``auto``; this backend also sends it
for ``HOST:PORT`` when ``RAY_AUTH_MODE`` is unset and a token exists (a cluster without auth
ignores it), and puts ``RAY_AUTH_MODE`` back as it was on shutdown.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import psutil
import ray
from ray import cloudpickle as ray_cloudpickle
from ray.exceptions import AuthenticationError, RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from dist_bench.backends.base import Backend, BackendOptions, TaskError, default_cores
from dist_bench.errors import ClusterConnectionError, EngineNotInstalledError, UsageError
from dist_bench.units import parse_port

logger = logging.getLogger(__name__)

# Parts of Ray's API without type hints (ray.nodes, its vendored cloudpickle) and private ones,
# reached through Any-typed names so mypy --strict checks everything else.
_ray_untyped: Any = ray
_cloudpickle: Any = ray_cloudpickle


def _private(module: str, name: str) -> Any:
    """A private Ray object (no stability promise, so every use has a fallback)."""
    return getattr(importlib.import_module(module), name)


#: The address forms ``--address`` accepts, for error messages.
ACCEPTED_ADDRESSES = (
    "'auto', 'HOST:PORT' (the GCS port of a cluster this machine is a node of) "
    "or 'ray://HOST:10001' (Ray Client)"
)
#: What to tell a user whose address answers nothing.
START_HINT = "start one with `ray start --head`"
#: Port of Ray Client's server when ``ray://HOST`` gives none.
RAY_CLIENT_PORT = 10001

#: Seconds to wait for a TCP connection to the address.
_TCP_TIMEOUT_S = 3.0
#: Ray Client connections tried before giving up: its server sometimes loses the server
#: process it starts per connection (seen against a host Ray and once against the containers).
_CLIENT_ATTEMPTS = 3
#: Seconds to wait for the GCS to answer one request (Ray itself retries for 40 s).
_GCS_PROBE_TIMEOUT_S = 5.0
#: Seconds ``start`` waits for the warm-up tasks (a worker process per CPU).
_WARM_UP_TIMEOUT_S = 120.0
#: Seconds ``remote_versions`` waits for its one task per node.
_VERSIONS_TIMEOUT_S = 60.0
#: Seconds a failed job waits for its other tasks to end before raising.
_SETTLE_TIMEOUT_S = 60.0
#: Seconds ``shutdown`` waits for embedded Ray processes to exit before killing them.
_REAP_TIMEOUT_S = 10.0

#: Variables that size BLAS/OpenMP thread pools when a worker process starts.
_BLAS_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
_AUTH_MODE_VAR = "RAY_AUTH_MODE"
_AUTH_TOKEN_VAR = "RAY_AUTH_TOKEN"
_AUTH_TOKEN_PATH_VAR = "RAY_AUTH_TOKEN_PATH"


@dataclass(frozen=True)
class RayAddress:
    """A parsed ``--address``.

    Attributes:
        kind: ``embedded`` (no address), ``auto``, ``gcs`` (``HOST:PORT``) or ``client``
            (``ray://``).
        host: Host to connect to (``None`` for ``embedded`` and ``auto``).
        port: Port to connect to (``None`` for ``embedded`` and ``auto``).
    """

    kind: str
    host: str | None = None
    port: int | None = None

    @property
    def hostport(self) -> str:
        """``HOST:PORT`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def for_ray_init(self) -> str | None:
        """What ``ray.init(address=...)`` is given."""
        if self.kind == "embedded":
            return None
        if self.kind == "auto":
            return "auto"
        if self.kind == "client":
            return f"ray://{self.hostport}"
        return self.hostport


def parse_address(address: str | None) -> RayAddress:
    """Parse ``--address`` for Ray without touching the network.

    Raises:
        UsageError: a scheme other than ``ray://``, or no valid ``HOST:PORT``.
    """
    if address is None or address.strip() == "":
        return RayAddress("embedded")
    text = address.strip()
    if text == "auto":
        return RayAddress("auto")
    kind, rest, default_port = "gcs", text, None
    if "://" in text:
        scheme, rest = text.split("://", 1)
        if scheme.lower() != "ray":
            raise UsageError(
                f"Ray address {address!r}: {scheme}:// is not a Ray address; "
                f"use {ACCEPTED_ADDRESSES}"
            )
        kind, default_port = "client", RAY_CLIENT_PORT
    rest = rest.rstrip("/")
    host, port = _split_host_port(rest, default_port)
    if host is None or port is None:
        raise UsageError(f"Ray address {address!r} is not valid; use {ACCEPTED_ADDRESSES}")
    return RayAddress(kind, host, port)


def _split_host_port(text: str, default_port: int | None) -> tuple[str | None, int | None]:
    if text.startswith("["):  # [IPv6]:port
        host, _, after = text[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ("" if not after else None)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif ":" in text:
        return None, None  # a bare IPv6 address is ambiguous without brackets
    else:
        host, port_text = text, ""
    if not host or "/" in host or port_text is None:
        return None, None
    if port_text == "":
        return host, default_port
    try:
        return host, parse_port(port_text)
    except ValueError:
        return None, None


def ray_client_installed() -> bool:
    """Whether Ray Client can be used here (it needs ``grpcio``, from ``ray[client]``)."""
    return importlib.util.find_spec("grpc") is not None


@dataclass(frozen=True)
class _TaskFunctions:
    """The plain functions behind the backend's Ray remote functions (see ``_task_functions``)."""

    call: Callable[..., tuple[int, Any]]
    bind: Callable[[bytes], Callable[..., tuple[int, Any]]]
    versions: Callable[[], dict[str, str]]


def _task_functions() -> _TaskFunctions:
    """The functions Ray runs on workers.

    Defined inside a function on purpose: cloudpickle sends such functions by value, so workers
    that do not have dist-bench installed (a remote cluster) can still run them. They only import
    what every Ray worker has. Each returns the task's attempt number with its value, so the
    driver learns of retries.
    """

    def attempt_number() -> int:
        # Which try of this task this is (0 first): a retry means Ray lost a worker or node while
        # running it. Ray has no public API for it; 0 when the private one moves.
        try:
            import ray._private.worker

            worker: Any = ray._private.worker.global_worker
            return int(worker.core_worker.get_current_task_attempt_number())
        except Exception:
            return 0

    def call(fn: Callable[..., Any], *args: Any) -> tuple[int, Any]:
        # Arguments are top-level, so Ray resolves placed ObjectRefs before the call.
        return attempt_number(), fn(*args)

    def bind(pickled_fn: bytes) -> Callable[..., tuple[int, Any]]:
        # ``call`` with the function built in: Ray ships a remote function once, not with every
        # task, which saves ~15% of Ray's per-task cost on tiny tasks. The function travels
        # pickled and is loaded inside the first task on each worker, so a worker that cannot
        # load it (a module it lacks) raises that error from the task, like ``call`` does,
        # instead of Ray's multi-line "failed to import" placeholder.
        loaded: list[Callable[..., Any]] = []

        def bound(*args: Any) -> tuple[int, Any]:
            if not loaded:
                import pickle

                loaded.append(pickle.loads(pickled_fn))
            return attempt_number(), loaded[0](*args)

        return bound

    def versions() -> dict[str, str]:
        import importlib.metadata
        import importlib.util
        import platform
        import socket

        import ray
        import ray.util

        def version(distribution: str) -> str:
            try:
                return importlib.metadata.version(distribution)
            except importlib.metadata.PackageNotFoundError:
                return "missing"

        def importable(module: str) -> bool:
            # Installed metadata is not enough: the package must import on this node.
            try:
                return importlib.util.find_spec(module) is not None
            except ImportError:
                return False

        node_id = ray.get_runtime_context().get_node_id()
        return {
            "node": f"{ray.util.get_node_ip_address()} ({node_id[:8]})",  # type: ignore[no-untyped-call]
            "hostname": socket.gethostname(),
            "python": platform.python_version(),
            "ray": ray.__version__,
            "numpy": version("numpy"),
            "cloudpickle": version("cloudpickle"),
            "msgpack": version("msgpack"),
            "dist_bench": version("dist-bench") if importable("dist_bench") else "missing",
        }

    return _TaskFunctions(call=call, bind=bind, versions=versions)


def _as_task(function: Callable[..., Any]) -> Any:
    """A Ray remote function for ``function``, with the retry policy of every task.

    Ray's default for lost workers (three retries) and none for exceptions: a task that raises
    is a failed benchmark, not something to run again.
    """
    return ray.remote(num_cpus=1, max_retries=3, retry_exceptions=False)(function)


class RayTaskFuture:
    """What ``RayBackend.submit`` returns: ``result(timeout)`` over an ``ObjectRef``."""

    def __init__(self, backend: RayBackend, ref: ray.ObjectRef[Any]) -> None:
        self._backend = backend
        self.ref = ref

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the task; raise the task's own exception if it raised.

        Raises:
            TimeoutError: ``timeout`` seconds passed (Ray's ``GetTimeoutError`` is one).
        """
        try:
            attempt, value = ray.get(self.ref, timeout=timeout)
        except RayError as exc:
            raise _original_exception(exc) from None
        self._backend._count_attempts([attempt])
        return value

    def done(self) -> bool:
        """Whether the task has finished (or failed)."""
        ready, _ = ray.wait([self.ref], timeout=0)
        return bool(ready)

    def cancel(self) -> bool:
        """Refuse, as ``Future.cancel`` does for a task it cannot stop: return False.

        ``ray.cancel`` on a task whose reply is arriving aborts the whole driver in Ray 2.60
        (task_manager.cc "Tried to complete task that was not pending"; seen in this project's
        test runs), so the task is left to finish.
        """
        return False


def _original_exception(exc: BaseException) -> BaseException:
    """The exception behind Ray's wrapper.

    That is what the task raised (``RayTaskError.cause``), or what stopped a worker from loading
    the task (``RaySystemError.client_exc``, e.g. a module it does not have).
    """
    for _ in range(3):  # a task whose argument would not load: RayTaskError(RaySystemError(...))
        inner = getattr(exc, "cause", None) or getattr(exc, "client_exc", None)
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


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


def token_source() -> str | None:
    """Where Ray will read its auth token from here, in Ray's order; ``None`` when nowhere.

    Raises:
        ClusterConnectionError: ``RAY_AUTH_TOKEN_PATH`` names a missing or empty file; Ray treats
            that as fatal and aborts the whole process, so it is caught here first.
    """
    if os.environ.get(_AUTH_TOKEN_VAR, "").strip():
        return f"the {_AUTH_TOKEN_VAR} environment variable"
    path_text = os.environ.get(_AUTH_TOKEN_PATH_VAR)
    if path_text:
        try:
            ok = bool(Path(path_text).expanduser().read_text().strip())
        except OSError:
            ok = False
        if not ok:
            raise ClusterConnectionError(
                f"{_AUTH_TOKEN_PATH_VAR}={path_text} is not a readable file holding the Ray auth "
                f"token; fix the path or unset {_AUTH_TOKEN_PATH_VAR}"
            )
        return f"{path_text} ({_AUTH_TOKEN_PATH_VAR})"
    default = default_token_path()
    try:
        if default.is_file() and default.read_text().strip():
            return str(default)
    except OSError:
        pass
    return None


def default_token_path() -> Path:
    """Ray's default token file, ``~/.ray/auth_token``."""
    return Path.home() / ".ray" / "auth_token"


def _reset_ray_auth_state() -> None:
    """Make Ray re-read ``RAY_AUTH_MODE`` and the token, which it caches per process.

    Needed because this process may connect more than once with different settings (an embedded
    run turns token mode on; a test changes the token). Uses the calls Ray's own tests use; skipped
    if a Ray version lacks them.
    """
    if ray.is_initialized():
        return
    try:
        _private("ray._raylet", "Config").initialize("")
        _private("ray._raylet", "AuthenticationTokenLoader").instance().reset_cache()
    except Exception as exc:  # pragma: no cover - older Ray without token auth, or API moved
        logger.debug("could not reset Ray's auth state: %s", exc)


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


@dataclass
class _Session:
    """The process's one Ray connection, shared by backends with the same settings.

    Attributes:
        key: Settings that must match to share it.
        users: Started backends using it.
        connected_to: ``embedded ray.init`` or the address connected to.
        saved_auth_mode: ``RAY_AUTH_MODE`` before the session (``ray.init`` and ``_connect`` may
            set it), as a 1-tuple; ``None`` until saved.
        processes: Processes the embedded ``ray.init`` started (our new descendants).
    """

    key: tuple[Any, ...]
    users: int = 1
    connected_to: str = ""
    saved_auth_mode: tuple[str | None] | None = None
    processes: list[psutil.Process] = field(default_factory=list)


_session: _Session | None = None
_session_lock = threading.RLock()
#: Modules this backend registered for pickling by value, and how many backends use each.
_by_value_users: dict[str, int] = {}


def _open_session(backend: RayBackend) -> _Session:
    """Join the running session if it has ``backend``'s settings, else start or connect one."""
    global _session
    key = backend._session_key()
    with _session_lock:
        if _session is not None and ray.is_initialized():
            if _session.key != key:
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
        session = _Session(key)
        try:
            if backend.target.kind == "embedded":
                backend._start_embedded(session)
            else:
                backend._connect(session)
        except BaseException:
            session.users = 1
            _close_session(session)
            raise
        _session = session
        return session


def _close_session(session: _Session) -> None:
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
            _reap(session.processes)
            session.processes = []
            _restore_auth_mode(session.saved_auth_mode)
            session.saved_auth_mode = None


def _reap(processes: Sequence[psutil.Process]) -> None:
    """Wait for the processes an embedded ``ray.init`` started to exit; kill any that linger.

    Only processes recorded as new descendants of this process at ``ray.init`` are touched, so
    nothing this run did not start is ever signalled.
    """
    alive = [p for p in processes if _still_running(p)]
    if not alive:
        return
    _, alive = psutil.wait_procs(alive, timeout=_REAP_TIMEOUT_S)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            logger.warning("killing leftover Ray process %s (%s)", process.pid, process.name())
            process.kill()
    psutil.wait_procs(alive, timeout=5)


def _restore_auth_mode(saved: tuple[str | None] | None) -> None:
    if saved is None:
        return  # the session never got as far as saving it
    (value,) = saved
    if value is None:
        os.environ.pop(_AUTH_MODE_VAR, None)
    else:
        os.environ[_AUTH_MODE_VAR] = value
    _reset_ray_auth_state()


def _acquire_by_value(modules: Sequence[ModuleType]) -> list[str]:
    """Register ``modules`` for pickling by value; return the names to release later.

    Counted, because two backends may ship the same module; modules someone else registered are
    left alone.
    """
    acquired: list[str] = []
    with _session_lock:
        registered = set(_cloudpickle.list_registry_pickle_by_value())
        for module in modules:
            name = module.__name__
            if name in acquired or (name in registered and name not in _by_value_users):
                continue
            if name not in registered:
                _cloudpickle.register_pickle_by_value(module)
                registered.add(name)
            _by_value_users[name] = _by_value_users.get(name, 0) + 1
            acquired.append(name)
    return acquired


def _release_by_value(names: Sequence[str]) -> None:
    """Undo ``_acquire_by_value``: the last user of a module unregisters it."""
    with _session_lock:
        for name in names:
            _by_value_users[name] -= 1
            if _by_value_users[name] == 0:
                del _by_value_users[name]
                with contextlib.suppress(Exception):
                    _cloudpickle.unregister_pickle_by_value(sys.modules[name])


class RayBackend(Backend):
    """Runs tasks as Ray tasks on an embedded Ray or on a cluster given by ``--address``.

    ``remote`` is true with an address. ``--workers`` sets the CPUs of an embedded Ray and is
    ignored with an address (the cluster has the CPUs its nodes were started with).
    """

    name = "ray"
    places_data = True

    def __init__(self, options: BackendOptions | None = None) -> None:
        super().__init__(options)
        self.target = parse_address(self.options.address)
        self.remote = self.target.kind != "embedded"
        if self.target.kind == "client" and not ray_client_installed():
            raise EngineNotInstalledError(
                f"Ray address {self.options.address!r} uses Ray Client, which needs grpcio; run: "
                "pip install 'dist-bench[ray-client]' (or give the cluster's GCS HOST:PORT from "
                "one of its nodes)"
            )
        self._session: _Session | None = None
        self._functions: _TaskFunctions | None = None
        self._call: Any = None
        #: A remote function per task function, so the function is not sent with every task.
        self._bound: dict[Callable[..., Any], Any] = {}
        self._versions: Any = None
        self._by_value: list[str] = []
        self._nodes: dict[str, str] = {}
        self._retried = 0
        self._lock = threading.Lock()

    @property
    def _connected(self) -> bool:
        return self._session is not None

    @property
    def _connected_to(self) -> str:
        return self._session.connected_to if self._session is not None else ""

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, ship: Sequence[ModuleType] = ()) -> None:
        """Start or connect to Ray, ship ``ship`` by value, and bring a worker up per CPU.

        Ray allows one session per process, so a second backend with the same settings started
        while one is running shares its session (the last one to shut down ends it).

        Raises:
            ClusterConnectionError: the address is unreachable, is not a Ray GCS, refused our
                token, this machine is not a node of it, or the cluster has no CPUs.
            RuntimeError: this process is already connected to another Ray session.
        """
        if self._session is not None:
            raise RuntimeError("ray backend started twice; shut it down first")
        try:
            self._ship_by_value(ship)
            self._session = _open_session(self)
            self._functions = functions = _task_functions()
            self._call = _as_task(functions.call)
            self._versions = ray.remote(num_cpus=0, max_retries=1)(functions.versions)
            self._nodes = self._alive_nodes()
            self._warm_up()
        except BaseException:
            self._teardown()
            raise
        super().start(ship)

    def shutdown(self) -> None:
        """Disconnect; embedded, also make sure every Ray process this run started has exited."""
        self._teardown()
        super().shutdown()

    def _teardown(self) -> None:
        session, self._session = self._session, None
        self._call = self._versions = self._functions = None
        self._bound.clear()
        try:
            if session is not None:
                _close_session(session)
        finally:
            _release_by_value(self._by_value)
            self._by_value = []

    def _ship_by_value(self, ship: Sequence[ModuleType]) -> None:
        """Pickle the user's modules by value, since no worker can import them by name.

        Modules of dist-bench itself are importable on local workers; a remote cluster may lack
        dist-bench, so there everything in ``ship`` goes by value, and ``dist_bench.worker``
        (``timed_call``) too.
        """
        modules = [m for m in ship if self.remote or not m.__name__.startswith("dist_bench.")]
        if self.remote:
            modules.append(importlib.import_module("dist_bench.worker"))
        self._by_value = _acquire_by_value(modules)

    def _session_key(self) -> tuple[Any, ...]:
        """Backends with equal keys can share one Ray session."""
        if self.target.kind == "embedded":
            return ("embedded", self.options.workers or default_cores(), self.options.blas_threads)
        return (self.target, self.options.blas_threads)

    def _start_embedded(self, session: _Session) -> None:
        mode = os.environ.get(_AUTH_MODE_VAR)
        if mode is None or mode.lower() == "token":
            token_source()  # a bad RAY_AUTH_TOKEN_PATH would abort the process inside ray.init
        session.saved_auth_mode = (mode,)
        _reset_ray_auth_state()
        me = psutil.Process()
        before = {p.pid for p in me.children(recursive=True)}
        blas = str(self.options.blas_threads)
        # Ray's processes inherit the environment at ray.init: cap BLAS/OpenMP in every worker
        # from birth (N workers x a BLAS pool per core would oversubscribe the cores), and hide
        # RAY_ADDRESS, with which ray.init would join that cluster instead of starting its own.
        with _environ(dict.fromkeys(_BLAS_ENV_VARS, blas), unset_vars=("RAY_ADDRESS",)):
            try:
                ray.init(
                    num_cpus=self.options.workers or default_cores(),
                    include_dashboard=False,
                    object_store_memory=_object_store_bytes(),
                    _memory=_memory_bytes(),
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                    namespace="dist-bench",
                )
            except Exception as exc:
                raise ClusterConnectionError(
                    f"the embedded Ray did not start: {_one_line(exc)}"
                ) from exc
            finally:
                # Recorded even if ray.init failed half-way, so the session close reaps them.
                session.processes = [
                    p
                    for p in me.children(recursive=True)
                    if p.pid not in before and _is_ray_process(p)
                ]
        session.connected_to = "embedded ray.init"

    def _connect(self, session: _Session) -> None:
        target = self.target
        if target.kind == "auto":
            target = self._resolve_auto()
        assert target.host is not None
        assert target.port is not None
        where = target.hostport
        self._probe_tcp(target.host, target.port, where)
        mode = os.environ.get(_AUTH_MODE_VAR)
        # Ray reads no token when the user turned auth off; otherwise find it (or fail) now.
        source = token_source() if mode is None or mode.lower() == "token" else None
        if mode is not None and mode.lower() == "token" and source is None:
            # Ray's C++ client aborts the whole process on this; say it in one line instead.
            raise ClusterConnectionError(_auth_message(where, None))
        session.saved_auth_mode = (mode,)
        if mode is None and source is not None:
            os.environ[_AUTH_MODE_VAR] = "token"
        _reset_ray_auth_state()
        if target.kind == "gcs":
            self._probe_gcs(where, source)
        blas = str(self.options.blas_threads)
        # Remote workers' environment is the cluster's: cap BLAS through the job's runtime_env.
        init_args: dict[str, Any] = {
            "runtime_env": {"env_vars": dict.fromkeys(_BLAS_ENV_VARS, blas)},
            "namespace": "dist-bench",
        }
        if target.kind != "client":
            # Ray Client forwards extra arguments to a ray.init on the server; keep them local.
            init_args.update(log_to_driver=False, logging_level=logging.ERROR)
        for attempt in range(1, _CLIENT_ATTEMPTS + 1):
            try:
                ray.init(address=target.for_ray_init, **init_args)
                break
            except AuthenticationError as exc:
                raise ClusterConnectionError(_auth_message(where, source)) from exc
            except Exception as exc:
                if (
                    target.kind == "client"
                    and attempt < _CLIENT_ATTEMPTS
                    and "Initialization failure from server" in str(exc)
                ):
                    # Ray Client's server sometimes loses the per-connection server process it
                    # has just started (grpcio crashing in it); connecting again works.
                    continue
                self._raise_connect_error(where, exc)
        session.connected_to = target.for_ray_init or where

    @staticmethod
    def _raise_connect_error(where: str, exc: Exception) -> NoReturn:
        """``ray.init`` failed: one line, with a hint where the cause is known."""
        hint = ""
        if "Version mismatch" in str(exc):
            hint = (
                " (Ray and Python must match the cluster's; for a different Python patch "
                "release set RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL=minor on every node)"
            )
        raise ClusterConnectionError(
            f"could not connect to the Ray cluster at {where}: {_one_line(exc)}{hint}"
        ) from exc

    def _resolve_auto(self) -> RayAddress:
        env_address = os.environ.get("RAY_ADDRESS", "").strip()
        if env_address and env_address != "auto":
            resolved = parse_address(env_address)
            if resolved.kind == "client" and not ray_client_installed():
                raise EngineNotInstalledError(
                    f"RAY_ADDRESS={env_address} uses Ray Client, which needs grpcio; run: "
                    "pip install 'dist-bench[ray-client]'"
                )
            self.target = resolved
            return resolved
        try:
            found = _private("ray._private.services", "get_ray_address_from_environment")(
                "auto", None
            )
        except ConnectionError:
            found = None
        if not found:
            raise ClusterConnectionError(
                f"no running Ray cluster found on this machine for address 'auto'; {START_HINT}"
            )
        resolved = parse_address(found)
        return resolved

    @staticmethod
    def _probe_tcp(host: str, port: int, where: str) -> None:
        try:
            with socket.create_connection((host, port), timeout=_TCP_TIMEOUT_S):
                pass
        except socket.gaierror as exc:
            raise ClusterConnectionError(
                f"cannot resolve the host of Ray address {where}: {exc.strerror or exc}"
            ) from None
        except OSError as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
            raise ClusterConnectionError(
                f"no Ray cluster answers at {where} ({reason}); {START_HINT}"
            ) from None

    @staticmethod
    def _probe_gcs(where: str, source: str | None) -> None:
        """Ask the GCS for its nodes, under a deadline, before ``ray.init`` retries for minutes.

        Finds: a port that is not a GCS, a missing or wrong token, and a driver that is not on a
        node (``ray.init`` would look for a local raylet for 60 s). Skipped if Ray's private GCS
        client is not there.
        """
        outcome: dict[str, Any] = {}

        def probe() -> None:
            try:
                client = _private("ray._raylet", "GcsClient")(address=where)
                infos = client.get_all_node_info(timeout=_GCS_PROBE_TIMEOUT_S)
                # GcsNodeInfo.state: 0 is ALIVE.
                outcome["alive"] = {
                    node_id.hex() for node_id, info in infos.items() if info.state == 0
                }
            except BaseException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=probe, name="dist-bench-ray-probe", daemon=True)
        thread.start()
        # The thread cannot be stopped; if it hangs it ends by itself when Ray's retries run out.
        thread.join(_GCS_PROBE_TIMEOUT_S)
        if thread.is_alive():
            raise ClusterConnectionError(
                f"{where} accepts connections but no Ray GCS answered within "
                f"{_GCS_PROBE_TIMEOUT_S:.0f} s: give the port of `ray start --head --port` "
                "(default 6379)"
            )
        error = outcome.get("error")
        if isinstance(error, AuthenticationError):
            raise ClusterConnectionError(_auth_message(where, source))
        if isinstance(error, ImportError | AttributeError | TypeError):
            logger.debug("GCS probe unavailable in this Ray: %s", error)
            return
        if error is not None:
            raise ClusterConnectionError(
                f"the Ray GCS at {where} did not answer: {_one_line(error)}; {START_HINT}"
            )
        try:
            local = set(_private("ray._private.services", "find_node_ids")())
        except Exception as exc:  # pragma: no cover - private API moved
            logger.debug("cannot list local raylets: %s", exc)
            return
        if not local & outcome["alive"]:
            raise ClusterConnectionError(
                f"this machine is not a node of the Ray cluster at {where} (a Ray driver runs on "
                f"a node): run `ray start --address={where}` here first, or use "
                f"--address ray://HOST:{RAY_CLIENT_PORT} with pip install 'dist-bench[ray-client]'"
            )

    def _warm_up(self) -> None:
        """Run one no-op task per CPU, so workers start inside ``start``.

        Worker start-up is then timed as start-up, not as the first job, and the task functions
        have reached every node.
        """
        cpus = self.workers()
        if cpus < 1:
            raise ClusterConnectionError(
                f"the Ray cluster at {self._connected_to} has no CPUs for tasks: add a node with "
                f"`ray start --address=... --num-cpus=N`"
            )
        refs = [self._call.remote(int) for _ in range(cpus)]
        try:
            ray.get(refs, timeout=_WARM_UP_TIMEOUT_S)
        except Exception as exc:
            raise ClusterConnectionError(
                f"Ray workers at {self._connected_to} could not run a no-op task: {_one_line(exc)}"
            ) from exc

    # -- work ---------------------------------------------------------------------------------

    def _require_started(self) -> None:
        if not self._connected or self._call is None:
            raise RuntimeError("ray backend used before start()")

    def _remote_call(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``.remote`` of a Ray remote function running ``fn`` (made once per function)."""
        try:
            remote = self._bound.get(fn)
        except TypeError:  # an unhashable callable: send it with every task instead
            return functools.partial(self._call.remote, fn)
        if remote is None:
            assert self._functions is not None
            bound = self._functions.bind(_cloudpickle.dumps(fn))
            remote = self._bound[fn] = _as_task(bound)
        return remote.remote  # type: ignore[no-any-return]

    def submit(self, fn: Callable[..., Any], *args: Any) -> RayTaskFuture:
        """Run ``fn(*args)`` as one Ray task (placed ``ObjectRef`` arguments arrive resolved)."""
        self._require_started()
        return RayTaskFuture(self, self._remote_call(fn)(*args))

    def map(self, fn: Callable[..., Any], argument_tuples: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Submit every call, then one batched ``ray.get`` for all results in order.

        Raises:
            TaskError: a task raised (or Ray gave up on it); carries its index and the original
                exception.
        """
        self._require_started()
        remote = self._remote_call(fn)
        refs = [remote(*args) for args in argument_tuples]
        if not refs:
            return []
        try:
            outputs = ray.get(refs)
        except RayError as exc:
            index, cause = self._first_failure(refs, exc)
            self._settle(refs)
            raise TaskError(index, cause) from cause
        self._count_attempts([output[0] for output in outputs])
        return [output[1] for output in outputs]

    @staticmethod
    def _first_failure(refs: list[Any], raised: RayError) -> tuple[int, BaseException]:
        """The lowest index among finished tasks that failed, and what it raised."""
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        ready_ids = {ref.hex() for ref in ready}
        for index, ref in enumerate(refs):
            if ref.hex() not in ready_ids:
                continue
            try:
                ray.get(ref, timeout=0)
            except RayError as exc:
                return index, _original_exception(exc)
        return 0, _original_exception(raised)  # pragma: no cover - the raiser is always ready

    @staticmethod
    def _settle(refs: list[Any]) -> None:
        """Wait for the failed job's other tasks to end, so none runs into the next job.

        Not ``ray.cancel``: cancelling a task whose reply is arriving aborts the driver in Ray
        2.60 (see ``RayTaskFuture.cancel``).
        """
        with contextlib.suppress(Exception):
            ray.wait(refs, num_returns=len(refs), timeout=_SETTLE_TIMEOUT_S)

    def _count_attempts(self, attempts: Sequence[int]) -> None:
        retried = sum(1 for attempt in attempts if attempt)
        if retried:
            with self._lock:
                self._retried += retried

    def place(self, value: Any) -> Any:
        """Put ``value`` in Ray's object store once; tasks get the ``ObjectRef`` (resolved)."""
        self._require_started()
        return ray.put(value)

    # -- reporting ----------------------------------------------------------------------------

    def _alive_nodes(self) -> dict[str, str]:
        """Alive nodes: ID to IP address."""
        return {
            node["NodeID"]: str(node.get("NodeManagerAddress", "?"))
            for node in _ray_untyped.nodes()
            if node.get("Alive")
        }

    def drain_notes(self) -> list[str]:
        """Tasks Ray re-ran after losing their worker, and nodes that left or joined.

        Counted since the previous call.
        """
        notes: list[str] = []
        with self._lock:
            retried, self._retried = self._retried, 0
        if retried:
            notes.append(f"Ray re-ran {retried} task(s) after the worker process running them died")
        if self._connected:
            try:
                now = self._alive_nodes()
            except Exception as exc:
                notes.append(f"could not list Ray nodes: {_one_line(exc)}")
            else:
                for node_id in sorted(self._nodes.keys() - now.keys()):
                    notes.append(f"Ray node {self._nodes[node_id]} ({node_id[:8]}) was lost")
                for node_id in sorted(now.keys() - self._nodes.keys()):
                    notes.append(f"Ray node {now[node_id]} ({node_id[:8]}) joined")
                self._nodes = now
        return notes

    def remote_versions(self) -> list[dict[str, str]]:
        """Versions on each alive node, from one task pinned to each (``--address`` only).

        Embedded, the workers run this machine's interpreter and packages: empty, as for the
        local backends.
        """
        if not self.remote or not self._connected:
            return []
        node_ids = sorted(self._alive_nodes())
        refs = [
            self._versions.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False)
            ).remote()
            for node_id in node_ids
        ]
        found: list[dict[str, str]] = []
        for node_id, ref in zip(node_ids, refs, strict=True):
            try:
                found.append(ray.get(ref, timeout=_VERSIONS_TIMEOUT_S))
            except Exception as exc:
                found.append({"node": node_id[:8], "error": _one_line(exc)})
        return found

    def workers(self) -> int:
        """CPUs Ray reports across alive nodes.

        Before ``start``: what an embedded Ray will get, or 0 for an address (unknown until
        connected).
        """
        if self._connected:
            return int(_ray_untyped.cluster_resources().get("CPU", 0))
        if self.remote:
            return 0
        return self.options.workers or default_cores()

    def describe(self) -> dict[str, Any]:
        """Adds the address, node count, CPUs and Ray's version."""
        info = super().describe()
        info.update(
            address=self._connected_to or self.options.address or "embedded ray.init",
            nodes=len(self._alive_nodes()) if self._connected else None,
            cpus=info["workers"],
            ray_version=ray.__version__,
        )
        return info


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


def _auth_message(where: str, source: str | None) -> str:
    """One line on a token the cluster refused: what is wrong and how to provide the right one."""
    mode = os.environ.get(_AUTH_MODE_VAR)
    if mode is not None and mode.lower() != "token":
        return (
            f"the Ray cluster at {where} requires an auth token but {_AUTH_MODE_VAR}={mode} here: "
            f"unset it or set {_AUTH_MODE_VAR}=token, with the head node's token in "
            f"{_AUTH_TOKEN_VAR} or ~/.ray/auth_token"
        )
    if source is None:
        return (
            f"the Ray cluster at {where} requires an auth token and none was found here: copy "
            f"the head node's ~/.ray/auth_token to {default_token_path()}, or set "
            f"{_AUTH_TOKEN_VAR} (or {_AUTH_TOKEN_PATH_VAR}=FILE) to what `ray get-auth-token` "
            "prints on the head node"
        )
    return (
        f"the Ray cluster at {where} rejected the auth token from {source}: use the head node's "
        f"token (its ~/.ray/auth_token, or `ray get-auth-token` run there)"
    )
