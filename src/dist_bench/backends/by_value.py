"""Modules pickled by value: one counted registry over cloudpickle's list, for every engine.

cloudpickle pickles a function by reference (``module.name``) unless its module is in its
pickle-by-value list; then the code itself travels, and a worker without the module still runs
it. That list is process-wide, and one run starts several backends in one process (Dask, then
Ray; two Ray backends sharing a session), so each backend acquires the modules it ships and
releases them at shutdown: the last user unregisters a module, and a module someone else
registered is never touched. Dask uses the ``cloudpickle`` package, Ray its vendored copy
(``ray.cloudpickle``, a separate list): each engine holds one ``ByValueRegistry`` over its own.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from collections.abc import Collection, Iterable
from types import ModuleType
from typing import Any


def covers(registry: Collection[str], module_name: str) -> bool:
    """Whether ``module_name`` or a package it is in is among the by-value ``registry`` names."""
    parts = module_name.split(".")
    return any(".".join(parts[:i]) in registry for i in range(1, len(parts) + 1))


class ByValueRegistry:
    """Counted registrations in one cloudpickle's pickle-by-value list.

    Args:
        pickler: The cloudpickle module whose list this is (``cloudpickle`` or
            ``ray.cloudpickle``).
    """

    def __init__(self, pickler: Any) -> None:
        self._pickler = pickler
        self._users: dict[str, int] = {}
        self._lock = threading.Lock()

    def names(self) -> frozenset[str]:
        """Module names pickled by value right now (a snapshot: take one per job)."""
        return frozenset(self._pickler.list_registry_pickle_by_value())

    def acquire(self, modules: Iterable[ModuleType | str]) -> list[str]:
        """Register ``modules`` for pickling by value; return the names to ``release`` later.

        A module already covered by someone else's registration (itself or its package) is
        left alone and not returned; one this registry holds is counted once more.
        """
        acquired: list[str] = []
        with self._lock:
            registered = self.names()
            for module in modules:
                name = module if isinstance(module, str) else module.__name__
                if name in acquired:
                    continue
                if name not in self._users:
                    if covers(registered, name):
                        continue
                    loaded = module if isinstance(module, ModuleType) else _loaded(name)
                    self._pickler.register_pickle_by_value(loaded)
                    registered |= {name}
                self._users[name] = self._users.get(name, 0) + 1
                acquired.append(name)
        return acquired

    def release(self, names: Iterable[str]) -> None:
        """Undo ``acquire``: the last user of a module unregisters it."""
        with self._lock:
            for name in names:
                self._users[name] -= 1
                if self._users[name] == 0:
                    del self._users[name]
                    with contextlib.suppress(Exception):
                        self._pickler.unregister_pickle_by_value(sys.modules[name])


def _loaded(name: str) -> ModuleType:
    return sys.modules.get(name) or importlib.import_module(name)
