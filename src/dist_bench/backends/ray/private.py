"""Reaching the parts of Ray without type hints or stability promise, in one place.

Ray's untyped API (``ray.nodes``, its vendored cloudpickle) is reached through ``Any``-typed names
so mypy --strict checks everything else; every use of a private object has a fallback.
"""

from __future__ import annotations

import importlib
from typing import Any

import ray
from ray import cloudpickle as ray_cloudpickle

#: ``ray`` as ``Any``, for its functions without type hints.
RAY: Any = ray
#: Ray's vendored cloudpickle (its own pickle-by-value list, apart from the ``cloudpickle``
#: package's).
CLOUDPICKLE: Any = ray_cloudpickle


def private(module: str, name: str) -> Any:
    """A private Ray object (no stability promise, so every use has a fallback)."""
    return getattr(importlib.import_module(module), name)
