"""Checks shared by the figure and report tests: shown tick labels, overlapping texts, the
rows of a run's own ``summary.md``, and Markdown as a viewer renders it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from markdown_it import MarkdownIt
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


def _markdown_cells(line: str) -> list[str]:
    """The cells of a pipe-table line, Markdown escapes removed (``\\[`` -> ``[``)."""
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [re.sub(r"\\([\\`\[\]|])", r"\1", c.strip()) for c in cells]


def summary_md_tables(run: Path) -> dict[str, dict[tuple[str, str], list[str]]]:
    """The score tables of the run's own ``summary.md`` (written by the evaluation), by
    protocol (``comparable``, ``paper``): ``(model, method) -> cells``."""
    tables: dict[str, dict[tuple[str, str], list[str]]] = {}
    protocol = ""
    for line in (run / "summary.md").read_text().splitlines():
        if line.startswith("## "):
            protocol = line[3:].split()[0].lower()
        elif line.startswith("| published") and protocol:
            model, method, *cells = _markdown_cells(line)
            tables.setdefault(protocol, {})[(model, method)] = cells
    return tables


def keyed(rows: list[list[str]]) -> dict[tuple[str, str], list[str]]:
    """Table rows by their first two cells (model, method)."""
    return {(row[0], row[1]): row[2:] for row in rows}


class RenderedMarkdown(HTMLParser):
    """The tags and the text of each table cell of rendered Markdown."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def render_markdown(markdown: str) -> RenderedMarkdown:
    """``markdown`` rendered by CommonMark with GitHub tables and raw HTML enabled, parsed."""
    page = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    parsed = RenderedMarkdown()
    parsed.feed(page)
    parsed.close()
    return parsed


#: The tags of a Markdown table, rendered.
TABLE_TAGS = {"table", "thead", "tbody", "tr", "th", "td"}


class ReportPage(HTMLParser):
    """The image sources and alternative texts, and the rows of every table with an ``id`` of a
    page (``tables[id]``, heading row left out; ``controls[id]``: whether each row is a
    control's)."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.alts: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.controls: dict[str, list[bool]] = {}
        self._table = ""
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
            self.alts.append(values.get("alt") or "")
        elif tag == "table" and values.get("id"):
            self._table = str(values["id"])
            self.tables[self._table] = []
            self.controls[self._table] = []
        elif self._table and tag == "tr":
            self.tables[self._table].append([])
            self.controls[self._table].append("control" in (values.get("class") or ""))
        elif self._table and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._table:
            rows, controls = self.tables[self._table], self.controls[self._table]
            kept = [i for i, row in enumerate(rows) if row]  # drop the heading row
            self.tables[self._table] = [rows[i] for i in kept]
            self.controls[self._table] = [controls[i] for i in kept]
            self._table = ""
        elif tag == "td" and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse_report(page: str) -> ReportPage:
    parser = ReportPage()
    parser.feed(page)
    return parser
