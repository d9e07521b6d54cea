"""Checks shared by the figure and report tests: shown tick labels, overlapping texts, and the
rows of a run's own ``summary.md``."""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text


def shown_tick_labels(axes: Axes, which: str = "x") -> list[Text]:
    """The non-empty, visible tick labels of ``axes`` inside its view (after a draw)."""
    axis = axes.xaxis if which == "x" else axes.yaxis
    low, high = sorted(axes.get_xlim() if which == "x" else axes.get_ylim())
    span = high - low
    labels = []
    for tick in axis.get_major_ticks():
        if not low - 1e-9 * span <= tick.get_loc() <= high + 1e-9 * span:
            continue
        for label in (tick.label1, tick.label2):  # left/bottom or right/top
            if label.get_visible() and label.get_text().strip():
                labels.append(label)
    return labels


def drawn_texts(figure: Figure) -> list[Text]:
    """Every visible, non-empty text of a drawn figure: titles, axis labels, legends, shown
    tick labels (tick labels outside the view are not drawn, so they are left out)."""
    ticks = set()
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                ticks.update({id(tick.label1), id(tick.label2)})
    texts = [
        t
        for t in figure.findobj(Text)
        if id(t) not in ticks and t.get_visible() and t.get_text().strip()
    ]
    for axes in figure.axes:
        if axes.get_visible():
            texts += shown_tick_labels(axes, "x") + shown_tick_labels(axes, "y")
    return texts


def overlapping(figure: Figure, texts: list[Text]) -> list[tuple[str, str]]:
    """Pairs of texts whose drawn boxes overlap (the figure must have been drawn)."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    return [
        (a, b)
        for i, (a, box_a) in enumerate(boxes)
        for b, box_b in boxes[i + 1 :]
        if box_a.overlaps(box_b)
    ]


def inside_figure(figure: Figure, texts: list[Text]) -> list[str]:
    """Texts that stick out of the figure (the figure must have been drawn)."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = figure.bbox
    out = []
    for text in texts:
        box = text.get_window_extent(renderer)
        if box.x0 < frame.x0 - 1 or box.x1 > frame.x1 + 1 or box.y0 < frame.y0 - 1:
            out.append(text.get_text())
        elif box.y1 > frame.y1 + 1:
            out.append(text.get_text())
    return out


def summary_md_rows(run: Path) -> list[list[str]]:
    """The table rows of the run's own ``summary.md`` (written by the evaluation)."""
    rows = []
    for line in (run / "summary.md").read_text().splitlines():
        if line.startswith("| published"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows
