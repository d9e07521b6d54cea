"""What every benchmark task shares: its length, its splits, its metadata, Poisson noise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spikeattr.data.evidence import EvidenceMask
from spikeattr.data.series import SpikeSeries, chronological_splits

#: Steps of a task's series (small enough to generate, train and explain in minutes; the
#: delayed motif, whose examples are 280 steps apart, has three times as many).
BENCHMARK_STEPS = 150_000
#: Chronological train / val / test fractions (SPEC 2.2's rule).
SPLIT_FRACTIONS: tuple[float, float, float] = (0.6, 0.2, 0.2)
#: Seconds per step, the ``dt`` of the benchmark models.
STEP_SECONDS = 1e-3


def poisson_spikes(rng: np.random.Generator, shape: tuple[int, ...], rate: float) -> np.ndarray:
    """int8 spikes of the given shape, each cell 1 with probability ``rate`` (one uniform draw
    per cell, in C order)."""
    return (rng.random(shape) < rate).astype(np.int8)


def task_series(
    task: str,
    spikes: np.ndarray,
    labels: np.ndarray,
    input_names: Sequence[str],
    class_names: Sequence[str],
    evidence: EvidenceMask,
    seed: int,
    parameters: Mapping[str, Any],
) -> SpikeSeries:
    """The task's :class:`SpikeSeries`: 60/20/20 chronological splits, the evidence mask and
    metadata naming the task, its seed and its parameters."""
    return SpikeSeries(
        spikes=spikes,
        labels=labels,
        input_names=tuple(input_names),
        class_names=tuple(class_names),
        splits=chronological_splits(spikes.shape[0], SPLIT_FRACTIONS),
        meta={
            "dataset": f"benchmark:{task}",
            "task": task,
            "seed": seed,
            "parameters": dict(parameters),
            "resolution_s": STEP_SECONDS,
            "generator": f"spikeattr.data.benchmark ({task})",
        },
        evidence=evidence,
    )


def recent_slices(
    first_allowed: np.ndarray, times: np.ndarray, n_steps: int, recent: int
) -> tuple[np.ndarray, np.ndarray]:
    """For every step ``t``, the slice ``[start, stop)`` of the sorted ``times`` that lie in
    ``[max(first_allowed[t], t - recent + 1), t]``: the recent events of ``t``'s own segment."""
    steps = np.arange(n_steps, dtype=np.int64)
    low = np.maximum(first_allowed, steps - recent + 1)
    start = np.searchsorted(times, low, side="left")
    stop = np.searchsorted(times, steps, side="right")
    return start.astype(np.int64), stop.astype(np.int64)
