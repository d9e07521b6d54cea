"""The explanation figure: one class's attribution over the input spike raster (SPEC 6).

Inputs by name on the y-axis, time on the x-axis, the attribution of one class as a diverging
colour map centred at zero (red positive, blue negative) with the input spikes drawn as thin
grey marks in the middle of each input's row, a colour bar with the real values, and a side
panel with the class-confidence distribution at the explained step. Optionally a panel below
with the confidence of every class over the shown steps. Everything is built on a
:class:`matplotlib.figure.Figure` with an Agg canvas: no pyplot, no global matplotlib state.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from spikeattr.explain.files import Explanations
from spikeattr.viz.figures import FigureError
from spikeattr.viz.style import method_label
from spikeattr.viz.timeaxis import TimeAxis, fit_time_ticks

Normalisation = Literal["none", "max-abs"]

#: Colour map of attributions: red positive, blue negative, white at zero.
ATTRIBUTION_CMAP = "RdBu_r"

_FONT = 10.0  # base font size in points, for figures printed at their nominal size
_SPIKE_COLOUR = "0.2"


def default_steps(
    attribution: np.ndarray,
    valid: int,
    relative: float = 1e-3,
    margin: float = 0.1,
    minimum: int = 20,
) -> int:
    """How many of the last steps the figure shows by default.

    The visible support of the map: from the first column where some ``|attribution|``
    reaches ``relative`` (0.1 %) of the map's maximum, smaller values being white on the
    colour scale, to the explained step; widened by ``margin`` (10 %) and to at least
    ``minimum`` steps, never into the zero padding before the window start (``valid`` real
    columns). ``relative=0`` takes the exact non-zero support. An all-zero map shows the whole
    valid window.

    Args:
        attribution: ``[n_in, window]`` one class's map, right-aligned.
        valid: number of real (non-padding) columns at the right.
    """
    valid = max(1, min(int(valid), attribution.shape[-1]))
    strength = np.abs(attribution[:, -valid:]).max(axis=0)
    peak = float(strength.max(initial=0.0))
    if peak == 0.0 or not np.isfinite(peak):
        return valid
    first = int(np.argmax(strength > 0 if relative <= 0 else strength >= relative * peak))
    support = valid - first
    return int(min(valid, max(minimum, math.ceil(support * (1.0 + margin)))))


def _runs(column: np.ndarray) -> list[tuple[int, int]]:
    """``(start, length)`` of each run of non-zero values of a 1-D array."""
    active = np.concatenate([[0], (np.asarray(column) != 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(active))
    return [(int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _label_stride(n_labels: int, height_in: float, fontsize: float) -> int:
    """Label every k-th input so that labels of ``fontsize`` points fit in ``height_in``."""
    fits = max(1, int(height_in * 72.0 / (fontsize * 1.5)))
    return max(1, math.ceil(n_labels / fits))


def panel_height(n_inputs: int, compact: bool) -> float:
    """Height in inches of the attribution panel of ``n_inputs`` rows."""
    return min(9.0, max(2.8, 1.3 + (0.22 if compact else 0.3) * n_inputs))


def explanation_figure(
    explanations: Explanations,
    index: int = 0,
    *,
    class_index: int | None = None,
    steps: int | None = None,
    normalise: Normalisation = "none",
    time_axis: TimeAxis | None = None,
    probs_over_time: np.ndarray | None = None,
    width: float = 10.0,
    compact: bool = False,
    into: SubFigure | None = None,
    sample: int | None = None,
) -> Figure:
    """The explanation figure of stamp row ``index`` of ``explanations``.

    Args:
        explanations: an explanation file's content (:meth:`Explanations.load`).
        index: row of the stamp to show.
        class_index: class whose attribution is shown; default the explained class (``target``).
        steps: show the last ``steps`` steps of the window; default :func:`default_steps` (the
            steps where ``|attribution|`` reaches 0.1 % of its maximum, plus a 10 % margin, at
            least 20 steps, never the zero padding).
        normalise: ``"none"`` (the colour bar shows real attribution values) or ``"max-abs"``
            (divided by the largest ``|attribution|`` of the shown class and steps).
        time_axis: how steps map to time; default steps labelled as such.
        probs_over_time: optional float ``[k, C]`` class probabilities of the last ``k`` steps
            of the window (right-aligned, ``k >= 1``); adds a confidence-over-time panel.
        width: figure width in inches (height follows from the number of inputs).
        compact: shorter titles and labels, for galleries of several figures side by side;
            always on below 7 inches, where the full texts do not fit.
        into: draw into this part of a larger figure (sized by its caller, e.g. with
            :func:`panel_height`) instead of a new one; the larger figure is returned.
        sample: the window is this sample of a batch the caller explained, not a stamp of a
            series: the title names it, and the true class only when one is known.

    Returns:
        The :class:`~matplotlib.figure.Figure` (with an Agg canvas; save it with
        :func:`~spikeattr.viz.figures.save_figure`). Its axes carry the labels
        ``"attribution"``, ``"colour bar"``, ``"confidence"`` and, with ``probs_over_time``,
        ``"confidence over time"`` and ``"class legend"`` (``axes.get_label()``).

    Raises:
        FigureError: an index, class, range or normalisation out of range.
    """
    if not 0 <= index < len(explanations):
        raise FigureError(
            f"index {index} out of range; the file holds {len(explanations)} stamps "
            f"({', '.join(str(int(s)) for s in explanations.stamps[:10])}"
            f"{' ...' if len(explanations) > 10 else ''})"
        )
    if normalise not in ("none", "max-abs"):
        raise FigureError(f"normalise must be 'none' or 'max-abs'; got {normalise!r}")
    target = int(explanations.target[index]) if class_index is None else int(class_index)
    classes = explanations.class_names
    if not 0 <= target < len(classes):
        raise FigureError(f"class index {target} out of range; classes: {', '.join(classes)}")
    time_axis = time_axis or TimeAxis()
    compact = compact or width < 7.0
    stamp = int(explanations.stamps[index])
    window = explanations.window
    valid = max(1, min(window, stamp - int(explanations.window_start[index])))
    attribution = np.asarray(explanations.attribution[index, target], dtype=np.float64)
    if steps is None:
        shown = default_steps(attribution, valid)
    else:
        if steps < 1:
            raise FigureError(f"steps must be at least 1; got {steps}")
        shown = min(int(steps), valid)
    values = attribution[:, -shown:]
    spikes = np.asarray(explanations.spikes[index, -shown:, :])
    first_step = stamp - shown  # split step of the first shown column
    scale = float(np.abs(values).max(initial=0.0))
    if normalise == "max-abs" and scale > 0:
        values = values / scale
        scale = 1.0
    limit = scale if scale > 0 else 1.0
    n_in = len(explanations.input_names)
    fontsize = _FONT * (0.9 if compact else 1.0)

    row_height = 0.22 if compact else 0.3
    heat_height = panel_height(n_in, compact)
    height = heat_height + (1.6 if probs_over_time is not None else 0.0)
    figure: Figure | SubFigure = into or Figure((width, height), dpi=100, layout="constrained")
    if isinstance(figure, Figure):
        FigureCanvasAgg(figure)
    rows = 2 if probs_over_time is not None else 1
    grid = figure.add_gridspec(
        rows,
        3,
        width_ratios=[5.0, 0.14, 1.9],
        height_ratios=[max(2.0, row_height * n_in), 1.4][:rows],
    )
    heat_axes = figure.add_subplot(grid[0, 0], label="attribution")
    colour_axes = figure.add_subplot(grid[0, 1], label="colour bar")
    confidence_axes = figure.add_subplot(grid[0, 2], label="confidence")

    edges = time_axis.positions(np.array([first_step, stamp]))
    norm = Normalize(vmin=-limit, vmax=limit)
    image = heat_axes.imshow(
        values,
        cmap=ATTRIBUTION_CMAP,
        norm=norm,
        aspect="auto",
        interpolation="nearest",
        extent=(float(edges[0]), float(edges[1]), n_in - 0.5, -0.5),
        zorder=1,
    )
    _draw_raster(heat_axes, spikes, float(edges[0]), (float(edges[1]) - float(edges[0])) / shown)
    stride = _label_stride(n_in, heat_height * 0.7, fontsize)
    ticks = list(range(0, n_in, stride))
    heat_axes.set_yticks(ticks)
    heat_axes.set_yticklabels([explanations.input_names[t] for t in ticks], fontsize=fontsize)
    heat_axes.set_ylim(n_in - 0.5, -0.5)
    heat_axes.set_ylabel("input", fontsize=fontsize)
    heat_axes.set_xlim(float(edges[0]), float(edges[1]))
    if time_axis.start is not None:
        heat_axes.xaxis_date()
    variant = str(explanations.meta.get("variant", ""))
    method = method_label(variant) if variant else "attribution"
    heat_axes.set_title(
        f"{method}: attribution of class '{classes[target]}'"
        + ("" if compact else "  (grey marks: input spikes)"),
        fontsize=fontsize * 1.05,
        loc="left",
    )

    colourbar = figure.colorbar(image, cax=colour_axes)
    colourbar.ax.tick_params(labelsize=fontsize * 0.85)
    colourbar.ax.yaxis.set_major_locator(MaxNLocator(nbins=5, symmetric=True))
    power = math.floor(math.log10(limit)) if math.isfinite(limit) else 0
    unit = f" (× 1e{power})" if abs(power) > 2 else ""  # not above the bar, over the title
    if unit:
        colourbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 10.0**power:g}"))
    label = "attribution / max |attribution|" if normalise == "max-abs" else "attribution"
    colourbar.set_label(label + unit, fontsize=fontsize * 0.9)

    probs = np.asarray(explanations.probs[index], dtype=np.float64)
    predicted = int(explanations.predicted[index])
    truth = int(explanations.label[index])
    _confidence_bars(
        confidence_axes,
        probs,
        classes,
        predicted,
        truth,
        target,
        fontsize,
        height=heat_height * 0.7,
        compact=compact,
    )

    time_axes: Axes | None = None
    if probs_over_time is not None:
        time_axes = figure.add_subplot(grid[1, 0], sharex=heat_axes, label="confidence over time")
        legend_axes = figure.add_subplot(grid[1, 2], label="class legend")
        _confidence_lines(
            time_axes, legend_axes, probs_over_time, classes, first_step, stamp, time_axis, fontsize
        )
        heat_axes.tick_params(axis="x", labelbottom=False)
        time_axes.set_xlabel(time_axis.label(first_step), fontsize=fontsize)
    else:
        heat_axes.set_xlabel(time_axis.label(first_step), fontsize=fontsize)

    unknown = "unlabelled" if sample is None else ""  # a series' step; the caller's window
    true = classes[truth] if 0 <= truth < len(classes) else unknown
    if compact:
        where = f"stamp {stamp}" if sample is None else f"sample {sample}"
        title = f"{where} · predicted {classes[predicted]}" + (f" · true {true}" if true else "")
    else:
        where = f"Stamp {stamp}, explained at {time_axis.describe(stamp - 1)}"
        where = where if sample is None else f"Sample {sample}, explained at the window's last step"
        title = f"{where}: predicted '{classes[predicted]}' ({probs[predicted]:.2f})"
        title += f", true '{true}'" if true else ""
    figure.suptitle(title, fontsize=fontsize * 1.1, x=0.01, ha="left")
    bottom = time_axes if time_axes is not None else heat_axes
    fit_time_ticks(figure.figure, bottom, time_axis, fontsize * 0.95)
    return figure.figure


def _draw_raster(axes: Axes, spikes: np.ndarray, left: float, step_width: float) -> None:
    """Spikes ``[T, n_in]`` as thin grey bars in the middle of each input's row, one bar per
    run of consecutive spikes; the first column starts at x = ``left``."""
    for row in range(spikes.shape[1]):
        bars = [
            (left + start * step_width, length * step_width)
            for start, length in _runs(spikes[:, row])
        ]
        if bars:
            axes.broken_barh(
                bars,
                (row - 0.09, 0.18),
                facecolors=_SPIKE_COLOUR,
                edgecolors=_SPIKE_COLOUR,
                linewidth=0.4,  # keeps one-step spikes of long windows visible
                alpha=0.55,
                zorder=2,
            )


def _confidence_bars(
    axes: Axes,
    probs: np.ndarray,
    classes: tuple[str, ...],
    predicted: int,
    truth: int,
    target: int,
    fontsize: float,
    height: float,
    compact: bool = False,
) -> None:
    """Horizontal bars of the class probabilities at the explained step (predicted: dark);
    ``height`` is the panel's height in inches."""
    positions = np.arange(len(classes))
    colours = ["0.35" if c == predicted else "0.78" for c in range(len(classes))]
    axes.barh(positions, probs, color=colours, height=0.7)
    axes.set_xlim(0.0, 1.0)
    axes.set_ylim(len(classes) - 0.5, -0.5)
    labels = []
    for c, name in enumerate(classes):
        marks = [m for m, on in (("true", c == truth), ("shown", c == target)) if on]
        labels.append(f"{name} ({', '.join(marks)})" if marks and not compact else name)
    stride = _label_stride(len(classes), height, fontsize * 0.85)
    axes.set_yticks(positions[::stride])
    texts = axes.set_yticklabels(labels[::stride], fontsize=fontsize * 0.85)
    for position, text in zip(positions[::stride], texts, strict=True):
        if position == truth:
            text.set_fontweight("bold")
    for c, p in enumerate(probs):
        inside = p > 0.75
        axes.text(
            p - 0.02 if inside else p + 0.02,
            c,
            f"{p:.2f}",
            va="center",
            ha="right" if inside else "left",
            fontsize=fontsize * 0.8,
            color="white" if inside and c == predicted else "black",
        )
    axes.xaxis.set_major_locator(MaxNLocator(nbins=2))
    axes.tick_params(axis="x", labelsize=fontsize * 0.85)
    axes.tick_params(axis="y", length=0)
    axes.set_xlabel("probability", fontsize=fontsize * 0.9)
    axes.set_title(
        "confidence" if compact else "class confidence\nat explained step",
        fontsize=fontsize * 0.95,
        loc="left",
    )
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _confidence_lines(
    axes: Axes,
    legend_axes: Axes,
    probs_over_time: np.ndarray,
    classes: tuple[str, ...],
    first_step: int,
    stamp: int,
    time_axis: TimeAxis,
    fontsize: float,
) -> None:
    """Class confidence over the shown steps (step midpoints), legend in ``legend_axes``."""
    probs = np.asarray(probs_over_time, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(classes) or probs.shape[0] < 1:
        raise FigureError(
            f"probs_over_time must have shape [k, {len(classes)}] (k >= 1); got {probs.shape}"
        )
    count = min(probs.shape[0], stamp - first_step)
    steps = np.arange(stamp - count, stamp) + 0.5
    x = time_axis.positions(steps)
    palette = _class_colours(len(classes))
    handles = []
    for c, name in enumerate(classes):
        (line,) = axes.plot(x, probs[-count:, c], color=palette[c], linewidth=1.4, label=name)
        handles.append(line)
    axes.set_ylim(0.0, 1.02)
    axes.set_ylabel("confidence", fontsize=fontsize)
    axes.tick_params(axis="y", labelsize=fontsize * 0.85)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=3))
    axes.grid(axis="y", color="0.9")
    legend_axes.axis("off")
    legend_axes.legend(
        handles=handles,
        loc="center left",
        fontsize=fontsize * 0.8,
        frameon=False,
        ncols=2 if len(classes) > 6 else 1,
    )


def _class_colours(count: int) -> list[Any]:
    from matplotlib import colormaps

    name = "tab10" if count <= 10 else "tab20"
    cmap = colormaps[name]
    return [cmap(i % cmap.N) for i in range(count)]


def confidence_over_window(model: Any, explanations: Explanations, index: int) -> np.ndarray:
    """Class probabilities ``[valid, C]`` at every real step of stamp row ``index``'s window.

    Re-runs ``model`` (an :class:`~spikeattr.snn.network.LIFNetwork`) from zero state on the
    window, as the explanation did; row ``k`` is the softmax of the output membrane after step
    ``window_start + k``, so the last row equals ``explanations.probs[index]``.
    """
    import torch

    stamp = int(explanations.stamps[index])
    valid = max(1, min(explanations.window, stamp - int(explanations.window_start[index])))
    window = np.asarray(explanations.spikes[index, -valid:, :], dtype=np.float32)
    with torch.no_grad():
        membrane = model.forward(torch.from_numpy(window[None])).membrane[0]
        probs = torch.softmax(membrane, dim=-1)
    return np.asarray(probs.cpu().numpy(), dtype=np.float64)
