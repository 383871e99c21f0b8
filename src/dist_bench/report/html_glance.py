"""The HTML page's "at a glance" grid: every backend's speedup at every size, coloured.

A cell is green where the backend is decisively faster than serial by the rule a reported
crossover's evidence passes (``dist_bench.decisive``), red where decisively slower, failed or
wrong, grey otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import escape

from dist_bench.analysis import Summary
from dist_bench.backends.base import BASELINE
from dist_bench.decisive import Contrast, Difference, backend_drifts, contrast, planned_rounds
from dist_bench.pooling import PoolKey, pool_key
from dist_bench.report.content import ReportData
from dist_bench.report.cutover_content import job_text
from dist_bench.results import Record, SizeKey


def _glance_class(summary: Summary, verdict: Contrast | None) -> str:
    """Win / loss: decisively faster / slower than serial (``dist_bench.decisive``); else even.

    The rule a reported crossover's evidence passes: the medians' intervals apart, by more than
    the run-to-run drift (at least 5 %), steady across rounds; a speedup interval above 1x alone
    is not enough (a slow serial baseline at 3 repeats would colour threads green on ``cpu``).
    """
    if summary.record.error or not summary.record.verified:
        return "loss"
    if verdict is None or verdict.difference is not Difference.DECISIVE:
        return "even"
    return "loss" if verdict.faster == BASELINE else "win"


def glance(data: ReportData) -> Iterator[str]:
    """The grid's section: a table per workload, a column per job size, a row per backend."""
    yield '<section class="card" id="glance"><h2>At a glance</h2>'
    yield (
        '<p class="lead">Speedup over serial of every backend at every job size, with its 95 % '
        "interval; a column per job size, tasks x serial work per task (x bytes per task). "
        "Green: decisively faster than serial (the medians' intervals apart, by more than the "
        "run-to-run drift and at least 5 %, in every round); red: decisively slower (or wrong); "
        "grey: no decisive difference.</p>"
    )
    drifts = backend_drifts(data.results)
    rounds = planned_rounds(data.results)
    # Each round's records apart (not pooled as the rows are): the rule tests across rounds.
    serial: dict[SizeKey, list[Record]] = {}
    by_key: dict[PoolKey, list[Record]] = {}
    for record in data.results.records:
        by_key.setdefault(pool_key(record), []).append(record)
        if record.backend == BASELINE:
            serial.setdefault(record.size_key(), []).append(record)
    for workload, every_group in data.workloads().items():
        # Sizes with no speedup (a search measures some only to place a crossover between two
        # other backends, without serial) would be columns of dashes here; the tables list them.
        groups = [g for g in every_group if any(_has_speedup(s) for s in g.summaries)]
        backends = list(
            dict.fromkeys(
                s.record.backend
                for g in groups
                for s in g.summaries
                if s.record.backend != BASELINE
            )
        )
        if not backends:
            continue
        yield f'<h3><a href="#workload-{escape(workload)}">{escape(workload)}</a></h3>'
        left_out = len(every_group) - len(groups)
        if left_out:
            yield (
                f'<p class="note">{left_out} more job size(s) measured without a serial '
                "baseline (to place a crossover between two other backends): in the tables "
                "below.</p>"
            )
        yield '<div class="table-scroll"><table><thead><tr><th>backend</th>'
        for group in groups:
            # The serial run's measured grain, as the group's heading shows it.
            first = group.summaries[0]
            size = job_text(first.record.tasks, first.grain_s, first.record.bytes_per_task)
            yield f'<th class="size">{escape(size)}</th>'
        yield "</tr></thead><tbody>"
        for backend in backends:
            cells = [f'<td class="backend">{escape(backend)}</td>']
            for group in groups:
                summary = next((s for s in group.summaries if s.record.backend == backend), None)
                verdict = None
                if summary is not None:
                    verdict = contrast(
                        serial.get(summary.record.size_key(), []),
                        by_key.get(pool_key(summary.record), [summary.record]),
                        drifts,
                        rounds,
                    )
                cells.append(_glance_cell(summary, verdict))
            yield f"<tr>{''.join(cells)}</tr>"
        yield "</tbody></table></div>"
    yield (
        '<p class="legend">'
        '<span class="swatch" style="background:var(--win-bg)"></span>decisively faster than serial'
        '<span class="swatch" style="background:var(--even-bg)"></span>no decisive difference'
        '<span class="swatch" style="background:var(--loss-bg)"></span>slower, failed or wrong'
        "</p>"
    )
    yield "</section>"


def _has_speedup(summary: Summary) -> bool:
    return summary.record.backend != BASELINE and summary.speedup is not None


def _glance_cell(summary: Summary | None, verdict: Contrast | None) -> str:
    if summary is None:
        return '<td class="glance">-</td>'
    if summary.record.error or not summary.record.verified:
        label = "error" if summary.record.error else "WRONG"
        return f'<td class="glance loss">{label}</td>'
    interval = summary.speedup_interval
    if summary.speedup is None or interval is None:
        return '<td class="glance even">no baseline</td>'
    return (
        f'<td class="glance {_glance_class(summary, verdict)}">{summary.speedup:.2f}x'
        f"<small>{interval.low:.2f}-{interval.high:.2f}</small></td>"
    )
