"""What TSA needs from a feed-forward spiking network, recorded over one input window.

Any network that can fill a :class:`SpikeRecording` can be explained: per weight layer ``l`` the
spikes entering it ``[B, T, n_l]`` (``l = 0`` is the input), its weight matrix
``W_l [n_l, n_{l+1}]`` and its membrane decay ``beta_l``; and the output-layer class scores at
the explained step ``[B, C]``. :class:`~spikeattr.snn.network.LIFNetwork` records natively
(:func:`record_network`).

Networks with convolutions, pooling or shaped layers fill a :class:`MapRecording` instead: the
spikes entering each weight layer keep their shape ``[B, T, *shape_l]`` and each ``W_l`` is a
:class:`~spikeattr.explain.linear_maps.LayerMap` (applied and transposed as a linear map,
never expanded into a matrix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.linear_maps import LayerMap


def check_scores(scores: object, batch: int, n_classes: int) -> None:
    """Raise :class:`ExplanationError` unless ``scores`` (a tensor or array) is ``[B, C]``."""
    shape = tuple(getattr(scores, "shape", ()))
    if shape != (batch, n_classes):
        raise ExplanationError(f"scores must have shape [B={batch}, C={n_classes}]; got {shape}")


class _Recorded:
    """What both recordings share: their spikes' batch and step counts, and the decay check."""

    layer_inputs: list[torch.Tensor]
    betas: list[float]

    @property
    def batch_size(self) -> int:
        """``B``."""
        return int(self.layer_inputs[0].shape[0])

    @property
    def n_steps(self) -> int:
        """``T``."""
        return int(self.layer_inputs[0].shape[1])

    def _check_betas(self) -> None:
        for index, beta in enumerate(self.betas):
            if not 0.0 < beta < 1.0:
                raise ExplanationError(f"betas[{index}] must lie in (0, 1); got {beta}")


@dataclass
class SpikeRecording(_Recorded):
    """Spikes, weights, decays and output scores of one forward pass over ``[B, T, n_0]``.

    Attributes:
        layer_inputs: ``L`` tensors ``[B, T, n_l]``: the input spikes (``l = 0``) and the spikes
            of each hidden layer (``l >= 1``), as emitted at each step.
        weights: ``L`` tensors ``W_l [n_l, n_{l+1}]``.
        betas: ``L`` membrane decays per step, one per weight layer (``exp(-dt / tau_mem)``).
        scores: output class scores at the explained (last) step ``[B, C]``; their softmax is
            the ``p`` of SPEC 4.
    """

    layer_inputs: list[torch.Tensor]
    weights: list[torch.Tensor]
    betas: list[float]
    scores: torch.Tensor

    def __post_init__(self) -> None:
        n_layers = len(self.weights)
        if n_layers == 0:
            raise ExplanationError("a recording needs at least one weight layer")
        if len(self.layer_inputs) != n_layers or len(self.betas) != n_layers:
            raise ExplanationError(
                f"a recording needs one input-spike tensor and one beta per weight layer; got "
                f"{len(self.layer_inputs)} spike tensors, {len(self.betas)} betas and "
                f"{n_layers} weight matrices"
            )
        batch, steps = self.layer_inputs[0].shape[:2]
        for index, (spikes, weight) in enumerate(zip(self.layer_inputs, self.weights, strict=True)):
            if spikes.ndim != 3 or spikes.shape[:2] != (batch, steps):
                raise ExplanationError(
                    f"layer_inputs[{index}] must have shape [B={batch}, T={steps}, n]; got "
                    f"{tuple(spikes.shape)}"
                )
            if weight.ndim != 2 or weight.shape[0] != spikes.shape[2]:
                raise ExplanationError(
                    f"weights[{index}] must have shape [{spikes.shape[2]}, n_next]; got "
                    f"{tuple(weight.shape)}"
                )
            if index + 1 < n_layers and weight.shape[1] != self.weights[index + 1].shape[0]:
                raise ExplanationError(
                    f"weights[{index}] {tuple(weight.shape)} does not chain into weights"
                    f"[{index + 1}] {tuple(self.weights[index + 1].shape)}"
                )
        self._check_betas()
        check_scores(self.scores, batch, self.n_classes)

    @property
    def n_classes(self) -> int:
        """``C``."""
        return int(self.weights[-1].shape[1])


@dataclass
class MapRecording(_Recorded):
    """Spikes of any shape, linear maps, decays and output scores of one forward pass.

    Attributes:
        layer_inputs: ``L`` tensors ``[B, T, *shape_l]``: the input spikes (``l = 0``) and the
            spikes of each hidden neuron layer (``l >= 1``), as emitted at each step.
        layers: ``L`` linear maps ``W_l`` from ``shape_l`` to ``shape_{l+1}``; the last one ends
            in ``(C,)``.
        betas: ``L`` membrane decays per step.
        scores: output class scores at the explained (last) step ``[B, C]``.
    """

    layer_inputs: list[torch.Tensor]
    layers: list[LayerMap]
    betas: list[float]
    scores: torch.Tensor

    def __post_init__(self) -> None:
        n_layers = len(self.layers)
        if n_layers == 0:
            raise ExplanationError("a recording needs at least one weight layer")
        if len(self.layer_inputs) != n_layers or len(self.betas) != n_layers:
            raise ExplanationError(
                f"a recording needs one input-spike tensor and one beta per weight layer; got "
                f"{len(self.layer_inputs)} spike tensors, {len(self.betas)} betas and "
                f"{n_layers} layers"
            )
        batch, steps = self.layer_inputs[0].shape[:2]
        for index, (spikes, layer) in enumerate(zip(self.layer_inputs, self.layers, strict=True)):
            if tuple(spikes.shape) != (batch, steps, *layer.in_shape):
                raise ExplanationError(
                    f"layer_inputs[{index}] must have shape [B={batch}, T={steps}, "
                    f"*{list(layer.in_shape)}] (what layers[{index}] takes); got "
                    f"{tuple(spikes.shape)}"
                )
            if index + 1 < n_layers and layer.out_shape != self.layers[index + 1].in_shape:
                raise ExplanationError(
                    f"layers[{index}] gives {list(layer.out_shape)} but layers[{index + 1}] "
                    f"takes {list(self.layers[index + 1].in_shape)}"
                )
        if len(self.layers[-1].out_shape) != 1:
            raise ExplanationError(
                f"the last layer must give one score per class; it gives "
                f"{list(self.layers[-1].out_shape)}"
            )
        self._check_betas()
        check_scores(self.scores, batch, self.n_classes)

    @property
    def n_classes(self) -> int:
        """``C``."""
        return int(self.layers[-1].out_shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input step."""
        return self.layers[0].in_shape


@runtime_checkable
class RecordableNetwork(Protocol):
    """A network that records what TSA needs; adapters for other frameworks implement this."""

    def record_spikes(self, spikes: torch.Tensor) -> SpikeRecording | MapRecording:
        """Run on ``spikes [B, T, n_0]`` (or ``[B, T, *shape]``) from zero state and record
        every layer."""
        ...
