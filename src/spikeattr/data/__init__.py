"""Spike-series data: container, synthetic benchmark, UCI ADL reader, stamps, windows."""

from __future__ import annotations

from spikeattr.data.series import SpikeSeries, chronological_splits
from spikeattr.data.stamps import sample_balanced_stamps
from spikeattr.data.synthetic import SYNTHETIC_CLASSES, SYNTHETIC_INPUTS, generate_synthetic
from spikeattr.data.windows import training_windows

__all__ = [
    "SYNTHETIC_CLASSES",
    "SYNTHETIC_INPUTS",
    "SpikeSeries",
    "chronological_splits",
    "generate_synthetic",
    "sample_balanced_stamps",
    "training_windows",
]
