"""Adapters that make models of other SNN libraries explainable by TSA.

Each adapter wraps a user model and implements
:class:`~spikeattr.explain.recording.RecordableNetwork` (``record_spikes(spikes)``), so that
``TemporalSpikeAttribution(adapter, variant).attribute(spikes)`` works as for spikeattr's own
networks. snnTorch and Norse are optional (``pip install 'spikeattr[snntorch]'``; Norse: see the
README); they are imported when an adapter is created.
"""

from __future__ import annotations

from torch import nn

from spikeattr.errors import ExplanationError
from spikeattr.explain.adapters._dense import AdapterTrace, DenseSpikingAdapter
from spikeattr.explain.adapters.norse import NorseAdapter
from spikeattr.explain.adapters.snntorch import SnnTorchAdapter

__all__ = ["AdapterTrace", "DenseSpikingAdapter", "NorseAdapter", "SnnTorchAdapter", "adapt"]


def adapt(model: nn.Module, time_first: bool = False) -> DenseSpikingAdapter:
    """The adapter for ``model``, chosen by the library its neuron layers come from;
    ``time_first``: spikes are given as ``[T, B, ...]`` (see :class:`SnnTorchAdapter`)."""
    libraries = {
        cls.__module__.split(".")[0] for module in model.modules() for cls in type(module).__mro__
    }
    found = libraries & {"snntorch", "norse"}
    if found == {"snntorch"}:
        return SnnTorchAdapter(model, time_first=time_first)
    if found == {"norse"}:
        return NorseAdapter(model, time_first=time_first)
    if found:
        raise ExplanationError(
            f"{type(model).__name__} mixes snnTorch and Norse layers; an adapter explains one "
            "library's neurons"
        )
    raise ExplanationError(
        f"{type(model).__name__} has no snnTorch or Norse layer to adapt; a spikeattr LIFNetwork "
        "is explained directly, any other model needs record_spikes(spikes) -> SpikeRecording"
    )
