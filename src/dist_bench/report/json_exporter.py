"""The JSON exporter: the versioned results document, exactly as ``run -o`` writes it.

It holds raw samples, not derived numbers, so it reads back with ``load_results`` (and
``dist-bench report``) and re-renders with whatever statistics dist-bench has then.
"""

from __future__ import annotations

from dist_bench.report.content import ReportData


def render(data: ReportData) -> bytes:
    """The results document as UTF-8 JSON."""
    return (data.results.dumps() + "\n").encode()
