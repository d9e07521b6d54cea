"""The Spike Activation Map of Kim & Panda (2021), for dense feed-forward networks.

Y. Kim and P. Panda, "Visual explanations from spiking neural networks using inter-spike
intervals", Scientific Reports 11, 19037 (2021), doi:10.1038/s41598-021-98448-0
(arXiv:2103.14441). Not to be confused with the ``"sam"`` variant of
:mod:`spikeattr.explain.tsa`, which is the TSA authors' adaptation (TSA-S with all weights one).

Kim & Panda score every spiking neuron ``k`` at step ``t`` by its *neuron contribution score*,
the sum over its previous spikes at steps ``t' < t`` of an exponential kernel of the interval::

    NCS_k(t) = sum_{t' < t, s_k(t') = 1} exp(-gamma (t - t'))

so a neuron that fires in quick succession scores high. The map of a layer at step ``t`` is the
NCS of the neurons spiking at ``t``, summed over the channels sharing a spatial position::

    M(t) = sum_k NCS_k(t) * s_k(t)

In a dense network there is no spatial grid shared by the channels of a layer: each neuron is
its own position, so the map of a layer is ``M_i(t) = NCS_i(t) s_i(t)`` per neuron ``i``. The
explanation over the inputs (``values [B, C, n_in, T]``) is the map of the input layer, whose
"neurons" are the input channels: ``values[b, c, i, t] = NCS_i(t) s_i(t)`` for input spikes
``s``. It is label-free, as in the paper: every class gets the same map, and it depends on the
input spikes only (the model provides the prediction, ``probs`` and the maps of hidden layers,
:meth:`KimPandaSAM.layer_maps`, which live on hidden neurons and cannot be drawn over the inputs
without weights). The NCS obeys ``NCS(t) = exp(-gamma) (NCS(t-1) + s(t-1))``, ``NCS(0) = 0``
(computed in chunks of steps, one matrix product each: :func:`neuron_contribution`).
``include_current=True`` also counts the spike at ``t`` itself (``t' <= t``), adding
``s_i(t)`` to every spiking entry.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.tsa import (
    Attribution,
    Target,
    check_dtype,
    check_spikes,
    record_network,
    resolve_target,
)

VARIANT = "kim_panda_sam"


def neuron_contribution(
    spikes: torch.Tensor, gamma: float = 0.5, include_current: bool = False, chunk: int = 256
) -> torch.Tensor:
    """Kim & Panda's NCS of every neuron at every step, ``[B, T, n]`` like ``spikes``.

    ``NCS_i(t) = sum_{t' < t} s_i(t') exp(-gamma (t - t'))`` (``t' <= t`` with
    ``include_current``), for binary ``spikes [B, T, n]``.

    Computed ``chunk`` steps at a time: within a chunk starting at ``t0``,
    ``NCS(t0 + k) = sum_{j < k} exp(-gamma (k - j)) s(t0 + j) + exp(-gamma (k + 1)) carry`` with
    ``carry = NCS(t0 - 1) + s(t0 - 1)``, one matrix product per chunk (sums of positive terms:
    no cancellation).
    """
    if not (math.isfinite(gamma) and gamma >= 0):
        raise ExplanationError(f"gamma must be a finite number >= 0; got {gamma!r}")
    fired = (spikes > 0).to(spikes.dtype if spikes.is_floating_point() else torch.float32)
    batch, steps, width = fired.shape
    size = max(1, min(chunk, steps))
    lag = torch.arange(size, dtype=torch.float64)
    gap = lag[:, None] - lag[None, :]  # k - j
    kernel = torch.where(gap > 0, torch.exp(-gamma * gap.clamp(min=0)), 0.0)  # [k, j], j < k
    kernel = kernel.to(fired.dtype).to(fired.device)
    carry_decay = torch.exp(-gamma * (lag + 1)).to(fired.dtype).to(fired.device)  # [k]
    scores = torch.empty_like(fired)
    carry = fired.new_zeros(batch, 1, width)
    for start in range(0, steps, size):
        block = fired[:, start : start + size]  # [B, K, n]
        length = block.shape[1]
        within = torch.matmul(kernel[:length, :length], block)
        scores[:, start : start + length] = within + carry_decay[:length, None] * carry
        carry = scores[:, start + length - 1 : start + length] + block[:, -1:]
    return scores + fired if include_current else scores


def spike_activation_map(
    spikes: torch.Tensor, gamma: float = 0.5, include_current: bool = False
) -> torch.Tensor:
    """The map ``M_i(t) = NCS_i(t) s_i(t)`` of one dense layer, ``[B, n, T]`` (neuron-major)."""
    fired = (spikes > 0).to(spikes.dtype if spikes.is_floating_point() else torch.float32)
    return (neuron_contribution(fired, gamma, include_current) * fired).transpose(1, 2)


class KimPandaSAM:
    """Kim & Panda's spike activation map over the inputs, as an :class:`Attribution`.

    See the module documentation for the definition. Works with any model TSA can record
    (a :class:`~spikeattr.snn.network.LIFNetwork` or an adapter).

    Args:
        model: the network whose prediction is explained.
        gamma: decay of the inter-spike-interval kernel per step (default 0.5).
        include_current: count the spike at ``t`` in its own score (``t' <= t``).

    Examples:
        >>> from spikeattr.snn import load_model
        >>> model = load_model("published:synthetic_1L")
        >>> result = KimPandaSAM(model).attribute(torch.ones(1, 4, 3))
        >>> [round(v, 4) for v in result.values[0, 0, 0].tolist()]  # exp(-.5), + exp(-1), ...
        [0.0, 0.6065, 0.9744, 1.1975]
    """

    def __init__(self, model: Any, gamma: float = 0.5, include_current: bool = False) -> None:
        if not (isinstance(gamma, (int, float)) and math.isfinite(gamma) and gamma >= 0):
            raise ExplanationError(f"gamma must be a finite number >= 0; got {gamma!r}")
        self.model = model
        self.gamma = float(gamma)
        self.include_current = include_current

    def attribute(
        self, spikes: torch.Tensor, target: Target = None, dtype: torch.dtype | None = None
    ) -> Attribution:
        """The map of the input layer for each window of ``spikes [B, T, n_in]``.

        ``dtype`` is the precision of the map (float64 by default; in float32 a spike after
        more than about ``87 / gamma`` silent steps gets exactly 0).

        Returns:
            :class:`Attribution` with ``values [B, C, n_in, T]``, the same map for every class.
        """
        recording = record_network(self.model, spikes)
        dtype = check_dtype(dtype)
        probs = torch.softmax(recording.scores.to(dtype), dim=-1)
        predicted = probs.argmax(dim=-1)
        chosen = resolve_target(target, predicted, recording.n_classes)
        inputs = recording.layer_inputs[0].to(dtype).flatten(2)  # shaped inputs: one per unit
        heat = spike_activation_map(inputs, self.gamma, self.include_current)  # [B, n_in, T]
        values = heat.unsqueeze(1).expand(-1, recording.n_classes, -1, -1)
        values = values.reshape(*values.shape[:2], *spikes.shape[2:], -1).contiguous()
        return Attribution(
            values=values,
            probs=probs,
            predicted=predicted,
            target=chosen,
            variant=VARIANT,
            support=recording.n_steps,
        )

    def layer_maps(self, spikes: torch.Tensor) -> list[torch.Tensor]:
        """The map of the input and of every hidden layer, ``[B, n_l, T]`` each (``l < L``;
        shaped layers flattened)."""
        check_spikes(spikes)
        recording = record_network(self.model, spikes)
        return [
            spike_activation_map(layer.flatten(2), self.gamma, self.include_current)
            for layer in recording.layer_inputs
        ]
