"""Task ``rare_channel``: one informative channel at a time, hidden among many noisy ones.

``N_CHANNELS = 24`` channels. Three of them (at fixed, unremarkable positions
:data:`INFORMATIVE`) carry the class; the other 21 fire Poisson noise at ``NOISE_RATE = 0.1``
per step whatever the class. The series is a sequence of segments of 100 to 300 steps (uniform),
each of a class ``k`` drawn uniformly from three; during a segment of class ``k`` informative
channel ``k`` fires Poisson spikes at ``INFO_RATE = 0.1``, the rate of the noise, and the other
two stay silent. What makes it hard: the evidence is one channel in 24 (about 3 spikes among
60 in the last 30 steps), and nothing in its spike statistics sets it apart from the noise, so
a method that credits spikes by their number or timing rather than by what the network does
with them lights up the noise. (With a rarer informative channel, 0.05 per step, the 2- and
3-layer networks stayed below 0.9 balanced accuracy.)

**Labels and mask.** Step ``t`` of a class-``k`` segment is labelled ``k`` when channel ``k``
spiked within the last ``RECENT_STEPS = 30`` steps of the segment, and unlabelled (-1) before
its first spike; its evidence is exactly those spikes of channel ``k`` (``[max(segment start,
t - 29), t]``).
"""

from __future__ import annotations

import numpy as np

from spikeattr.data.benchmark.assemble import (
    BENCHMARK_STEPS,
    poisson_spikes,
    recent_slices,
    task_series,
)
from spikeattr.data.evidence import EvidenceMask
from spikeattr.data.series import SpikeSeries

NAME = "rare_channel"
DEFAULT_SEED = 2
N_CHANNELS = 24
#: Positions of the informative channels of classes 0, 1, 2.
INFORMATIVE: tuple[int, int, int] = (3, 11, 19)
CLASSES: tuple[str, ...] = ("channel_03", "channel_11", "channel_19")
INFO_RATE = 0.1
NOISE_RATE = 0.1
SEGMENT_STEPS = (100, 300)
RECENT_STEPS = 30


def labels_and_evidence(
    spikes: np.ndarray, segment_class: np.ndarray, segment_start: np.ndarray
) -> tuple[np.ndarray, EvidenceMask]:
    """Labels ``[T]`` and evidence of a series ``[T, N_CHANNELS]`` whose step ``t`` lies in a
    segment of class ``segment_class[t]`` that began at ``segment_start[t]``: labelled when
    the class's channel spiked in the last ``RECENT_STEPS`` steps of the segment, with those
    spikes as evidence."""
    n_steps = spikes.shape[0]
    steps = np.arange(n_steps, dtype=np.int64)
    channel = np.asarray(INFORMATIVE)[segment_class]
    fires = spikes[steps, channel] == 1
    times = steps[fires]
    first, last = recent_slices(segment_start, times, n_steps, RECENT_STEPS)
    labels = np.where(last > first, segment_class, -1).astype(np.int8)
    table = np.stack([times, channel[fires]], axis=1)
    return labels, EvidenceMask.from_slices(table, first, last)


def generate(seed: int = DEFAULT_SEED) -> SpikeSeries:
    """The series, labels and evidence masks of the task, exactly from ``seed``."""
    n_steps = BENCHMARK_STEPS
    rng = np.random.default_rng(seed)
    spikes = poisson_spikes(rng, (n_steps, N_CHANNELS), NOISE_RATE)
    spikes[:, list(INFORMATIVE)] = 0
    segment_class = np.zeros(n_steps, dtype=np.int64)
    segment_start = np.zeros(n_steps, dtype=np.int64)
    start = 0
    while start < n_steps:
        length = int(rng.integers(SEGMENT_STEPS[0], SEGMENT_STEPS[1] + 1))
        stop = min(n_steps, start + length)
        segment_class[start:stop] = int(rng.integers(len(CLASSES)))
        segment_start[start:stop] = start
        start = stop
    fires = poisson_spikes(rng, (n_steps,), INFO_RATE).astype(bool)
    spikes[np.flatnonzero(fires), np.asarray(INFORMATIVE)[segment_class[fires]]] = 1
    labels, evidence = labels_and_evidence(spikes, segment_class, segment_start)
    return task_series(
        NAME,
        spikes,
        labels,
        [f"ch{i:02d}" for i in range(N_CHANNELS)],
        CLASSES,
        evidence,
        seed,
        {
            "informative": list(INFORMATIVE),
            "info_rate": INFO_RATE,
            "noise_rate": NOISE_RATE,
            "segment_steps": list(SEGMENT_STEPS),
            "recent_steps": RECENT_STEPS,
        },
    )
