"""Balanced explained time stamps (SPEC 2.1)."""

from __future__ import annotations

import numpy as np
import pytest

from spikeattr.data.series import SpikeSeries
from spikeattr.data.stamps import sample_balanced_stamps
from spikeattr.errors import DataFormatError


def test_synthetic_stamps_equal_the_papers(
    synthetic_test: SpikeSeries, test_stamps: dict[str, list[int]]
) -> None:
    stamps = sample_balanced_stamps(synthetic_test.labels)
    assert stamps.dtype == np.int64
    assert stamps.tolist() == test_stamps["synthetic"]


def test_synthetic_stamps_are_balanced(
    synthetic_test: SpikeSeries, test_stamps: dict[str, list[int]]
) -> None:
    stamps = np.asarray(test_stamps["synthetic"])
    counts = np.bincount(synthetic_test.labels[stamps], minlength=4)
    assert counts.tolist() == [25, 25, 25, 25]


def _literal(labels: np.ndarray, per_class: int, seed: int) -> list[int]:
    state = np.random.get_state()  # noqa: NPY002 (the legacy global stream is the spec)
    try:
        np.random.seed(seed)  # noqa: NPY002 (the legacy global stream is the spec)
        drawn = [
            np.random.choice(np.where(labels == c)[0], per_class)  # noqa: NPY002 (the legacy global stream is the spec)
            for c in sorted(set(labels.tolist()))
            if c >= 0
        ]
        return sorted(np.concatenate(drawn).tolist())
    finally:
        np.random.set_state(state)  # noqa: NPY002 (the legacy global stream is the spec)


@pytest.mark.parametrize("seed", [0, 123, 2024])
def test_matches_literal_recipe(seed: int) -> None:
    labels = np.random.default_rng(seed).integers(0, 5, size=3000)
    assert sample_balanced_stamps(labels, per_class=7, seed=seed).tolist() == _literal(
        labels, 7, seed
    )


def test_skips_absent_classes_and_unlabelled_steps() -> None:
    labels = np.array([-1, -1, 0, 0, 2, 2, 2, -1])
    stamps = sample_balanced_stamps(labels, per_class=3, n_classes=4)
    assert stamps.size == 6
    assert set(labels[stamps].tolist()) == {0, 2}
    assert sample_balanced_stamps(np.full(5, -1), per_class=2).size == 0


def test_rejects_bad_arguments() -> None:
    with pytest.raises(DataFormatError, match="shape"):
        sample_balanced_stamps(np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match="per_class"):
        sample_balanced_stamps(np.zeros(3, dtype=int), per_class=0)
