"""What every metric figure shares: the canvas, the look of a panel, legends, and bars of one
score per model and method with their 95 % CIs (SPEC 6).

The figures themselves live in :mod:`spikeattr.viz.comparable` (deletion curves with control
bands, output-completeness by fraction kept, normalised continuity and the sanity check) and
:mod:`spikeattr.viz.paper` (the paper's flipping curves, output-completeness versus epsilon,
continuity and compactness). Every number drawn is read from the run's files
(:class:`~spikeattr.viz.run_contents.RunContents`): curves from a file's ``curves``, bars and their
CIs from its ``summary``. A panel without data says so in the panel instead of failing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from spikeattr.viz.run_contents import RunContents
from spikeattr.viz.style import (
    CONTROL_BANDS,
    FONT_SIZE,
    control_label,
    method_colours,
    method_label,
    model_label,
)

#: Values spanning at least this ratio (max / min) get a log axis.
LOG_SPAN = 100.0


def new_figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas (no pyplot), laid out by matplotlib's constrained layout."""
    figure = Figure(figsize=(width, height), layout="constrained", dpi=100)
    FigureCanvasAgg(figure)
    return figure


def no_data(axes: Axes, what: str) -> None:
    """Mark an empty panel: ``Missing: WHAT``."""
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


def style_axes(axes: Axes) -> None:
    """Small tick labels, no top/right spines, a light horizontal grid."""
    axes.tick_params(labelsize=FONT_SIZE * 0.9)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="y", color="0.92", linewidth=0.8)
    axes.set_axisbelow(True)


def model_grid(count: int, columns: int) -> tuple[int, int]:
    """``(rows, columns)`` of a grid of ``count`` panels, at most ``columns`` wide."""
    columns = max(1, min(columns, count))
    return math.ceil(count / columns), columns


def method_handles(methods: Sequence[str]) -> list[Any]:
    """A solid line in each method's colour."""
    colours = method_colours(methods)
    return [Line2D([], [], color=colours[m], linewidth=2, label=method_label(m)) for m in methods]


def band_handles(controls: Sequence[str]) -> list[Any]:
    """A grey swatch per control, filled or hatched as its bands are (:data:`CONTROL_BANDS`)."""
    handles: list[Any] = []
    for control in controls:
        alpha, hatch = CONTROL_BANDS.get(control, (0.2, None))
        handles.append(
            Patch(
                facecolor=(0.3, 0.3, 0.3, alpha) if hatch is None else "none",
                edgecolor="0.3",
                hatch=hatch,
                linewidth=0.0 if hatch is None else 0.8,
                label=f"{control_label(control)} (range over draws)",
            )
        )
    return handles


def dashed_handle(label: str) -> Any:
    """A grey dashed line: how a control's curve is drawn."""
    return Line2D([], [], color="0.3", linestyle="--", linewidth=1.5, label=label)


def figure_legend(figure: Figure, handles: Sequence[Any], columns: int | None = None) -> None:
    """One legend above the panels."""
    figure.legend(
        handles=list(handles),
        loc="outside upper center",
        ncols=columns or max(1, len(handles)),
        frameon=False,
        fontsize=FONT_SIZE * 0.9,
    )


def draw_band(
    axes: Axes,
    x: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    colour: str,
    control: str,
    label: str,
) -> None:
    """A control's band from ``low`` to ``high`` in its method's colour (:data:`CONTROL_BANDS`)."""
    alpha, hatch = CONTROL_BANDS.get(control, (0.2, None))
    if hatch is None:
        axes.fill_between(x, low, high, color=colour, alpha=alpha, linewidth=0, label=label)
    else:
        axes.fill_between(
            x,
            low,
            high,
            facecolor="none",
            edgecolor=colour,
            hatch=hatch,
            linewidth=0,
            label=label,
        )


def spans_decades(values: Sequence[float], ratio: float = LOG_SPAN) -> bool:
    """Whether positive ``values`` span ``ratio`` or more (all must be positive)."""
    finite = [v for v in values if np.isfinite(v)]
    if len(finite) < 2 or min(finite) <= 0:
        return False
    return max(finite) / min(finite) >= ratio


@dataclass(frozen=True)
class BarPanel:
    """One panel of bars: score ``key`` of ``metric`` per model and method, with its CI.

    Attributes:
        metric, key: where the value is (the file's ``summary["method"][key]``).
        title, ylabel: the panel's texts.
        peak: another score of the same file marked with a black diamond (the maximum).
    """

    metric: str
    key: str
    title: str
    ylabel: str
    peak: str | None = None


def bars_figure(run: RunContents, panels: Sequence[BarPanel], peak_label: str = "") -> Figure:
    """Bars grouped by model, one colour per method, 95 % CI error bars (from the files'
    summaries); a log axis when a panel's values span two decades or more."""
    figure = new_figure(max(8.0, 2.2 + 2.6 * len(run.models)), 3.8)
    grid = figure.subplots(1, max(1, len(panels)), squeeze=False)[0]
    colours = method_colours(run.methods)
    width = 0.8 / max(1, len(run.methods))
    for axes, panel in zip(grid, panels, strict=False):
        shown: list[float] = []
        for group, model in enumerate(run.models):
            for slot, method in enumerate(run.methods):
                entry = run.summary(model, method, panel.metric, panel.key)
                value = _number(entry, "value")
                if entry is None or value is None:
                    continue
                low = _number(entry, "ci_low")
                high = _number(entry, "ci_high")
                low = value if low is None else low
                high = value if high is None else high
                x = group - 0.4 + width * (slot + 0.5)
                axes.bar(
                    x, value, width=width * 0.92, color=colours[method], label=method_label(method)
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
                peak = _number(run.summary(model, method, panel.metric, panel.peak or ""), "value")
                if panel.peak and peak is not None:
                    axes.plot(x, peak, marker="D", markersize=3.5, color="0.1", linestyle="none")
                    shown.append(peak)
        if not shown:
            no_data(axes, f"{panel.metric} results")
        elif spans_decades(shown):
            axes.set_yscale("log")
        elif min(shown) < 0:
            axes.axhline(0.0, color="0.6", linewidth=0.8)  # negative bars hang from zero
        axes.set_xticks(range(len(run.models)))
        axes.set_xticklabels([model_label(m) for m in run.models], fontsize=FONT_SIZE * 0.9)
        axes.set_xlim(-0.6, len(run.models) - 0.4)
        axes.set_title(panel.title, fontsize=FONT_SIZE, loc="left")
        axes.set_ylabel(panel.ylabel, fontsize=FONT_SIZE * 0.9)
        style_axes(axes)
    handles: list[Any] = [
        Patch(facecolor=colours[m], edgecolor=colours[m], label=method_label(m))
        for m in run.methods
    ]
    if peak_label:
        handles.append(
            Line2D(
                [], [], marker="D", color="0.1", linestyle="none", markersize=4, label=peak_label
            )
        )
    figure_legend(figure, handles)
    return figure


def _number(entry: dict[str, Any] | None, key: str) -> float | None:
    """A finite number of a summary entry, else ``None``."""
    value = (entry or {}).get(key)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None
