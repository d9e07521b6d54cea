"""Figures of the evaluation metrics (SPEC 6), from a results directory (:func:`read_run`).

* :func:`flipping_figure`: correctness flipping curves, balanced accuracy after ``k`` flipped
  segments, per model (rows) against the original prediction and the ground truth (columns);
  one colour per method, its random control dashed in the same colour.
* :func:`completeness_figure`: output-completeness versus epsilon with 95 % CI bands.
* :func:`continuity_compactness_figure`: max-sensitivity and sum of ``|attribution|`` as bars
  with 95 % CI error bars (log scale when the values span two decades or more).

A panel without data says so in the panel instead of failing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from spikeattr.viz.rundir import EvaluationRun
from spikeattr.viz.style import FONT_SIZE, method_colours, method_label, model_label

#: Values spanning at least this ratio (max / min) get a log axis.
LOG_SPAN = 100.0


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained", dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _no_data(axes: Axes, what: str) -> None:
    axes.text(
        0.5,
        0.5,
        f"Missing: {what}",
        ha="center",
        va="center",
        transform=axes.transAxes,
        fontsize=FONT_SIZE,
        color="0.35",
    )


def _style(axes: Axes) -> None:
    axes.tick_params(labelsize=FONT_SIZE * 0.9)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="y", color="0.92", linewidth=0.8)
    axes.set_axisbelow(True)


def _legend_handles(run: EvaluationRun) -> list[Any]:
    colours = method_colours(run.methods)
    handles: list[Any] = [
        Line2D([], [], color=colours[m], linewidth=2, label=method_label(m)) for m in run.methods
    ]
    if run.random_control:
        handles.append(
            Line2D([], [], color="0.3", linestyle="--", linewidth=1.5, label="random control")
        )
    return handles


def _model_grid(count: int, columns: int) -> tuple[int, int]:
    columns = max(1, min(columns, count))
    return math.ceil(count / columns), columns


def flipping_figure(run: EvaluationRun) -> Figure:
    """Flipping curves: rows = models, columns = against original prediction / ground truth."""
    n_models = max(1, len(run.models))
    figure = _figure(10.0, 0.9 + 2.6 * n_models)
    grid = figure.subplots(n_models, 2, squeeze=False, sharey=True)
    colours = method_colours(run.methods)
    for row, model in enumerate(run.models or ["(no models)"]):
        for column, against in enumerate(("original", "truth")):
            axes: Axes = grid[row, column]
            plotted = 0
            longest = 1
            for method in run.methods:
                for name in run.names(method):
                    results = run.result(model, name, "correctness")
                    curve = (results or {}).get(f"curve_{against}")
                    if not curve:
                        continue
                    values = np.asarray(curve, dtype=np.float64)
                    axes.plot(
                        np.arange(values.size),
                        values,
                        color=colours[method],
                        linestyle="--" if name != method else "-",
                        linewidth=1.3 if name != method else 1.8,
                        label=method_label(name),
                    )
                    longest = max(longest, values.size - 1)
                    plotted += 1
            if not plotted:
                _no_data(axes, "correctness results")
            against_text = "original prediction" if against == "original" else "ground truth"
            axes.set_title(f"{model}: vs {against_text}", fontsize=FONT_SIZE, loc="left")
            axes.set_xlim(0, longest)
            axes.set_ylim(0.0, 1.03)
            axes.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
            if row == n_models - 1:
                axes.set_xlabel("flipped segments k", fontsize=FONT_SIZE)
            if column == 0:
                axes.set_ylabel("balanced accuracy", fontsize=FONT_SIZE)
            _style(axes)
    _method_legend(figure, run)
    return figure


def completeness_figure(run: EvaluationRun, columns: int = 3) -> Figure:
    """Output-completeness versus epsilon per model, with 95 % CI bands (higher is better)."""
    rows, columns = _model_grid(max(1, len(run.models)), columns)
    figure = _figure(3.6 * columns + 0.4, 0.9 + 2.8 * rows)
    grid = figure.subplots(rows, columns, squeeze=False, sharey=True)
    colours = method_colours(run.methods)
    for index in range(rows * columns):
        axes: Axes = grid[index // columns, index % columns]
        if index >= len(run.models):
            axes.set_visible(False)
            continue
        model = run.models[index]
        plotted = 0
        for method in run.methods:
            for name in run.names(method):
                results = run.result(model, name, "output_completeness")
                table = (results or {}).get("per_epsilon") or []
                if not table:
                    continue
                epsilon = np.array([100.0 * float(e["epsilon"]) for e in table])
                value = np.array([float(e["value"]) for e in table])
                low = np.array([float(e["ci_low"]) for e in table])
                high = np.array([float(e["ci_high"]) for e in table])
                control = name != method
                axes.fill_between(
                    epsilon,
                    low,
                    high,
                    color=colours[method],
                    alpha=0.06 if control else 0.16,
                    linewidth=0,
                )
                axes.plot(
                    epsilon,
                    value,
                    color=colours[method],
                    linestyle="--" if control else "-",
                    marker="o",
                    markersize=3,
                    linewidth=1.3 if control else 1.8,
                    label=method_label(name),
                )
                plotted += 1
        if not plotted:
            _no_data(axes, "output-completeness results")
        axes.set_title(model, fontsize=FONT_SIZE, loc="left")
        axes.set_ylim(0.0, 1.03)
        axes.set_xlabel("epsilon (% of max |attribution|)", fontsize=FONT_SIZE)
        if index % columns == 0:
            axes.set_ylabel("output-completeness", fontsize=FONT_SIZE)
        _style(axes)
    _method_legend(figure, run)
    return figure


def _method_legend(figure: Figure, run: EvaluationRun) -> None:
    """One legend above the panels: a colour per method, dashed for the random control."""
    figure.legend(
        handles=_legend_handles(run),
        loc="outside upper center",
        ncols=len(run.methods) + 1,
        frameon=False,
        fontsize=FONT_SIZE * 0.9,
    )


def _bar_values(
    run: EvaluationRun, metric: str, model: str, name: str
) -> tuple[float, float, float, float | None] | None:
    """``(value, ci_low, ci_high, max)`` of a bar, or ``None`` when missing."""
    results = run.result(model, name, metric)
    if results is None:
        return None
    try:
        if metric == "continuity":
            mean = results["max_sensitivity_mean"]
            return (
                float(mean["mean"]),
                float(mean["ci_low"]),
                float(mean["ci_high"]),
                float(results["max_sensitivity_max"]),
            )
        total = results["sum_abs"]
        return float(total["mean"]), float(total["ci_low"]), float(total["ci_high"]), None
    except (KeyError, TypeError, ValueError):
        return None


def spans_decades(values: Sequence[float], ratio: float = LOG_SPAN) -> bool:
    """Whether positive ``values`` span ``ratio`` or more (all must be positive)."""
    finite = [v for v in values if np.isfinite(v)]
    if len(finite) < 2 or min(finite) <= 0:
        return False
    return max(finite) / min(finite) >= ratio


def continuity_compactness_figure(run: EvaluationRun) -> Figure:
    """Max-sensitivity (continuity) and sum of ``|attribution|`` (compactness), lower better.

    Bars grouped by model, one colour per method; a random control is the hatched bar beside
    its method. Error bars are the 95 % CIs of the mean over stamps; the continuity panel marks
    the maximum over stamps with a black diamond.
    """
    figure = _figure(max(8.0, 2.2 + 2.6 * len(run.models)), 3.8)
    panels = figure.subplots(1, 2, squeeze=False)[0]
    colours = method_colours(run.methods)
    names = [(method, name) for method in run.methods for name in run.names(method)]
    width = 0.8 / max(1, len(names))
    for axes, metric, title in (
        (panels[0], "continuity", "continuity: max-sensitivity"),
        (panels[1], "compactness", "compactness: sum |attribution|"),
    ):
        shown: list[float] = []
        for group, model in enumerate(run.models):
            for slot, (method, name) in enumerate(names):
                bar = _bar_values(run, metric, model, name)
                if bar is None:
                    continue
                value, low, high, peak = bar
                x = group - 0.4 + width * (slot + 0.5)
                control = name != method
                axes.bar(
                    x,
                    value,
                    width=width * 0.92,
                    color="white" if control else colours[method],
                    edgecolor=colours[method],
                    hatch="///" if control else None,
                    linewidth=1.0,
                    label=method_label(name),
                )
                axes.errorbar(
                    x,
                    value,
                    yerr=[[max(0.0, value - low)], [max(0.0, high - value)]],
                    color="0.15",
                    capsize=2.5,
                    linewidth=1.0,
                )
                shown += [value, low, high]
                if peak is not None:
                    axes.plot(x, peak, marker="D", markersize=3.5, color="0.1", linestyle="none")
                    shown.append(peak)
        if not shown:
            _no_data(axes, f"{metric} results")
        elif spans_decades(shown):
            axes.set_yscale("log")
        axes.set_xticks(range(len(run.models)))
        axes.set_xticklabels([model_label(m) for m in run.models], fontsize=FONT_SIZE * 0.9)
        axes.set_xlim(-0.6, len(run.models) - 0.4)
        axes.set_title(title, fontsize=FONT_SIZE, loc="left")
        axes.set_ylabel("mean over stamps (lower is better)", fontsize=FONT_SIZE * 0.9)
        _style(axes)
    handles: list[Any] = [
        Patch(facecolor=colours[m], edgecolor=colours[m], label=method_label(m))
        for m in run.methods
    ]
    if run.random_control:
        handles.append(
            Patch(facecolor="white", edgecolor="0.3", hatch="///", label="random control")
        )
    handles.append(
        Line2D(
            [], [], marker="D", color="0.1", linestyle="none", markersize=4, label="max over stamps"
        )
    )
    figure.legend(
        handles=handles,
        loc="outside upper center",
        ncols=len(handles),
        frameon=False,
        fontsize=FONT_SIZE * 0.9,
    )
    return figure
