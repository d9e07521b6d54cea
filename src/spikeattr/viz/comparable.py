"""Figures of the comparable protocol (SPEC 5.1), from a results directory (:func:`read_run`).

* :func:`deletion_figure`: per model (rows), the mean agreement with the original prediction
  and the mean probability drop against the number of cells flipped, ``b = 0 .. B``; one colour
  per method, each control a band in its method's colour from the lowest to the highest of its
  draws' mean curves.
* :func:`fraction_figure`: mean output-completeness against the share of cells kept (0 % and
  each fraction of the run), the permuted control dashed in its method's colour.
* :func:`comparable_bars_figure`: normalised continuity (``sens_median``) and the sanity check
  (``shape_all``, all layers random) per model and method with 95 % CIs.
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
    band_handles,
    bars_figure,
    dashed_handle,
    draw_band,
    figure_legend,
    method_handles,
    model_grid,
    new_figure,
    no_data,
    style_axes,
)
from spikeattr.viz.run_contents import RunContents
from spikeattr.viz.style import FONT_SIZE, control_label, method_colours, method_label

#: The two panels of a deletion row: (curve name, title, y label).
DELETION_PANELS: tuple[tuple[str, str, str], ...] = (
    ("agreement", "agreement (lower is better)", "share of stamps with pred = y0"),
    ("drop", "probability drop (higher is better)", "mean p_c(x) - p_c(x_b)"),
)


def control_band(draws: list[dict[str, Any]], curve: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(low, high)``: per point, the lowest and highest of the draws' mean curves ``curve``;
    ``None`` when the draws lack it or their curves differ in length."""
    curves = [d.get("curves", {}).get(curve) for d in draws]
    if not curves or any(not c for c in curves) or len({len(c) for c in curves}) != 1:
        return None
    stacked = np.asarray(curves, dtype=np.float64)
    return stacked.min(axis=0), stacked.max(axis=0)


def deletion_figure(run: RunContents) -> Figure:
    """Deletion curves: rows = models, columns = agreement / probability drop."""
    n_models = max(1, len(run.models))
    figure = new_figure(10.0, 1.0 + 2.7 * n_models)
    grid = figure.subplots(n_models, 2, squeeze=False)
    colours = method_colours(run.methods)
    controls = run.controls_of("comparable")
    shown_controls: list[str] = []
    for row, model in enumerate(run.models or ["(no models)"]):
        for column, (curve, title, ylabel) in enumerate(DELETION_PANELS):
            axes: Axes = grid[row, column]
            longest = 1
            plotted = 0
            for method in run.methods:
                record = run.record(model, method, "deletion")
                if record is None or METHOD not in record.variants:
                    continue
                values = record.variants[METHOD].draws[0].get("curves", {}).get(curve)
                if not values:
                    continue
                x = np.arange(len(values))
                for control in controls:
                    variant = record.variants.get(control)
                    band = control_band(variant.draws, curve) if variant is not None else None
                    if band is None:
                        continue
                    label = f"{method_label(method)} ({control_label(control)})"
                    draw_band(axes, x, band[0], band[1], colours[method], control, label)
                    if control not in shown_controls:
                        shown_controls.append(control)
                axes.plot(
                    x, values, color=colours[method], linewidth=1.8, label=method_label(method)
                )
                longest = max(longest, len(values) - 1)
                plotted += 1
            if not plotted:
                no_data(axes, "deletion results")
            axes.set_title(f"{model}: {title}", fontsize=FONT_SIZE, loc="left")
            axes.set_xlim(0, longest)
            if curve == "agreement":
                axes.set_ylim(0.0, 1.03)
            axes.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
            if row == n_models - 1:
                axes.set_xlabel("cells flipped b", fontsize=FONT_SIZE)
            axes.set_ylabel(ylabel, fontsize=FONT_SIZE * 0.9)
            style_axes(axes)
    handles = method_handles(run.methods) + band_handles(shown_controls)
    figure_legend(figure, handles)
    return figure


def fraction_figure(run: RunContents, columns: int = 3) -> Figure:
    """Output-completeness by the share of cells kept, per model (higher is better)."""
    rows, columns = model_grid(max(1, len(run.models)), columns)
    figure = new_figure(max(7.0, 3.6 * columns + 0.4), 1.0 + 2.8 * rows)
    grid = figure.subplots(rows, columns, squeeze=False, sharey=True)
    colours = method_colours(run.methods)
    dashed = False
    for index in range(rows * columns):
        axes: Axes = grid[index // columns, index % columns]
        if index >= len(run.models):
            axes.set_visible(False)
            continue
        model = run.models[index]
        fractions: list[float] = []
        for method in run.methods:
            record = run.record(model, method, "fraction_completeness")
            if record is None or METHOD not in record.variants:
                continue
            draw = record.variants[METHOD].draws[0]
            values = draw.get("curves", {}).get("oc")
            kept = draw.get("details", {}).get("fractions")
            if not values or not kept or len(kept) != len(values):
                continue
            fractions = fractions or [float(f) for f in kept]
            x = np.arange(len(values))
            axes.plot(
                x,
                values,
                color=colours[method],
                marker="o",
                markersize=3,
                linewidth=1.8,
                label=method_label(method),
            )
            permuted = record.variants.get("permuted")
            mean = permuted.mean_curves().get("oc") if permuted is not None else None
            if mean and len(mean) == len(values):
                axes.plot(
                    x,
                    mean,
                    color=colours[method],
                    linestyle="--",
                    marker="o",
                    markersize=2.5,
                    linewidth=1.2,
                    label=f"{method_label(method)} ({control_label('permuted')})",
                )
                dashed = True
        if not fractions:
            no_data(axes, "output-completeness-by-fraction results")
        else:
            axes.set_xticks(range(len(fractions)))
            axes.set_xticklabels([f"{100 * f:g}" for f in fractions])
            axes.set_xlim(-0.3, len(fractions) - 0.7)
        axes.set_title(model, fontsize=FONT_SIZE, loc="left")
        axes.set_ylim(0.0, 1.03)
        axes.set_xlabel("cells kept (% of the window)", fontsize=FONT_SIZE)
        if index % columns == 0:
            axes.set_ylabel("output-completeness (mean)", fontsize=FONT_SIZE)
        style_axes(axes)
    handles = method_handles(run.methods)
    if dashed:
        handles.append(dashed_handle("permuted control (mean over draws)"))
    figure_legend(figure, handles)
    return figure


#: The panels of :func:`comparable_bars_figure`.
COMPARABLE_BARS: tuple[BarPanel, ...] = (
    BarPanel(
        "sensitivity",
        "sens_median",
        "normalised continuity: relative sensitivity",
        "median over stamps (lower is better)",
    ),
    BarPanel(
        "randomisation",
        "shape_all",
        "sanity check: all layers randomised",
        "Spearman rho, signed step shape (lower is better)",
    ),
)


def comparable_bars_figure(run: RunContents) -> Figure:
    """Normalised continuity and the model-randomisation sanity check, bars with 95 % CIs
    (the randomisation panel only when the run computed it)."""
    names = {m.name for m in run.metrics}
    panels = [p for p in COMPARABLE_BARS if p.metric in names] or list(COMPARABLE_BARS[:1])
    return bars_figure(run, panels)
