"""The interpreter that runs the local backends: a dimension of every measurement.

Threads gain nothing on pure-Python work under one GIL, but that is a property of the runtime,
not of Python: a free-threaded build (PEP 703, ``3.14t``) has no GIL, and Python 3.14's
subinterpreters (PEP 734) each have their own. 3.14 also made ``forkserver`` Linux's default
start method. So every results file says which interpreter measured it, and a run can measure
several (``run --python``), each against its own serial baseline.

Stdlib only: this module runs inside whichever interpreter is being described.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import platform
import sys
import sysconfig
from dataclasses import asdict, dataclass
from typing import Any

#: The stdlib module of ``InterpreterPoolExecutor`` (Python 3.14 and later).
INTERPRETERS_MODULE = "concurrent.futures.interpreter"


@dataclass(frozen=True)
class RuntimeInfo:
    """What about an interpreter changes how tasks run side by side.

    Attributes:
        version: ``platform.python_version()``, e.g. ``3.14.0``.
        implementation: ``CPython``, ``PyPy``.
        free_threaded: Built without the GIL (``Py_GIL_DISABLED``), whether or not it is on.
        gil_enabled: The GIL is on in this process (a free-threaded build turns it back on when
            an extension module needs it, or with ``PYTHON_GIL=1``).
        start_method: The default ``multiprocessing`` start method.
        interpreters: ``InterpreterPoolExecutor`` is available.
        executable: ``sys.executable``.
    """

    version: str
    implementation: str
    free_threaded: bool
    gil_enabled: bool
    start_method: str
    interpreters: bool
    executable: str

    @property
    def label(self) -> str:
        """The short name rows are labelled with: ``3.14.0``, ``3.14.0t`` (free-threaded)."""
        prefix = "" if self.implementation == "CPython" else f"{self.implementation} "
        return f"{prefix}{self.version}{'t' if self.free_threaded else ''}"

    def to_json(self) -> dict[str, Any]:
        """As stored in a results file's metadata."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuntimeInfo:
        """Read back what ``to_json`` wrote (unknown keys from a newer file are ignored)."""
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def gil_enabled() -> bool:
    """Whether the GIL is on in this process (always, before Python 3.13)."""
    # sys._is_gil_enabled is the documented way to ask (3.13+); it has no public name.
    probe = getattr(sys, "_is_gil_enabled", None)
    return True if probe is None else bool(probe())


def default_start_method() -> str:
    """The start method ``multiprocessing`` uses here, without fixing it as a side effect.

    ``get_start_method()`` would set the default for the rest of the process; the first of
    ``get_all_start_methods()`` is the default (documented), unless one was set already.
    """
    chosen = multiprocessing.get_start_method(allow_none=True)
    return chosen if chosen is not None else multiprocessing.get_all_start_methods()[0]


def current_runtime() -> RuntimeInfo:
    """The interpreter running this code, described."""
    return RuntimeInfo(
        version=platform.python_version(),
        implementation=platform.python_implementation(),
        free_threaded=bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        gil_enabled=gil_enabled(),
        start_method=default_start_method(),
        interpreters=importlib.util.find_spec(INTERPRETERS_MODULE) is not None,
        executable=sys.executable,
    )
