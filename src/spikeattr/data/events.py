"""Event-camera data: a synthetic moving-shapes task made exactly from a seed, and the binning of
recorded events ``(x, y, t, p)`` into frames.

**The task** (``spikeattr data events``). A 2-polarity sensor of ``grid x grid`` pixels (34 x 34
by default, as N-MNIST) watches one of five shapes (``square``, ``ring``, ``plus``,
``diamond``, ``triangle``, 7 x 7 pixels) cross the field of view to the right or to the left,
along one of :data:`LANES` horizontal lanes, entering near the edge it comes from: 10 classes
``SHAPE_DIRECTION``. Each segment lasts 40 to 80 steps; the shape appears at its start (ON
events on all its pixels) and moves one pixel every 3 or 4 steps, each move giving ON events
where it arrives and OFF events where it leaves, as a DVS does. Background noise
fires every pixel and polarity independently with probability ``noise`` per step. The class
of a step is its segment's. The pixels that carry the class are known: the shape's own events
(:attr:`EventTask.signal`), and :meth:`EventTask.evidence` gives the cells deciding each
step's label (the shape's events of the last ``history`` steps of its segment), the ground
truth of SPEC 5.2. Everything is drawn from numpy's legacy ``RandomState(seed)``, whose stream
never changes, so the default task is bit for bit the same everywhere (:data:`EVENTS_SHA256`).

**Recordings** (:func:`bin_events`, :func:`series_from_event_recordings`): events as a NumPy
structured array with fields ``x``, ``y``, ``t``, ``p`` (what ``tonic`` and most event-camera
tools produce), binned into frames ``[T, polarities, height, width]`` of ``step`` time units: a
pixel is 1 in a step if it had at least one event of that polarity. Polarity ``p`` goes to
channel ``p`` (0 or 1; -1 counts as 0, as booleans do), as ``tonic.transforms.ToFrame``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikeattr.data.series import SpikeSeries
from spikeattr.errors import DataFormatError

EVENT_POLARITIES: tuple[str, ...] = ("off", "on")
_SHAPE_ROWS: dict[str, tuple[str, ...]] = {
    "square": ("#######",) * 7,
    "ring": ("#######", "#.....#", "#.....#", "#.....#", "#.....#", "#.....#", "#######"),
    "plus": ("...#...", "...#...", "...#...", "#######", "...#...", "...#...", "...#..."),
    "diamond": ("...#...", "..###..", ".#####.", "#######", ".#####.", "..###..", "...#..."),
    "triangle": ("...#...", "...#...", "..###..", "..###..", ".#####.", ".#####.", "#######"),
}
EVENT_SHAPES: dict[str, np.ndarray] = {
    name: np.array([[c == "#" for c in row] for row in rows]) for name, rows in _SHAPE_ROWS.items()
}
EVENT_CLASSES: tuple[str, ...] = tuple(
    f"{shape}_{direction}" for shape in EVENT_SHAPES for direction in ("right", "left")
)
EVENT_GRID = 34
EVENT_SPLITS: dict[str, int] = {"train": 24_000, "test": 6_000}
EVENT_SEED = 2024
EVENT_NOISE = 0.001
#: Steps of a segment, and steps per pixel moved.
DURATION = (40, 80)
PERIOD = (3, 4)
#: Horizontal lanes the shapes cross along (evenly spaced), and the jitter of their rows and
#: of the column where they enter (pixels). Fixed lanes let a small network learn the task from
#: a few hundred crossings: with shapes anywhere (or 2 pixels of jitter) a 2-conv + 1-dense
#: network memorised the training crossings and generalised poorly.
LANES = 3
JITTER = 0
#: Steps of the shape's own events that decide a step's label (:meth:`EventTask.evidence`).
EVIDENCE_STEPS = 10
#: SHA-256 of ``X`` and ``y`` of :func:`generate_events` with its defaults (checked by the tests).
EVENTS_SHA256 = {
    "X_sha256": "2b6448fbd71a2b7fd81385e91d92bab485afc70de95accd02e78cf776b24684c",
    "y_sha256": "7750dc4d1a5262a80b1290522c68881168c072d6f9c359a8d4911097f0f9227f",
}


@dataclass(frozen=True)
class EventTask:
    """A generated event task: the series and which of its spikes are the shape's own events.

    Attributes:
        series: spikes ``[T, 2 * grid * grid]`` with ``input_shape = (2, grid, grid)``, labels,
            splits ``train`` and ``test``.
        signal: bool ``[T, n_inputs]``, the cells where the moving shape made an event (noise
            may fire there too).
        segment_start: int64 ``[T]``, the first step of each step's segment.
    """

    series: SpikeSeries
    signal: np.ndarray
    segment_start: np.ndarray

    def evidence(self, stamp: int, window: int, history: int = EVIDENCE_STEPS) -> np.ndarray:
        """Bool ``[n_inputs, T_s]``: the cells deciding the label of step ``stamp - 1`` inside
        the stamp's window ``[max(0, stamp - window), stamp)`` (series steps): the shape's events
        in the last ``history`` steps, not before the step's segment began."""
        if not 1 <= stamp <= self.series.n_steps:
            raise DataFormatError(f"stamp {stamp} outside [1, {self.series.n_steps}]")
        first = max(0, stamp - window)
        mask = np.zeros((self.series.n_inputs, stamp - first), dtype=bool)
        begin = max(first, stamp - history, int(self.segment_start[stamp - 1]))
        mask[:, begin - first :] = self.signal[begin:stamp].T
        return mask

    def evidence_cells(self, history: int = EVIDENCE_STEPS) -> tuple[np.ndarray, np.ndarray]:
        """The evidence of every step as ``(ptr int64 [T + 1], cells int32 [N, 2])``: the cells
        ``(step, channel)`` deciding step ``t``'s label are rows ``ptr[t]:ptr[t + 1]``."""
        steps, channels = np.nonzero(self.signal)
        counts = np.bincount(steps, minlength=self.series.n_steps)
        ends = np.cumsum(counts)
        ptr = [0]
        rows = []
        for t in range(self.series.n_steps):
            begin = max(t - history + 1, int(self.segment_start[t]))
            lo, hi = (ends[begin - 1] if begin > 0 else 0), ends[t]
            rows.append(np.stack([steps[lo:hi], channels[lo:hi]], axis=1))
            ptr.append(ptr[-1] + hi - lo)
        return np.asarray(ptr, dtype=np.int64), np.concatenate(rows).astype(np.int32)


def event_input_names(
    shape: Sequence[int], polarities: Sequence[str] = EVENT_POLARITIES
) -> tuple[str, ...]:
    """``off_y00_x00`` ...: one name per input of frames ``[P, H, W]``, in C order."""
    _, height, width = shape
    digits = len(str(max(height, width) - 1))
    return tuple(
        f"{polarity}_y{y:0{digits}d}_x{x:0{digits}d}"
        for polarity in polarities
        for y in range(height)
        for x in range(width)
    )


def generate_events(
    seed: int = EVENT_SEED,
    grid: int = EVENT_GRID,
    splits: Mapping[str, int] | None = None,
    noise: float = EVENT_NOISE,
) -> EventTask:
    """The moving-shapes event task of the module docstring, exactly from ``seed``.

    Args:
        grid: pixels per side (at least 8).
        splits: steps per split, in order (default ``train`` 24 000, ``test`` 6 000).
        noise: probability of a noise event per pixel, polarity and step.
    """
    sizes = dict(EVENT_SPLITS if splits is None else splits)
    if grid < 8:
        raise ValueError(f"grid must be at least 8 pixels (the shapes are 7 x 7); got {grid}")
    if not sizes or min(sizes.values()) < 1:
        raise ValueError(f"every split needs at least one step; got {sizes}")
    if not 0 <= noise < 1:
        raise ValueError(f"noise must lie in [0, 1); got {noise}")
    n_steps = sum(sizes.values())
    rng = np.random.RandomState(seed)
    frames = np.zeros((n_steps, 2, grid, grid), dtype=bool)
    labels = np.zeros(n_steps, dtype=np.int8)
    starts = np.zeros(n_steps, dtype=np.int64)
    t = 0
    while t < n_steps:
        duration = int(rng.randint(DURATION[0], DURATION[1] + 1))
        label = int(rng.randint(len(EVENT_CLASSES)))
        period = int(rng.randint(PERIOD[0], PERIOD[1] + 1))
        travel = (duration - 1) // period
        lane = int(rng.randint(LANES))
        top = min(grid - 7, lane * (grid - 7) // max(1, LANES - 1)) if LANES > 1 else 0
        top = min(grid - 7, top + int(rng.randint(0, JITTER + 1)))
        start = int(rng.randint(0, JITTER + 1))  # from the edge it enters by
        left = start if label % 2 == 0 else grid - 7 - travel - start
        stop = min(t + duration, n_steps)
        _draw_segment(frames[t:stop], label, period, top, left, travel)
        labels[t:stop] = label
        starts[t:stop] = t
        t = stop
    signal = frames.reshape(n_steps, -1)
    spikes = signal.copy()
    for step in range(n_steps):  # per step: memory stays small for any length
        spikes[step] |= rng.random_sample(spikes.shape[1]) < noise
    bounds, first = {}, 0
    for name, size in sizes.items():
        bounds[name] = (first, first + size)
        first += size
    series = SpikeSeries(
        spikes=spikes.astype(np.int8),
        labels=labels,
        input_names=event_input_names((2, grid, grid)),
        class_names=EVENT_CLASSES,
        splits=bounds,
        meta={
            "dataset": "events",
            "generator": "spikeattr.data.events, numpy legacy RNG",
            "seed": seed,
            "grid": grid,
            "noise": noise,
        },
        input_shape=(2, grid, grid),
    )
    return EventTask(series=series, signal=signal, segment_start=starts)


def _draw_segment(
    frames: np.ndarray, label: int, period: int, top: int, left: int, travel: int
) -> None:
    """Events of one shape crossing ``frames [d, 2, H, W]`` (channel 1 = ON, 0 = OFF)."""
    shape = EVENT_SHAPES[tuple(EVENT_SHAPES)[label // 2]]
    rightward = label % 2 == 0
    grid = frames.shape[-1]

    pad = 7 + travel + abs(left)  # the shape may lie partly outside the grid

    def mask(offset: int) -> np.ndarray:
        column = left + (offset if rightward else travel - offset)
        canvas = np.zeros((grid, grid + 2 * pad), dtype=bool)
        canvas[top : top + 7, pad + column : pad + column + 7] = shape
        return canvas[:, pad : pad + grid]

    previous = np.zeros((grid, grid), dtype=bool)
    for k in range(frames.shape[0]):
        current = mask(min(k // period, travel))
        frames[k, 1] = current & ~previous
        frames[k, 0] = previous & ~current
        previous = current


# -- recorded events ------------------------------------------------------------------------
def _field(events: np.ndarray, name: str) -> np.ndarray:
    names = events.dtype.names or ()
    if name not in names:
        raise DataFormatError(
            f"events need the fields x, y, t, p (a NumPy structured array, as tonic gives); "
            f"field {name!r} is missing (fields: {list(names)})"
        )
    return np.asarray(events[name])


def bin_events(
    events: np.ndarray,
    sensor_size: Sequence[int],
    step: float,
    n_steps: int | None = None,
    start: float = 0.0,
) -> np.ndarray:
    """Frames int8 ``[T, P, H, W]`` of events ``(x, y, t, p)``: 1 where pixel ``(x, y)`` had
    an event of polarity ``p`` during step ``k``, i.e. ``start + k step <= t < start + (k+1)
    step``.

    Args:
        sensor_size: ``(width, height, polarities)`` as tonic gives it; 1 or 2 polarities.
        step: the length of a step in the unit of ``t`` (tonic: microseconds).
        n_steps: steps to make (default: up to the last event); later events are left out, and
            so are events before ``start``.

    Raises:
        DataFormatError: a field is missing, or a coordinate or polarity is out of range
            (naming the field, the value and its index).
    """
    if len(sensor_size) != 3 or min(sensor_size) < 1 or sensor_size[2] > 2:
        raise DataFormatError(
            f"sensor_size must be (width, height, polarities) with 1 or 2 polarities; got "
            f"{tuple(sensor_size)}"
        )
    width, height, polarities = (int(n) for n in sensor_size)
    if not step > 0:
        raise DataFormatError(f"step must be a positive duration; got {step}")
    x, y, t, p = (_field(events, name) for name in ("x", "y", "t", "p"))
    for name, values, limit in (("x", x, width), ("y", y, height)):
        if not np.issubdtype(values.dtype, np.integer):
            raise DataFormatError(f"events field {name!r} must hold integers; got {values.dtype}")
        bad = np.flatnonzero((values < 0) | (values >= limit))
        if bad.size:
            raise DataFormatError(
                f"events field {name!r} = {values[bad[0]]} at index {bad[0]} lies outside the "
                f"sensor [0, {limit}) ({bad.size} events out of range)"
            )
    channel = (np.asarray(p) > 0).astype(np.int64)
    bad = np.flatnonzero(~np.isin(p, (-1, 0, 1)))
    if bad.size:
        raise DataFormatError(
            f"events field 'p' = {p[bad[0]]} at index {bad[0]}; a polarity is 0 or 1 (-1 or "
            "True/False also read)"
        )
    if polarities == 1:
        channel[:] = 0
    times = np.asarray(t, dtype=np.float64)
    if not np.isfinite(times).all():
        raise DataFormatError("events field 't' holds a non-finite time")
    index = np.floor((times - start) / step).astype(np.int64)
    total = int(index.max()) + 1 if n_steps is None and index.size else int(n_steps or 0)
    frames = np.zeros((max(total, 0), polarities, height, width), dtype=np.int8)
    keep = (index >= 0) & (index < total)
    frames[index[keep], channel[keep], y[keep], x[keep]] = 1
    return frames


def series_from_event_recordings(
    recordings: Sequence[np.ndarray],
    labels: Sequence[int],
    sensor_size: Sequence[int],
    step: float,
    class_names: Sequence[str],
    splits: Mapping[str, int] | None = None,
    steps_per_recording: int | None = None,
    meta: Mapping[str, Any] | None = None,
) -> SpikeSeries:
    """One series of binned recordings, one after the other, each labelled with its class.

    Args:
        recordings: structured arrays ``(x, y, t, p)``, times from 0 in each.
        labels: the class index of each recording.
        sensor_size: ``(width, height, polarities)``, as :func:`bin_events` takes it.
        step: the length of a step in the unit of ``t``, as :func:`bin_events` takes it.
        splits: recordings per split, in order, e.g. ``{"train": 80, "test": 20}``
            (default: all in ``train``).
        steps_per_recording: bin every recording to this many steps (default: each to its
            last event).
    """
    if len(recordings) != len(labels) or not recordings:
        raise DataFormatError(
            f"one label per recording is needed; got {len(recordings)} recordings and "
            f"{len(labels)} labels"
        )
    counts = dict(splits or {"train": len(recordings)})
    if sum(counts.values()) != len(recordings) or min(counts.values()) < 0:
        raise DataFormatError(
            f"splits {counts} must count the {len(recordings)} recordings, in order"
        )
    frames = [bin_events(r, sensor_size, step, steps_per_recording) for r in recordings]
    lengths = [len(f) for f in frames]
    step_labels = np.repeat(np.asarray(labels, dtype=np.int64), lengths)
    bounds, first, position = {}, 0, 0
    for name, count in counts.items():
        size = sum(lengths[position : position + count])
        bounds[name] = (first, first + size)
        first, position = first + size, position + count
    shape = (frames[0].shape[1], *frames[0].shape[2:])
    polarities = EVENT_POLARITIES if shape[0] == 2 else ("events",)
    return SpikeSeries(
        spikes=np.concatenate(frames).reshape(sum(lengths), -1),
        labels=step_labels,
        input_names=event_input_names(shape, polarities),
        class_names=tuple(class_names),
        splits=bounds,
        meta={"dataset": "event recordings", "step": step, **dict(meta or {})},
        input_shape=shape,
    )
