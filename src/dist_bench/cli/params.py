"""The command line's parameter types: comma lists, single values and finite ranges.

Each parses with the library's own parser (``dist_bench.units``), so a value the library refuses
is a usage error naming it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click


class CommaList(click.ParamType):  # type: ignore[type-arg]
    """A comma-separated list of values, each parsed by ``parse`` (``10ms,100ms``)."""

    def __init__(self, parse: Callable[[str], Any], name: str) -> None:
        self.parse = parse
        self.name = name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Split on commas and parse each item; a bad item is a usage error naming it."""
        if isinstance(value, list):
            return value
        try:
            return [self.parse(item) for item in split_names(str(value))] or None
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses ``inf`` and ``nan`` (``nan`` passes every bound)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Convert and check the range as click does, then refuse what is not finite."""
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class OneValue(click.ParamType):  # type: ignore[type-arg]
    """One value parsed by ``parse`` (``5ms``, ``1MB``); a bad value is a usage error."""

    def __init__(self, parse: Callable[[str], Any], name: str) -> None:
        self.parse = parse
        self.name = name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Parse the value (click passes defaults through here too)."""
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def split_names(text: str) -> list[str]:
    """The items of a comma list, stripped, empty ones dropped (``"cpu, io,"`` -> two)."""
    return [name.strip() for name in text.split(",") if name.strip()]
