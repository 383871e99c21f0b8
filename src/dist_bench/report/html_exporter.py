"""The HTML exporter: one self-contained page to read, share and archive.

Everything is inside the one file: the style sheet, the plots (SVG as data URIs), no script, no
font or file from the network, so it opens the same offline, in a mail attachment or years later.
It says, in order: the answer at a glance (speedup of every backend at every size, coloured by
whether its interval is above or below 1x), then per workload the plots, the tables and the
finding of every row; then the backends' start-up, what each column and finding means, and where
and how it was measured.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from html import escape

from dist_bench import __version__
from dist_bench.backends.base import BASELINE
from dist_bench.findings import FindingKind
from dist_bench.lessons import WorkloadLesson
from dist_bench.report import cutover_content
from dist_bench.report import scaling_content as scaling
from dist_bench.report.columns import (
    BACKEND_COLUMNS,
    BACKENDS_TITLE,
    MEASUREMENT_COLUMNS,
    Column,
    answer_text,
)
from dist_bench.report.content import ReportData
from dist_bench.report.glossary import FINDING_KINDS, GLOSSARY, finding_gloss
from dist_bench.report.html_glance import glance
from dist_bench.report.html_style import STYLE
from dist_bench.report.lesson_sentences import (
    check_sentence,
    lesson_expected,
    lesson_text,
    lesson_verdict,
    memory_sentence,
)
from dist_bench.report.plot import panel_images, plotted_workloads
from dist_bench.report.scaling_plot import scaling_images
from dist_bench.report.scaling_sentences import node_projection_note
from dist_bench.report.sections import Section, SizeGroup
from dist_bench.report.sentences import warning_sentence

#: Up to this many job sizes per workload are shown open; a longer sweep's are folded.
OPEN_GROUPS = 3


def _cell(text: str, column: Column) -> str:
    classes = ["num"] if column.numeric else []
    if column.title == "backend":
        classes = ["backend"]
    if column.cell is answer_text:
        classes.append("ok" if text == "ok" else "bad")
    attribute = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attribute}>{escape(text)}</td>"


def _table(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> Iterator[str]:
    yield '<div class="table-scroll"><table><thead><tr>'
    for column in columns:
        numeric = ' class="num"' if column.numeric else ""
        yield f'<th{numeric} title="{escape(column.meaning)}">{escape(column.flat_title)}</th>'
    yield "</tr></thead><tbody>"
    for row in rows:
        cells = "".join(_cell(text, column) for text, column in zip(row, columns, strict=True))
        yield f"<tr>{cells}</tr>"
    yield "</tbody></table></div>"


def _finding_item(backend: str, kind: FindingKind, finding: str) -> str:
    gloss = finding_gloss(kind)
    tag = f'<a class="tag" href="#finding-{gloss.anchor}">{escape(gloss.name)}</a>'
    return f'<li>{tag}<span class="who">{escape(backend)}</span> {escape(finding)}</li>'


def _group(group: SizeGroup, opened: bool) -> Iterator[str]:
    """One size's table and findings, in a <details> (no script needed) the reader can fold."""
    fastest = max(
        (s for s in group.summaries if s.speedup is not None and s.record.backend != BASELINE),
        key=lambda s: s.speedup or 0.0,
        default=None,
    )
    best = "" if fastest is None else f" · fastest: {fastest.record.backend} {fastest.speedup:.2f}x"
    yield f"<details{' open' if opened else ''}>"
    yield f"<summary><h3>{escape(group.title)}</h3><span>{escape(best)}</span></summary>"
    yield from _table(MEASUREMENT_COLUMNS, group.rows())
    note = group.interval_note()
    if note:
        yield f'<p class="note">{escape(note)}</p>'
    yield '<ul class="findings">'
    for title, findings in group.finding_groups():
        if title is not None:
            yield f'<li class="row-group">{escape(title)}</li>'
        for backend, kind, finding in findings:
            yield _finding_item(backend, kind, finding)
    for backend, remark in group.remarks():
        yield f'<li class="remark"><span class="who">{escape(backend)}</span> {escape(remark)}</li>'
    yield "</ul></details>"


def _section(data: ReportData, section: Section, plotted: bool) -> Iterator[str]:
    """A lesson and its workload's crossovers, plots and tables (a lesson alone for tiny tasks)."""
    yield f'<section class="card" id="{escape(section.anchor)}"><h2>{escape(section.title)}</h2>'
    if section.lesson is not None:
        yield from _lesson(section.lesson)
    groups = section.groups
    if not groups:
        yield "</section>"
        return
    workload = section.workload
    cutover = cutover_content.workload_cutover(data, workload)
    if cutover is not None and cutover.crossovers:
        yield from _cutover(cutover)
    if plotted:
        yield '<figure><div class="plots">'
        for image in panel_images(data, workload, "svg"):
            encoded = base64.b64encode(image).decode()
            yield f'<img alt="{escape(workload)} plot" src="data:image/svg+xml;base64,{encoded}">'
        yield (
            "</div><figcaption>Median time per job against the swept size (crossovers marked "
            "where the cutover analysis found them); speedup over serial with its 95 % band "
            "(with one size: a bar per backend); speedup against workers at each backend's "
            "largest job, one point per worker count measured, with the Amdahl curve fitted "
            "through them (f: the serial fraction), dashed where it is projected beyond the "
            "measured workers; projections hollow.</figcaption></figure>"
        )
    if len(groups) > OPEN_GROUPS:
        yield (
            f'<p class="note">{len(groups)} job sizes measured; each folds open for its table '
            "and findings.</p>"
        )
    for group in groups:
        yield from _group(group, opened=len(groups) <= OPEN_GROUPS)
    yield "</section>"


def _lesson(item: WorkloadLesson) -> Iterator[str]:
    yield f'<div class="lesson"><p>{escape(lesson_text(item))}</p>'
    yield f"<p>{escape(lesson_expected(item))} <strong>{escape(lesson_verdict(item))}</strong></p>"
    if item.checks:
        yield '<ul class="checks">'
        for check in item.checks:
            yield f'<li class="{check.verdict.name.lower()}">{escape(check_sentence(check))}</li>'
        yield "</ul>"
    memory = memory_sentence(item)
    if memory is not None:
        yield f'<p class="memory">{escape(memory)}</p>'
    yield "</div>"


def _cutover(cutover: cutover_content.WorkloadCutover) -> Iterator[str]:
    yield "<h3>Where each step up starts to win</h3>"
    ladder = cutover.ladder_sentences()
    if ladder:
        yield '<p class="lead">The ladder, along the grain:</p><ul class="findings ladder">'
        yield from (f"<li>{escape(sentence)}</li>" for sentence in ladder)
        yield "</ul>"
    if cutover.reached:
        yield '<ul class="findings crossovers">'
        for crossover in cutover.reached:
            yield f"<li>{escape(cutover.sentence(crossover))}</li>"
        yield "</ul>"
        yield "<details><summary><h3>The crossovers as a table</h3></summary>"
        yield from _table(
            cutover_content.CROSSOVER_COLUMNS, cutover.crossover_rows(reached_only=True)
        )
        yield "</details>"
    else:
        yield '<p class="lead">No two backends cross inside the measured range.</p>'
    if cutover.unshown:
        yield '<ul class="findings">'
        for crossover in cutover.unshown:
            yield f"<li>{escape(cutover.sentence(crossover))}</li>"
        yield "</ul>"
    rows = cutover.crossover_rows()[len(cutover.reached) :]
    if rows:
        yield (
            f"<details><summary><h3>{len(rows)} pair(s) not shown crossing in the measured range"
            "</h3><span>· which one won throughout, and why</span></summary>"
        )
        yield from _table(cutover_content.CROSSOVER_COLUMNS, rows)
        yield "</details>"
    yield f"<details><summary><h3>{escape(cutover_content.FITS_TITLE)}</h3></summary>"
    yield from _table(cutover_content.FIT_TABLE_COLUMNS, cutover.fit_rows())
    yield "</details>"
    if cutover.metgs:
        yield f"<h3>{escape(cutover_content.METG_TITLE)}</h3>"
        yield f'<p class="lead">{escape(cutover_content.METG_NOTE)}</p>'
        yield from _table(cutover_content.METG_COLUMNS, cutover.metg_rows())


def _scaling(data: ReportData) -> Iterator[str]:
    sections = scaling.scaling_sections(data)
    if not sections:
        return
    heading = scaling.scaling_heading(data.scaling)
    yield f'<section class="card" id="scaling"><h2>{escape(heading)}</h2>'
    yield '<figure><div class="plots">'
    for image in scaling_images(data, "svg"):
        encoded = base64.b64encode(image).decode()
        alt = "speedup against nodes or workers"
        yield f'<img alt="{alt}" src="data:image/svg+xml;base64,{encoded}">'
    yield (
        "</div><figcaption>Speedup against nodes or workers for each series: measured points, "
        "the ideal line, and the fitted law (Amdahl for strong scaling, Gustafson for weak), "
        "solid across the sizes measured and dashed beyond them: a PROJECTION."
        "</figcaption></figure>"
    )
    for section in sections:
        yield f"<h3>{escape(section.title)}</h3>"
        yield f'<p class="lead">{escape(section.sentence)}</p>'
        yield from _table(section.columns, section.rows)
    projections = scaling.report_projection_rows(data)
    if projections:
        yield f"<h3>{escape(scaling.NODE_PROJECTIONS_TITLE)}</h3>"
        yield f'<p class="lead">{escape(node_projection_note())}</p>'
        yield from _table(scaling.NODE_PROJECTION_COLUMNS, projections)
    yield "</section>"


def _projections(data: ReportData) -> Iterator[str]:
    rows = cutover_content.projection_rows(data.analysis)
    if not rows:
        return
    title = escape(cutover_content.PROJECTIONS_TITLE)
    yield f'<section class="card projection" id="projections"><h2>{title}</h2>'
    yield f'<p class="lead">{escape(cutover_content.PROJECTIONS_NOTE)}</p>'
    yield from _table(cutover_content.PROJECTION_COLUMNS, rows)
    yield "</section>"


def _warnings(data: ReportData) -> Iterator[str]:
    if data.analysis is None or not data.analysis.warnings:
        return
    warnings = data.analysis.warnings
    yield '<section class="card" id="warnings"><h2>Warnings</h2>'
    yield (
        f"<details><summary><h3>{len(warnings)} warning(s)</h3><span>· what makes a number "
        'shaky, and the flag to change</span></summary><ul class="findings">'
    )
    for warning in warnings:
        yield f'<li class="remark">{escape(warning_sentence(warning))}</li>'
    yield "</ul></details></section>"


def _glossary(items: Iterator[tuple[str, str, str]]) -> Iterator[str]:
    yield '<dl class="glossary">'
    for anchor, term, meaning in items:
        identifier = f' id="{anchor}"' if anchor else ""
        yield f"<dt{identifier}>{escape(term)}</dt><dd>{escape(meaning)}</dd>"
    yield "</dl>"


def _reading(data: ReportData) -> Iterator[str]:
    yield '<section class="card" id="reading"><h2>How to read this report</h2>'
    yield "<h3>Glossary</h3>"
    yield from _glossary(("", term, meaning) for term, meaning in GLOSSARY)
    yield "<h3>Columns</h3>"
    yield from _glossary(("", c.flat_title, c.meaning) for c in MEASUREMENT_COLUMNS)
    if data.analysis is not None and data.analysis.crossovers:
        yield "<h3>Cutover analysis</h3>"
        yield (
            '<p class="lead">Each backend\'s costs are fitted to every job shape it ran, '
            "T ≈ S + d·o + n·g / P_eff + n·b / B for n tasks of g seconds of serial work moving "
            "b bytes each in d dispatches; two backends' fitted times meet at most once along a "
            "size: the crossover.</p>"
        )
        shown = {
            c.flat_title: c
            for c in (
                *cutover_content.CROSSOVER_COLUMNS,
                *cutover_content.FIT_TABLE_COLUMNS,
                *cutover_content.METG_COLUMNS,
            )
        }
        yield from _glossary(("", title, c.meaning) for title, c in shown.items())
    yield "<h3>Findings</h3>"
    yield (
        '<p class="lead">Each row ends in one sentence naming the effect behind its number, '
        "computed from the measurements (task times and CPU times on the workers), never "
        "assumed. The kinds:</p>"
    )
    yield from _glossary((f"finding-{k.anchor}", k.name, k.meaning) for k in FINDING_KINDS)
    yield "</section>"


def _metadata(data: ReportData) -> Iterator[str]:
    yield '<section class="card" id="metadata"><h2>Where and how it was measured</h2>'
    yield from _glossary(("", label, value) for label, value in data.metadata_items())
    topology = data.topology_items()
    if topology:
        yield "<h3>Topology of each backend</h3>"
        yield from _glossary(("", backend, text) for backend, text in topology)
    yield "</section>"


def _nav_name(section: Section) -> str:
    """The workload's name, or the lesson's for one shown by another's rows (tiny tasks)."""
    if section.lesson is not None and not section.groups:
        return section.lesson.lesson.value.replace("-", " ")
    return section.workload


def _page(data: ReportData) -> Iterator[str]:
    meta = data.results.metadata
    host = str(meta.get("host", "?"))
    sections = data.sections()
    plotted = set(plotted_workloads(data))
    yield "<!doctype html>"
    yield '<html lang="en"><head><meta charset="utf-8">'
    yield '<meta name="viewport" content="width=device-width, initial-scale=1">'
    yield f"<title>dist-bench report: {escape(host)}</title>"
    yield f"<style>{STYLE}</style></head><body>"
    yield '<header class="top"><div class="wrap">'
    yield '<p class="eyebrow">dist-bench report</p>'
    yield "<h1>Does a cluster pay off for this work, and from where?</h1>"
    facts = [
        f"host {host}",
        f"{meta.get('cores', '?')} cores",
        f"Python {meta.get('python', '?')}",
        f"measured {meta.get('started_at', '?')}",
        f"{len(data.results.records)} measurements",
    ]
    yield f'<p class="meta">{escape(" · ".join(facts))}</p>'
    links = [("glance", "At a glance")]
    links += [(section.anchor, _nav_name(section)) for section in sections]
    if data.scaling:
        links.append(("scaling", scaling.scaling_heading(data.scaling)))
    if cutover_content.projection_rows(data.analysis):
        links.append(("projections", "Projections"))
    if data.analysis is not None and data.analysis.warnings:
        links.append(("warnings", "Warnings"))
    links += [("backends", "Backends"), ("reading", "How to read"), ("metadata", "Metadata")]
    yield "<nav>" + "".join(f'<a href="#{escape(a)}">{escape(t)}</a>' for a, t in links) + "</nav>"
    yield '</div></header><main><div class="wrap">'
    yield from glance(data)
    for section in sections:
        yield from _section(data, section, section.workload in plotted)
    yield from _scaling(data)
    yield from _projections(data)
    yield from _warnings(data)
    yield f'<section class="card" id="backends"><h2>{escape(BACKENDS_TITLE)}</h2>'
    yield from _table(BACKEND_COLUMNS, data.backend_rows())
    yield "</section>"
    yield from _reading(data)
    yield from _metadata(data)
    yield (
        f'</div></main><footer><div class="wrap">Written by dist-bench {escape(__version__)}. '
        "Re-create it with <code>dist-bench report RESULTS.json --format html</code>."
        "</div></footer></body></html>"
    )


def render(data: ReportData) -> bytes:
    """The whole report as one UTF-8 HTML page."""
    return ("\n".join(_page(data)) + "\n").encode()
