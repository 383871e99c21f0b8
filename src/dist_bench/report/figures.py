"""Drawing with matplotlib, shared by every plot: its import, one style, a colour per backend.

matplotlib is imported only inside these functions, and only when a plot is drawn, so
``--help`` stays instant. A figure is saved with fixed metadata, so the same results always
give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dist_bench.analysis import Summary
from dist_bench.units import format_bytes, format_seconds

if TYPE_CHECKING:
    from matplotlib.figure import Figure


#: One colour per backend in every panel and every plot (matplotlib's tab10, in a fixed order).
BACKEND_COLOURS = {
    "serial": "#7f7f7f",
    "threads": "#1f77b4",
    "asyncio": "#17becf",
    "processes": "#ff7f0e",
    "dask": "#2ca02c",
    "ray": "#d62728",
}
_OTHER_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#bcbd22")
#: Sizes a panel is drawn at, in inches; three panels side by side fill a wide page.
PANEL_SIZE = (5.0, 3.6)


def colour(backend: str) -> str:
    """The backend's colour, stable across panels and plots."""
    if backend in BACKEND_COLOURS:
        return BACKEND_COLOURS[backend]
    return _OTHER_COLOURS[sum(map(ord, backend)) % len(_OTHER_COLOURS)]


def pyplot() -> Any:
    """Pyplot on the Agg canvas (no display), with the plots' one style."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed; must precede pyplot
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#e5e5e5",
            "axes.titlesize": "medium",
            "axes.titleweight": "bold",
            "legend.fontsize": "small",
            "legend.frameon": False,
            "svg.fonttype": "none",  # text stays text in SVG: smaller, selectable, searchable
        }
    )
    return plt


def save_figure(figure: Figure, image_format: str) -> bytes:
    """The figure as bytes in ``image_format``, closed after."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    # Fixed metadata, so the same results always give the same bytes.
    metadata = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
    figure.savefig(buffer, format=image_format, dpi=110, metadata=metadata[image_format])
    plt.close(figure)
    return buffer.getvalue()


def tick_formatter(attribute: str) -> Callable[[float, object], str]:
    """Tick labels for a swept size: seconds, bytes, or a plain number."""
    if attribute == "grain_s":
        return lambda value, _: format_seconds(value)
    if attribute == "bytes_per_task":
        return lambda value, _: format_bytes(int(value))
    return lambda value, _: f"{value:g}"


def error_bar(summary: Summary) -> tuple[float, float]:
    """The speedup's distance to each end of its interval (zero without one)."""
    if summary.speedup is None or summary.speedup_interval is None:
        return (0.0, 0.0)
    return (
        max(0.0, summary.speedup - summary.speedup_interval.low),
        max(0.0, summary.speedup_interval.high - summary.speedup),
    )
