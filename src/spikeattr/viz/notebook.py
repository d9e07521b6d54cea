"""One-call figures of results in memory, for notebooks, and their previews in Jupyter.

Each function turns a result of the explain stage into an explanation file's content in memory
(:meth:`Explanations.from_result <spikeattr.explain.files.Explanations.from_result>`,
:meth:`~spikeattr.explain.files.Explanations.from_stamps`,
:meth:`SeriesExplanation.explanations <spikeattr.explain.series.SeriesExplanation.explanations>`)
and draws it with :func:`~spikeattr.viz.explanation.explanation_figure`, so a notebook shows
exactly the figure ``spikeattr plot explanation`` writes:

* :func:`plot_attribution`: one sample of ``attribute(spikes)``'s result;
* :func:`plot_stamps`: one stamp of :func:`~spikeattr.explain.stamps.explain_stamps`' result;
* :func:`plot_series`: a step of a series explanation, below the predictions around it;
* :func:`plot_explanations`: one stamp of an explanation file.

:func:`register_renderers` (run when :mod:`spikeattr.viz` is imported) makes them the results'
own ``plot`` methods and Jupyter previews, through the registry of
:mod:`spikeattr.explain.display`: the explain stage never imports this one.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from spikeattr.data.series import SpikeSeries
from spikeattr.explain.display import register_renderer
from spikeattr.explain.files import Explanations
from spikeattr.explain.series import SeriesExplanation
from spikeattr.explain.stamps import StampExplanations
from spikeattr.explain.tsa import Attribution
from spikeattr.viz.explanation import Normalisation, explanation_figure
from spikeattr.viz.figures import FigureError, check_dpi
from spikeattr.viz.series_figure import series_figure
from spikeattr.viz.timeaxis import TimeAxis, time_axis_from_meta

#: Width (inches) and resolution (dots per inch) of the previews Jupyter shows: small and cheap.
PREVIEW_WIDTH = 5.5
PREVIEW_DPI = 72


def _normalisation(normalise: str) -> Normalisation:
    if normalise not in ("none", "max-abs"):
        raise FigureError(f"normalise must be 'none' or 'max-abs'; got {normalise!r}")
    return "max-abs" if normalise == "max-abs" else "none"


def recorded_time_axis(explanations: Explanations) -> TimeAxis:
    """The time axis ``explanations`` records, else steps (as ``spikeattr plot`` does)."""
    recorded = time_axis_from_meta(explanations.meta)
    return recorded or TimeAxis(None, None, str(explanations.meta.get("split", "")))


def plot_explanations(
    explanations: Explanations,
    index: int | None = None,
    *,
    stamp: int | None = None,
    class_index: int | str | None = None,
    steps: int | None = None,
    normalise: str = "none",
    width: float = 10.0,
    sample: int | None = None,
) -> Figure:
    """The explanation figure of row ``index`` (default 0) or of ``stamp``, on the time axis
    the explanations record; see
    :meth:`Explanations.plot <spikeattr.explain.files.Explanations.plot>`. ``sample``: the
    row is that sample of a batch explained by the caller (its title says so)."""
    if index is not None and stamp is not None:
        raise FigureError("pass either index or stamp, not both")
    row = explanations.index_of(stamp) if stamp is not None else (index or 0)
    shown = None if class_index is None else explanations.class_index(class_index)
    if explanations.input_shape is not None:  # inputs on a grid: the frame strip, as the CLI
        from spikeattr.viz.frames import explanation_frames_figure

        return explanation_frames_figure(explanations, row, shown, steps=steps)
    return explanation_figure(
        explanations,
        row,
        class_index=shown,
        steps=steps,
        normalise=_normalisation(normalise),
        time_axis=recorded_time_axis(explanations),
        width=width,
        sample=sample,
    )


def plot_attribution(
    result: Attribution,
    spikes: torch.Tensor | np.ndarray,
    index: int = 0,
    *,
    stamp: int | None = None,
    series: SpikeSeries | None = None,
    label: int | None = None,
    class_names: Sequence[str] | None = None,
    input_names: Sequence[str] | None = None,
    class_index: int | str | None = None,
    steps: int | None = None,
    normalise: str = "none",
    width: float = 10.0,
) -> Figure:
    """The explanation figure of sample ``index`` of an ``attribute(spikes)`` result; see
    :meth:`Attribution.plot <spikeattr.explain.attribution.Attribution.plot>` for the arguments.

    Examples:
        >>> from spikeattr.explain import TemporalSpikeAttribution
        >>> from spikeattr.snn import load_model
        >>> window = torch.zeros(1, 100, 3)
        >>> window[0, ::10, 1] = 1
        >>> model = load_model("published:synthetic_1L")
        >>> result = TemporalSpikeAttribution(model).attribute(window)
        >>> figure = plot_attribution(result, window, input_names=["a", "b", "c"])
        >>> [t.get_text() for t in figure.axes[0].get_yticklabels()]
        ['a', 'b', 'c']
    """
    batch = result.values.shape[0]
    if not 0 <= index < batch:
        raise FigureError(f"index {index} out of range; the result holds {batch} samples")
    sample_dims = result.values.ndim - 2  # the inputs' dims and time: 2, or more when shaped
    windows = spikes if spikes.ndim == sample_dims + 1 else spikes[None]
    if windows.shape[0] != batch:
        raise FigureError(
            f"spikes hold {windows.shape[0]} windows; the result explains {batch} (pass the "
            "spikes given to attribute)"
        )
    one = dataclasses.replace(
        result,
        values=result.values[index : index + 1],
        probs=result.probs[index : index + 1],
        predicted=result.predicted[index : index + 1],
        target=result.target[index : index + 1],
    )
    explanations = Explanations.from_result(
        one,
        windows[index : index + 1],
        stamps=stamp,
        series=series,
        labels=label,
        class_names=class_names,
        input_names=input_names,
    )
    return plot_explanations(
        explanations,
        0,
        class_index=class_index,
        steps=steps,
        normalise=normalise,
        width=width,
        sample=index if stamp is None else None,  # windows of the caller's, not of a series
    )


def plot_stamps(
    result: StampExplanations,
    series: SpikeSeries | None = None,
    index: int | None = None,
    *,
    stamp: int | None = None,
    class_index: int | str | None = None,
    steps: int | None = None,
    normalise: str = "none",
    width: float = 10.0,
) -> Figure:
    """The explanation figure of one stamp of an :func:`~spikeattr.explain.stamps.explain_stamps`
    result; see :meth:`StampExplanations.plot <spikeattr.explain.stamps.StampExplanations.plot>`."""
    return plot_explanations(
        Explanations.from_stamps(result, series),
        index,
        stamp=stamp,
        class_index=class_index,
        steps=steps,
        normalise=normalise,
        width=width,
    )


def plot_series(
    explanation: SeriesExplanation,
    step: int,
    series: SpikeSeries | np.ndarray | None = None,
    *,
    span: int = 500,
    class_index: int | str | None = None,
    steps: int | None = None,
    normalise: str = "none",
    width: float = 10.0,
) -> Figure:
    """The predictions of the steps around ``step`` above the map of ``step``; see
    :meth:`SeriesExplanation.plot <spikeattr.explain.series.SeriesExplanation.plot>`."""
    if span < 1:
        raise FigureError(f"span must be at least 1 step; got {span}")
    explanations = explanation.explanations(step, series)
    first = max(0, step - span)
    predicted, _ = explanation.predictions(first, min(explanation.info.n_steps, step + span + 1))
    labels = None
    if isinstance(series, SpikeSeries):
        labels = series.labels[first : first + predicted.size]
    return series_figure(
        explanations,
        predicted,
        first,
        labels=labels,
        time_axis=recorded_time_axis(explanations),
        class_index=None if class_index is None else explanations.class_index(class_index),
        steps=steps,
        normalise=_normalisation(normalise),
        width=width,
    )


def figure_png(figure: Figure, dpi: int = PREVIEW_DPI) -> bytes:
    """``figure`` as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=check_dpi(dpi))
    return buffer.getvalue()


def _preview_attribution(result: Attribution) -> bytes:
    """Sample 0's map; the spikes are not part of the result, so none are drawn."""
    _, _, n_inputs, n_steps = result.values.shape
    blank = np.zeros((result.values.shape[0], n_steps, n_inputs), dtype=np.int8)
    return figure_png(plot_attribution(result, blank, width=PREVIEW_WIDTH))


def _preview_stamps(result: StampExplanations) -> bytes:
    return figure_png(plot_stamps(result, width=PREVIEW_WIDTH))


def _preview_series(explanation: SeriesExplanation) -> bytes:
    last = explanation.info.n_steps - 1
    return figure_png(plot_series(explanation, last, span=200, width=PREVIEW_WIDTH))


def _preview_explanations(explanations: Explanations) -> bytes:
    return figure_png(plot_explanations(explanations, 0, width=PREVIEW_WIDTH))


def register_renderers() -> None:
    """Make these functions the ``plot`` methods and Jupyter previews of the explain stage's
    results (:mod:`spikeattr.explain.display`); :mod:`spikeattr.viz` runs it on import."""
    register_renderer("attribution", plot_attribution, _preview_attribution)
    register_renderer("stamps", plot_stamps, _preview_stamps)
    register_renderer("series", plot_series, _preview_series)
    register_renderer("explanations", plot_explanations, _preview_explanations)
