"""Batching (SPEC 3): windows split into contiguous streams, padding ignored."""

from __future__ import annotations

import numpy as np
import pytest

from spikeattr.data.series import SpikeSeries
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.data.windows import IGNORE_LABEL, training_windows
from spikeattr.snn.batching import TrainingError, arrange_batches, batch_window_indices

WINDOW = 100


@pytest.fixture(scope="module")
def small_series() -> SpikeSeries:
    """3 050 training steps (31 windows of 100, the last one padded) with an unlabelled stretch."""
    series = generate_synthetic(n_steps=4_000, n_train=3_050)
    labels = series.labels.copy()
    labels[400:450] = -1  # unlabelled steps must be ignored like padding
    return SpikeSeries(
        series.spikes, labels, series.input_names, series.class_names, series.splits, series.meta
    )


@pytest.mark.parametrize(("n_windows", "batch_size"), [(7, 3), (700, 128), (12, 4), (5, 5), (9, 1)])
def test_batches_hold_consecutive_windows_of_each_stream(n_windows: int, batch_size: int) -> None:
    index = batch_window_indices(n_windows, batch_size)
    assert index.shape == (-(-n_windows // batch_size), batch_size)
    real = index[index >= 0]
    assert sorted(real.tolist()) == list(range(n_windows))  # every window exactly once
    lengths = (index >= 0).sum(0)
    assert lengths.max() - lengths.min() <= 1
    for stream in range(batch_size):
        column = index[:, stream]
        windows = column[column >= 0]
        # consecutive windows of the series in consecutive batches, padding only at the end
        assert np.array_equal(windows, np.arange(windows[0], windows[0] + windows.size))
        assert (column[windows.size :] == -1).all()
    starts = index[0]
    assert np.array_equal(starts[1:], starts[:-1] + lengths[:-1])  # streams tile the series


def test_batch_window_indices_refuses_too_few_windows() -> None:
    with pytest.raises(TrainingError, match="batch size 8 needs at least 8 windows; there are 5"):
        batch_window_indices(5, 8)


def test_arrange_batches_places_windows_and_ignores_padding(small_series: SpikeSeries) -> None:
    part = small_series.split("train")
    batches = arrange_batches(part.spikes, part.labels, WINDOW, 4)
    windows = training_windows(part.spikes, part.labels, WINDOW)
    assert batches.spikes.shape == (8, 4, WINDOW, 3) and batches.labels.shape == (8, 4, WINDOW)
    for k in range(batches.n_batches):
        for i in range(4):
            w = batches.window_index[k, i]
            if w < 0:
                assert not batches.spikes[k, i].any()
                assert (batches.labels[k, i] == IGNORE_LABEL).all()
            else:
                assert np.array_equal(batches.spikes[k, i], windows.spikes[w])
                expected = np.where(windows.labels[w] < 0, IGNORE_LABEL, windows.labels[w])
                assert np.array_equal(batches.labels[k, i], expected)
    labels = batches.labels[batches.window_index >= 0]
    assert (labels == IGNORE_LABEL).sum() == 50 + 50  # the unlabelled stretch and the padding
    assert labels.min() == IGNORE_LABEL and set(np.unique(labels)) <= {IGNORE_LABEL, 0, 1, 2, 3}
