"""Controls: maps that keep what a method's map looks like but not what it knows.

* ``permuted``: the method's own values shuffled among the cells of its support (``a != 0``),
  per stamp: same values, same support, no information about *which* cell matters. Drawn from
  ``keyed_rng(seed, "permuted-control", stamp, draw)``.
* ``random-order``: the method's own segments flipped in a random order; it changes only the
  deletion order, so it is an option of :class:`~spikeattr.evaluate.deletion.BudgetedDeletion`.
* ``uniform``: uniform values in the method's range on its support (the paper protocol's
  control), drawn from ``keyed_rng(seed, "uniform-control", stamp, draw)``. Its sign changes
  every step or two, so it has many more, shorter segments than the method: available, not
  the default.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spikeattr.evaluate.draws import keyed_rng

#: Control names, in the order they are reported.
CONTROLS: tuple[str, ...] = ("permuted", "random-order", "uniform")


def permuted_map(explanation: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``explanation [n_in, T]`` with its non-zero values shuffled among its non-zero cells."""
    out = np.array(explanation, copy=True)
    support = np.flatnonzero(out.ravel() != 0)
    flat = out.reshape(-1)
    flat[support] = flat[rng.permutation(support)]
    return out


def uniform_map(
    explanation: np.ndarray, low: float, high: float, rng: np.random.Generator
) -> np.ndarray:
    """Where ``explanation`` is non-zero, uniform values in ``[low, high)``; elsewhere 0."""
    values = rng.uniform(low, high, size=explanation.shape).astype(explanation.dtype)
    return np.where(explanation != 0, values, np.zeros_like(values))


def method_range(maps: Sequence[np.ndarray]) -> tuple[float, float]:
    """``(min, max)`` of a method's attribution over all its explanations."""
    nonempty = [m for m in maps if m.size]
    if not nonempty:
        return (0.0, 0.0)
    return (min(float(m.min()) for m in nonempty), max(float(m.max()) for m in nonempty))


def control_maps(
    control: str,
    maps: Sequence[np.ndarray],
    stamps: np.ndarray,
    seed: int,
    draw: int,
    value_range: tuple[float, float] | None = None,
) -> list[np.ndarray]:
    """The maps of draw ``draw`` of ``control`` (``permuted`` or ``uniform``), one per stamp.

    ``random-order`` keeps the maps as they are (it only reorders the deletion).
    """
    if control == "random-order":
        return list(maps)
    if control == "permuted":
        return [
            permuted_map(m, keyed_rng(seed, "permuted-control", int(s), draw))
            for m, s in zip(maps, stamps, strict=True)
        ]
    if control == "uniform":
        low, high = value_range if value_range is not None else method_range(maps)
        return [
            uniform_map(m, low, high, keyed_rng(seed, "uniform-control", int(s), draw))
            for m, s in zip(maps, stamps, strict=True)
        ]
    raise ValueError(f"unknown control {control!r}; choose from {', '.join(CONTROLS)}")
