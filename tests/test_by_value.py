"""The by-value registry both engines share: counted, and never touching what others registered."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import cloudpickle
import pytest

from dist_bench.backends.by_value import ByValueRegistry, covers


@pytest.fixture
def module() -> Iterator[types.ModuleType]:
    """A module only this process has, in sys.modules as an imported one would be."""
    made = types.ModuleType("dist_bench_test_by_value_module")
    sys.modules[made.__name__] = made
    yield made
    del sys.modules[made.__name__]


def listed() -> set[str]:
    return set(cloudpickle.list_registry_pickle_by_value())


def test_the_last_user_unregisters(module: types.ModuleType) -> None:
    registry = ByValueRegistry(cloudpickle)
    first = registry.acquire([module])
    second = registry.acquire([module.__name__])  # by name, as Dask registers lazily
    assert first == second == [module.__name__]
    assert module.__name__ in registry.names()
    registry.release(first)
    assert module.__name__ in listed(), "the second user still ships it"
    registry.release(second)
    assert module.__name__ not in listed()


def test_a_module_someone_else_registered_is_left_alone(module: types.ModuleType) -> None:
    cloudpickle.register_pickle_by_value(module)
    try:
        registry = ByValueRegistry(cloudpickle)
        assert registry.acquire([module]) == []
        registry.release([])
        assert module.__name__ in listed()
    finally:
        cloudpickle.unregister_pickle_by_value(module)


def test_a_registered_package_covers_its_modules() -> None:
    assert covers({"dist_bench"}, "dist_bench.worker")
    assert covers({"dist_bench.worker"}, "dist_bench.worker")
    assert not covers({"dist_bench.worker"}, "dist_bench")
    assert not covers({"dist_bench"}, "dist_bench_user_squares")
