"""Task ``delayed_motif``: which two-channel spike motif occurred 20 to 200 steps ago?

``N_CHANNELS = 8`` channels, all with Poisson background spikes (``BACKGROUND_RATE``). A motif
is a pattern over two channels: the first fires at offsets 0, 2, 4 and the second at 1, 3, 5
(six spikes in six steps). The three classes are the three channel pairs of :data:`MOTIFS`
(channels 0-1, 1-2, 2-0). Motifs occur one at a time, separated by 230 to 330 steps (uniform),
each of a class drawn uniformly. The five distractor channels 3-7 receive *decoy* bursts (three
spikes at offsets 0, 2, 4) at random times, as many as each motif channel takes part in (two
thirds of the motifs), so every channel fires at the same rate and in the same bursts.

What makes it hard: the evidence lies far back (20 to 200 steps before the explained step),
behind a stretch of irrelevant activity (decoys and background), so a method must reach as far
back as the network's memory does. (Decoy bursts on the motif channels themselves, which make
the pair and not the channel the signal, kept the 2- and 3-layer networks below 0.9 balanced
accuracy.)

The series is 450 000 steps long (the other tasks: 150 000), so that the networks see about 960
motifs in training.

**Labels and mask.** The steps whose lag after the motif's last spike is ``20 .. 200`` are
labelled with its class; all other steps are unlabelled (-1). The evidence of a labelled step is
the motif's six spike cells.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spikeattr.data.benchmark.assemble import poisson_spikes, task_series
from spikeattr.data.evidence import EvidenceMask
from spikeattr.data.series import SpikeSeries

NAME = "delayed_motif"
DEFAULT_SEED = 1
#: Steps of the series: three times the other tasks', for about 960 motifs to train on (with
#: 320 the 3-layer network learnt the training motifs by heart: training loss 0.15, validation
#: loss rising from 0.35 to 0.9).
N_STEPS = 450_000
N_CHANNELS = 8
#: The channel pair of each class: (first, second).
MOTIFS: tuple[tuple[int, int], ...] = ((0, 1), (1, 2), (2, 0))
CLASSES: tuple[str, ...] = ("motif_0_1", "motif_1_2", "motif_2_0")
#: Offsets of the first and the second channel's spikes within a motif.
FIRST_OFFSETS = (0, 2, 4)
SECOND_OFFSETS = (1, 3, 5)
BACKGROUND_RATE = 0.004
GAP_STEPS = (230, 330)
LAG_STEPS = (20, 200)
#: Decoy bursts of each distractor channel, as a share of the number of motifs: the share of
#: the motifs each motif channel takes part in.
DECOYS_PER_MOTIF = 2 / 3


def motif_cells(onset: int, label: int) -> np.ndarray:
    """The six spike cells ``(step, channel)`` of a motif of class ``label`` starting at
    ``onset``, sorted by step."""
    a, b = MOTIFS[label]
    cells = [(onset + o, a) for o in FIRST_OFFSETS] + [(onset + o, b) for o in SECOND_OFFSETS]
    return np.asarray(sorted(cells), dtype=np.int64)


def labels_and_evidence(
    onsets: Sequence[int], classes: Sequence[int], n_steps: int
) -> tuple[np.ndarray, EvidenceMask]:
    """Labels ``[T]`` and evidence of motifs of ``classes`` at ``onsets``: the steps 20 to 200
    after a motif's last spike get its class and its six cells."""
    labels = np.full(n_steps, -1, dtype=np.int8)
    first = np.zeros(n_steps, dtype=np.int64)
    last = np.zeros(n_steps, dtype=np.int64)
    tables = [np.zeros((0, 2), dtype=np.int64)]
    size = 0
    for onset, label in zip(onsets, classes, strict=True):
        cells = motif_cells(onset, label)
        end = int(cells[-1, 0])
        held = slice(end + LAG_STEPS[0], min(n_steps, end + LAG_STEPS[1] + 1))
        labels[held] = label
        first[held], last[held] = size, size + cells.shape[0]
        tables.append(cells)
        size += cells.shape[0]
    return labels, EvidenceMask.from_slices(np.concatenate(tables), first, last)


def generate(seed: int = DEFAULT_SEED) -> SpikeSeries:
    """The series, labels and evidence masks of the task, exactly from ``seed``."""
    n_steps = N_STEPS
    rng = np.random.default_rng(seed)
    spikes = poisson_spikes(rng, (n_steps, N_CHANNELS), BACKGROUND_RATE)
    duration = max(SECOND_OFFSETS) + 1
    onsets, classes = [], []
    onset = GAP_STEPS[0] // 4
    while onset + duration + LAG_STEPS[1] < n_steps:
        onsets.append(onset)
        classes.append(int(rng.integers(len(MOTIFS))))
        onset += int(rng.integers(GAP_STEPS[0], GAP_STEPS[1] + 1))
    # decoys: each distractor fires as many bursts as each motif channel
    burst = np.asarray(FIRST_OFFSETS)
    decoys = round(DECOYS_PER_MOTIF * len(onsets))
    for channel in range(len(MOTIFS), N_CHANNELS):
        for start in rng.integers(0, n_steps - duration, size=decoys):
            spikes[start + burst, channel] = 1
    for onset, label in zip(onsets, classes, strict=True):
        cells = motif_cells(onset, label)
        spikes[cells[:, 0], cells[:, 1]] = 1
    labels, evidence = labels_and_evidence(onsets, classes, n_steps)
    return task_series(
        NAME,
        spikes,
        labels,
        [f"ch{i}" for i in range(N_CHANNELS)],
        CLASSES,
        evidence,
        seed,
        {
            "motifs": [list(m) for m in MOTIFS],
            "background_rate": BACKGROUND_RATE,
            "gap_steps": list(GAP_STEPS),
            "lag_steps": list(LAG_STEPS),
            "decoys_per_motif": DECOYS_PER_MOTIF,
        },
    )
