"""What TSA needs from a feed-forward spiking network, recorded over one input window.

Any network that can fill a :class:`SpikeRecording` can be explained: per weight layer ``l`` the
spikes entering it ``[B, T, n_l]`` (``l = 0`` is the input), its weight matrix
``W_l [n_l, n_{l+1}]`` and its membrane decay ``beta_l``; and the output-layer class scores at
the explained step ``[B, C]``. :class:`~spikeattr.snn.network.LIFNetwork` records natively
(:func:`record_network`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from spikeattr.errors import ExplanationError


@dataclass
class SpikeRecording:
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
        for index, beta in enumerate(self.betas):
            if not 0.0 < beta < 1.0:
                raise ExplanationError(f"betas[{index}] must lie in (0, 1); got {beta}")
        if self.scores.shape != (batch, self.weights[-1].shape[1]):
            raise ExplanationError(
                f"scores must have shape [B={batch}, C={self.weights[-1].shape[1]}]; got "
                f"{tuple(self.scores.shape)}"
            )

    @property
    def batch_size(self) -> int:
        """``B``."""
        return int(self.layer_inputs[0].shape[0])

    @property
    def n_steps(self) -> int:
        """``T``."""
        return int(self.layer_inputs[0].shape[1])

    @property
    def n_classes(self) -> int:
        """``C``."""
        return int(self.weights[-1].shape[1])


@runtime_checkable
class RecordableNetwork(Protocol):
    """A network that records what TSA needs; adapters for other frameworks implement this."""

    def record_spikes(self, spikes: torch.Tensor) -> SpikeRecording:
        """Run on ``spikes [B, T, n_0]`` from zero state and record every layer."""
        ...
