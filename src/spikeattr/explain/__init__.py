"""Explanations: TSA-S, TSA-NS and SAM, gradient baselines, Kim & Panda's SAM, adapters."""

from __future__ import annotations

from spikeattr.explain.adapters import NorseAdapter, SnnTorchAdapter, adapt
from spikeattr.explain.gradients import GradientAttribution
from spikeattr.explain.kim_panda_sam import KimPandaSAM
from spikeattr.explain.recording import RecordableNetwork, SpikeRecording
from spikeattr.explain.tsa import TSA, Attribution, TemporalSpikeAttribution

__all__ = [
    "TSA",
    "Attribution",
    "GradientAttribution",
    "KimPandaSAM",
    "NorseAdapter",
    "RecordableNetwork",
    "SnnTorchAdapter",
    "SpikeRecording",
    "TemporalSpikeAttribution",
    "adapt",
]
