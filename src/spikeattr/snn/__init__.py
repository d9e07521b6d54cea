"""Spiking networks: LIF dynamics, the network module, checkpoints, accuracy, training.

:func:`train` trains in memory (``train(TrainConfig(hidden=(10,)), series)``); a training run
in a directory, with a checkpoint, history, manifest and resumable state, is
:func:`spikeattr.runs.training.run_training`.
"""

from __future__ import annotations

from spikeattr.snn.accuracy import AccuracyReport, accuracy_report, balanced_accuracy
from spikeattr.snn.checkpoint import PUBLISHED_MODELS, load_model, load_network, save_checkpoint
from spikeattr.snn.conv_network import ConvLIFNetwork, SpikingNetwork
from spikeattr.snn.lif import LIFParameters, LIFState, lif_step
from spikeattr.snn.network import LIFNetwork, NetworkOutput, SeriesPrediction
from spikeattr.snn.training import TrainConfig, TrainResult, train

__all__ = [
    "PUBLISHED_MODELS",
    "AccuracyReport",
    "ConvLIFNetwork",
    "LIFNetwork",
    "LIFParameters",
    "LIFState",
    "NetworkOutput",
    "SeriesPrediction",
    "SpikingNetwork",
    "TrainConfig",
    "TrainResult",
    "accuracy_report",
    "balanced_accuracy",
    "lif_step",
    "load_model",
    "load_network",
    "save_checkpoint",
    "train",
]
