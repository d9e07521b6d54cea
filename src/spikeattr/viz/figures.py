"""Figure files: the formats and resolutions spikeattr writes, checked before any drawing.

:func:`check_figure_path` and :func:`check_dpi` let a command refuse a bad ``--out`` or
``--dpi`` up front; :func:`save_figure` writes PNG, SVG or PDF atomically, and
:func:`figure_data_uri` embeds a PNG in the report.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spikeattr._io import atomic_path, check_output_path
from spikeattr.errors import SpikeAttrError

#: Figure formats :func:`save_figure` writes, by file suffix.
FIGURE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")

#: Largest resolution accepted (dots per inch): a 10-inch figure is then 20 000 pixels wide.
MAX_DPI = 2000


class FigureError(SpikeAttrError):
    """A figure was requested from unusable input (file, index, class, range or format)."""


def check_dpi(dpi: int, name: str = "dpi") -> int:
    """``dpi`` if it lies in ``1..MAX_DPI``; else a :class:`FigureError` naming ``name``."""
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 1 <= dpi <= MAX_DPI:
        raise FigureError(f"{name} must be a whole number from 1 to {MAX_DPI}; got {dpi!r}")
    return dpi


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


def check_figure_path(path: str | os.PathLike[str]) -> Path:
    """``path`` if a figure can be written there: not a directory, not below a regular file,
    with a suffix of :data:`FIGURE_FORMATS`; else a :class:`FigureError`."""
    try:
        target = check_output_path(path, "figure file (.png, .svg or .pdf)")
    except SpikeAttrError as exc:
        raise FigureError(str(exc)) from exc
    figure_format(target)
    return target


def save_figure(figure: Figure, path: str | os.PathLike[str], dpi: int = 150) -> Path:
    """Write ``figure`` as PNG, SVG or PDF (by the suffix of ``path``), atomically.

    Raises:
        FigureError: an unknown suffix, a ``dpi`` outside ``1..MAX_DPI``, or a ``path`` that
            is a directory or lies below a regular file. Nothing is written then.
    """
    check_dpi(dpi)
    target = check_figure_path(path)
    if figure.canvas is None or not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format=figure_format(target), dpi=dpi)
    return target


def figure_data_uri(figure: Figure, dpi: int) -> str:
    """``figure`` as a base64 PNG ``data:`` URI, for pages that must open offline."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=check_dpi(dpi))
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
