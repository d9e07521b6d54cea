"""Replay the raw UCI ADL sensor file of one subject as a live event stream.

A sensor row ``[start, end]`` of ``Ordonez{S}_Sensors.txt`` says the sensor was on from second
``start`` to second ``end`` inclusive; replayed, it becomes the events ``start,Location,1`` and
``end + 1 s,Location,0`` of the events format of :mod:`spikeattr.data.stream_input` (rows of
one channel that overlap or touch are merged first, so an ``off`` never cuts a row that is still
on). The replay covers the timeline of :func:`~spikeattr.data.adl.encode_subject` (time 0 = the
earliest row of the sensor or label file, one step per second, its chronological splits): it
opens with ``Bias`` on and the sensors that are on at the first replayed second, and ends with a
clock tick at the end of the last one, so binned at 1 s the stream is exactly the encoded
spikes of that range. (That is the aligned encoding; for subject A it is also the reference
encoding the published models were trained on. Subject B's reference encoding carries two
defects of the research code that a replay of the raw rows does not reproduce.)

:func:`replay` writes the lines with the pauses of real time divided by ``speed``.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from spikeattr.data.adl import (
    ADL_INPUTS,
    IntervalRow,
    Subject,
    bundled_raw_dir,
    parse_intervals,
    raw_file_names,
    verify_raw_files,
)
from spikeattr.data.series import chronological_splits
from spikeattr.data.stream_input import EVENT_HEADER
from spikeattr.errors import DataFormatError


@dataclass(frozen=True)
class SensorEvent:
    """One line of an events stream: at ``second`` (after ``start``) ``channel`` turned on
    (``value`` 1) or off (0); ``channel`` ``""`` is a clock tick."""

    second: int
    channel: str
    value: int | None

    def line(self, start: dt.datetime) -> str:
        """The event as an events-format line, ``time,channel,value``."""
        moment = (start + dt.timedelta(seconds=self.second)).isoformat(sep=" ")
        value = "" if self.value is None else str(self.value)
        return f"{moment},{self.channel},{value}"


@dataclass(frozen=True)
class AdlReplay:
    """The events of one subject over steps ``[first, stop)`` of its encoded timeline.

    Attributes:
        subject: ``"A"`` or ``"B"``.
        start: clock time of step 0 of the timeline.
        first, stop: the replayed steps (a split's bounds, or the whole timeline).
        events: the sensor events (and the opening ``Bias`` event), in time order, seconds
            after ``start``; the closing tick is added by :meth:`lines`.
    """

    subject: str
    start: dt.datetime
    first: int
    stop: int
    events: tuple[SensorEvent, ...]

    def lines(self, tick_seconds: int = 0) -> Iterator[tuple[int, str]]:
        """``(second, line)`` of the stream: a comment, the header, the events, a tick every
        ``tick_seconds`` of data time (0: none) and the closing tick at ``stop``."""
        yield (
            self.first,
            (
                f"# UCI ADL subject {self.subject}, encoded steps {self.first}..{self.stop - 1} "
                f"(1 s each) replayed from the raw sensor rows"
            ),
        )
        yield self.first, ",".join(EVENT_HEADER)
        ticks: Iterator[SensorEvent] = iter(())
        if tick_seconds > 0:
            seconds = range(self.first + tick_seconds, self.stop, tick_seconds)
            ticks = (SensorEvent(s, "", None) for s in seconds)
        merged = heapq.merge(self.events, ticks, key=lambda event: event.second)
        for event in itertools.chain(merged, [SensorEvent(self.stop, "", None)]):
            yield event.second, event.line(self.start)


def adl_replay(
    raw_dir: str | os.PathLike[str] | None,
    subject: Subject,
    split: str | None = None,
    verify: bool = True,
) -> AdlReplay:
    """The event stream of ``subject``'s sensor file over ``split`` (``None``: everything).

    Raises:
        DataFormatError: a raw file is missing or malformed, or ``split`` is unknown.
        ChecksumError: ``verify`` and a file differs from the official one.
    """
    directory = bundled_raw_dir() if raw_dir is None else Path(raw_dir)
    if verify:
        verify_raw_files(directory, [subject])
    sensors_name, adls_name = raw_file_names(subject)
    sensors = [r for r in parse_intervals(directory / sensors_name, "sensors") if _usable(r)]
    labels = [r for r in parse_intervals(directory / adls_name, "adls") if _usable(r)]
    if not sensors or not labels:
        raise DataFormatError(f"{directory}: subject {subject} has no usable sensor or label rows")
    start = min(row.start for row in sensors + labels)
    n_steps = _seconds(max(row.end for row in sensors + labels) - start) + 1
    bounds = {"all": (0, n_steps), **chronological_splits(n_steps)}
    key = split or "all"
    if key not in bounds:
        raise DataFormatError(f"unknown split {split!r}; the timeline has {sorted(bounds)}")
    first, stop = bounds[key]
    by_channel: dict[str, list[tuple[int, int]]] = {}
    for row in sensors:
        if row.name not in ADL_INPUTS[1:]:
            raise DataFormatError(
                f"{sensors_name} line {row.line}: Location {row.name!r} is not a known sensor; "
                f"expected one of {', '.join(ADL_INPUTS[1:])}"
            )
        by_channel.setdefault(row.name, []).append(
            (_seconds(row.start - start), _seconds(row.end - start))
        )
    events = [SensorEvent(first, "Bias", 1)]
    for channel in ADL_INPUTS[1:]:
        for on, end in _merged(by_channel.get(channel, [])):
            if end < first or on >= stop:
                continue
            events.append(SensorEvent(max(on, first), channel, 1))
            if end + 1 < stop:
                events.append(SensorEvent(end + 1, channel, 0))
    order = {name: i for i, name in enumerate(ADL_INPUTS)}
    events.sort(key=lambda event: (event.second, order[event.channel]))
    return AdlReplay(subject, start, first, stop, tuple(events))


def replay(
    lines: Iterator[tuple[int, str]],
    write: Callable[[str], object],
    flush: Callable[[], object],
    speed: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> int:
    """Write ``(second, line)`` pairs, each once ``second`` is due at ``speed`` x real time.

    ``speed`` 0 writes everything at once (no pauses, buffered); otherwise every line is
    flushed when written, so a reader at the other end of a pipe sees it then. Returns the
    number of lines written.
    """
    begin = clock()
    origin: int | None = None
    count = 0
    for second, text in lines:
        if speed > 0:
            origin = second if origin is None else origin
            wait = begin + (second - origin) / speed - clock()
            if wait > 0:
                sleep(wait)
        write(text + "\n")
        count += 1
        if speed > 0:
            flush()
    flush()
    return count


def _usable(row: IntervalRow) -> bool:
    return not row.ends_before_start


def _seconds(delta: dt.timedelta) -> int:
    return delta.days * 86_400 + delta.seconds


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of inclusive ``[start, end]`` second intervals; touching ones are joined."""
    out: list[tuple[int, int]] = []
    for on, end in sorted(intervals):
        if out and on <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((on, end))
    return out
