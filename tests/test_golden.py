"""The golden test: the analysis of a saved results file stays what it was before the redesign.

``data/golden_cutover.json`` is a real run (``dist-bench cutover -b threads,processes --budget
40s`` on the 2-core development machine, under load): every built-in workload on serial,
threads and processes, with a crossover bracketed by the measurements, crossovers the model
claims but the measurements do not show, and every common warning. ``golden_analysis.json`` and
``golden_report.md`` are ``costmodel.analyse`` of it (with projections to 2 and 4 nodes) and its
Markdown report, both written by the code before issue 12's redesign. A change to the maths, a
finding or a sentence fails here; an intended one regenerates the two files and says why.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from dist_bench.costmodel import CutoverAnalysis, analyse
from dist_bench.report.content import ReportData
from dist_bench.report.markdown_exporter import render
from dist_bench.report.sentences import crossover_sentence, finding_sentences, warning_sentence
from dist_bench.results import Results, load_results

DATA = Path(__file__).parent / "data"
#: Floats may differ in their last bits on another BLAS; anything more is a change.
RELATIVE_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def golden() -> tuple[Results, CutoverAnalysis]:
    """The saved results and their analysis by today's code."""
    results = load_results(DATA / "golden_cutover.json")
    return results, analyse(results, project_nodes=(2, 4))


def analysis_view(analysis: CutoverAnalysis) -> dict[str, Any]:
    """The analysis as the golden file holds it: every number and every sentence.

    The model returns data and ``report.sentences`` words it; before the redesign the sentences
    were fields of the analysis, so they are put back where the golden file has them.
    """
    view = analysis.to_json()
    for item, crossover in zip(view["crossovers"], analysis.crossovers, strict=True):
        item["sentence"] = crossover_sentence(crossover, analysis.fits)
    view["findings"] = finding_sentences(analysis)
    view["warnings"] = [warning_sentence(warning) for warning in analysis.warnings]
    return view


def assert_same(actual: Any, expected: Any, where: str = "analysis") -> None:
    """Equal structure, equal strings, floats equal to ``RELATIVE_TOLERANCE``.

    ``actual`` may hold keys the golden file does not (fields added since): never fewer.
    """
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert set(expected) <= set(actual), where
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list | tuple), where
        assert len(actual) == len(expected), where
        for index, (mine, theirs) in enumerate(zip(actual, expected, strict=True)):
            assert_same(mine, theirs, f"{where}[{index}]")
    elif isinstance(expected, float) and not isinstance(actual, bool):
        assert isinstance(actual, int | float), where
        assert math.isclose(actual, expected, rel_tol=RELATIVE_TOLERANCE), where
    else:
        assert actual == expected, where


def test_the_analysis_of_the_saved_file_is_unchanged(
    golden: tuple[Results, CutoverAnalysis],
) -> None:
    expected = json.loads((DATA / "golden_analysis.json").read_text())
    actual = json.loads(json.dumps(analysis_view(golden[1])))
    assert expected["crossovers"] and expected["warnings"] and expected["projections"]
    assert_same(actual, expected)


def test_the_markdown_report_of_the_saved_file_is_unchanged(
    golden: tuple[Results, CutoverAnalysis],
) -> None:
    expected = (DATA / "golden_report.md").read_text().splitlines()
    actual = render(ReportData(*golden)).decode().splitlines()
    assert len(actual) == len(expected)
    for number, (mine, theirs) in enumerate(zip(actual, expected, strict=True), start=1):
        assert mine == theirs, f"line {number}"
