"""Sampling the time stamps to explain, balanced over classes (SPEC 2.1)."""

from __future__ import annotations

import numpy as np

from spikeattr.errors import DataFormatError


def sample_balanced_stamps(
    labels: np.ndarray, per_class: int = 25, seed: int = 123, n_classes: int | None = None
) -> np.ndarray:
    """Draw ``per_class`` stamps of each class, as the paper did, sorted ascending.

    With numpy's legacy generator seeded with ``seed``, for each class ``c`` in ascending order:
    ``np.random.choice(np.where(labels == c)[0], per_class)`` (with replacement, as the paper);
    the draws are concatenated and sorted. A class absent from ``labels`` is skipped.

    Args:
        labels: int ``[T]`` class per step of the split the stamps index into.

    Returns:
        int64 ``[n_present_classes * per_class]`` indices into ``labels``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise DataFormatError(f"labels must have shape [T]; got {labels.shape}")
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1; got {per_class}")
    classes = range(n_classes) if n_classes is not None else np.unique(labels[labels >= 0])
    rng = np.random.RandomState(seed)
    drawn = []
    for cls in classes:
        indices = np.flatnonzero(labels == cls)
        if indices.size:
            drawn.append(rng.choice(indices, per_class))
    if not drawn:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(drawn)).astype(np.int64)
