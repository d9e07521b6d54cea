"""Feature segments of an attribution map and their ranking (SPEC 5).

Per input channel, the steps with positive attribution are split into maximal contiguous runs,
and likewise the negative ones. Inside each run a segment of at most ``width`` steps is centred
on the step of largest ``|attribution|`` (``width // 2`` steps before it, the rest after it,
clipped to the run); the rest of the run is tiled outwards from that segment, left and right,
with segments of at most ``width`` steps (the outermost may be shorter). All segments are
ranked by their mean attribution, descending (ties keep channel-then-time order). Steps with
zero attribution belong to no segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeattr.errors import SpikeAttrError

DEFAULT_WIDTH = 10


@dataclass(frozen=True)
class Segment:
    """Steps ``[start, stop)`` of input ``channel``, with the mean attribution over them."""

    channel: int
    start: int
    stop: int
    mean: float

    @property
    def length(self) -> int:
        """Number of steps."""
        return self.stop - self.start


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs ``[start, stop)`` of True in a 1-D boolean array."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _run_segments(values: np.ndarray, start: int, stop: int, width: int) -> list[tuple[int, int]]:
    peak = start + int(np.argmax(np.abs(values[start:stop])))
    first = max(start, peak - width // 2)
    last = min(stop, first + width)
    pieces = [(first, last)]
    left = first
    while left > start:
        pieces.append((max(start, left - width), left))
        left -= width
    right = last
    while right < stop:
        pieces.append((right, min(stop, right + width)))
        right += width
    return sorted(pieces)


def segment_map(attribution: np.ndarray, width: int = DEFAULT_WIDTH) -> list[Segment]:
    """Segments of one explanation ``[n_in, T]``, ranked by mean attribution, descending."""
    values = np.asarray(attribution, dtype=np.float64)
    if values.ndim != 2:
        raise SpikeAttrError(f"an explanation map must have shape [n_in, T]; got {values.shape}")
    if width < 1:
        raise SpikeAttrError(f"segment width must be at least 1 step; got {width}")
    if not np.isfinite(values).all():
        raise SpikeAttrError("the explanation map holds NaN or infinite values")
    segments: list[Segment] = []
    for channel in range(values.shape[0]):
        row = values[channel]
        for mask in (row > 0, row < 0):
            for run_start, run_stop in _runs(mask):
                for start, stop in _run_segments(row, run_start, run_stop, width):
                    segments.append(Segment(channel, start, stop, float(row[start:stop].mean())))
    order = sorted(range(len(segments)), key=lambda i: -segments[i].mean)
    return [segments[i] for i in order]


def segment_mask(segments: list[Segment], shape: tuple[int, int]) -> np.ndarray:
    """Boolean ``[n_in, T]`` mask of the steps covered by ``segments``."""
    mask = np.zeros(shape, dtype=bool)
    for segment in segments:
        mask[segment.channel, segment.start : segment.stop] = True
    return mask
