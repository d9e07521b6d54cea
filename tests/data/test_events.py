"""Event-camera data: the generated moving-shapes task, its evidence, and binning recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spikeattr.data import events as ev
from spikeattr.data.events import (
    EVENT_CLASSES,
    EVENTS_SHA256,
    bin_events,
    generate_events,
    series_from_event_recordings,
)
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import DataFormatError


def _events(rows: list[tuple[int, int, float, int]]) -> np.ndarray:
    dtype = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])
    return np.array(rows, dtype=dtype)


def test_the_default_task_is_reproduced_bit_for_bit(tmp_path: Path) -> None:
    task = generate_events()
    series = task.series
    assert series.checksums() == EVENTS_SHA256
    assert series.input_shape == (2, 34, 34) and series.n_inputs == 2312
    assert series.splits == {"train": (0, 24_000), "test": (24_000, 30_000)}
    assert series.class_names == EVENT_CLASSES and len(EVENT_CLASSES) == 10
    assert set(np.unique(series.labels)) == set(range(10))
    # the signal is the part of the spikes the shapes made; noise fills in the rest
    assert not (task.signal & (series.spikes == 0)).any()
    noise = series.spikes.astype(bool) & ~task.signal
    assert 0.0008 < noise.mean() < 0.0012 and task.signal.mean() > 0.001
    # every shape appears in one of the three lanes, at the edge it enters by
    for start in np.unique(task.segment_start)[:50]:
        appear = task.signal[start].reshape(2, 34, 34)[1]
        rows, columns = np.nonzero(appear)
        assert rows.min() in (0, 13, 27) and rows.max() - rows.min() == 6
        rightward = EVENT_CLASSES[series.labels[start]].endswith("_right")
        assert columns.min() == 0 if rightward else columns.max() == 33
    loaded = SpikeSeries.load(series.save(tmp_path / "events.npz"))
    assert loaded.input_shape == (2, 34, 34) and loaded.checksums() == EVENTS_SHA256


def test_a_square_moving_right_turns_on_ahead_and_off_behind() -> None:
    frames = np.zeros((7, 2, 12, 12), dtype=bool)
    label = EVENT_CLASSES.index("square_right")
    ev._draw_segment(frames, label, period=3, top=2, left=1, travel=2)
    on, off = frames[:, 1], frames[:, 0]
    assert on[0, 2:9, 1:8].all() and on[0].sum() == 49 and not off[0].any()  # appears
    assert not frames[1:3].any()  # no move before step 3
    assert on[3, 2:9, 8].all() and on[3].sum() == 7  # the column it moved into
    assert off[3, 2:9, 1].all() and off[3].sum() == 7  # the column it left
    assert on[6, 2:9, 9].all() and off[6, 2:9, 2].all()
    left = np.zeros_like(frames)
    ev._draw_segment(left, EVENT_CLASSES.index("square_left"), 3, 2, 1, 2)
    assert left[0, 1, 2:9, 3:10].all() and left[3, 1, 2:9, 2].all() and left[3, 0, 2:9, 9].all()


def test_evidence_is_the_shapes_recent_events_of_the_current_segment() -> None:
    task = generate_events(seed=3, grid=12, splits={"train": 400})
    starts = task.segment_start
    stamp = int(starts[starts > 0][0]) + 4  # 4 steps into the second segment
    mask = task.evidence(stamp, window=50, history=10)
    assert mask.shape == (288, 50)
    expected = np.zeros((288, 50), dtype=bool)
    expected[:, -4:] = task.signal[stamp - 4 : stamp].T  # not before the segment began
    np.testing.assert_array_equal(mask, expected)
    late = int(starts[starts > 0][0]) + 30
    mask = task.evidence(late, window=20, history=10)
    np.testing.assert_array_equal(mask[:, :10], 0)
    np.testing.assert_array_equal(mask[:, 10:], task.signal[late - 10 : late].T)
    ptr, cells = task.evidence_cells(history=10)
    for step in (stamp - 1, late - 1, 0, 399):
        rows = cells[ptr[step] : ptr[step + 1]]
        dense = np.zeros((400, 288), dtype=bool)
        dense[rows[:, 0], rows[:, 1]] = True
        window = task.evidence(step + 1, window=400, history=10)
        np.testing.assert_array_equal(dense.T[:, : step + 1], window)


def test_generator_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="grid must be at least 8"):
        generate_events(grid=6)
    with pytest.raises(ValueError, match="noise"):
        generate_events(grid=10, noise=1.5)


def test_binning_puts_each_event_in_its_step_pixel_and_polarity() -> None:
    events = _events([(0, 0, 0, 1), (3, 1, 999, 0), (3, 1, 1000, 1), (2, 2, 2500, 1)])
    frames = bin_events(events, sensor_size=(4, 3, 2), step=1000)
    assert frames.shape == (3, 2, 3, 4) and frames.dtype == np.int8
    expected = np.zeros((3, 2, 3, 4), dtype=np.int8)
    expected[0, 1, 0, 0] = expected[0, 0, 1, 3] = expected[1, 1, 1, 3] = expected[2, 1, 2, 2] = 1
    np.testing.assert_array_equal(frames, expected)
    # a window: earlier and later events are left out; -1 and booleans are polarities too
    signed = _events([(0, 0, 100, -1), (1, 0, 1500, 1), (2, 0, 5000, 1)])
    frames = bin_events(signed, (4, 3, 2), step=1000, n_steps=2, start=0)
    assert frames.shape == (2, 2, 3, 4) and frames[0, 0, 0, 0] == 1 and frames[1, 1, 0, 1] == 1
    assert frames.sum() == 2
    assert bin_events(signed, (4, 3, 1), step=1000, n_steps=2).sum(axis=(1, 2, 3)).tolist() == [
        1,
        1,
    ]


@pytest.mark.parametrize(
    ("rows", "sensor", "message"),
    [
        ([(4, 0, 0, 1)], (4, 3, 2), "field 'x' = 4 at index 0 lies outside the sensor \\[0, 4\\)"),
        ([(0, -1, 0, 1)], (4, 3, 2), "field 'y' = -1 at index 0"),
        ([(0, 0, 0, 2)], (4, 3, 2), "field 'p' = 2 at index 0"),
        ([(0, 0, 0, 1)], (4, 3, 3), "1 or 2 polarities"),
    ],
)
def test_bad_events_name_the_field_and_value(
    rows: list[tuple[int, int, float, int]], sensor: tuple[int, int, int], message: str
) -> None:
    with pytest.raises(DataFormatError, match=message):
        bin_events(_events(rows), sensor, step=10)


def test_events_without_a_field_or_with_float_pixels_are_refused() -> None:
    missing = np.zeros(2, dtype=[("x", np.int16), ("y", np.int16), ("t", np.int64)])
    with pytest.raises(DataFormatError, match="field 'p' is missing"):
        bin_events(missing, (4, 3, 2), step=10)
    floats = np.zeros(2, dtype=[("x", float), ("y", np.int16), ("t", np.int64), ("p", bool)])
    with pytest.raises(DataFormatError, match="field 'x' must hold integers"):
        bin_events(floats, (4, 3, 2), step=10)


def test_recordings_become_one_labelled_series_with_a_shape() -> None:
    first = _events([(0, 0, 0, 1), (1, 1, 2500, 0)])
    second = _events([(2, 2, 0, 0)])
    series = series_from_event_recordings(
        [first, second, first],
        labels=[1, 0, 1],
        sensor_size=(3, 3, 2),
        step=1000,
        class_names=["a", "b"],
        splits={"train": 2, "test": 1},
    )
    assert series.input_shape == (2, 3, 3) and series.n_inputs == 18
    assert series.labels.tolist() == [1, 1, 1, 0, 1, 1, 1]
    assert series.splits == {"train": (0, 4), "test": (4, 7)}
    assert (
        series.input_names[:2] == ("off_y0_x0", "off_y0_x1") and series.input_names[9] == "on_y0_x0"
    )
    np.testing.assert_array_equal(
        series.spikes[0].reshape(2, 3, 3), bin_events(first, (3, 3, 2), 1000)[0]
    )
    with pytest.raises(DataFormatError, match=r"splits .* must count the 3 recordings"):
        series_from_event_recordings([first] * 3, [0, 0, 0], (3, 3, 2), 1000, ["a"], {"train": 2})
