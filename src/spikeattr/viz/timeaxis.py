"""Time on the x-axis of a figure: how split steps map to steps, seconds or clock time, where
that mapping comes from, and ticks whose labels never collide.

An explanation file records its split's time base in ``meta["time"]``
(:func:`time_axis_from_meta`), so figures of it need no data file; :func:`time_axis_from_data`
reads the time base of a data file the user names explicitly (``--data``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator, ScalarFormatter

from spikeattr.data.series import read_time_base
from spikeattr.errors import DataFormatError
from spikeattr.viz.figures import FigureError


@dataclass(frozen=True)
class TimeAxis:
    """How split steps map to time on the x-axis.

    Attributes:
        step_seconds: seconds per step; ``None`` labels the axis in steps.
        start: clock time of split step 0; with it the axis shows clock times.
        split: split name, for the axis label.
    """

    step_seconds: float | None = None
    start: dt.datetime | None = None
    split: str = ""

    def positions(self, steps: np.ndarray) -> np.ndarray:
        """x-coordinates of (fractional) split steps: steps, seconds, or matplotlib dates."""
        steps = np.asarray(steps, dtype=np.float64)
        if self.step_seconds is None:
            return steps
        if self.start is None:
            return steps * self.step_seconds
        origin = float(mdates.date2num(self.start))
        return origin + steps * (self.step_seconds / 86_400.0)

    def label(self, first_step: int = 0) -> str:
        """The x-axis label; with clock time it names the date of ``first_step``."""
        where = f" in the {self.split} split" if self.split else ""
        if self.step_seconds is None:
            return f"step{where}"
        if self.start is None:
            return f"time{where} (s)"
        moment = self.start + dt.timedelta(seconds=first_step * self.step_seconds)
        return f"clock time ({moment:%Y-%m-%d})"

    def describe(self, step: int) -> str:
        """A step as text: ``step 8169``, ``t = 8.169 s`` or ``2012-11-30 12:41:45``."""
        if self.step_seconds is None:
            return f"step {step}"
        if self.start is None:
            return f"t = {_seconds_text(step * self.step_seconds, self.step_seconds)} s"
        moment = self.start + dt.timedelta(seconds=step * self.step_seconds)
        return moment.isoformat(sep=" ", timespec="seconds" if self.step_seconds >= 1 else "auto")


def _seconds_text(value: float, resolution: float) -> str:
    digits = max(0, -math.floor(math.log10(resolution))) if resolution < 1 else 0
    return f"{value:.{digits}f}"


def time_axis_from_meta(meta: Mapping[str, Any]) -> TimeAxis | None:
    """The time axis an explanation file records in ``meta["time"]``, or ``None`` if absent.

    Files written by ``spikeattr explain`` and evaluation galleries carry
    ``{"step_seconds", "start_time"}`` of their split's first step, so their figures need no
    data file.
    """
    time = meta.get("time")
    if not isinstance(time, Mapping):
        return None
    split = str(meta.get("split", ""))
    step = time.get("step_seconds")
    if step is None:
        return TimeAxis(None, None, split)
    start = time.get("start_time")
    try:
        moment = dt.datetime.fromisoformat(str(start)) if start else None
    except ValueError:
        return None
    return TimeAxis(float(step), moment, split)


def time_axis_from_data(path: str | os.PathLike[str], split: str) -> TimeAxis:
    """The time axis of split ``split`` of a data file, from its metadata (not its spikes).

    A file with a start time (ADL) gives clock time, the synthetic data set seconds at 1 ms per
    step, any other file with ``meta["resolution_s"]`` seconds, else steps.

    Raises:
        FigureError: the file is missing, unreadable, or has no split ``split``.
    """
    try:
        base = read_time_base(path, split)
    except DataFormatError as exc:
        raise FigureError(f"cannot read the time axis: {exc}") from exc
    axis = time_axis_from_meta({"time": base, "split": split})
    return axis if axis is not None else TimeAxis(None, None, split)


class _ClockFormatter(Formatter):
    """Clock times as short as the ticks allow: ``%H:%M`` when every tick is on a whole
    minute, else ``%H:%M:%S``; ``%m-%d %H:%M`` when the ticks span more than a day."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return str(mdates.num2date(x).strftime("%H:%M:%S"))

    def format_ticks(self, values: Any) -> list[str]:
        moments = [mdates.num2date(v) for v in values]
        if not moments:
            return []
        if (moments[-1] - moments[0]).total_seconds() > 86_400:
            pattern = "%m-%d %H:%M"
        elif all(m.second == 0 and m.microsecond == 0 for m in moments):
            pattern = "%H:%M"
        else:
            pattern = "%H:%M:%S"
        return [m.strftime(pattern) for m in moments]


class _QuietDateLocator(mdates.AutoDateLocator):
    """AutoDateLocator without its warning when few ticks fit a short range (it then falls
    back to a coarser interval, which is what the figure wants)."""

    def get_locator(self, dmin: Any, dmax: Any) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="AutoDateLocator was unable")
            return super().get_locator(dmin, dmax)


def set_time_ticks(axes: Axes, time_axis: TimeAxis, fontsize: float, ticks: int = 6) -> None:
    """At most ``ticks`` x-ticks: plain seconds (or steps), or clock times."""
    if time_axis.start is not None and time_axis.step_seconds is not None:
        locator = _QuietDateLocator(minticks=2, maxticks=ticks, interval_multiples=True)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(_ClockFormatter())
    else:
        axes.xaxis.set_major_locator(MaxNLocator(nbins=ticks, steps=[1, 2, 2.5, 5, 10]))
        formatter = ScalarFormatter(useOffset=False)
        formatter.set_powerlimits((-12, 12))  # plain decimals, the same number for every tick
        axes.xaxis.set_major_formatter(formatter)
    axes.tick_params(axis="x", labelsize=fontsize)


def _tick_labels_collide(figure: Figure, axes: Axes, gap: float = 4.0) -> bool:
    """Whether two drawn x tick labels of ``axes`` are closer than ``gap`` pixels."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    low, high = sorted(axes.get_xlim())
    boxes = sorted(
        (tick.label1.get_window_extent(renderer).x0, tick.label1.get_window_extent(renderer).x1)
        for tick in axes.xaxis.get_major_ticks()
        if tick.label1.get_visible() and tick.label1.get_text() and low <= tick.get_loc() <= high
    )
    return any(left[1] + gap > right[0] for left, right in itertools.pairwise(boxes))


def fit_time_ticks(figure: Figure, axes: Axes, time_axis: TimeAxis, fontsize: float) -> None:
    """Use the most ticks (6 down to 2) whose labels do not collide once laid out (each try
    lays the figure out without rendering it: only the labels' extents are needed)."""
    engine = figure.get_layout_engine()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for ticks in (6, 5, 4, 3, 2):
        set_time_ticks(axes, time_axis, fontsize, ticks)
        if engine is not None:
            engine.execute(figure)  # the axes' place, from the labels' sizes; nothing is drawn
        axes.xaxis.get_tightbbox(renderer)  # the ticks and their labels, laid out
        if not _tick_labels_collide(figure, axes):
            return
