"""Cutting a series into the fixed-length training windows of SPEC 2.3."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeattr.data.series import check_binary_spikes
from spikeattr.errors import DataFormatError

IGNORE_LABEL = -100  # torch.nn.NLLLoss's default ignore_index: padded steps carry no loss


@dataclass(frozen=True)
class Windows:
    """Consecutive non-overlapping windows of one series.

    Attributes:
        spikes: int8 ``[n_windows, window, n_inputs]``; the last window padded with zeros.
        labels: int64 ``[n_windows, window]``; padded steps hold :data:`IGNORE_LABEL`.
        n_valid: number of real (unpadded) steps in all, ``T``.
    """

    spikes: np.ndarray
    labels: np.ndarray
    n_valid: int

    @property
    def n_windows(self) -> int:
        """Number of windows."""
        return int(self.spikes.shape[0])


def training_windows(spikes: np.ndarray, labels: np.ndarray, window: int = 900) -> Windows:
    """Cut ``spikes [T, n_inputs]`` and ``labels [T]`` into windows of ``window`` steps.

    Window ``k`` covers steps ``[k * window, (k + 1) * window)``; the last one is padded with
    zero input and the ignored label :data:`IGNORE_LABEL` (never a fake class).
    """
    spikes = np.asarray(spikes)
    labels = np.asarray(labels)
    if window < 1:
        raise ValueError(f"window must be at least 1 step; got {window}")
    if spikes.ndim != 2 or labels.shape != (spikes.shape[0],):
        raise DataFormatError(
            f"need spikes [T, n_inputs] and labels [T]; got {spikes.shape} and {labels.shape}"
        )
    check_binary_spikes(spikes)
    n_steps, n_inputs = spikes.shape
    n_windows = max(1, -(-n_steps // window))
    padded = n_windows * window
    out_spikes = np.zeros((padded, n_inputs), dtype=np.int8)
    out_spikes[:n_steps] = spikes
    out_labels = np.full(padded, IGNORE_LABEL, dtype=np.int64)
    out_labels[:n_steps] = labels
    return Windows(
        spikes=out_spikes.reshape(n_windows, window, n_inputs),
        labels=out_labels.reshape(n_windows, window),
        n_valid=n_steps,
    )
