"""Figures and the report (SPEC 6): the last stage, reading what the others wrote.

* :mod:`spikeattr.viz.notebook`: one-call figures of results in memory (``plot_attribution``,
  ``plot_stamps``, ``plot_series``, ``plot_explanations``) and their previews in Jupyter.
* :mod:`spikeattr.viz.explanation`: the explanation figure of one stamp.
* :mod:`spikeattr.viz.series_figure`: a series explanation's predictions above one step's map.
* :mod:`spikeattr.viz.timeaxis`: steps, seconds or clock time on the x-axis, and its ticks.
* :mod:`spikeattr.viz.figures`: figure files (formats, resolution, atomic saving, data URIs).
* :mod:`spikeattr.viz.metrics`: what the metric figures share (canvas, legends, bars with CIs).
* :mod:`spikeattr.viz.comparable`: deletion curves with control bands, completeness by fraction
  kept, normalised continuity and the sanity check (the comparable protocol).
* :mod:`spikeattr.viz.paper`: flipping curves, output-completeness versus epsilon, continuity
  and compactness (the paper protocol).
* :mod:`spikeattr.viz.rundir`: reading a results directory of ``spikeattr evaluate`` (through
  :mod:`spikeattr.evaluate.results`, the format's one reader).
* :mod:`spikeattr.viz.run_figures`: a run's figures by name (``read_run(dir).plot(kind)``).
* :mod:`spikeattr.viz.report`: checks the arguments, draws the report, writes both files.
* :mod:`spikeattr.viz.gallery`: the report's gallery, each file drawn on the time axis it records.
* :mod:`spikeattr.viz.report_content`: the report's tables and texts, shared by both formats.
* :mod:`spikeattr.viz.report_run`: the run's configuration, manifest and missing files.
* :mod:`spikeattr.viz.report_html`: the self-contained page, from ``templates/report.html.j2``.
* :mod:`spikeattr.viz.report_markdown`: the same tables in Markdown, names escaped.

Everything draws on :class:`matplotlib.figure.Figure` with the Agg canvas; pyplot is never
imported, so no global figure state is created or changed.

Importing this package registers the figures of the explain stage's results
(:func:`spikeattr.viz.notebook.register_renderers`, through the registry of
:mod:`spikeattr.explain.display`), so that ``result.plot(...)`` works and Jupyter shows results
with a small preview. The explain stage itself never imports viz.

Examples:
    >>> from spikeattr.viz import Explanations, explanation_figure, save_figure
    >>> # explained = Explanations.load("explained.npz")
    >>> # save_figure(explanation_figure(explained, 0), "stamp.svg")
    >>> # explained.plot(stamp=8170)  # the same figure, from the explanations themselves
"""

from __future__ import annotations

from spikeattr.explain.files import Explanations
from spikeattr.viz.comparable import comparable_bars_figure, deletion_figure, fraction_figure
from spikeattr.viz.explanation import confidence_over_window, default_steps, explanation_figure
from spikeattr.viz.figures import FigureError, check_dpi, check_figure_path, save_figure
from spikeattr.viz.notebook import (
    plot_attribution,
    plot_explanations,
    plot_series,
    plot_stamps,
    register_renderers,
)
from spikeattr.viz.paper import completeness_figure, flipping_figure, paper_bars_figure
from spikeattr.viz.report import ReportResult, build_report
from spikeattr.viz.run_figures import RUN_FIGURES, run_figure
from spikeattr.viz.rundir import EvaluationRun, Missing, ReportError, read_run
from spikeattr.viz.series_figure import series_figure
from spikeattr.viz.timeaxis import TimeAxis, time_axis_from_data, time_axis_from_meta

register_renderers()

__all__ = [
    "RUN_FIGURES",
    "EvaluationRun",
    "Explanations",
    "FigureError",
    "Missing",
    "ReportError",
    "ReportResult",
    "TimeAxis",
    "build_report",
    "check_dpi",
    "check_figure_path",
    "comparable_bars_figure",
    "completeness_figure",
    "confidence_over_window",
    "default_steps",
    "deletion_figure",
    "explanation_figure",
    "flipping_figure",
    "fraction_figure",
    "paper_bars_figure",
    "plot_attribution",
    "plot_explanations",
    "plot_series",
    "plot_stamps",
    "read_run",
    "register_renderers",
    "run_figure",
    "save_figure",
    "series_figure",
    "time_axis_from_data",
    "time_axis_from_meta",
]
