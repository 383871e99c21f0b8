"""The backend registry: names to classes, imported only when a backend is used.

Engines are heavy (Ray takes seconds to import), so the registry holds where each backend lives and
what it needs, and imports it on first use; ``--help`` and ``list`` stay instant. A missing engine
fails with the command that installs it.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass

from dist_bench.backends.base import Backend, BackendOptions
from dist_bench.errors import EngineNotInstalledError, UnknownNameError, UsageError


@dataclass(frozen=True)
class BackendSpec:
    """Where a backend lives and what it needs.

    Attributes:
        name: Name on the command line.
        target: ``module:Class`` of the implementation.
        summary: One line for ``dist-bench list``.
        requires: Top-level modules that must be importable.
        install_hint: The command that installs what is missing.
        cluster: Runs on a cluster: connects to an existing one when given an address
            (``--address``), and starts an engine (seconds, not milliseconds).
    """

    name: str
    target: str
    summary: str
    requires: tuple[str, ...] = ()
    install_hint: str = ""
    cluster: bool = False

    def missing(self) -> list[str]:
        """Required modules that cannot be imported here (checked without importing them)."""
        return [module for module in self.requires if importlib.util.find_spec(module) is None]

    def available(self) -> bool:
        """Whether everything the backend needs is installed."""
        return not self.missing()

    def load(self) -> type[Backend]:
        """Import and return the backend class.

        Raises:
            EngineNotInstalledError: the engine is not installed; the message says how to get it.
        """
        missing = self.missing()
        if missing:
            raise EngineNotInstalledError(
                f"backend {self.name!r} needs {', '.join(missing)}, which is not installed; "
                f"run: {self.install_hint}"
            )
        module_name, class_name = self.target.split(":")
        backend_class: type[Backend] = getattr(importlib.import_module(module_name), class_name)
        return backend_class


_REGISTRY: dict[str, BackendSpec] = {}


def register_backend(spec: BackendSpec) -> None:
    """Add a backend (or replace one of the same name)."""
    _REGISTRY[spec.name] = spec


def backend_specs() -> dict[str, BackendSpec]:
    """Every registered backend, in registration order (cheapest first)."""
    return dict(_REGISTRY)


def get_backend_spec(name: str) -> BackendSpec:
    """The spec registered under ``name``.

    Raises:
        UnknownNameError: no such backend; the message lists the valid names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("backend", name, [*_REGISTRY, "all"]) from None


def resolve_backends(names: Sequence[str], address: str | None = None) -> list[str]:
    """The backends ``names`` ask for, in order, once each; ``["all"]`` is every installed one.

    Raises:
        UsageError: no name, an unknown name, or an ``address`` that does not name exactly one
            cluster backend among them (an address points at one cluster).
    """
    if not names:
        raise UsageError("no backend given to -b; run 'dist-bench list' for the names")
    if list(names) == ["all"]:
        chosen = [name for name, spec in _REGISTRY.items() if spec.available()]
    else:
        chosen = list(dict.fromkeys(get_backend_spec(name).name for name in names))
    if address is not None:
        engines = [name for name in chosen if name in CLUSTER_BACKENDS]
        if not engines:
            raise UsageError("--address needs -b dask or -b ray")
        if len(engines) > 1:
            raise UsageError("--address points at one cluster: choose -b dask or -b ray, not both")
    return chosen


def create_backend(name: str, options: BackendOptions | None = None) -> Backend:
    """Build the backend ``name`` with ``options`` (not started)."""
    return get_backend_spec(name).load()(options)


for _spec in (
    BackendSpec(
        "serial",
        "dist_bench.backends.serial:SerialBackend",
        "one task after another in the driver: the baseline",
    ),
    BackendSpec(
        "threads",
        "dist_bench.backends.threads:ThreadsBackend",
        "a thread pool: overlaps waiting, not pure-Python CPU (the GIL)",
    ),
    BackendSpec(
        "asyncio",
        "dist_bench.backends.asyncio:AsyncioBackend",
        "coroutines on one event loop: overlaps waiting, nothing else",
    ),
    BackendSpec(
        "processes",
        "dist_bench.backends.processes:ProcessesBackend",
        "a process pool: one GIL per core; pays start-up and pickling",
    ),
    BackendSpec(
        "dask",
        "dist_bench.backends.dask.backend:DaskBackend",
        "a Dask distributed cluster: embedded LocalCluster or --address",
        requires=("distributed",),
        install_hint="pip install 'dist-bench[dask]'",
        cluster=True,
    ),
    BackendSpec(
        "ray",
        "dist_bench.backends.ray.backend:RayBackend",
        "a Ray cluster: embedded ray.init() or --address",
        requires=("ray",),
        install_hint="pip install 'dist-bench[ray]'",
        cluster=True,
    ),
):
    register_backend(_spec)

#: The built-in backends that run on a cluster (``BackendSpec.cluster``): they take ``--address``.
CLUSTER_BACKENDS = tuple(name for name, spec in _REGISTRY.items() if spec.cluster)

__all__ = [
    "CLUSTER_BACKENDS",
    "Backend",
    "BackendOptions",
    "BackendSpec",
    "backend_specs",
    "create_backend",
    "get_backend_spec",
    "register_backend",
    "resolve_backends",
]
