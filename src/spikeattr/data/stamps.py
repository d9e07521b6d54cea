"""Sampling the time stamps to explain, balanced over classes (SPEC 2.1)."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np

from spikeattr.data.series import SpikeSeries
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


def paper_stamps(series: SpikeSeries, split: str = "test") -> np.ndarray:
    """The stamps the TSA paper explained, for the data set ``series`` holds.

    Synthetic data: :func:`sample_balanced_stamps` of the split's labels (25 per class, seed
    123). ADL data: the published lists of subject A (81 stamps) or B (99 stamps), which index
    the test split. Other data sets have no paper stamps.
    """
    dataset = series.meta.get("dataset")
    if dataset == "synthetic":
        return sample_balanced_stamps(series.split(split).labels, 25, 123)
    if dataset == "adl" and split == "test" and series.meta.get("subject") in ("A", "B"):
        table = json.loads(
            resources.files("spikeattr.data").joinpath("paper_stamps.json").read_text("utf-8")
        )
        return np.asarray(table[f"adl_{series.meta['subject']}"], dtype=np.int64)
    raise DataFormatError(
        f"the paper explained stamps of the synthetic test split and the ADL test splits only; "
        f"this data set is {dataset!r}, split {split!r}: give --stamps N (per class) or a JSON "
        "file with a list of stamps"
    )


def resolve_stamps(series: SpikeSeries, split: str, setting: str) -> list[int]:
    """Stamps from a setting: ``"paper"`` (:func:`paper_stamps`) or ``"N"``, N per class.

    ``N`` draws N steps of each class with :func:`sample_balanced_stamps` (seed 123) and
    returns them shifted by one, so each stamp explains a step of the drawn class.
    """
    if setting == "paper":
        return [int(t) for t in paper_stamps(series, split)]
    if not setting.isdigit() or int(setting) < 1:
        raise DataFormatError(
            f"stamps must be 'paper' or a number of stamps per class (at least 1); got {setting!r}"
        )
    per_class = int(setting)
    labels = series.split(split).labels
    classes, counts = np.unique(labels[labels >= 0], return_counts=True)
    if classes.size == 0:
        raise DataFormatError(f"split {split!r} has no labelled step to draw stamps from")
    smallest = int(np.argmin(counts))
    if per_class > counts[smallest]:
        raise DataFormatError(
            f"{per_class} stamps per class would repeat stamps: class "
            f"{series.class_names[int(classes[smallest])]!r} has only {int(counts[smallest])} "
            f"labelled steps in split {split!r}; use at most {int(counts[smallest])} per class"
        )
    steps = sample_balanced_stamps(labels, per_class, 123)
    return [int(t) + 1 for t in steps]
