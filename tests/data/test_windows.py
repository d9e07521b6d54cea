"""Training windows (SPEC 2.3): consecutive, non-overlapping, the last one padded."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeattr.data.series import SpikeSeries
from spikeattr.data.windows import IGNORE_LABEL, training_windows
from spikeattr.errors import DataFormatError


def _data(n_steps: int, n_inputs: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, size=(n_steps, n_inputs)), rng.integers(0, 4, size=n_steps)


def test_ignore_label_is_torch_default() -> None:
    import torch

    assert IGNORE_LABEL == -100 == torch.nn.NLLLoss().ignore_index


def test_last_window_padded_with_zeros_and_ignored_label() -> None:
    spikes, labels = _data(2000)
    windows = training_windows(spikes, labels, window=900)
    assert windows.n_windows == 3
    assert windows.spikes.shape == (3, 900, 3) and windows.spikes.dtype == np.int8
    assert windows.labels.shape == (3, 900) and windows.labels.dtype == np.int64
    assert windows.n_valid == 2000
    tail = 2000 - 2 * 900  # 200 real steps in the last window
    assert (windows.spikes[2, tail:] == 0).all()
    assert (windows.labels[2, tail:] == IGNORE_LABEL).all()
    np.testing.assert_array_equal(windows.spikes[2, :tail], spikes[1800:])
    np.testing.assert_array_equal(windows.labels[2, :tail], labels[1800:])


def test_exact_multiple_has_no_padding() -> None:
    spikes, labels = _data(1800)
    windows = training_windows(spikes, labels)
    assert windows.n_windows == 2
    assert (windows.labels != IGNORE_LABEL).all()
    np.testing.assert_array_equal(windows.spikes.reshape(-1, 3), spikes)


@settings(max_examples=50, deadline=None)
@given(
    n_steps=st.integers(1, 500),
    window=st.integers(1, 120),
    n_inputs=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_windows_reassemble_the_series(n_steps: int, window: int, n_inputs: int, seed: int) -> None:
    spikes, labels = _data(n_steps, n_inputs, seed)
    windows = training_windows(spikes, labels, window=window)
    assert windows.n_windows == -(-n_steps // window)
    flat_spikes = windows.spikes.reshape(-1, n_inputs)
    flat_labels = windows.labels.reshape(-1)
    np.testing.assert_array_equal(flat_spikes[:n_steps], spikes)
    np.testing.assert_array_equal(flat_labels[:n_steps], labels)
    assert (flat_spikes[n_steps:] == 0).all()
    assert (flat_labels[n_steps:] == IGNORE_LABEL).all()
    for k in range(windows.n_windows):  # window k covers [k w, (k + 1) w)
        real = min(window, n_steps - k * window)
        np.testing.assert_array_equal(
            windows.spikes[k][:real], spikes[k * window : (k + 1) * window]
        )


def test_windows_of_a_real_split(synthetic_test: SpikeSeries) -> None:
    windows = training_windows(synthetic_test.spikes, synthetic_test.labels)
    assert windows.n_windows == 300  # 270 000 / 900
    np.testing.assert_array_equal(windows.spikes[123], synthetic_test.spikes[123 * 900 : 124 * 900])


def test_errors() -> None:
    spikes, labels = _data(10)
    with pytest.raises(ValueError, match="window"):
        training_windows(spikes, labels, window=0)
    with pytest.raises(DataFormatError, match="need spikes"):
        training_windows(spikes, labels[:5])
    with pytest.raises(DataFormatError, match="need spikes"):
        training_windows(spikes[:, 0], labels)
    bad = spikes.copy()
    bad[3, 1] = 5
    with pytest.raises(DataFormatError, match=r"\(3, 1\)"):
        training_windows(bad, labels)
