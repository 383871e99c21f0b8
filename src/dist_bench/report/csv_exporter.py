"""The CSV exporter: one row per measurement, numbers in plain units for a spreadsheet or pandas.

Times are in seconds and ratios as plain numbers (no ``ms``, no ``x``), so the columns sort and
compute; an empty cell is a number that does not exist (no baseline, a failed measurement).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable

from dist_bench.analysis import Summary
from dist_bench.report.columns import answer_text
from dist_bench.report.content import ReportData
from dist_bench.report.record_sentences import record_finding, record_warning
from dist_bench.stats import Interval


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return ""
    return repr(float(value))


def _optional_int(value: int | None) -> str:
    return "" if value is None else str(value)


def _end(interval: Interval | None, attribute: str) -> str:
    return "" if interval is None else _number(getattr(interval, attribute))


#: (header, cell) per column; the header names the unit.
COLUMNS: tuple[tuple[str, Callable[[Summary], str]], ...] = (
    ("workload", lambda s: s.record.workload),
    ("backend", lambda s: s.record.backend),
    # Empty for the file's own interpreter; else the label of another one (run --python).
    ("runtime", lambda s: s.record.runtime),
    ("tasks", lambda s: str(s.record.tasks)),
    ("grain_s", lambda s: _number(s.record.grain_s)),
    ("bytes_per_task", lambda s: str(s.record.bytes_per_task)),
    ("workers", lambda s: str(s.record.workers)),
    ("nodes", lambda s: "" if s.record.nodes is None else str(s.record.nodes)),
    ("node_cpus", lambda s: _number(s.record.node_cpus)),
    ("node_memory_bytes", lambda s: _optional_int(s.record.node_memory_bytes)),
    ("scaling", lambda s: s.record.scaling or ""),
    ("parallel_slots", lambda s: str(s.parallel_slots)),
    ("repeats", lambda s: str(len(s.record.wall_s))),
    ("median_s", lambda s: _number(s.median_s)),
    ("median_low_s", lambda s: _end(s.interval, "low")),
    ("median_high_s", lambda s: _end(s.interval, "high")),
    ("median_confidence", lambda s: _end(s.interval, "confidence")),
    ("speedup", lambda s: _number(s.speedup)),
    ("speedup_low", lambda s: _end(s.speedup_interval, "low")),
    ("speedup_high", lambda s: _end(s.speedup_interval, "high")),
    ("efficiency", lambda s: _number(s.efficiency)),
    ("karp_flatt_serial_fraction", lambda s: _number(s.serial_fraction)),
    ("task_time_vs_serial", lambda s: _number(s.task_time_ratio)),
    ("overhead_per_task_s", lambda s: _number(s.overhead_per_task_s)),
    ("cold_job_s", lambda s: _number(s.record.warmup_s[0]) if s.record.warmup_s else ""),
    ("placement_s", lambda s: _number(s.record.placement_s)),
    ("answer", answer_text),
    ("finding", record_finding),
    ("warnings", lambda s: "; ".join([*map(record_warning, s.warnings), *s.record.notes])),
    ("error", lambda s: s.record.error or ""),
)


def render(data: ReportData) -> bytes:
    """A header row, then one row per record in the order measured."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([header for header, _ in COLUMNS])
    for summary in data.summaries:
        writer.writerow([cell(summary) for _, cell in COLUMNS])
    return out.getvalue().encode()
