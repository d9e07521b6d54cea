"""What a parsed live stream is: steps (run-length encoded) and the clock their times are on.

:class:`~spikeattr.data.stream_input.StreamParser` produces :class:`StepBatch` es; their times
are float seconds after the stream's origin, which its :class:`Clock` writes back as the input
wrote them (ISO date-times or seconds).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class Clock:
    """How a stream's times are read and written: ISO date-times or seconds, from ``origin``.

    Stream times are handled as float seconds after the origin (the first time of the stream,
    or the ``start`` given by the user).
    """

    kind: Literal["iso", "seconds"]
    origin_time: dt.datetime | None = None
    origin_seconds: float = 0.0

    def format(self, offset: float) -> str:
        """The clock time ``offset`` seconds after the origin, as the stream wrote its times."""
        if self.origin_time is not None:
            return (self.origin_time + dt.timedelta(seconds=offset)).isoformat()
        return format(self.origin_seconds + offset, ".9f").rstrip("0").rstrip(".")

    def format_many(self, offsets: np.ndarray) -> list[str]:
        """:meth:`format` of every offset ``[t]`` (vectorised for naive date-times)."""
        if self.origin_time is None or self.origin_time.tzinfo is not None:
            return [self.format(offset) for offset in offsets.tolist()]
        micro = np.round(offsets * 1e6).astype(np.int64).astype("timedelta64[us]")
        moments = np.datetime64(self.origin_time, "us") + micro
        whole = moments.astype(np.int64) % 1_000_000 == 0
        seconds = np.datetime_as_string(moments, unit="s")
        fine = np.datetime_as_string(moments, unit="us")
        return [str(text) for text in np.where(whole, seconds, fine).tolist()]


def parse_time(text: str) -> dt.datetime | float | None:
    """An ISO date-time or a finite number of seconds, else ``None``."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    return seconds if math.isfinite(seconds) else None


@dataclass
class StepBatch:
    """Steps parsed from some lines, run-length encoded (a long quiet spell stays small).

    Attributes:
        first: stream index of the first step.
        rows: int8 ``[m, n_in]``; row ``j`` stands for ``counts[j]`` identical steps.
        counts: int64 ``[m]``.
        times: float64 ``[m]`` clock offsets of the first step of each run (the run's further
            steps follow every ``step_seconds``), or ``None`` when the stream has no times.
        step_seconds: seconds per step.
    """

    first: int
    rows: np.ndarray
    counts: np.ndarray
    times: np.ndarray | None
    step_seconds: float

    @property
    def n_steps(self) -> int:
        """Number of steps."""
        return int(self.counts.sum())

    def pieces(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """The steps as ``(spikes [t, n_in] int8, times [t] or None)``, at most ``size`` each."""
        ends = np.cumsum(self.counts)
        starts = ends - self.counts
        total = int(ends[-1]) if ends.size else 0
        for first in range(0, total, size):
            last = min(total, first + size)
            lo = int(np.searchsorted(ends, first, side="right"))
            hi = int(np.searchsorted(starts, last, side="left"))
            begin = np.maximum(starts[lo:hi], first)
            repeats = np.minimum(ends[lo:hi], last) - begin
            spikes = np.repeat(self.rows[lo:hi], repeats, axis=0)
            if self.times is None:
                yield spikes, None
                continue
            into_run = np.arange(first, last) - np.repeat(starts[lo:hi], repeats)
            times = np.repeat(self.times[lo:hi], repeats) + into_run * self.step_seconds
            yield spikes, times


class StepRuns:
    """Collects the runs of steps of one :class:`StepBatch`."""

    def __init__(self, first: int, n_inputs: int, step_seconds: float) -> None:
        self.first = first
        self.n_inputs = n_inputs
        self.step_seconds = step_seconds
        self.rows: list[np.ndarray] = []
        self.counts: list[int] = []
        self.times: list[float] = []
        self.timed = True

    def add(self, spikes: np.ndarray, count: int, offset: float | None) -> None:
        self.rows.append(spikes.reshape(1, -1))
        self.counts.append(count)
        if offset is None:
            self.timed = False
        else:
            self.times.append(offset)

    def extend(self, spikes: np.ndarray) -> None:
        self.rows.append(spikes)
        self.counts.extend([1] * spikes.shape[0])
        self.timed = False

    def batch(self) -> StepBatch:
        rows = (
            np.concatenate(self.rows) if self.rows else np.zeros((0, self.n_inputs), dtype=np.int8)
        )
        counts = np.asarray(self.counts, dtype=np.int64)
        times = np.asarray(self.times, dtype=np.float64) if self.timed and self.rows else None
        return StepBatch(self.first, rows, counts, times, self.step_seconds)
