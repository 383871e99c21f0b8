"""Getting the user's code to Dask workers that cannot import it: by value, or loaded by path.

``distributed`` pickles a whole task graph with plain ``pickle`` first and consults cloudpickle's
pickle-by-value list only for the top-level object (the graph, never the functions inside it);
plain pickle stores a function as ``module.name``, which a scheduler or worker without the user's
file cannot import. So for a remote cluster every argument holding such code is wrapped
(``ShipByValue``) to travel by value; embedded workers load the user's file by path instead
(``LoadModules``) and tasks pickle by name, as cheaply as installed code.
"""

from __future__ import annotations

import functools
import pickle
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import cloudpickle
from distributed.diagnostics.plugin import WorkerPlugin

from dist_bench.backends.by_value import ByValueRegistry, covers
from dist_bench.module_files import import_file_as

#: Module whose ``timed_call`` wraps every task; remote workers may not have dist-bench installed.
WORKER_MODULE = "dist_bench.worker"

#: Objects searched per task argument for code to ship by value; a bigger argument goes whole.
SEARCH_LIMIT = 10_000

#: Types that never hold code: skipped without counting against ``SEARCH_LIMIT``.
_PLAIN_TYPES = frozenset({str, bytes, bytearray, int, float, complex, bool, type(None), range})

#: The ``cloudpickle`` package's by-value list, shared with every Dask backend in this process.
BY_VALUE = ByValueRegistry(cloudpickle)


class ShipByValue:
    """Wraps a function (or data holding one) so ``distributed`` sends its code, not its name.

    ``__reduce__`` turns the wrapper into ``pickle.loads(<cloudpickle bytes>)``: the receiving
    side gets the original object back, rebuilt from its code, and needs neither dist-bench nor
    this class.
    """

    def __init__(self, target: Any) -> None:
        self.target = target
        # Dask names task keys after the function; keep the task's own name in the dashboard.
        self.__name__ = getattr(target, "__name__", type(target).__name__)
        self._payload: bytes | None = None

    def __call__(self, *args: Any) -> Any:
        """Run the wrapped function (the driver side; workers get the function itself)."""
        return self.target(*args)

    def __reduce__(self) -> tuple[Callable[[bytes], Any], tuple[bytes]]:
        if self._payload is None:
            # Pickled once per wrapper: a job's tasks all share the same wrapper object.
            self._payload = cloudpickle.dumps(self.target)
        return pickle.loads, (self._payload,)


class LoadModules(WorkerPlugin):
    """Worker plugin: import the user's workload files under the driver's module names.

    Tasks refer to their functions by module name; an embedded worker process never imported the
    user's file (it was loaded by path, under a made-up name), so it loads it once, at start-up.
    """

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def setup(self, worker: Any) -> None:
        """Load each file not yet imported in this worker process."""
        for module_name, path in self.files.items():
            import_file_as(module_name, path)


class CodeShipper:
    """What one Dask backend ships by value, and the wrappers it made for it.

    Args:
        remote: The workers are another machine's: everything the driver runs goes by value.
    """

    def __init__(self, remote: bool) -> None:
        self.remote = remote
        self._acquired: list[str] = []
        self._by_value: set[str] = set()
        self._wrappers: dict[Any, ShipByValue] = {}

    def plan(self, ship: Sequence[ModuleType]) -> dict[str, str]:
        """Decide how each module in ``ship`` reaches the workers; return files to load there.

        A remote cluster may have none of our code, not even dist-bench: everything goes by value.
        Embedded workers share this machine's environment, so only modules no finder knows (a
        user's file) need help, and they get it by loading the file under the driver's module
        name in each worker (``LoadModules``), as the processes backend does.
        """
        files: dict[str, str] = {}
        for module in ship:
            if self.remote:
                self._register(module.__name__)
            elif not _findable_by_name(module.__name__):
                if module.__file__:
                    files[module.__name__] = module.__file__
                else:  # built in memory, no file to load: by value is the only way
                    self._register(module.__name__)
        if self.remote:
            self._register(WORKER_MODULE)
        return files

    def release(self) -> None:
        """Give back every registration and forget the wrappers (at shutdown)."""
        BY_VALUE.release(self._acquired)
        self._acquired.clear()
        self._by_value.clear()
        self._wrappers.clear()

    def _register(self, module_name: str) -> None:
        """Have cloudpickle (and so ``ShipByValue``) send this module's code by value."""
        self._by_value.add(module_name)
        self._acquired += BY_VALUE.acquire([module_name])

    def shippable(self, value: Any, registry: frozenset[str]) -> Any:
        """``value``, or a by-value wrapper when it holds code workers cannot import.

        ``registry`` is ``BY_VALUE.names()``, taken once per job. Only top-level arguments are
        wrapped: that is where tasks get their function and where placed data (Dask futures)
        must stay for Dask to resolve it. A function is wrapped once and reused; data is wrapped
        per call.
        """
        if isinstance(value, ShipByValue) or not (self._by_value or self.remote):
            return value  # nothing is shipped by value: plain pickle all the way
        if not self._holds_code_to_ship(value, registry):
            return value
        if not callable(value):
            return ShipByValue(value)
        try:
            wrapper = self._wrappers.get(value)
        except TypeError:  # an unhashable callable object: wrap it each time
            return ShipByValue(value)
        if wrapper is None:
            wrapper = self._wrappers[value] = ShipByValue(value)
        return wrapper

    def _holds_code_to_ship(self, value: Any, registry: frozenset[str]) -> bool:
        """Whether ``value`` is, or contains, a function, class or instance of a by-value module.

        Plain pickle would send those by module name, and a worker that cannot import the name
        does not fail the task: it loses its connection to the scheduler and the job hangs
        (dask/distributed#1341). So containers are searched too, up to ``SEARCH_LIMIT`` objects;
        a bigger one is shipped by value whole rather than searched further.
        """
        stack = [value]
        seen = 0
        while stack:
            item = stack.pop()
            kind = type(item)
            if kind in _PLAIN_TYPES:
                continue
            seen += 1
            if seen > SEARCH_LIMIT:
                return True
            if kind in (tuple, list, set, frozenset):
                stack.extend(item)
            elif kind is dict:
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, functools.partial):
                stack += [item.func, *item.args, *item.keywords.values()]
            else:
                module_name = getattr(item, "__module__", None)
                if isinstance(module_name, str) and self._ships_by_value(module_name, registry):
                    return True
        return False

    def _ships_by_value(self, module_name: str, registry: frozenset[str]) -> bool:
        """Whether code from ``module_name`` goes by value (registering dist-bench's, if remote)."""
        if covers(registry, module_name):
            return True
        if self.remote and module_name.partition(".")[0] == "dist_bench":
            # A built-in workload the caller did not list in ``ship``: a remote cluster may not
            # have dist-bench, so it goes by value too.
            self._register(module_name)
            return True
        return False


def _findable_by_name(module_name: str) -> bool:
    """Whether a fresh interpreter with this ``sys.path`` could import the module's package.

    A user's workload file is loaded under a made-up name no finder knows, so it is not; built-in
    workloads and installed packages are. Local worker processes inherit ``sys.path``.
    """
    top = module_name.partition(".")[0]
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            if find_spec(top, None) is not None:
                return True
        except (ImportError, ValueError, AttributeError):
            continue
    return False
