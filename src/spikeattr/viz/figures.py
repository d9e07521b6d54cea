"""Figure files: :func:`save_figure` writes PNG, SVG or PDF atomically, and
:func:`figure_data_uri` embeds a PNG in the report."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spikeattr._io import atomic_path
from spikeattr.errors import SpikeAttrError

#: Figure formats :func:`save_figure` writes, by file suffix.
FIGURE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")


class FigureError(SpikeAttrError):
    """A figure was requested from unusable input (file, index, class, range or format)."""


def figure_format(path: str | os.PathLike[str]) -> str:
    """The format of a figure file by its suffix (``png``, ``svg`` or ``pdf``)."""
    target = Path(path)
    kind = target.suffix.lower().lstrip(".")
    if kind not in FIGURE_FORMATS:
        raise FigureError(
            f"{target}: unknown figure format {target.suffix or '(no suffix)'!r}; "
            "use .png, .svg or .pdf"
        )
    return kind


def save_figure(figure: Figure, path: str | os.PathLike[str], dpi: int = 150) -> Path:
    """Write ``figure`` as PNG, SVG or PDF (by the suffix of ``path``), atomically."""
    target = Path(path)
    kind = figure_format(target)
    if figure.canvas is None or not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format=kind, dpi=dpi)
    return target


def figure_data_uri(figure: Figure, dpi: int) -> str:
    """``figure`` as a base64 PNG ``data:`` URI, for pages that must open offline."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
