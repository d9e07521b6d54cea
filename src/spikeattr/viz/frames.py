"""Figures of explanations over an input grid (event frames): a frame strip and an animation.

For a network whose inputs have a shape ``[channels, height, width]`` (for example event
frames ``[2, 34, 34]``: OFF and ON polarity), one class's map ``[channels, height, width, T]``
is drawn frame by frame: each frame shows the attribution of a group of steps, summed over
the channels, on the grid, as a diverging colour map centred at zero (red positive, blue
negative; colours saturate at the median of the frames' largest values, marked on the colour
bar), with the events of those steps drawn on top (``+`` ON, ``x`` OFF, or one marker per
channel). The strip covers the map's visible support
(:func:`~spikeattr.viz.explanation.default_steps`) ending at the explained step, and has the
class-probability panel of the explanation figure beside it. :func:`frames_gif` animates the
same frames step by step.

Everything is built on a :class:`matplotlib.figure.Figure` with an Agg canvas: no pyplot, no
change to global matplotlib state.
"""

from __future__ import annotations

import base64
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from spikeattr._io import atomic_path
from spikeattr.explain.files import Explanations
from spikeattr.viz.explanation import ATTRIBUTION_CMAP, _confidence_bars, default_steps
from spikeattr.viz.figures import FigureError
from spikeattr.viz.style import method_label

_FONT = 9.0
_MARKERS = (("x", "0.15"), ("+", "0.0"))  # channel 0 (OFF), channel 1 (ON)
#: Most frames an animation holds (longer supports are cut to their last steps).
MAX_GIF_FRAMES = 60


def as_grid(attribution: np.ndarray, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``attribution [C, H, W, T]`` and ``spikes [T, C, H, W]`` from maps of shaped inputs
    (``[C, L, T]`` / ``[T, C, L]`` become one row, ``H = 1``), checked against each other."""
    attribution = np.asarray(attribution, dtype=np.float64)
    spikes = np.asarray(spikes)
    if attribution.ndim == 3:
        attribution = attribution[:, None]
        spikes = spikes[:, :, None] if spikes.ndim == 3 else spikes
    if attribution.ndim != 4:
        raise FigureError(
            "a frame figure needs one class's map of shaped inputs [channels, height, width, T]; "
            f"got shape {attribution.shape}"
        )
    expected = (attribution.shape[-1], *attribution.shape[:3])
    if spikes.shape != expected:
        raise FigureError(f"spikes must have shape {list(expected)}; got {list(spikes.shape)}")
    return attribution, spikes


def colour_limit(heats: np.ndarray) -> tuple[float, bool]:
    """The colour scale's limit ``(limit, clipped)`` for frames ``heats [F, H, W]``: the median
    of the frames' largest ``|value|``, so that one strong frame does not turn the others
    white; ``clipped`` says that some frame goes beyond it (the colour bar then shows arrows)."""
    peaks = np.abs(heats).reshape(len(heats), -1).max(axis=1)
    peaks = peaks[peaks > 0]
    if peaks.size == 0:
        return 1.0, False
    limit = float(np.median(peaks))
    return limit, bool(peaks.max() > limit)


def frame_groups(n_steps: int, shown: int, frames: int) -> list[range]:
    """The last ``shown`` of ``n_steps`` steps cut into at most ``frames`` consecutive groups
    of equal length (the earliest may be shorter), oldest first."""
    shown = max(1, min(shown, n_steps))
    size = math.ceil(shown / max(1, frames))
    groups = []
    stop = n_steps
    while stop > n_steps - shown:
        start = max(n_steps - shown, stop - size)
        groups.append(range(start, stop))
        stop = start
    return groups[::-1]


def _label(group: range, n_steps: int) -> str:
    first, last = n_steps - group.stop, n_steps - 1 - group.start
    return f"t-{first}" if first == last else f"t-{last}…t-{first}"


def _draw_frame(
    axes: Axes,
    attribution: np.ndarray,
    spikes: np.ndarray,
    group: range,
    norm: Normalize,
    channels: Sequence[str],
) -> None:
    """One group of steps: summed attribution on the grid, its events on top."""
    heat = attribution[..., group.start : group.stop].sum(axis=(0, 3))
    axes.imshow(heat, cmap=ATTRIBUTION_CMAP, norm=norm, interpolation="nearest", aspect="equal")
    fired: np.ndarray = np.asarray(spikes[group.start : group.stop].any(axis=0))  # [C, H, W]
    for channel in range(fired.shape[0]):
        ys, xs = np.nonzero(fired[channel])
        marker, colour = _MARKERS[channel % len(_MARKERS)]
        label = channels[channel] if channel < len(channels) else f"channel {channel}"
        axes.scatter(xs, ys, s=5, marker=marker, c=colour, linewidths=0.5, alpha=0.5, label=label)
    axes.set_xlim(-0.5, heat.shape[1] - 0.5)
    axes.set_ylim(heat.shape[0] - 0.5, -0.5)
    axes.set_xticks([])
    axes.set_yticks([])


def frame_strip_figure(
    attribution: np.ndarray,
    spikes: np.ndarray,
    probs: np.ndarray | None = None,
    class_names: Sequence[str] = (),
    predicted: int = -1,
    truth: int = -1,
    target: int = -1,
    frames: int = 8,
    steps: int | None = None,
    channels: Sequence[str] = ("off", "on"),
    title: str | None = None,
    per_row: int = 4,
) -> Figure:
    """The frame strip of one class's map over an input grid.

    Args:
        attribution: ``[C, H, W, T]`` the map (or ``[C, L, T]``), right-aligned: column
            ``T - 1`` is the explained step.
        spikes: ``[T, C, H, W]`` the input window.
        probs: ``[classes]`` probabilities at the explained step, for the side panel.
        class_names: names of the classes, for the side panel.
        predicted: the predicted class index, marked in the panel (``-1``: none).
        truth: the true class index, marked in the panel (``-1``: none).
        target: the explained class index, marked in the panel (``-1``: none).
        frames: number of frames (``per_row`` to a row).
        steps: how many final steps the frames cover (default: the map's visible support, as
            the explanation figure shows).
        channels: names of the input channels (markers of their events).
        title: the figure's title (default: none).
        per_row: frames to a row.
    """
    attribution, spikes = as_grid(attribution, spikes)
    n_steps = attribution.shape[-1]
    shown = (
        steps
        if steps is not None
        else default_steps(attribution.reshape(-1, n_steps), n_steps, minimum=frames)
    )
    groups = frame_groups(n_steps, shown, frames)
    heats = [attribution[..., g.start : g.stop].sum(axis=(0, 3)) for g in groups]
    peak, clipped = colour_limit(np.stack(heats))
    norm = Normalize(vmin=-peak, vmax=peak)
    panel = probs is not None and len(class_names) == len(probs)
    across = max(1, min(per_row, len(groups)))
    rows = math.ceil(len(groups) / across)
    side = 1.9  # inches per frame
    aspect = attribution.shape[1] / attribution.shape[2]
    ratios = [side] * across + [0.12] + ([1.5, 1.6] if panel else [])
    width = sum(ratios) + 0.4
    height = rows * (side * aspect + 0.4) + (0.9 if title else 0.6)
    figure = Figure(figsize=(width, max(2.6, height)))
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(
        rows,
        len(ratios),
        width_ratios=ratios,
        wspace=0.12,
        hspace=0.3,
        left=0.02,
        right=0.98,
        bottom=0.12,
        top=0.86 if title else 0.92,
    )
    images = []
    for index, group in enumerate(groups):
        axes = figure.add_subplot(grid[index // across, index % across])
        _draw_frame(axes, attribution, spikes, group, norm, channels)
        axes.set_title(_label(group, n_steps), fontsize=_FONT * 0.9)
        images.append(axes.images[0])
        if index == 0:
            axes.legend(
                loc="upper left",
                bbox_to_anchor=(0.0, 0.0),
                ncol=2,
                frameon=False,
                fontsize=_FONT * 0.8,
                handletextpad=0.2,
                columnspacing=0.8,
            )
    colorbar = figure.colorbar(
        images[-1], cax=figure.add_subplot(grid[:, across]), extend="both" if clipped else "neither"
    )
    colorbar.set_label("attribution (sum over channels)", fontsize=_FONT * 0.85)
    colorbar.ax.tick_params(labelsize=_FONT * 0.8)
    if panel and probs is not None:
        bars = figure.add_subplot(grid[:, across + 2])
        _confidence_bars(
            bars,
            np.asarray(probs),
            tuple(class_names),
            predicted,
            truth,
            target,
            _FONT,
            max(2.6, height) * 0.8,
            compact=False,
        )
    if title:
        figure.suptitle(title, fontsize=_FONT * 1.1, x=0.01, ha="left")
    return figure


def frames_gif(
    attribution: np.ndarray,
    spikes: np.ndarray,
    path: str | os.PathLike[str] | None = None,
    steps: int | None = None,
    fps: int = 6,
    dpi: int = 72,
    channels: Sequence[str] = ("off", "on"),
    title: str = "",
) -> bytes:
    """An animated GIF of one class's map over the grid, one frame per step of the visible
    support (at most :data:`MAX_GIF_FRAMES`, the last ones), on one colour scale.

    Returns the GIF's bytes; with ``path``, also writes them there atomically.
    """
    attribution, spikes = as_grid(attribution, spikes)
    n_steps = attribution.shape[-1]
    shown = (
        steps
        if steps is not None
        else default_steps(attribution.reshape(-1, n_steps), n_steps, minimum=1)
    )
    groups = frame_groups(n_steps, min(shown, MAX_GIF_FRAMES), MAX_GIF_FRAMES)
    shown_steps = attribution[..., n_steps - len(groups) :].sum(axis=0)  # [H, W, steps]
    peak, _ = colour_limit(np.moveaxis(shown_steps, -1, 0))
    norm = Normalize(vmin=-peak, vmax=peak)
    figure = Figure(figsize=(3.2, 3.4))
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.02, 0.02, 0.96, 0.86))

    def draw(index: int) -> list[Artist]:
        axes.clear()
        _draw_frame(axes, attribution, spikes, groups[index], norm, channels)
        axes.set_title(f"{title}  {_label(groups[index], n_steps)}".strip(), fontsize=_FONT)
        return []

    animation = FuncAnimation(figure, draw, frames=len(groups), blit=False)
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder) / "frames.gif"
        animation.save(str(scratch), writer=PillowWriter(fps=fps), dpi=dpi)
        data = scratch.read_bytes()
    if path is not None:
        with atomic_path(Path(path)) as tmp:
            Path(tmp).write_bytes(data)
    return data


def gif_data_uri(data: bytes) -> str:
    """GIF bytes as a base64 ``data:`` URI, for pages that must open offline."""
    return "data:image/gif;base64," + base64.b64encode(data).decode("ascii")


def explanation_frames(
    explanations: Explanations, index: int, class_index: int | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """``(attribution [*shape, T], spikes [T, *shape], class)`` of row ``index`` of an
    explanation file of shaped inputs (its ``input_shape``), without the window's padding."""
    shape = explanations.input_shape
    if shape is None:
        raise FigureError(
            "this explanation file records no input_shape: its inputs are a flat vector, drawn "
            "by the explanation figure (spikeattr plot explanation)"
        )
    target = int(explanations.target[index]) if class_index is None else int(class_index)
    valid = int(explanations.stamps[index] - explanations.window_start[index])
    window = explanations.window
    attribution = explanations.attribution[index, target, :, window - valid :]
    spikes = explanations.spikes[index, window - valid :]
    return attribution.reshape(*shape, valid), spikes.reshape(valid, *shape), target


def explanation_frames_figure(
    explanations: Explanations,
    index: int,
    class_index: int | None = None,
    frames: int = 8,
    steps: int | None = None,
) -> Figure:
    """:func:`frame_strip_figure` of row ``index`` of an explanation file (its probabilities,
    predicted and true class in the side panel)."""
    attribution, spikes, target = explanation_frames(explanations, index, class_index)
    classes = explanations.class_names
    stamp = int(explanations.stamps[index])
    variant = str(explanations.meta.get("variant", ""))
    title = (
        f"{method_label(variant) if variant else 'attribution'} to {classes[target]}, stamp {stamp}"
    )
    return frame_strip_figure(
        attribution,
        spikes,
        np.asarray(explanations.probs[index]),
        classes,
        int(explanations.predicted[index]),
        int(explanations.label[index]),
        target,
        frames=frames,
        steps=steps,
        title=title,
    )
