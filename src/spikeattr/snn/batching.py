"""Which steps a run trains and validates on, and how its windows are arranged in batches.

The protocol (SPEC 2.3, 3):

1. The training split ``[T, n_inputs]`` is cut into consecutive windows of ``window`` steps
   (900), the last one padded with zero input and the ignored label ``IGNORE_LABEL`` (-100);
   unlabelled steps (label ``-1`` in a :class:`~spikeattr.data.series.SpikeSeries`) are ignored
   too.
2. The ``N`` windows are split into ``batch_size`` contiguous *streams* (stream ``i`` holds
   windows ``start_i .. start_i + len_i - 1``; the lengths differ by at most one). Batch ``k``
   holds window ``k`` of every stream, so consecutive windows of the series sit in the same
   batch position of consecutive batches. Streams shorter than the longest are padded with one
   fully ignored zero window in the last batch. See :func:`batch_window_indices`.

Validation data (SPEC 2.1: the synthetic data set has no validation split): the series' ``val``
split when it has one; otherwise, if ``monitor="val"``, the last ``val_fraction`` (default 20 %)
of the training split, which is then left out of training (:func:`split_for_training`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from spikeattr.data.series import SpikeSeries
from spikeattr.data.windows import IGNORE_LABEL, training_windows
from spikeattr.errors import SpikeAttrError
from spikeattr.snn.train_config import TrainConfig


class TrainingError(SpikeAttrError):
    """Training cannot start or resume with these data, model and output directory."""


@dataclass(frozen=True)
class TrainingData:
    """The arrays a run trains and validates on, with where they came from.

    Attributes:
        train_spikes: int8 ``[T_train, n_inputs]``.
        train_labels: int64 ``[T_train]`` (negative = ignored).
        val_spikes: int8 ``[T_val, n_inputs]`` or ``None`` (no validation).
        val_labels: int64 ``[T_val]`` or ``None``.
        description: JSON-ready record of the step ranges used.
    """

    train_spikes: np.ndarray
    train_labels: np.ndarray
    val_spikes: np.ndarray | None
    val_labels: np.ndarray | None
    description: dict[str, Any]


def split_for_training(series: SpikeSeries, config: TrainConfig) -> TrainingData:
    """Pick the training and validation steps of ``series`` as described in the module doc."""
    if config.train_split not in series.splits:
        raise TrainingError(
            f"the data has no split {config.train_split!r} to train on (it has "
            f"{sorted(series.splits) or 'no splits'}); set 'train_split' in the config"
        )
    start, stop = series.splits[config.train_split]
    description: dict[str, Any] = {"train": [start, stop], "val": None, "val_source": None}
    val_range: tuple[int, int] | None = None
    if config.val_split in series.splits and config.val_split != config.train_split:
        val_range = series.splits[config.val_split]
        description["val_source"] = f"split {config.val_split!r}"
    elif config.monitor == "val":
        n_val = round(config.val_fraction * (stop - start))
        if n_val < 1 or stop - n_val - start < 1:
            raise TrainingError(
                f"the {config.train_split!r} split ({stop - start} steps) is too short to carve "
                f"a validation tail of {config.val_fraction:.0%}; add a {config.val_split!r} "
                "split or use monitor='train'"
            )
        val_range = (stop - n_val, stop)
        stop -= n_val
        description["train"] = [start, stop]
        description["val_source"] = f"last {config.val_fraction:.0%} of {config.train_split!r}"
    if val_range is not None:
        description["val"] = list(val_range)
        if val_range[1] - val_range[0] < 1:
            raise TrainingError(f"the validation split {config.val_split!r} is empty")
    labels = series.labels.astype(np.int64)
    return TrainingData(
        train_spikes=series.spikes[start:stop],
        train_labels=labels[start:stop],
        val_spikes=None if val_range is None else series.spikes[val_range[0] : val_range[1]],
        val_labels=None if val_range is None else labels[val_range[0] : val_range[1]],
        description=description,
    )


def batch_window_indices(n_windows: int, batch_size: int) -> np.ndarray:
    """Which window sits in each batch position: int64 ``[n_batches, batch_size]``.

    The windows ``0 .. n_windows-1`` are split into ``batch_size`` contiguous streams, the first
    ``n_windows % batch_size`` of length ``ceil(n_windows / batch_size)``, the others one
    shorter; entry ``[k, i]`` is window ``k`` of stream ``i``, or ``-1`` (a padding window)
    where stream ``i`` has fewer than ``k + 1`` windows.

    Examples:
        >>> batch_window_indices(7, 3).tolist()
        [[0, 3, 5], [1, 4, 6], [2, -1, -1]]
    """
    if batch_size < 1 or n_windows < batch_size:
        raise TrainingError(
            f"batch size {batch_size} needs at least {batch_size} windows; there are {n_windows}"
        )
    base, extra = divmod(n_windows, batch_size)
    lengths = np.full(batch_size, base, dtype=np.int64)
    lengths[:extra] += 1
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    n_batches = int(lengths.max())
    steps = np.arange(n_batches)[:, None]
    return np.where(steps < lengths[None, :], starts[None, :] + steps, -1)


@dataclass(frozen=True)
class Batches:
    """Training windows arranged in batches of streams (see :func:`batch_window_indices`).

    Attributes:
        spikes: int8 ``[n_batches, batch_size, window, n_inputs]``.
        labels: int64 ``[n_batches, batch_size, window]``, ``IGNORE_LABEL`` where ignored.
        window_index: int64 ``[n_batches, batch_size]``, ``-1`` for padding windows.
    """

    spikes: np.ndarray
    labels: np.ndarray
    window_index: np.ndarray

    @property
    def n_batches(self) -> int:
        """Number of batches per epoch."""
        return int(self.spikes.shape[0])


def arrange_batches(
    spikes: np.ndarray, labels: np.ndarray, window: int, batch_size: int
) -> Batches:
    """Cut ``spikes [T, n_inputs]``, ``labels [T]`` into windows and arrange them in batches.

    Negative labels (unlabelled steps) become ``IGNORE_LABEL``.
    """
    windows = training_windows(spikes, labels, window)
    index = batch_window_indices(windows.n_windows, batch_size)
    padded = np.concatenate(
        [windows.spikes, np.zeros((1, *windows.spikes.shape[1:]), dtype=windows.spikes.dtype)]
    )
    padded_labels = np.concatenate(
        [windows.labels, np.full((1, window), IGNORE_LABEL, dtype=np.int64)]
    )
    padded_labels[padded_labels < 0] = IGNORE_LABEL
    # index -1 picks the extra all-ignored zero window appended last
    return Batches(spikes=padded[index], labels=padded_labels[index], window_index=index)
