"""Task ``conjunction``: did channels A and B fire within ``WINDOW`` steps of each other, one of
them alone, or neither? Silence is evidence.

Channels: ``bias`` (fires at every step, as the synthetic set's ``x0``), ``A``, ``B`` and five
distractors ``d0 .. d4`` that fire Poisson spikes at the average rate of ``A`` and ``B``. The
series is a sequence of episodes of 120 to 160 steps (uniform), each of a class drawn
uniformly; an episode has an anchor step ``u`` 10 to 30 steps after its start and:

* ``both``: A fires at ``u`` and B at ``u + d``, ``d`` uniform in ``[-WINDOW, WINDOW]``;
* ``A_only``: A fires at ``u``, B stays silent; ``B_only``: the reverse;
* ``none``: A and B stay silent.

**Labels and mask.** The ``HOLD = 30`` steps ``[u + WINDOW + 1, u + WINDOW + 30]`` are labelled
with the episode's class (by then the coincidence window has closed); the rest is unlabelled.
The evidence is what decides the class inside the coincidence window ``[u - WINDOW, u + WINDOW]``:
the two spikes for ``both``; A's spike and B's silent cells of the window for ``A_only`` (and
the reverse for ``B_only``); every cell of A and B in the window for ``none``. So for two of the
four classes most of the evidence is silence, which only a method that attributes to *absent*
spikes (TSA-NS; gradients) can point at.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spikeattr.data.benchmark.assemble import BENCHMARK_STEPS, poisson_spikes, task_series
from spikeattr.data.evidence import EvidenceMask
from spikeattr.data.series import SpikeSeries

NAME = "conjunction"
DEFAULT_SEED = 3
INPUTS: tuple[str, ...] = ("bias", "A", "B", "d0", "d1", "d2", "d3", "d4")
CLASSES: tuple[str, ...] = ("both", "A_only", "B_only", "none")
A, B = 1, 2
WINDOW = 8
HOLD = 30
EPISODE_STEPS = (120, 160)
ANCHOR_STEPS = (10, 30)


def _episode_cells(label: int, u: int, d: int) -> np.ndarray:
    """The evidence cells ``[k, 2]`` of one episode, sorted by step then channel."""
    span = np.arange(u - WINDOW, u + WINDOW + 1)
    if label == 0:
        cells = [(u, A), (u + d, B)]
    elif label in (1, 2):
        fired, silent = (A, B) if label == 1 else (B, A)
        cells = [(u, fired), *((int(s), silent) for s in span)]
    else:
        cells = [(int(s), channel) for s in span for channel in (A, B)]
    return np.asarray(sorted(cells), dtype=np.int64)


def labels_and_evidence(
    episodes: Sequence[tuple[int, int, int]], n_steps: int
) -> tuple[np.ndarray, EvidenceMask]:
    """Labels ``[T]`` and evidence of episodes ``(class, anchor u, offset d)``: the ``HOLD``
    steps after the coincidence window get the class and the episode's cells."""
    labels = np.full(n_steps, -1, dtype=np.int8)
    first = np.zeros(n_steps, dtype=np.int64)
    last = np.zeros(n_steps, dtype=np.int64)
    tables = [np.zeros((0, 2), dtype=np.int64)]
    size = 0
    for label, u, d in episodes:
        cells = _episode_cells(label, u, d)
        held = slice(u + WINDOW + 1, min(n_steps, u + WINDOW + 1 + HOLD))
        labels[held] = label
        first[held], last[held] = size, size + cells.shape[0]
        tables.append(cells)
        size += cells.shape[0]
    return labels, EvidenceMask.from_slices(np.concatenate(tables), first, last)


def generate(seed: int = DEFAULT_SEED) -> SpikeSeries:
    """The series, labels and evidence masks of the task, exactly from ``seed``."""
    n_steps = BENCHMARK_STEPS
    rng = np.random.default_rng(seed)
    spikes = np.zeros((n_steps, len(INPUTS)), dtype=np.int8)
    spikes[:, 0] = 1
    episodes = []
    start = 0
    while start + EPISODE_STEPS[1] < n_steps:
        label = int(rng.integers(len(CLASSES)))
        u = start + int(rng.integers(ANCHOR_STEPS[0], ANCHOR_STEPS[1] + 1))
        d = int(rng.integers(-WINDOW, WINDOW + 1))
        if label in (0, 1):
            spikes[u, A] = 1
        if label == 0:
            spikes[u + d, B] = 1
        if label == 2:
            spikes[u, B] = 1
        episodes.append((label, u, d))
        start += int(rng.integers(EPISODE_STEPS[0], EPISODE_STEPS[1] + 1))
    rate = float(spikes[:, [A, B]].mean())
    spikes[:, 3:] = poisson_spikes(rng, (n_steps, len(INPUTS) - 3), rate)
    labels, evidence = labels_and_evidence(episodes, n_steps)
    return task_series(
        NAME,
        spikes,
        labels,
        INPUTS,
        CLASSES,
        evidence,
        seed,
        {
            "window": WINDOW,
            "hold": HOLD,
            "episode_steps": list(EPISODE_STEPS),
            "anchor_steps": list(ANCHOR_STEPS),
        },
    )
