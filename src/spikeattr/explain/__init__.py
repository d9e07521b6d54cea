"""Explanations: TSA-S, TSA-NS and the SAM baseline, for windows and whole series."""

from __future__ import annotations

from spikeattr.explain.recording import RecordableNetwork, SpikeRecording
from spikeattr.explain.tsa import TSA, Attribution, TemporalSpikeAttribution

__all__ = ["TSA", "Attribution", "RecordableNetwork", "SpikeRecording", "TemporalSpikeAttribution"]
