"""The synthetic benchmark (SPEC 2.1) must be reproduced bit for bit."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from spikeattr.data.series import SpikeSeries
from spikeattr.data.synthetic import SYNTHETIC_CLASSES, SYNTHETIC_INPUTS, generate_synthetic


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def test_arrays_match_reference_checksums(
    synthetic_series: SpikeSeries, checksums: dict[str, Any]
) -> None:
    expected = checksums["synthetic"]
    assert synthetic_series.spikes.dtype == np.int8
    assert synthetic_series.labels.dtype == np.int8
    assert synthetic_series.spikes.shape == (expected["n_steps"], len(expected["X_columns"]))
    assert _sha256(synthetic_series.spikes) == expected["X_sha256"]
    assert _sha256(synthetic_series.labels) == expected["y_sha256"]
    assert synthetic_series.checksums() == {
        "X_sha256": expected["X_sha256"],
        "y_sha256": expected["y_sha256"],
    }


def test_names_and_splits(synthetic_series: SpikeSeries, checksums: dict[str, Any]) -> None:
    expected = checksums["synthetic"]
    assert list(synthetic_series.input_names) == expected["X_columns"]
    assert synthetic_series.input_names == SYNTHETIC_INPUTS
    assert synthetic_series.class_names == SYNTHETIC_CLASSES
    n_train, n_test = expected["n_train"], expected["n_test"]
    assert synthetic_series.splits["train"] == (0, n_train)
    assert synthetic_series.splits["test"] == (n_train, n_train + n_test)
    assert synthetic_series.split("test").n_steps == n_test


def test_test_class_counts(synthetic_test: SpikeSeries, checksums: dict[str, Any]) -> None:
    counts = np.bincount(synthetic_test.labels, minlength=4)
    expected = {int(k): v for k, v in checksums["synthetic"]["class_counts_test"].items()}
    assert {c: int(n) for c, n in enumerate(counts)} == expected


def test_structure_bias_and_label_mapping(synthetic_series: SpikeSeries) -> None:
    spikes, labels = synthetic_series.spikes, synthetic_series.labels
    assert (spikes[:, 0] == 1).all(), "x0 is a bias that spikes at every step"
    # the series starts from one (0, 0) row
    assert tuple(spikes[0, 1:]) == (0, 0)
    pair_to_class = {(1, 0): 0, (1, 1): 1, (0, 1): 2, (0, 0): 3}
    for pair, cls in pair_to_class.items():
        rows = (spikes[:, 1] == pair[0]) & (spikes[:, 2] == pair[1])
        assert (labels[rows] == cls).all()
        assert rows.any()


def _literal_generation(n_steps: int, seed: int) -> np.ndarray:
    """SPEC 2.1 in its most literal form, with the legacy global generator."""
    state = np.random.get_state()  # noqa: NPY002 (the legacy global stream is the spec)
    try:
        np.random.seed(seed)  # noqa: NPY002 (the legacy global stream is the spec)
        rows = np.zeros((1, 2), dtype=np.int64)
        while len(rows) < n_steps:
            duration = np.random.randint(600)  # noqa: NPY002 (the legacy global stream is the spec)
            pair = np.random.randint(0, 2, size=(1, 2))  # noqa: NPY002 (the legacy global stream is the spec)
            rows = np.concatenate([rows, np.repeat(pair, duration, axis=0)])
        return rows[:n_steps]
    finally:
        np.random.set_state(state)  # noqa: NPY002 (the legacy global stream is the spec)


@pytest.mark.parametrize("n_steps,seed", [(5000, 123), (3001, 7), (1, 123)])
def test_small_series_follow_the_literal_recipe(n_steps: int, seed: int) -> None:
    series = generate_synthetic(n_steps=n_steps, n_train=n_steps, seed=seed)
    np.testing.assert_array_equal(series.spikes[:, 1:], _literal_generation(n_steps, seed))


def test_prefix_of_full_series(synthetic_series: SpikeSeries) -> None:
    short = generate_synthetic(n_steps=20_000, n_train=10_000)
    np.testing.assert_array_equal(short.spikes, synthetic_series.spikes[:20_000])
    np.testing.assert_array_equal(short.labels, synthetic_series.labels[:20_000])


@pytest.mark.parametrize("n_steps,n_train", [(100, 0), (100, 101), (100, -5)])
def test_rejects_bad_train_size(n_steps: int, n_train: int) -> None:
    with pytest.raises(ValueError, match="n_train"):
        generate_synthetic(n_steps=n_steps, n_train=n_train)
