"""The report of an evaluation run: one self-contained HTML page and the same tables in Markdown.

:func:`build_report` reads a results directory of ``spikeattr evaluate`` (:func:`read_run`) and
writes ``report.html`` (:mod:`spikeattr.viz.report_html`: figures embedded as base64 PNG
``data:`` URIs, inline CSS, no scripts, no external fonts or links: it opens offline) and
``report.md`` beside it (:mod:`spikeattr.viz.report_markdown`), both atomically. The page leads
with the comparable protocol: after the notes on each model's stamps and the models' balanced
accuracy, its headline table with 95 % CIs (each method's row, then its controls' rows), per
model a ranking of the methods and the significant paired comparisons, and its figures
(:mod:`spikeattr.viz.comparable`); then the model-randomisation sanity check; then the paper
protocol in its own section (table and figures, :mod:`spikeattr.viz.paper`); then a gallery of
explained stamps (:mod:`spikeattr.viz.gallery`), one per class, methods side by side; last the
run's configuration and manifest (seed, versions, data checksums, timings). The numbers are the
result files' summaries, formatted as ``summary.md`` formats them.

A partial run still gives a report: every absent or unreadable file is listed under "Missing"
at the top and noted where it would have been shown. Arguments are checked before anything is
drawn (:func:`report_paths`), and a refused report leaves no file behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spikeattr._io import atomic_path, check_output_path
from spikeattr.errors import SpikeAttrError
from spikeattr.viz.figures import figure_data_uri
from spikeattr.viz.gallery import build_gallery
from spikeattr.viz.report_content import MetricFigure, ReportContent
from spikeattr.viz.report_html import render_html
from spikeattr.viz.report_markdown import render_markdown
from spikeattr.viz.run_figures import RUN_FIGURES
from spikeattr.viz.rundir import EvaluationRun, Missing, ReportError, check_run_dir, read_run

#: Resolution of the embedded metric figures (dots per inch).
METRIC_DPI = 120


@dataclass
class ReportResult:
    """What :func:`build_report` wrote."""

    html: Path
    markdown: Path
    missing: list[Missing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: int = 0


def report_paths(
    run_dir: str | os.PathLike[str], out: str | os.PathLike[str] | None = None
) -> tuple[Path, Path]:
    """The HTML and Markdown files the report of ``run_dir`` goes to, checked before any work.

    Args:
        run_dir: a results directory of ``spikeattr evaluate``.
        out: the HTML file; default ``RUN_DIR/report.html``. The Markdown goes beside it with
            the suffix ``.md``.

    Raises:
        ReportError: ``run_dir`` is not an evaluation run; ``out`` has no ``.html`` suffix, or
            it or its ``.md`` is a directory or lies below a regular file.
    """
    run = check_run_dir(run_dir)
    target = Path(out) if out is not None else run / "report.html"
    if target.suffix.lower() not in (".html", ".htm"):
        raise ReportError(f"{target}: the report is an HTML file; use a .html suffix")
    markdown = target.with_suffix(".md")
    try:
        check_output_path(target, "HTML report")
        check_output_path(markdown, "Markdown report (written beside the HTML)")
    except SpikeAttrError as exc:
        raise ReportError(str(exc)) from exc
    return target, markdown


def metric_figures(run: EvaluationRun) -> dict[str, list[MetricFigure]]:
    """The metric figures of each protocol as PNG URIs (:data:`RUN_FIGURES`, in order): the
    comparable protocol's deletion curves, completeness by fraction and continuity/sanity bars;
    the paper's flipping curves, completeness versus epsilon and continuity/compactness bars."""
    figures: dict[str, list[MetricFigure]] = {"comparable": [], "paper": []}
    for key, figure in RUN_FIGURES.items():
        if not run.headline(figure.protocol):
            continue  # e.g. the quick start's run: no paper metrics, no paper figures
        uri = figure_data_uri(figure.draw(run), METRIC_DPI)
        figures[figure.protocol].append(MetricFigure(key, figure.title, uri))
    return figures


def build_report(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> ReportResult:
    """Write the HTML report of ``run_dir`` and its tables as Markdown, atomically.

    Args:
        run_dir: a results directory of ``spikeattr evaluate``.
        out: the HTML file; default ``RUN_DIR/report.html``. The Markdown goes beside it with
            the suffix ``.md`` (``report.md``).
        progress: called as ``progress(done, total)`` after each gallery figure.

    Raises:
        ReportError: ``run_dir`` is not an evaluation run, or ``out`` cannot be written
            (:func:`report_paths`); nothing is written then.
    """
    target, markdown_path = report_paths(run_dir, out)
    run = read_run(run_dir)
    notes: list[str] = []
    gallery = build_gallery(run, notes, progress)
    content = ReportContent(run, notes, metric_figures(run), gallery)
    page = render_html(content)
    markdown = render_markdown(content)
    try:
        # both files are complete before either is renamed into place
        with atomic_path(target) as html_tmp, atomic_path(markdown_path) as markdown_tmp:
            html_tmp.write_text(page, encoding="utf-8")
            markdown_tmp.write_text(markdown, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write the report to {target}: {exc}") from exc
    count = sum(len(f) for f in content.figures.values())
    count += sum(len(r.cells) for rows in gallery.values() for r in rows)
    return ReportResult(target, markdown_path, list(run.missing), notes, count)
