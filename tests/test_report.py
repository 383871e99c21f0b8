"""Every exporter on a small real run: the content is checked, not only that a file appeared."""

from __future__ import annotations

import copy
import csv
import io
import json
import xml.etree.ElementTree as ElementTree
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dist_bench.cli import main
from dist_bench.costmodel import CutoverAnalysis
from dist_bench.errors import UsageError
from dist_bench.findings import FindingKind
from dist_bench.report import (
    EXPORTERS,
    analysis_for,
    export_all,
    exporter_for,
    formats_for_output,
    parse_formats,
    plan_outputs,
    plan_plot,
    plan_reports_beside,
)
from dist_bench.report.columns import MEASUREMENT_COLUMNS
from dist_bench.report.content import ReportData
from dist_bench.report.glossary import FINDING_KINDS, finding_gloss
from dist_bench.report.sentences import crossover_sentence
from dist_bench.results import Results, load_results
from dist_bench.stats import median


def render(results: Results, name: str) -> bytes:
    return exporter_for(name).load()(ReportData(results))


def test_json_is_the_results_document_and_reads_back(
    swept_results: Results, tmp_path: Path
) -> None:
    path = tmp_path / "again.json"
    path.write_bytes(render(swept_results, "json"))
    again = load_results(path)
    assert again.records == swept_results.records
    assert again.backends == swept_results.backends
    assert again.metadata == json.loads(json.dumps(swept_results.metadata))


def test_csv_has_one_row_per_record_with_its_statistics(swept_results: Results) -> None:
    rows = list(csv.DictReader(io.StringIO(render(swept_results, "csv").decode())))
    assert len(rows) == len(swept_results.records)
    for row, record in zip(rows, swept_results.records, strict=True):
        assert (row["workload"], row["backend"]) == (record.workload, record.backend)
        assert float(row["grain_s"]) == record.grain_s
        assert float(row["median_s"]) == pytest.approx(median(record.wall_s))
        assert float(row["median_low_s"]) <= float(row["median_s"]) <= float(row["median_high_s"])
        assert row["answer"] == "ok"
        assert row["finding"]
        if record.backend == "serial":
            assert float(row["speedup"]) == pytest.approx(1.0)
            assert row["karp_flatt_serial_fraction"] == ""  # undefined on one worker
        else:
            speedup = float(row["speedup"])
            assert float(row["speedup_low"]) <= speedup <= float(row["speedup_high"])
            slots = int(row["parallel_slots"])
            assert float(row["efficiency"]) == pytest.approx(speedup / slots)
            expected = (1 / speedup - 1 / slots) / (1 - 1 / slots)
            # Undefined (empty) unless the speedup is beyond doubt and at most ideal.
            if float(row["speedup_low"]) > 1.0 and speedup <= slots:
                assert float(row["karp_flatt_serial_fraction"]) == pytest.approx(expected)
            else:
                assert row["karp_flatt_serial_fraction"] == ""


def test_markdown_has_a_table_per_size_and_a_row_per_backend(swept_results: Results) -> None:
    text = render(swept_results, "md").decode()
    lines = text.splitlines()
    headers = [
        i for i, line in enumerate(lines) if line.startswith("| backend | workers | chunk | median")
    ]
    sizes = {record.size_key() for record in swept_results.records}
    assert len(headers) == len(sizes)
    width = len(MEASUREMENT_COLUMNS)
    measured = []
    for start in headers:
        assert lines[start + 1].count("|") == width + 1  # the alignment row
        rows = []
        for line in lines[start + 2 :]:
            if not line.startswith("| "):
                break
            rows.append(line)
        assert all(row.count(" | ") == width - 1 for row in rows)
        measured += [(row.split(" | ")[0].removeprefix("| "), row.split(" | ")[-1]) for row in rows]
    expected = [(r.backend, "ok |") for r in swept_results.records]
    assert sorted(measured) == sorted(expected)
    assert "## What the columns mean" in text


def test_png_and_pdf_are_valid_images(swept_results: Results, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.image

    png = render(swept_results, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    height, width = pixels.shape[:2]
    assert width > 500 and height > 200
    assert pixels.std() > 0  # something was drawn, not a blank canvas
    assert render(swept_results, "pdf").startswith(b"%PDF-")


def test_svg_is_well_formed_and_draws_every_backend(swept_results: Results) -> None:
    pytest.importorskip("matplotlib")
    svg = render(swept_results, "svg").decode()
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")
    assert float(root.attrib["width"].removesuffix("pt")) > 0
    for backend in ("serial", "threads", "processes"):
        assert backend in svg  # legend text stays text (svg.fonttype none)
    assert "Amdahl" in svg


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_one_self_contained_page(swept_results: Results) -> None:
    pytest.importorskip("matplotlib")
    page = render(swept_results, "html").decode()
    parser = _PageParser()
    parser.feed(page)
    tags = parser.tags
    images = [attrs for tag, attrs in tags if tag == "img"]
    assert images and all((a["src"] or "").startswith("data:image/svg+xml;base64,") for a in images)
    for tag, attrs in tags:  # nothing from the network, no script
        assert tag not in ("script", "link", "iframe")
        for name in ("src", "href"):
            assert not (attrs.get(name) or "").startswith(("http:", "https:", "//"))
    assert "@import" not in page and "url(" not in page
    sizes = {record.size_key() for record in swept_results.records}
    assert (
        sum(1 for tag, _ in tags if tag == "table") == 1 + len(sizes) + 1
    )  # glance, sizes, backends
    for summary in ReportData(swept_results).summaries:
        gloss = finding_gloss(summary.finding)
        assert f'href="#finding-{gloss.anchor}"' in page
    assert {gloss.kind for gloss in FINDING_KINDS} == set(FindingKind)
    for gloss in FINDING_KINDS:
        assert f'id="finding-{gloss.anchor}"' in page
    for column in MEASUREMENT_COLUMNS:
        assert column.meaning.replace("'", "&#x27;") in page
    assert str(swept_results.metadata["host"]) in page


def test_report_command_writes_every_format_and_standard_output(
    swept_results: Results, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    source = tmp_path / "r.json"
    source.write_text(swept_results.dumps())
    out = tmp_path / "out"
    out.mkdir()
    assert _exit_code(["report", str(source), "--format", "all", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"report{s.suffix}" for s in EXPORTERS.values()
    )
    capsys.readouterr()
    assert _exit_code(["report", str(source), "-f", "md", "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("# dist-bench results")
    assert _exit_code(["report", str(source), "-f", "csv"]) == 0  # default: beside the source
    assert (tmp_path / "r.csv").read_text().startswith("workload,backend")
    assert _exit_code(["report", str(source), "-o", str(tmp_path / "page.html")]) == 0
    assert (tmp_path / "page.html").read_text().startswith("<!doctype html>")


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["-f", "png", "-o", "-"], "binary"),
        (["-f", "md,csv", "-o", "one.txt"], "cannot share"),
        (["-f", "gif"], "unknown format"),
        (["-f", "json"], "being read"),
        (["-o", "x.txt"], "needs --format"),
        (["-f", "html", "-o", "missing/x.html"], "does not exist"),
    ],
)
def test_bad_report_outputs_fail_before_reading(
    swept_results: Results,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    fragment: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "r.json"
    source.write_text(swept_results.dumps())
    assert _exit_code(["report", str(source), *arguments]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_export_all_makes_the_folder_and_writes_every_format(
    swept_results: Results, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    written = export_all(swept_results, None, tmp_path / "cutover")
    assert [p.suffix for p in written] == [s.suffix for s in EXPORTERS.values()]
    assert all(p.stat().st_size > 0 for p in written)
    assert load_results(tmp_path / "cutover" / "report.json").records == swept_results.records
    with pytest.raises(UsageError, match="missing"):
        export_all(swept_results, None, tmp_path / "no" / "such")


def test_formats_and_plot_paths_are_checked_up_front(tmp_path: Path) -> None:
    assert [s.name for s in parse_formats(["md,csv", "markdown", "csv"])] == ["md", "csv"]
    assert [s.name for s in parse_formats(["all"])] == list(EXPORTERS)
    with pytest.raises(UsageError, match=r"\.png"):
        plan_plot(tmp_path / "p.json")
    source = tmp_path / "r.json"
    (output,) = plan_outputs(parse_formats(["html"]), None, source=source)
    assert output.path == tmp_path / "r.html"


def test_without_format_the_output_suffix_names_it() -> None:
    assert formats_for_output(["md"], "notes.html") == ["md"]  # given formats win
    assert formats_for_output([], "out/report.HTML") == [".html"]
    assert formats_for_output([], None) == []  # the tables on the terminal
    for output in ("-", "report.txt", "folder"):
        with pytest.raises(UsageError, match="-o needs --format"):
            formats_for_output([], output)


def test_the_analysis_is_computed_only_when_something_shows_it(swept_results: Results) -> None:
    (csv_out,) = plan_outputs(parse_formats(["csv"]), "-")
    assert not csv_out.spec.uses_analysis
    assert analysis_for(swept_results, [csv_out]) is None
    shown = analysis_for(swept_results, [csv_out], terminal=True)
    assert isinstance(shown, CutoverAnalysis)
    (md_out,) = plan_outputs(parse_formats(["md"]), "-")
    assert isinstance(analysis_for(swept_results, [md_out]), CutoverAnalysis)


def test_reports_beside_a_results_file_are_named_after_it(tmp_path: Path) -> None:
    outputs = plan_reports_beside(tmp_path / "cutover.json", ["md", "csv"])
    assert [item.path for item in outputs] == [tmp_path / "cutover.md", tmp_path / "cutover.csv"]


def _exit_code(arguments: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    code = exited.value.code
    return code if isinstance(code, int) else 1


@pytest.fixture(scope="module")
def scripted_cutover() -> tuple[Results, CutoverAnalysis]:
    """A cutover search on the scripted-cost backends: crossovers and projections exist."""
    from tests.scripted_costs import search

    return search(budget_s=20.0, project_nodes=(2, 4, 8))


def test_the_cutover_analysis_is_in_every_report(
    scripted_cutover: tuple[Results, CutoverAnalysis],
) -> None:
    pytest.importorskip("matplotlib")
    results, analysis = scripted_cutover
    reached = [c for c in analysis.crossovers if c.reached]
    assert reached and analysis.projections
    data = ReportData(results, analysis)
    page = exporter_for("html").load()(data).decode()
    markdown = exporter_for("md").load()(data).decode()
    for text in (unescape(page), markdown):
        for crossover in reached:
            assert crossover_sentence(crossover, analysis.fits) in text
        assert "PROJECTION, not a measurement" in text
        for fit in analysis.fits:
            assert f"| {fit.backend} |" in text or f">{fit.backend}</td>" in page
    svg = exporter_for("svg").load()(data).decode()
    for crossover in reached:
        if crossover.axis in {"grain_s", "tasks", "bytes_per_task"}:
            assert f"{crossover.winner_below} → {crossover.winner_above}" in svg
    assert "PROJECTION" in svg


def test_without_a_swept_size_there_is_no_cutover_section(swept_results: Results) -> None:
    from dist_bench.costmodel import analyse

    single = copy.deepcopy(swept_results)
    single.records = [r for r in single.records if r.grain_s == single.records[0].grain_s]
    page = exporter_for("md").load()(ReportData(single, analyse(single))).decode()
    assert "Where each step up starts to win" not in page
    assert "PROJECTION" not in page


def test_report_shows_the_cutover_summary_of_a_swept_file(
    scripted_cutover: tuple[Results, CutoverAnalysis],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    results, _ = scripted_cutover
    source = tmp_path / "cutover.json"
    source.write_text(results.dumps())
    assert _exit_code(["report", str(source)]) == 0
    out = capsys.readouterr().out
    assert "where each step up starts to win" in out
    assert "fitted costs" in out
