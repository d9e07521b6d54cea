"""The figure of a series explanation: the predictions around one step above that step's map.

Series mode (:mod:`spikeattr.explain.series`) explains the prediction at every step. This figure
shows, at the top, the predicted class of every step around a chosen one (and the true class
where the data has labels), with the chosen step marked and the steps its map covers shaded;
below it, the explanation figure of that step (:func:`~spikeattr.viz.explanation.explanation_figure`
drawn into the lower part, so it is the same figure as for an explained stamp).
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spikeattr.explain.files import Explanations
from spikeattr.viz.explanation import Normalisation, explanation_figure, panel_height
from spikeattr.viz.figures import FigureError
from spikeattr.viz.timeaxis import TimeAxis, fit_time_ticks

#: Height in inches of the timeline above the map.
TIMELINE_HEIGHT = 2.2
_FONT = 10.0


def series_figure(
    explanations: Explanations,
    predicted: np.ndarray,
    first: int,
    *,
    labels: np.ndarray | None = None,
    time_axis: TimeAxis | None = None,
    class_index: int | None = None,
    steps: int | None = None,
    normalise: Normalisation = "none",
    width: float = 10.0,
) -> Figure:
    """The predictions of steps ``first .. first + n - 1`` above the map of one step.

    Args:
        explanations: the explained step as an explanation file's content, one row (stamp =
            step + 1; :meth:`~spikeattr.explain.series.SeriesExplanation.explanations`).
        predicted: int ``[n]`` the predicted class of each step of the timeline.
        first: the series step of ``predicted[0]``.
        labels: int ``[n]`` the true class of the same steps (``-1`` unlabelled), if known.
        time_axis: how steps map to time; default steps.
        class_index: class whose map is shown (default: the predicted one).
        steps: show the last ``steps`` steps of the map (default: its visible support).
        normalise: ``"none"`` or ``"max-abs"``, as for
            :func:`~spikeattr.viz.explanation.explanation_figure`.
        width: figure width in inches.

    Returns:
        The figure; its timeline axes carry the label ``"timeline"``, the map's axes those of
        the explanation figure.
    """
    predicted = np.asarray(predicted)
    if len(explanations) != 1 or predicted.ndim != 1 or predicted.size == 0:
        raise FigureError("series_figure needs one explained step and at least one prediction")
    if labels is not None and np.shape(labels) != predicted.shape:
        raise FigureError(f"labels must have shape {predicted.shape}; got {np.shape(labels)}")
    time_axis = time_axis or TimeAxis()
    classes = explanations.class_names
    step = int(explanations.stamps[0]) - 1
    compact = width < 7.0
    map_height = panel_height(len(explanations.input_names), compact)
    figure = Figure((width, TIMELINE_HEIGHT + map_height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    parts = figure.subfigures(2, 1, height_ratios=[TIMELINE_HEIGHT, map_height], squeeze=False)
    top, bottom = parts[0, 0], parts[1, 0]
    axes = top.add_subplot(label="timeline")
    fontsize = _FONT * (0.9 if compact else 1.0)
    x = time_axis.positions(np.arange(first, first + predicted.size) + 0.5)
    if labels is not None:
        known = np.where(np.asarray(labels) >= 0, labels, np.nan)
        axes.step(x, known, where="mid", color="0.75", linewidth=4.0, label="true class")
    axes.step(x, predicted, where="mid", color="0.15", linewidth=1.2, label="predicted class")
    start = int(explanations.window_start[0])
    span = time_axis.positions(np.array([start, step + 1]))
    axes.axvspan(float(span[0]), float(span[1]), color="#D55E00", alpha=0.15, linewidth=0)
    axes.axvline(float(time_axis.positions(np.array([step + 0.5]))[0]), color="#D55E00")
    axes.set_yticks(range(len(classes)), classes, fontsize=fontsize * 0.85)
    axes.set_ylim(len(classes) - 0.5, -0.5)
    edges = time_axis.positions(np.array([first, first + predicted.size]))
    axes.set_xlim(float(edges[0]), float(edges[1]))
    if time_axis.start is not None:
        axes.xaxis_date()
    axes.set_xlabel(time_axis.label(first), fontsize=fontsize)
    axes.legend(loc="upper left", fontsize=fontsize * 0.8, frameon=False, ncols=2)
    axes.set_title(
        f"Prediction at every step (series mode); marked: {time_axis.describe(step)}, "
        "shaded: the steps its map covers",
        fontsize=fontsize * 1.05,
        loc="left",
    )
    explanation_figure(
        explanations,
        0,
        class_index=class_index,
        steps=steps,
        normalise=normalise,
        time_axis=time_axis,
        width=width,
        compact=compact,
        into=bottom,
    )
    fit_time_ticks(figure, axes, time_axis, fontsize * 0.95)
    return figure
