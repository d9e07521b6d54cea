"""The report's gallery: one explained stamp per class, methods side by side, per model.

Each gallery file (``gallery/MODEL/METHOD.npz``, an explanation file) is drawn with the time axis
it records in ``meta["time"]`` (:func:`~spikeattr.viz.timeaxis.time_axis_from_meta`); the run's
data file is never read again. A file from before time axes were recorded is drawn in steps,
with a note saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spikeattr.errors import DataFormatError
from spikeattr.evaluate.results import gallery_path
from spikeattr.explain.files import Explanations
from spikeattr.viz.explanation import explanation_figure
from spikeattr.viz.figures import FigureError, figure_data_uri
from spikeattr.viz.frames import explanation_frames, frames_gif, gif_data_uri
from spikeattr.viz.rundir import EvaluationRun, Missing
from spikeattr.viz.style import method_label
from spikeattr.viz.timeaxis import TimeAxis, time_axis_from_meta

#: Resolution (dots per inch) and width (inches) of a gallery figure.
GALLERY_DPI = 100
GALLERY_WIDTH = 4.8


@dataclass(frozen=True)
class GalleryCell:
    """One method's figure of one stamp: a PNG ``data:`` URI and its alternative text."""

    uri: str
    alt: str


@dataclass
class GalleryRow:
    """One explained stamp: its true class ``label``, a heading, and a cell per method."""

    label: int
    stamp: int
    heading: str
    cells: dict[str, GalleryCell] = field(default_factory=dict)


def _time_axis(explanations: Explanations, where: str, notes: list[str]) -> TimeAxis:
    recorded = time_axis_from_meta(explanations.meta)
    if recorded is not None:
        return recorded
    notes.append(
        f"{where} records no time axis (written before explanation files recorded one): "
        "its gallery figures are labelled in steps"
    )
    return TimeAxis(None, None, str(explanations.meta.get("split", "")))


def build_gallery(
    run: EvaluationRun,
    notes: list[str],
    progress: Callable[[int, int], Any] | None = None,
) -> dict[str, list[GalleryRow]]:
    """Per model, one row per explained stamp (ordered by class), one cell per method.

    An unreadable gallery file becomes a :class:`Missing` note of ``run``; a file without a
    recorded time axis adds a line to ``notes``. ``progress(done, total)`` is called after
    each figure.
    """
    loaded: dict[tuple[str, str], tuple[Explanations, TimeAxis]] = {}
    for (model, method), path in run.galleries.items():
        where = gallery_path(model, method)
        try:
            explanations = Explanations.load(path)
        except (FigureError, DataFormatError) as exc:
            run.missing.append(Missing(where, f"unreadable ({exc})"))
            continue
        loaded[(model, method)] = (explanations, _time_axis(explanations, where, notes))
    total = sum(len(explanations) for explanations, _ in loaded.values())
    done = 0
    out: dict[str, list[GalleryRow]] = {}
    for model in run.models:
        rows: dict[int, GalleryRow] = {}
        for method in run.methods:
            if (model, method) not in loaded:
                continue
            explanations, time_axis = loaded[(model, method)]
            classes = explanations.class_names
            for index, stamp in enumerate(int(s) for s in explanations.stamps):
                label = int(explanations.label[index])
                name = classes[label] if 0 <= label < len(classes) else "unlabelled"
                row = rows.setdefault(stamp, GalleryRow(label, stamp, f"{name} (stamp {stamp})"))
                if explanations.input_shape is not None:  # inputs on a grid: an animated GIF
                    uri = gif_data_uri(frames_gif(*explanation_frames(explanations, index)[:2]))
                else:
                    figure = explanation_figure(
                        explanations, index, time_axis=time_axis, compact=True, width=GALLERY_WIDTH
                    )
                    uri = figure_data_uri(figure, GALLERY_DPI)
                alt = (
                    f"{method_label(method)} explanation of stamp {stamp} (explained at "
                    f"{time_axis.describe(stamp - 1)}) for {model}: true {name}, predicted "
                    f"{classes[int(explanations.predicted[index])]}"
                )
                row.cells[method] = GalleryCell(uri, alt)
                done += 1
                if progress is not None:
                    progress(done, total)
        out[model] = sorted(rows.values(), key=lambda r: (r.label, r.stamp))
    return out
