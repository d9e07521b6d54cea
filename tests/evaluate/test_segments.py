"""Segmentation and ranking on hand-made maps whose segments can be counted by eye."""

from __future__ import annotations

import numpy as np
import pytest

from spikeattr.errors import SpikeAttrError
from spikeattr.evaluate.segments import Segment, segment_map, segment_mask


def _spans(segments: list[Segment], channel: int) -> list[tuple[int, int]]:
    return sorted((s.start, s.stop) for s in segments if s.channel == channel)


def test_short_runs_are_one_segment_each() -> None:
    #            0  1  2  3  4  5  6  7
    row = np.array([0, 1, 2, 0, -1, -3, 0, 5], dtype=float)
    segments = segment_map(row[None], width=10)
    # runs: +[1,3), -[4,6), +[7,8)
    assert _spans(segments, 0) == [(1, 3), (4, 6), (7, 8)]
    # ranked by mean, descending: 5, 1.5, -2
    assert [s.mean for s in segments] == [5.0, 1.5, -2.0]


def test_long_run_is_centred_on_its_peak_then_tiled() -> None:
    row = np.full(30, 0.1)
    row[12] = 1.0  # peak
    segments = segment_map(row[None], width=10)
    # centred segment [12 - 5, 12 + 5) = [7, 17); left tile [0, 7); right tiles [17, 27), [27, 30)
    assert _spans(segments, 0) == [(0, 7), (7, 17), (17, 27), (27, 30)]
    assert segments[0] == Segment(0, 7, 17, pytest.approx(0.19))  # type: ignore[arg-type]
    assert all(s.length <= 10 for s in segments)


def test_peak_near_the_run_edge_is_clipped_not_shifted() -> None:
    row = np.zeros(25)
    row[3:25] = 0.5
    row[4] = 2.0
    segments = segment_map(row[None], width=10)
    # centred segment [max(3, 4 - 5), 3 + 10) = [3, 13), then [13, 23), [23, 25)
    assert _spans(segments, 0) == [(3, 13), (13, 23), (23, 25)]


def test_positive_and_negative_runs_never_merge_and_channels_are_separate() -> None:
    attribution = np.array(
        [
            [1, 1, -1, -1, 0, 2],
            [0, 0, 0, 0, 0, 0],
            [-1, 0, 0, 0, 0, -4],
        ],
        dtype=float,
    )
    segments = segment_map(attribution, width=10)
    assert _spans(segments, 0) == [(0, 2), (2, 4), (5, 6)]
    assert _spans(segments, 1) == []
    assert _spans(segments, 2) == [(0, 1), (5, 6)]
    assert len(segments) == 5
    means = [s.mean for s in segments]
    assert means == sorted(means, reverse=True)
    mask = segment_mask(segments, attribution.shape)
    np.testing.assert_array_equal(mask, attribution != 0)


def test_every_nonzero_step_is_in_exactly_one_segment() -> None:
    rng = np.random.default_rng(0)
    attribution = rng.normal(size=(4, 300)) * (rng.random((4, 300)) < 0.7)
    segments = segment_map(attribution, width=7)
    coverage = np.zeros(attribution.shape, dtype=int)
    for s in segments:
        coverage[s.channel, s.start : s.stop] += 1
        values = attribution[s.channel, s.start : s.stop]
        assert (values > 0).all() or (values < 0).all()
        assert 1 <= s.length <= 7
    np.testing.assert_array_equal(coverage, (attribution != 0).astype(int))


def test_empty_map_has_no_segments_and_bad_maps_are_refused() -> None:
    assert segment_map(np.zeros((3, 50))) == []
    with pytest.raises(SpikeAttrError, match=r"\[n_in, T\]"):
        segment_map(np.zeros(5))
    with pytest.raises(SpikeAttrError, match="NaN"):
        segment_map(np.array([[np.nan, 1.0]]))
    with pytest.raises(SpikeAttrError, match="width"):
        segment_map(np.ones((1, 5)), width=0)
