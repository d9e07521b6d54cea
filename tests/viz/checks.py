"""Checks shared by the figure and report tests: shown tick labels, overlapping texts, the
rows of a run's own ``summary.md``, and Markdown as a viewer renders it."""

from __future__ import annotations

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


def summary_md_rows(run: Path) -> list[list[str]]:
    """The table rows of the run's own ``summary.md`` (written by the evaluation)."""
    rows = []
    for line in (run / "summary.md").read_text().splitlines():
        if line.startswith("| published"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


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
    """The image sources and alternative texts, and the rows of the summary table of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.alts: list[str] = []
        self.summary: list[list[str]] = []
        self._in_summary = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
            self.alts.append(values.get("alt") or "")
        elif tag == "table" and values.get("id") == "summary":
            self._in_summary = True
        elif self._in_summary and tag == "tr":
            self.summary.append([])
        elif self._in_summary and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_summary = False
            self.summary = [row for row in self.summary if row]  # drop the heading row
        elif tag == "td" and self._cell is not None:
            self.summary[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse_report(page: str) -> ReportPage:
    parser = ReportPage()
    parser.feed(page)
    return parser
