"""The random-attribution control: same support as the method's map, uniform random values."""

from __future__ import annotations

import numpy as np


def random_like(
    explanation: np.ndarray, low: float, high: float, rng: np.random.Generator
) -> np.ndarray:
    """Where ``explanation`` is non-zero, uniform values in ``[low, high)``; elsewhere 0."""
    values = rng.uniform(low, high, size=explanation.shape).astype(explanation.dtype)
    return np.where(explanation != 0, values, np.zeros_like(values))


def method_range(maps: list[np.ndarray]) -> tuple[float, float]:
    """``(min, max)`` of a method's attribution over all its explanations."""
    nonempty = [m for m in maps if m.size]
    if not nonempty:
        return (0.0, 0.0)
    return (min(float(m.min()) for m in nonempty), max(float(m.max()) for m in nonempty))
