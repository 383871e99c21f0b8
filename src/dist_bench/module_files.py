"""Importing a Python file under a given module name, in the driver and in worker processes."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def import_file_as(module_name: str, path: str) -> ModuleType:
    """Import the Python file ``path`` as ``module_name`` (once per process) and return it.

    Registered in ``sys.modules`` so pickle finds its functions by name. Worker processes that
    never imported a user's file (spawned processes, Dask workers) call this with the driver's
    module name before their first task.

    Raises:
        ImportError: the file cannot be loaded; anything the file itself raises.
    """
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as {module_name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
