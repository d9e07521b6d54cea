"""Live input formats: rows and events, binning (against a literal oracle), errors, the reader."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeattr.data.stream_input import StreamInputError, StreamParser
from spikeattr.data.stream_steps import Clock, StepBatch
from spikeattr.errors import DataFormatError

NAMES = ("Bias", "Bed", "Door")


def _parse(
    lines: Sequence[str], cuts: Sequence[int] = (), **options: object
) -> tuple[np.ndarray, np.ndarray | None, list[StreamInputError], StreamParser]:
    """All steps of ``lines`` fed in blocks cut at ``cuts``: (spikes, times, problems, parser)."""
    parser = StreamParser(NAMES, source="test", **options)  # type: ignore[arg-type]
    raw = [line.encode() for line in lines]
    spikes, times, problems = [], [], []
    bounds = [0, *cuts, len(raw)]
    batches: list[StepBatch] = []
    for start, stop in itertools.pairwise(bounds):
        batch, found = parser.parse(raw[start:stop], first_line=start + 1)
        batches.append(batch)
        problems += found
    if parser.failed is None:
        batches.append(parser.finish())
    for batch in batches:
        for piece, stamps in batch.pieces(3):
            spikes.append(piece)
            times.append(stamps)
    timed = [t for t in times if t is not None]
    out = np.concatenate(spikes) if spikes else np.zeros((0, 3), dtype=np.int8)
    return out, (np.concatenate(timed) if timed else None), problems, parser


# -- rows ---------------------------------------------------------------------------------------
def test_rows_in_any_order_with_missing_channels_and_times() -> None:
    lines = ["# a comment", "", "time, Door ,Bias", "0.5,1,1", "1.5,0,1", "", "2.5, 1 , 0"]
    spikes, times, problems, parser = _parse(lines, cuts=[3, 4])
    assert problems == [] and parser.format == "rows"
    np.testing.assert_array_equal(spikes, [[1, 0, 1], [1, 0, 0], [0, 0, 1]])
    assert times is not None and parser.clock is not None
    assert [parser.clock.format(t) for t in times] == ["0.5", "1.5", "2.5"]


def test_rows_fast_path_equals_the_line_by_line_path() -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(0, 2, size=(500, 3))
    plain = ["Bed,Door,Bias"] + [",".join(map(str, row)) for row in values]
    spaced = ["Bed,Door,Bias"] + [", ".join(map(str, row)) for row in values]  # no fast path
    fast, _, _, _ = _parse(plain, cuts=[1, 7, 300])
    slow, _, _, _ = _parse(spaced, cuts=[1, 7, 300])
    np.testing.assert_array_equal(fast, values[:, [2, 0, 1]])
    np.testing.assert_array_equal(slow, fast)


# -- events: binning against a literal oracle ---------------------------------------------------
def _literal_bins(
    events: Sequence[tuple[float, int, int | None]], step: float, start: float | None
) -> np.ndarray:
    """SPEC of the binning, written out: step k is on for a channel if the channel is on at
    the step's start (after every event at or before it) or turns on during the step."""
    origin = events[0][0] if start is None else start
    last = events[-1][0]
    complete = math.floor((last - origin) / step)
    final = origin + complete * step
    emit_last = any(
        moment > final or (moment == final and value == 1)
        for moment, _, value in events
        if moment >= final
    )
    rows = []
    for k in range(complete + (1 if emit_last else 0)):
        begin, end = origin + k * step, origin + (k + 1) * step
        level = [0, 0, 0]
        for moment, channel, value in events:
            if moment <= begin and value is not None:
                level[channel] = value
        for moment, channel, value in events:
            if begin <= moment < end and value == 1:
                level[channel] = 1
        rows.append(level)
    return np.array(rows, dtype=np.int8).reshape(-1, 3)


def _event_lines(events: Sequence[tuple[float, int, int | None]]) -> list[str]:
    return ["time,channel,value"] + [
        f"{time},{NAMES[channel] if value is not None else ''},{'' if value is None else value}"
        for time, channel, value in events
    ]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        # off in the middle of step 2: step 2 is still on; a tick on a boundary ends the stream
        ([(0.0, 1, 1), (2.5, 1, 0), (4.0, 0, None)], [[0, 1, 0]] * 3 + [[0, 0, 0]]),
        # a pulse shorter than a step counts in the step it starts in
        (
            [(0.0, 0, 1), (1.25, 2, 1), (1.5, 2, 0), (3.0, 0, None)],
            [[1, 0, 0], [1, 0, 1], [1, 0, 0]],
        ),
        # off exactly at a step's start: that step is off
        ([(0.0, 1, 1), (2.0, 1, 0), (3.0, 0, None)], [[0, 1, 0], [0, 1, 0], [0, 0, 0]]),
        # the input ends with an 'on' at a boundary: that step is written
        ([(0.0, 0, 1), (2.0, 2, 1)], [[1, 0, 0], [1, 0, 0], [1, 0, 1]]),
        # ... with an 'off' at a boundary: it is not
        ([(0.0, 0, 1), (2.0, 0, 0)], [[1, 0, 0], [1, 0, 0]]),
        # ... with a line inside the step: it is
        ([(0.0, 0, 1), (2.5, 0, None)], [[1, 0, 0]] * 3),
    ],
)
def test_event_binning_cases(
    events: list[tuple[float, int, int | None]], expected: list[list[int]]
) -> None:
    spikes, times, problems, parser = _parse(_event_lines(events))
    assert problems == [] and parser.format == "events"
    np.testing.assert_array_equal(spikes, np.array(expected, dtype=np.int8).reshape(-1, 3))
    np.testing.assert_array_equal(_literal_bins(events, 1.0, None), spikes)
    assert times is not None
    np.testing.assert_array_equal(times, np.arange(len(expected), dtype=np.float64))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 40),  # time in quarters of a second (exact in binary)
            st.integers(0, 2),
            st.sampled_from([0, 1, None]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([0.25, 0.5, 1.0, 2.0]),
    st.sampled_from([None, -1.0]),
    st.lists(st.integers(1, 40), max_size=4),
)
def test_event_binning_equals_the_literal_rule(
    raw: list[tuple[int, int, int | None]],
    step: float,
    start: float | None,
    cuts: list[int],
) -> None:
    events = sorted(((q / 4, c, v) for q, c, v in raw), key=lambda e: e[0])
    lines = _event_lines(events)
    options: dict[str, object] = {"step_seconds": step}
    if start is not None:
        options["start"] = str(start)
    spikes, _, problems, _ = _parse(
        lines, sorted(set(c for c in cuts if c < len(lines))), **options
    )
    assert problems == []
    np.testing.assert_array_equal(spikes, _literal_bins(events, step, start))


def test_iso_times_half_second_steps_and_start() -> None:
    lines = [
        "time,channel,value",
        "2011-11-28 02:28:00,Bias,1",
        "2011-11-28T02:28:01.250,Door,1",
        "2011-11-28 02:28:01.5,Door,0",
        "2011-11-28 02:28:02,,",
    ]
    spikes, times, _, parser = _parse(lines, step_seconds=0.5, start="2011-11-28 02:27:59")
    np.testing.assert_array_equal(spikes[:, [0, 2]], [[0, 0]] * 2 + [[1, 0]] * 2 + [[1, 1], [1, 0]])
    assert parser.clock is not None and times is not None
    stamps = parser.clock.format_many(times)
    assert stamps[0] == "2011-11-28T02:27:59" and stamps[-1] == "2011-11-28T02:28:01.500000"
    assert stamps == [parser.clock.format(t) for t in times]


def test_clock_formats_agree() -> None:
    offsets = np.array([0.0, 0.5, 1.0, 86_400.25, 1e-6, 59.999999])
    for clock in (
        Clock("iso", origin_time=dt.datetime(2011, 11, 28, 2, 27, 59, 500_000)),
        Clock("iso", origin_time=dt.datetime(2011, 11, 28, tzinfo=dt.timezone.utc)),
        Clock("seconds", origin_seconds=12.5),
    ):
        assert clock.format_many(offsets) == [clock.format(float(o)) for o in offsets]
    assert Clock("seconds", origin_seconds=0.1).format(0.2) == "0.3"


# -- errors ---------------------------------------------------------------------------------------
ROWS = "time,Bias,Bed"
EVENTS = "time,channel,value"


@pytest.mark.parametrize(
    ("lines", "message", "good_steps"),
    [
        ([ROWS, "1,1,0", "2,1"], r"test line 3: expected 3 fields .* found 2: '2,1'", 1),
        ([ROWS, "1,1,0", "2,1,2"], r"test line 3: field Bed: '2' is not 0 or 1", 1),
        ([ROWS, "1,1,0", "x,1,1"], r"test line 3: field time: 'x' is not a time", 1),
        ([ROWS, "5,1,0", "4,1,1"], r"test line 3: field time: 4 lies before .* \(5\)", 1),
        (
            [EVENTS, "0,Bias,1", "3,Oven,1"],
            r"test line 3: field channel: unknown channel 'Oven'",
            0,
        ),
        ([EVENTS, "0,Bias,1", "3,Bed,on"], r"test line 3: field value: 'on' is not 0 \(off\)", 0),
        ([EVENTS, "0,Bias,1", "3,,x"], r"test line 3: field value: 'x' on a clock tick", 0),
        ([EVENTS, "0,Bias,1", "3,Bed,1", "2,Bed,0"], r"line 4: field time: 2 lies before", 3),
        ([EVENTS, "2011-11-28 02:27:59,Bias,1", "5,Bed,1"], r"line 3: .*not an ISO date-time", 0),
        (
            [EVENTS, "0,Bias,1", "1,Bed"],
            r"test line 3: expected 3 fields \(time,channel,value\)",
            0,
        ),
        ([EVENTS, "0,Bias,1", "\udcff"], r"test line 3: is not UTF-8 text", 0),
    ],
)
def test_bad_lines_stop_or_are_skipped(lines: list[str], message: str, good_steps: int) -> None:
    raw = [line.encode("utf-8", "surrogateescape") for line in lines]
    stop = StreamParser(NAMES[:2], source="test")
    batch, problems = stop.parse(raw, first_line=1)
    assert stop.failed is not None and problems == [stop.failed]
    assert len(problems) == 1 and problems[0].line == int(message.split("line ")[1][0])
    with pytest.raises(StreamInputError, match=message):
        raise stop.failed
    assert batch.n_steps == good_steps
    skip = StreamParser(NAMES[:2], source="test", on_error="skip")
    after = b"9,1,1" if lines[0] == ROWS else b"9,Bias,1"  # a good line after the bad one
    if lines[1].startswith("2011"):
        after = b"2011-11-28 02:28:09,Bias,1"
    batch, problems = skip.parse([*raw, after], first_line=1)
    assert skip.failed is None and [p.line for p in problems] == [stop.failed.line]
    assert str(problems[0]) == str(stop.failed)
    assert batch.n_steps + skip.finish().n_steps > good_steps


def test_header_problems() -> None:
    with pytest.raises(StreamInputError, match=r"test line 2: header: channel 'Bed' appears twice"):
        StreamParser(NAMES, source="test").parse([b"", b"Bed,Bed"], first_line=1)
    with pytest.raises(StreamInputError, match="header names none of the model's inputs"):
        StreamParser(NAMES, source="test", on_error="skip").parse([b"a,b"], first_line=1)
    with pytest.raises(StreamInputError, match=r"line 1: header: unknown channel 'Oven'"):
        StreamParser(NAMES, source="test").parse([b"Bed,Oven"], first_line=1)
    lenient = StreamParser(NAMES, source="test", on_error="skip")
    batch, problems = lenient.parse([b"Bed,Oven", b"1,1", b"0,1"], first_line=1)
    assert [p.line for p in problems] == [1]
    np.testing.assert_array_equal(batch.rows, [[0, 1, 0], [0, 0, 0]])  # the Oven column dropped
    with pytest.raises(StreamInputError, match="--start 'noon' is not a time"):
        StreamParser(NAMES, start="noon").parse([b"time,channel,value", b"0,Bed,1"], 1)
    parser = StreamParser(NAMES, start="5")
    parser.parse([b"time,channel,value", b"4,Bed,1"], 1)
    assert parser.failed is not None and "before the stream's start (5)" in str(parser.failed)
    with pytest.raises(DataFormatError, match="on_error must be one of"):
        StreamParser(NAMES, on_error="ignore")
