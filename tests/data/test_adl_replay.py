"""The ADL replay, binned at 1 s, is exactly the encoded spikes; its pacing follows the clock."""

from __future__ import annotations

import numpy as np
import pytest

from spikeattr.data.adl import ADL_INPUTS, encode_subject
from spikeattr.data.adl_replay import _merged, adl_replay, replay
from spikeattr.data.stream_input import StreamParser
from spikeattr.errors import DataFormatError


def _binned(lines: list[str]) -> tuple[np.ndarray, list[str]]:
    """The steps and clock times of a replay's lines, read as a live stream in blocks."""
    parser = StreamParser(ADL_INPUTS, 1.0, source="replay")
    raw = [line.encode() for line in lines]
    batches = []
    for start in range(0, len(raw), 4096):
        batch, problems = parser.parse(raw[start : start + 4096], start + 1)
        assert problems == []
        batches.append(batch)
    batches.append(parser.finish())
    spikes, stamps = [], []
    for batch in batches:
        for piece, times in batch.pieces(1 << 16):
            spikes.append(piece)
            assert times is not None and parser.clock is not None
            stamps += parser.clock.format_many(times[[0, -1]])
    return np.concatenate(spikes), [stamps[0], stamps[-1]]


@pytest.mark.parametrize(
    ("subject", "compat", "split", "tick"),
    [("A", "reference", None, 0), ("A", "reference", "test", 3), ("B", "aligned", "val", 0)],
)
def test_replay_binned_is_the_encoding(
    subject: str, compat: str, split: str | None, tick: int
) -> None:
    series = encode_subject(None, subject, compat=compat)  # type: ignore[arg-type]
    first, stop = (0, series.n_steps) if split is None else series.splits[split]
    plan = adl_replay(None, subject, split=split)  # type: ignore[arg-type]
    assert (plan.first, plan.stop) == (first, stop)
    lines = [text for _, text in plan.lines(tick_seconds=tick)]
    assert lines[0].startswith(f"# UCI ADL subject {subject}") and lines[1] == "time,channel,value"
    spikes, (begin, end) = _binned(lines)
    np.testing.assert_array_equal(spikes, series.spikes[first:stop])
    start = np.datetime64(series.meta["start_time"])
    assert begin == str(start + np.timedelta64(first, "s"))
    assert end == str(start + np.timedelta64(stop - 1, "s"))
    seconds = [second for second, _ in plan.lines(tick_seconds=tick)]
    assert seconds == sorted(seconds) and seconds[-1] == stop


def test_rows_of_one_sensor_are_merged_before_they_become_events() -> None:
    assert _merged([(10, 20), (30, 40), (15, 25), (26, 28), (41, 41), (50, 50)]) == [
        (10, 28),
        (30, 41),
        (50, 50),
    ]
    with pytest.raises(DataFormatError, match="unknown split 'holdout'"):
        adl_replay(None, "A", split="holdout")


def test_replay_waits_for_each_line_at_speed() -> None:
    now = [100.0]
    sleeps: list[float] = []
    written: list[str] = []
    flushes = [0]

    def sleep(seconds: float) -> None:
        sleeps.append(round(seconds, 9))
        now[0] += seconds

    lines = iter([(50, "a"), (50, "b"), (60, "c"), (80, "d")])
    count = replay(
        lines, written.append, lambda: flushes.__setitem__(0, flushes[0] + 1), 10.0,
        clock=lambda: now[0], sleep=sleep,
    )  # fmt: skip
    assert count == 4 and written == ["a\n", "b\n", "c\n", "d\n"]
    assert sleeps == [1.0, 2.0]  # 10 s and 20 s of data at 10 x real time
    assert flushes[0] == 5  # every line as it is due, and once at the end
    written.clear()
    replay(iter([(0, "x"), (10**6, "y")]), written.append, lambda: None, 0.0, sleep=sleep)
    assert written == ["x\n", "y\n"] and sleeps == [1.0, 2.0]  # speed 0: no pauses
