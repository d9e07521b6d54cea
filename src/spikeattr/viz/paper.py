"""Figures of the paper protocol (SPEC 5, 6), from a results directory (:func:`read_run`).

* :func:`flipping_figure`: correctness flipping curves, balanced accuracy after ``k`` flipped
  segments, per model (rows) against the original prediction and the ground truth (columns);
  one colour per method, its uniform control (when the run has it) dashed in the same colour.
* :func:`completeness_figure`: output-completeness versus epsilon with 95 % CI bands.
* :func:`paper_bars_figure`: max-sensitivity and sum of ``|attribution|`` as bars with 95 % CI
  error bars (log scale when the values span two decades or more).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from spikeattr.evaluate.results import METHOD
from spikeattr.viz.metrics import (
    BarPanel,
    bars_figure,
    dashed_handle,
    figure_legend,
    method_handles,
    model_grid,
    new_figure,
    no_data,
    style_axes,
)
from spikeattr.viz.run_contents import RunContents
from spikeattr.viz.style import FONT_SIZE, control_label, method_colours, method_label

#: The control of the paper protocol.
PAPER_CONTROL = "uniform"


def mean_flipping_curve(draws: list[dict[str, Any]], curve: str) -> np.ndarray | None:
    """The mean over draws of the flipping curve ``curve``. A draw's curve ends at its own
    largest segment count; past it every stamp keeps its last prediction, so the curve keeps
    its last value: shorter curves are extended with their last value before averaging."""
    curves = [np.asarray(d.get("curves", {}).get(curve) or [], float) for d in draws]
    curves = [c for c in curves if c.size]
    if not curves:
        return None
    length = max(c.size for c in curves)
    padded = [np.concatenate([c, np.full(length - c.size, c[-1])]) for c in curves]
    return np.mean(padded, axis=0)


def flipping_figure(run: RunContents) -> Figure:
    """Flipping curves: rows = models, columns = against original prediction / ground truth."""
    n_models = max(1, len(run.models))
    figure = new_figure(10.0, 0.9 + 2.6 * n_models)
    grid = figure.subplots(n_models, 2, squeeze=False, sharey=True)
    colours = method_colours(run.methods)
    dashed = False
    for row, model in enumerate(run.models or ["(no models)"]):
        for column, against in enumerate(("original", "truth")):
            axes: Axes = grid[row, column]
            plotted = 0
            longest = 1
            for method in run.methods:
                record = run.record(model, method, "correctness")
                if record is None or METHOD not in record.variants:
                    continue
                values = record.variants[METHOD].draws[0].get("curves", {}).get(against)
                if not values:
                    continue
                axes.plot(
                    np.arange(len(values)),
                    values,
                    color=colours[method],
                    linewidth=1.8,
                    label=method_label(method),
                )
                longest = max(longest, len(values) - 1)
                plotted += 1
                control = record.variants.get(PAPER_CONTROL)
                mean = mean_flipping_curve(control.draws, against) if control else None
                if mean is not None:
                    axes.plot(
                        np.arange(mean.size),
                        mean,
                        color=colours[method],
                        linestyle="--",
                        linewidth=1.3,
                        label=f"{method_label(method)} ({control_label(PAPER_CONTROL)})",
                    )
                    longest = max(longest, mean.size - 1)
                    dashed = True
            if not plotted:
                no_data(axes, "correctness results")
            against_text = "original prediction" if against == "original" else "ground truth"
            axes.set_title(f"{model}: vs {against_text}", fontsize=FONT_SIZE, loc="left")
            axes.set_xlim(0, longest)
            axes.set_ylim(0.0, 1.03)
            axes.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
            if row == n_models - 1:
                axes.set_xlabel("flipped segments k", fontsize=FONT_SIZE)
            if column == 0:
                axes.set_ylabel("balanced accuracy", fontsize=FONT_SIZE)
            style_axes(axes)
    handles = method_handles(run.methods)
    if dashed:
        handles.append(dashed_handle("uniform control (mean over draws)"))
    figure_legend(figure, handles)
    return figure


def completeness_figure(run: RunContents, columns: int = 3) -> Figure:
    """Output-completeness versus epsilon per model, with 95 % CI bands (higher is better)."""
    rows, columns = model_grid(max(1, len(run.models)), columns)
    figure = new_figure(max(7.0, 3.6 * columns + 0.4), 0.9 + 2.8 * rows)
    grid = figure.subplots(rows, columns, squeeze=False, sharey=True)
    colours = method_colours(run.methods)
    metric = run.metric("output_completeness")
    dashed = False
    for index in range(rows * columns):
        axes: Axes = grid[index // columns, index % columns]
        if index >= len(run.models):
            axes.set_visible(False)
            continue
        model = run.models[index]
        plotted = 0
        for method in run.methods:
            record = run.record(model, method, "output_completeness")
            if record is None or metric is None:
                continue
            epsilons = record.settings.get("epsilons") or []
            keys = [s.key for s in metric.scores]
            if len(epsilons) != len(keys):
                continue
            for variant in (METHOD, PAPER_CONTROL):
                entries = [run.summary(model, method, metric.name, k, variant) for k in keys]
                if any(e is None or e.get("value") is None for e in entries):
                    continue
                x = np.array([100.0 * float(e) for e in epsilons])
                value = np.array([float(e["value"]) for e in entries])  # type: ignore[index]
                low = np.array([_or(e, "ci_low") for e in entries])
                high = np.array([_or(e, "ci_high") for e in entries])
                control = variant != METHOD
                axes.fill_between(
                    x,
                    low,
                    high,
                    color=colours[method],
                    alpha=0.06 if control else 0.16,
                    linewidth=0,
                )
                label = method_label(method)
                axes.plot(
                    x,
                    value,
                    color=colours[method],
                    linestyle="--" if control else "-",
                    marker="o",
                    markersize=3,
                    linewidth=1.3 if control else 1.8,
                    label=f"{label} ({control_label(variant)})" if control else label,
                )
                plotted += 1
                dashed = dashed or control
        if not plotted:
            no_data(axes, "output-completeness results")
        axes.set_title(model, fontsize=FONT_SIZE, loc="left")
        axes.set_ylim(0.0, 1.03)
        axes.set_xlabel("epsilon (% of max |attribution|)", fontsize=FONT_SIZE)
        if index % columns == 0:
            axes.set_ylabel("output-completeness", fontsize=FONT_SIZE)
        style_axes(axes)
    handles = method_handles(run.methods)
    if dashed:
        handles.append(dashed_handle("uniform control"))
    figure_legend(figure, handles)
    return figure


def _or(entry: dict[str, Any] | None, key: str) -> float:
    """``entry[key]``, or the entry's value when the bound is absent."""
    entry = entry or {}
    bound = entry.get(key)
    return float(entry["value"] if bound is None else bound)


#: The panels of :func:`paper_bars_figure`.
PAPER_BARS: tuple[BarPanel, ...] = (
    BarPanel(
        "continuity",
        "maxsens_mean",
        "continuity: max-sensitivity",
        "mean over stamps (lower is better)",
        peak="maxsens_max",
    ),
    BarPanel(
        "compactness",
        "sum_abs",
        "compactness: sum |attribution|",
        "mean over stamps (lower is better)",
    ),
)


def paper_bars_figure(run: RunContents) -> Figure:
    """Max-sensitivity (continuity) and sum of ``|attribution|`` (compactness), lower better;
    error bars are the 95 % CIs of the mean over stamps, diamonds the maximum over stamps."""
    return bars_figure(run, PAPER_BARS, peak_label="max over stamps")
