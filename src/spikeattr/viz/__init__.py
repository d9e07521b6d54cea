"""Figures and the report (SPEC 6): the last stage, reading what the others wrote.

* :mod:`spikeattr.viz.explanation`: the explanation figure of one stamp.
* :mod:`spikeattr.viz.timeaxis`: steps, seconds or clock time on the x-axis, and its ticks.
* :mod:`spikeattr.viz.figures`: figure files (formats, resolution, atomic saving, data URIs).
* :mod:`spikeattr.viz.metrics`: flipping curves, output-completeness, continuity/compactness.
* :mod:`spikeattr.viz.rundir`: reading a results directory of ``spikeattr evaluate``.
* :mod:`spikeattr.viz.report`: checks the arguments, draws the report, writes both files.
* :mod:`spikeattr.viz.gallery`: the report's gallery, each file drawn on the time axis it records.
* :mod:`spikeattr.viz.report_content`: the report's rows and texts, shared by both formats.
* :mod:`spikeattr.viz.report_html`: the self-contained page, from ``templates/report.html.j2``.
* :mod:`spikeattr.viz.report_markdown`: the same tables in Markdown, names escaped.

Everything draws on :class:`matplotlib.figure.Figure` with the Agg canvas; pyplot is never
imported, so no global figure state is created or changed.

Example:
    >>> from spikeattr.viz import Explanations, explanation_figure, save_figure
    >>> # explained = Explanations.load("explained.npz")
    >>> # save_figure(explanation_figure(explained, 0), "stamp.svg")
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the module that defines it. Loaded on first use (PEP 562), so that importing
#: one module of the package (``spikeattr.viz.leaderboard``) does not import all the others.
_EXPORTS: dict[str, str] = {
    "Explanations": "spikeattr.explain.files",
    "confidence_over_window": "spikeattr.viz.explanation",
    "default_steps": "spikeattr.viz.explanation",
    "explanation_figure": "spikeattr.viz.explanation",
    "FigureError": "spikeattr.viz.figures",
    "check_dpi": "spikeattr.viz.figures",
    "check_figure_path": "spikeattr.viz.figures",
    "save_figure": "spikeattr.viz.figures",
    "completeness_figure": "spikeattr.viz.metrics",
    "continuity_compactness_figure": "spikeattr.viz.metrics",
    "flipping_figure": "spikeattr.viz.metrics",
    "ReportResult": "spikeattr.viz.report",
    "build_report": "spikeattr.viz.report",
    "EvaluationRun": "spikeattr.viz.rundir",
    "Missing": "spikeattr.viz.rundir",
    "ReportError": "spikeattr.viz.rundir",
    "read_run": "spikeattr.viz.rundir",
    "TimeAxis": "spikeattr.viz.timeaxis",
    "time_axis_from_data": "spikeattr.viz.timeaxis",
    "time_axis_from_meta": "spikeattr.viz.timeaxis",
}

__all__ = sorted(_EXPORTS, key=str.lower)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'spikeattr.viz' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
