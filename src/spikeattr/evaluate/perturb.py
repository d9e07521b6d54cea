"""Perturbations of binary spike windows used by the metrics: flips, permutations, durations."""

from __future__ import annotations

import numpy as np

from spikeattr.evaluate.segments import Segment, segment_mask


def cumulative_flips(window: np.ndarray, segments: list[Segment]) -> np.ndarray:
    """Windows with the first ``k = 1 .. len(segments)`` segments flipped (``x -> 1 - x``).

    Args:
        window: int8 ``[T, n_in]``.
        segments: ranked, non-overlapping segments (channel = column of ``window``).

    Returns:
        int8 ``[len(segments), T, n_in]``; row ``k - 1`` has the first ``k`` segments flipped.
    """
    out = np.empty((len(segments), *window.shape), dtype=np.int8)
    current = window.astype(np.int8, copy=True)
    for k, segment in enumerate(segments):
        current[segment.start : segment.stop, segment.channel] ^= 1
        out[k] = current
    return out


def permute_outside(
    window: np.ndarray, kept: list[Segment], rng: np.random.Generator
) -> np.ndarray:
    """Randomly permute, per channel, the steps of ``window [T, n_in]`` outside ``kept``.

    A channel with no kept segment is permuted entirely; kept steps stay where they are.
    """
    out = window.astype(np.int8, copy=True)
    keep = segment_mask(kept, (window.shape[1], window.shape[0]))  # [n_in, T]
    for channel in range(window.shape[1]):
        free = np.flatnonzero(~keep[channel])
        if free.size > 1:
            out[free, channel] = out[rng.permutation(free), channel]
    return out


def activity_runs(column: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs ``[start, stop)`` of ones in a binary column ``[T]``."""
    padded = np.concatenate([[0], column.astype(np.int8), [0]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def perturb_durations(
    window: np.ndarray, rng: np.random.Generator, max_fraction: float = 0.1
) -> np.ndarray:
    """Shorten or lengthen every activity of every channel at its start or end (SPEC 5).

    For each maximal run of ones of length ``n``, a random amount ``0 .. round(max_fraction n)``
    is drawn, a random side (start or end) and a random direction (shorten or lengthen); the
    change is clipped to the window. Runs are changed in the original window's coordinates.
    """
    out = window.astype(np.int8, copy=True)
    steps = window.shape[0]
    for channel in range(window.shape[1]):
        for start, stop in activity_runs(window[:, channel]):
            amount = int(rng.integers(0, round(max_fraction * (stop - start)) + 1))
            at_start = bool(rng.integers(0, 2))
            lengthen = bool(rng.integers(0, 2))
            if amount == 0:
                continue
            if at_start and lengthen:
                out[max(0, start - amount) : start, channel] = 1
            elif at_start:
                out[start : start + amount, channel] = 0
            elif lengthen:
                out[stop : min(steps, stop + amount), channel] = 1
            else:
                out[stop - amount : stop, channel] = 0
    return out
