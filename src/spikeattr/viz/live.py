"""A terminal view of a live explanation (``spikeattr stream --view``), drawn with rich.

One frame shows the current prediction and its probability, the probabilities of the likeliest
classes, a timeline of the recent predictions (one coloured cell per step, newest on the
right) with the last changes of prediction, and per input channel a bar of its attribution to
the predicted class summed over the map's ``K`` steps (green pushes towards the class, red
away) and how many steps ago its largest contribution lies. :meth:`LiveView.update` takes
each explained chunk; :meth:`LiveView.render` draws the latest state, so the view can be
refreshed by ``rich.live.Live(get_renderable=view.render)`` at its own pace, and rendered to
a string in tests.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from spikeattr.explain.online import OnlineChunk

PALETTE: tuple[str, ...] = (
    "bright_blue", "bright_magenta", "bright_cyan", "bright_yellow", "bright_green",
    "orange3", "bright_red", "medium_purple", "dark_cyan", "gold3", "grey62", "deep_pink3",
)  # fmt: skip
BAR_WIDTH = 24


@dataclass(frozen=True)
class _Change:
    step: int
    time: str | None
    before: int | None
    after: int
    probability: float


@dataclass(frozen=True)
class _Frame:
    """What one frame shows (replaced whole on update, so a refresh thread reads a consistent
    state)."""

    step: int
    time: str | None
    predicted: int
    probs: np.ndarray
    channel_totals: np.ndarray
    strongest_ago: np.ndarray


class LiveView:
    """The state and the drawing of the live view.

    Args:
        input_names: the model's channel names.
        class_names: the model's class names.
        title: what is explained (model, variant), shown in the frame's title.
        history: number of steps on the timeline.
        clock: formats a clock offset of the stream (``None``: the stream has no times).
    """

    def __init__(
        self,
        input_names: Sequence[str],
        class_names: Sequence[str],
        title: str,
        history: int = 64,
        clock: Callable[[float], str] | None = None,
    ) -> None:
        self.input_names = tuple(input_names)
        self.class_names = tuple(class_names)
        self.title = title
        self.clock = clock
        self._timeline: deque[int] = deque(maxlen=history)
        self._changes: deque[_Change] = deque(maxlen=5)
        self._frame: _Frame | None = None
        self._started = time.monotonic()
        self.steps = 0

    def update(
        self, chunk: OnlineChunk, times: np.ndarray | None, previous: int | None = None
    ) -> None:
        """Take the explanations of ``chunk`` (fed with ``maps="predicted"`` or ``"all"``)."""
        if len(chunk) == 0 or chunk.explanation is None:
            return
        predicted = chunk.predicted.tolist()
        for j in chunk.changes.tolist():
            before = predicted[j - 1] if j > 0 else previous
            self._changes.append(
                _Change(
                    chunk.start + j,
                    self._time(times, j),
                    before,
                    predicted[j],
                    float(chunk.probs[j, predicted[j]]),
                )
            )
        self._timeline.extend(predicted[-(self._timeline.maxlen or 0) :])
        last = len(chunk) - 1
        self._frame = _Frame(
            step=chunk.start + last,
            time=self._time(times, last),
            predicted=predicted[last],
            probs=chunk.probs[last].copy(),
            channel_totals=chunk.explanation[last].sum(axis=1, dtype=np.float64),
            strongest_ago=chunk.explanation.shape[2]
            - 1
            - np.abs(chunk.explanation[last]).argmax(axis=1),
        )
        self.steps = chunk.start + len(chunk)

    def _time(self, times: np.ndarray | None, j: int) -> str | None:
        if times is None or self.clock is None:
            return None
        return self.clock(float(times[j]))

    def render(self) -> RenderableType:
        """The current frame."""
        frame = self._frame
        elapsed = max(time.monotonic() - self._started, 1e-9)
        title = f"spikeattr stream · {self.title}"
        if frame is None:
            return Panel(Text("waiting for the first step ...", style="dim"), title=title)
        return Panel(
            Group(
                self._headline(frame, elapsed),
                Text(""),
                self._probabilities(frame),
                Text(""),
                self._timeline_text(),
                self._changes_table(),
                Text(""),
                self._bars(frame),
            ),
            title=title,
            subtitle="Ctrl-C to quit",
        )

    def _color(self, klass: int) -> str:
        return PALETTE[klass % len(PALETTE)]

    def _headline(self, frame: _Frame, elapsed: float) -> Text:
        text = Text("now  ", style="bold")
        text.append(self.class_names[frame.predicted], style=f"bold {self._color(frame.predicted)}")
        text.append(f"  p = {float(frame.probs[frame.predicted]):.3f}", style="bold")
        text.append(f"    step {frame.step:,}", style="dim")
        if frame.time is not None:
            text.append(f" · {frame.time}", style="dim")
        text.append(f" · {self.steps / elapsed:,.0f} steps/s", style="dim")
        return text

    def _probabilities(self, frame: _Frame) -> Table:
        table = Table.grid(padding=(0, 1))
        table.add_column(min_width=14)
        table.add_column()
        table.add_column(justify="right")
        for klass in np.argsort(-frame.probs, kind="stable")[:3].tolist():
            p = float(frame.probs[klass])
            cells = round(p * BAR_WIDTH)
            bar = Text("█" * cells + "·" * (BAR_WIDTH - cells), style=self._color(klass))
            table.add_row(Text(self.class_names[klass], style=self._color(klass)), bar, f"{p:.3f}")
        return table

    def _timeline_text(self) -> Text:
        text = Text(f"last {len(self._timeline)} steps  ", style="bold")
        for klass in self._timeline:
            text.append("▇", style=self._color(klass))
        return text

    def _changes_table(self) -> Table:
        table = Table.grid(padding=(0, 1))
        for change in reversed(self._changes):
            before = "start" if change.before is None else self.class_names[change.before]
            table.add_row(
                Text(f"step {change.step:,}", style="dim"),
                Text(change.time or "", style="dim"),
                Text(before, style=self._color(change.before) if change.before is not None else ""),
                Text("→"),
                Text(self.class_names[change.after], style=self._color(change.after)),
                Text(f"p = {change.probability:.3f}", style="dim"),
            )
        return table

    def _bars(self, frame: _Frame) -> Table:
        totals = frame.channel_totals
        scale = float(np.abs(totals).max()) or 1.0
        table = Table(
            title=f"why {self.class_names[frame.predicted]}: attribution per channel "
            "(summed over the map's steps)",
            title_justify="left",
            box=None,
            padding=(0, 1),
            show_header=False,
        )
        table.add_column(min_width=10)
        table.add_column(justify="right", width=BAR_WIDTH)
        table.add_column(width=BAR_WIDTH)
        table.add_column(justify="right")
        table.add_column(style="dim")
        rows = zip(self.input_names, totals.tolist(), frame.strongest_ago.tolist(), strict=True)
        for name, total, ago in rows:
            cells = round(abs(total) / scale * BAR_WIDTH)
            left = Text("█" * cells, style="red") if total < 0 else Text("")
            right = Text("█" * cells, style="green") if total > 0 else Text("")
            strongest = f"strongest {ago} steps ago" if total != 0 else ""
            table.add_row(name, left, right, f"{total:+.3g}", strongest)
        return table
