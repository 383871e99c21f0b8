"""Exporters: one module per format, each turning results into bytes, behind one interface.

The interface is hyperfine's: an exporter is a function ``render(data) -> bytes`` from the results
(and the cutover analysis, when there is one) to the file's content; choosing where the bytes go is
not its business. The registry below says which module renders each format, so nothing heavy
(matplotlib) is imported until a format that needs it is asked for.

Output paths are checked (``plan_outputs``) before anything is rendered, and files are written
atomically, so a bad path fails at once and a failed render never leaves half a file.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dist_bench.errors import SaveError, UsageError

if TYPE_CHECKING:
    from dist_bench.costmodel import CutoverAnalysis
    from dist_bench.report.content import ReportData
    from dist_bench.results import Results

#: What every exporter is: report data in, the file's bytes out.
Render = Callable[["ReportData"], bytes]

#: Name of the files ``export_all`` and ``report -o DIR`` write, before the format's suffix.
DEFAULT_STEM = "report"
#: ``-o -``: write a text format to standard output.
STDOUT = "-"


@dataclass(frozen=True)
class ExporterSpec:
    """Where a format's exporter lives and what it writes.

    Attributes:
        name: The format's name on the command line (``--format``).
        suffix: The file suffix it writes.
        target: ``module:function`` of its ``render``.
        summary: One line for ``--help`` and the docs.
        binary: Whether its output is binary (never sent to a terminal).
        requires: Modules it needs beyond dist-bench's own dependencies.
        install_hint: The command that installs them.
        uses_analysis: Whether it shows the cutover analysis (fits, crossovers), which then
            has to be computed first.
    """

    name: str
    suffix: str
    target: str
    summary: str
    binary: bool = False
    requires: tuple[str, ...] = ()
    install_hint: str = ""
    uses_analysis: bool = True

    def check_available(self) -> None:
        """Raise now, before anything runs, if what this format needs is missing.

        Raises:
            UsageError: a required module (matplotlib for plots) is not installed.
        """
        if not self.available():
            raise UsageError(
                f"--format {self.name} needs {', '.join(self.requires)}, which is not "
                f"installed; run: {self.install_hint}"
            )

    def available(self) -> bool:
        """Whether what this format needs is installed."""
        return all(importlib.util.find_spec(module) is not None for module in self.requires)

    def load(self) -> Render:
        """Import and return the exporter's render function."""
        module_name, function_name = self.target.split(":")
        render: Render = getattr(importlib.import_module(module_name), function_name)
        return render


_PLOTS = ("matplotlib",)
_PLOTS_HINT = "pip install 'dist-bench[plots]'"

#: Every format, in the order ``all`` writes them.
EXPORTERS: dict[str, ExporterSpec] = {
    spec.name: spec
    for spec in (
        ExporterSpec(
            "html",
            ".html",
            "dist_bench.report.html_exporter:render",
            "one self-contained page: findings, tables, plots, explanations, metadata",
            requires=_PLOTS,
            install_hint=_PLOTS_HINT,
        ),
        ExporterSpec(
            "md",
            ".md",
            "dist_bench.report.markdown_exporter:render",
            "Markdown tables and findings (for a README, an issue, a pull request)",
        ),
        ExporterSpec(
            "csv",
            ".csv",
            "dist_bench.report.csv_exporter:render",
            "one row per measurement: medians, intervals, speedup, efficiency, Karp-Flatt",
            uses_analysis=False,
        ),
        ExporterSpec(
            "json",
            ".json",
            "dist_bench.report.json_exporter:render",
            "the versioned results document (reads back with 'dist-bench report')",
            uses_analysis=False,
        ),
        ExporterSpec(
            "png",
            ".png",
            "dist_bench.report.plot:render_png",
            "the plots as a PNG image",
            binary=True,
            requires=_PLOTS,
            install_hint=_PLOTS_HINT,
        ),
        ExporterSpec(
            "svg",
            ".svg",
            "dist_bench.report.plot:render_svg",
            "the plots as an SVG image",
            requires=_PLOTS,
            install_hint=_PLOTS_HINT,
        ),
        ExporterSpec(
            "pdf",
            ".pdf",
            "dist_bench.report.plot:render_pdf",
            "the plots as a PDF",
            binary=True,
            requires=_PLOTS,
            install_hint=_PLOTS_HINT,
        ),
    )
}


def exporter_for(name: str) -> ExporterSpec:
    """The exporter of format ``name`` (a suffix with its dot works too: ``.png``).

    Raises:
        UsageError: no such format; the message lists them.
    """
    key = name.lower().removeprefix(".")
    key = {"markdown": "md", "htm": "html"}.get(key, key)
    if key not in EXPORTERS:
        raise UsageError(f"unknown format {name!r}; choose from: {', '.join(EXPORTERS)}, all")
    return EXPORTERS[key]


def parse_formats(names: Sequence[str]) -> list[ExporterSpec]:
    """Formats from ``--format`` values (comma lists, repeated, or ``all``), each once."""
    wanted = [part.strip() for name in names for part in name.split(",") if part.strip()]
    if "all" in wanted:
        return list(EXPORTERS.values())
    return list({spec.name: spec for spec in map(exporter_for, wanted)}.values())


def formats_for_output(formats: Sequence[str], output: str | None) -> list[str]:
    """The formats to write: those given, else the one ``-o``'s suffix names (``report.html``).

    Raises:
        UsageError: ``-o`` without formats names no format by its suffix (or is ``-``).
    """
    if formats or output is None:
        return list(formats)
    suffix = Path(output).suffix.lower()
    if output == STDOUT or not any(spec.suffix == suffix for spec in EXPORTERS.values()):
        raise UsageError("-o needs --format (e.g. --format html), or a file named .html, .md, ...")
    return [suffix]


@dataclass(frozen=True)
class Output:
    """One file to write (``path``), or standard output (``path`` None), in one format."""

    spec: ExporterSpec
    path: Path | None

    def describe(self) -> str:
        """Where it goes, for a message."""
        return "standard output" if self.path is None else str(self.path)


def plan_outputs(
    formats: Sequence[ExporterSpec],
    output: str | None,
    *,
    source: Path | None = None,
    stem: str = DEFAULT_STEM,
) -> list[Output]:
    """Decide and check where each format goes, before anything is loaded or rendered.

    ``output`` is a file (one format), ``-`` (standard output, one text format), a folder (each
    format as ``<stem>.<suffix>`` in it, ``report.*`` by default), or None: each format beside
    ``source`` as ``<source stem>.<suffix>``. The results file being read is never overwritten.

    Raises:
        UsageError: a path that cannot be written, a binary format to standard output, several
            formats into one file, a format whose software is missing.
    """
    try:
        return _planned_outputs(formats, output, source, stem)
    except OSError as exc:  # a folder on the way the user cannot enter: even stat is refused
        raise UsageError(f"cannot write {output!r}: {exc.strerror}") from None


def _planned_outputs(
    formats: Sequence[ExporterSpec], output: str | None, source: Path | None, stem: str
) -> list[Output]:
    if not formats:
        raise UsageError("no format given")
    for spec in formats:
        spec.check_available()
    if output == STDOUT:
        if len(formats) > 1:
            raise UsageError("-o - writes one format to standard output; give a folder for more")
        if formats[0].binary:
            raise UsageError(f"{formats[0].name} is binary: give -o FILE, not standard output")
        return [Output(formats[0], None)]
    if output is not None and output.endswith(("/", os.sep)) and not Path(output).is_dir():
        raise UsageError(f"cannot write to {output!r}: the folder does not exist")
    if output is not None and Path(output).is_dir():
        outputs = [Output(s, Path(output) / f"{stem}{s.suffix}") for s in formats]
    elif output is not None:
        if len(formats) > 1:
            raise UsageError(
                f"{len(formats)} formats cannot share the file {output!r}: give an existing folder"
            )
        outputs = [Output(formats[0], Path(output))]
    elif source is not None:
        outputs = [Output(s, source.with_suffix(s.suffix)) for s in formats]
    else:
        raise UsageError("no output given: use -o FILE, -o FOLDER or -o -")
    for item in outputs:
        assert item.path is not None  # only standard output has none, returned above
        _check_writable(item.path, source)
    return outputs


#: Formats ``--plot`` accepts (chosen by the file's suffix).
PLOT_FORMATS = ("png", "svg", "pdf")


def plan_plot(path: Path) -> Output:
    """Check a ``--plot`` path now, not after the run: its suffix names an image format.

    Raises:
        UsageError: not .png/.svg/.pdf, a missing folder, or matplotlib not installed.
    """
    suffixes = ", ".join(EXPORTERS[name].suffix for name in PLOT_FORMATS)
    if path.suffix.lower().removeprefix(".") not in PLOT_FORMATS:
        raise UsageError(f"plot {str(path)!r}: use one of {suffixes}")
    (output,) = plan_outputs([exporter_for(path.suffix)], str(path))
    return output


def _check_writable(path: Path, source: Path | None) -> None:
    if source is not None and path.resolve() == source.resolve():
        raise UsageError(
            f"{str(path)!r} is the results file being read; give another -o to export it"
        )
    if path.is_dir():
        raise UsageError(f"{str(path)!r} is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"cannot write {str(path)!r}: permission denied")


def analysis_for(
    results: Results,
    outputs: Sequence[Output],
    project_nodes: Sequence[int] = (),
    *,
    terminal: bool = False,
) -> CutoverAnalysis | None:
    """The cutover analysis of ``results`` if an output (or, ``terminal``, the summary) shows it.

    None when nothing shows it: then nothing is fitted.
    """
    if not terminal and not any(item.spec.uses_analysis for item in outputs):
        return None
    from dist_bench.costmodel import analyse

    return analyse(results, project_nodes=project_nodes)


def plan_reports_beside(results_file: Path, formats: Sequence[str]) -> list[Output]:
    """Outputs beside ``results_file``, named after it, in each installed one of ``formats``.

    A format whose software is missing is left out, not refused.
    """
    available = [name for name in formats if EXPORTERS[name].available()]
    return plan_outputs(parse_formats(available), str(results_file.parent), stem=results_file.stem)


def render_outputs(outputs: Sequence[Output], data: ReportData) -> list[tuple[Output, bytes]]:
    """Render every output's bytes (all of them before any is written)."""
    return [(item, item.spec.load()(data)) for item in outputs]


def write_outputs(rendered: Sequence[tuple[Output, bytes]]) -> None:
    """Write rendered outputs: files atomically, text to standard output as is.

    Raises:
        SaveError: a file could not be written (disk full); it is as it was before.
    """
    from dist_bench.results_writer import replace_file

    for item, content in rendered:
        if item.path is None:
            sys.stdout.buffer.write(content)
            sys.stdout.flush()
            continue
        try:
            replace_file(item.path, content)
        except OSError as exc:
            raise SaveError(f"cannot write {str(item.path)!r}: {exc.strerror}") from None


def plan_directory(
    directory: Path, formats: Sequence[str] = ("all",), stem: str = DEFAULT_STEM
) -> list[Output]:
    """Check (and make, if its parent exists) a folder for ``<stem>.*`` outputs.

    Call it before a long run, so a bad ``-o DIR`` fails in the first second.

    Raises:
        UsageError: the folder cannot be made or written, or a format's software is missing.
    """
    if not directory.is_dir():
        if not directory.parent.is_dir():
            raise UsageError(
                f"cannot write to {str(directory)!r}: folder {str(directory.parent)!r} is missing"
            )
        directory.mkdir()
    return plan_outputs(parse_formats(formats), str(directory), stem=stem)


def export_all(
    results: Results,
    analysis: Any,
    directory: Path,
    formats: Sequence[str] = ("all",),
    stem: str = DEFAULT_STEM,
) -> list[Path]:
    """Write every format (or those named) of ``results`` into ``directory`` as ``<stem>.*``.

    For commands that produce a folder of outputs (``dist-bench cutover``); ``analysis`` is the
    cutover analysis, or None. Returns the paths written.

    Raises:
        UsageError: as ``plan_directory``.
    """
    from dist_bench.report.content import ReportData

    outputs = plan_directory(directory, formats, stem)
    write_outputs(render_outputs(outputs, ReportData(results, analysis)))
    return [item.path for item in outputs if item.path is not None]
