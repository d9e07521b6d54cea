"""Temporal Spike Attribution (TSA-S, TSA-NS) and the SAM baseline, exact and vectorised (SPEC 4).

For a prediction at the last step ``T-1`` of a window, with ``p`` the softmax of the output
scores at ``T-1``, ``S_0`` the input spikes and ``S_l`` the spikes of hidden layer ``l``, every
past step ``t`` and weight layer ``l`` get a diagonal matrix ``D_l(t)``:

* TSA-S:  ``D_l(t)[i, i] = beta^(T-t)`` if neuron ``i`` of layer ``l`` spiked at ``t``, else 0;
* TSA-NS: as TSA-S, but a silent neuron gets ``-(1/n_l) beta^(T-t)``;
* SAM:    TSA-S with every ``W_l`` replaced by ones (the TSA authors' adaptation of the
  spike activation map);

and ``A[c, i, t] = (D_0(t) W_0 D_1(t) W_1 ... D_{L-1}(t) W_{L-1} diag(p))[i, c]``.

Every factor carries ``beta^(T-t)``, so ``A[:, :, t] = beta^(L (T-t)) B(t) diag(p)`` with
``B(t) = d_0(t) * (W_0 diag(d_1(t)) W_1 ... W_{L-1})`` independent of ``T``: one batched
right-to-left product over all steps at once. With layer-specific decays the factor is
``prod_l beta_l^(T-t)``.

**Precision.** The algebra runs in float64 by default, over every step of the window, and the
decay is applied in log space: ``A = sign(B) exp(log|B| - L (T-t) log(1/beta))``. So a cell is 0
only where ``B`` is 0 or where the value itself lies below float64's smallest subnormal number
(about ``e^-745``). ``dtype=torch.float32`` is the paper's precision, kept for its reproduction:
the decay reaches float32's smallest normal number after ``87 / L`` steps for fast membranes
(``beta = e^-1``), so only the steps where it is representable are computed and the map is
exactly zero before (the *effective support*). An explicit ``tolerance`` truncates the same way
in either dtype.

The result, :class:`~spikeattr.explain.attribution.Attribution`, and the helpers the dense and
the map computations share (variants, target, precision, decay) live in
:mod:`spikeattr.explain.attribution` and are importable from here too; networks recorded as
linear maps (:class:`~spikeattr.explain.recording.MapRecording`) go to
:mod:`spikeattr.explain.tsa_maps`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from spikeattr.errors import ExplanationError

# the result and the helpers that dense and map TSA share live in attribution, which tsa_maps
# imports too; they keep their paths here (from spikeattr.explain.tsa import Attribution, ...)
from spikeattr.explain.attribution import DEFAULT_DTYPE as DEFAULT_DTYPE
from spikeattr.explain.attribution import (
    VARIANTS,
    Attribution,
    Target,
    apply_decay,
    check_dtype,
    decay_exponents,
    keeps_tails,
    resolve_target,
    support_length,
)
from spikeattr.explain.attribution import Variant as Variant
from spikeattr.explain.recording import MapRecording, RecordableNetwork, SpikeRecording
from spikeattr.explain.tsa_maps import attribute_maps, record_conv_network


def check_spikes(
    spikes: torch.Tensor, n_inputs: int | None = None, input_shape: Sequence[int] | None = None
) -> None:
    """Raise :class:`ExplanationError` unless ``spikes`` is a binary ``[B, T, n_in]`` tensor.

    With ``input_shape`` (a network with shaped inputs), ``[B, T, *input_shape]`` and the
    flattened ``[B, T, n_in]`` are accepted; with neither ``n_inputs`` nor ``input_shape``, any
    ``[B, T, ...]``.
    """
    if not isinstance(spikes, torch.Tensor):
        raise ExplanationError(
            f"spikes must be a torch.Tensor [B, T, n_in]; got {type(spikes).__name__}"
        )
    shaped = input_shape is not None and tuple(spikes.shape[2:]) == tuple(input_shape)
    if spikes.ndim != 3 and not shaped and (spikes.ndim < 3 or n_inputs is not None):
        raise ExplanationError(
            f"spikes must have shape [B, T, n_in] (batch first); got {tuple(spikes.shape)}"
            + (" — add a batch dimension with spikes.unsqueeze(0)" if spikes.ndim == 2 else "")
        )
    if input_shape is not None and not shaped and spikes.shape[2:] != (math.prod(input_shape),):
        raise ExplanationError(
            f"spikes must have shape [B, T, {', '.join(map(str, input_shape))}] or flattened "
            f"[B, T, {math.prod(input_shape)}] (the model's input); got {tuple(spikes.shape)}"
        )
    if n_inputs is not None and spikes.shape[2] != n_inputs:
        raise ExplanationError(
            f"spikes has {spikes.shape[2]} inputs in its last dimension; the model has "
            f"{n_inputs} (shape must be [B, T, {n_inputs}])"
        )
    if spikes.shape[1] == 0:
        raise ExplanationError("spikes has no time steps (T = 0); nothing to explain")
    if spikes.is_complex() or not (
        spikes.dtype.is_floating_point
        or spikes.dtype
        in (torch.bool, torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64)
    ):
        raise ExplanationError(f"spikes must be a real or integer tensor; got {spikes.dtype}")
    if spikes.dtype != torch.bool and not bool(((spikes == 0) | (spikes == 1)).all()):
        bad = spikes[(spikes != 0) & (spikes != 1)]
        raise ExplanationError(
            f"spikes must be binary (0 or 1); found {bad.numel()} other values, e.g. "
            f"{bad.flatten()[0].item()!r}"
        )


def record_network(model: Any, spikes: torch.Tensor) -> SpikeRecording | MapRecording:
    """Run ``model`` on ``spikes [B, T, n_in]`` (or ``[B, T, *shape]``) from zero state and
    record what TSA needs."""
    from spikeattr.snn.conv_network import ConvLIFNetwork
    from spikeattr.snn.network import LIFNetwork

    if isinstance(model, ConvLIFNetwork):
        check_spikes(spikes, input_shape=model.input_shape)
        return record_conv_network(model, spikes)
    if isinstance(model, LIFNetwork):
        check_spikes(spikes, model.layer_sizes[0])
        with torch.no_grad():
            out = model(spikes)
        weights = [w.detach() for w in model.weights]
        inputs = [spikes.to(weights[0].dtype), *out.layer_spikes]
        return SpikeRecording(inputs, weights, [model.beta] * model.n_layers, out.membrane[:, -1])
    if isinstance(model, RecordableNetwork):
        check_spikes(spikes)
        return model.record_spikes(spikes)
    raise ExplanationError(
        f"cannot explain a {type(model).__name__}: TSA needs a spikeattr LIFNetwork or a model "
        "with record_spikes(spikes) -> SpikeRecording (see spikeattr.explain.recording)"
    )


def layer_factors(spikes: torch.Tensor, variant: str) -> torch.Tensor:
    """The diagonal of ``D_l(t)`` without the decay, same shape as ``spikes``.

    ``s``/``sam``: 1 where the neuron spiked, else 0. ``ns``: 1 where it spiked, else ``-1/n_l``
    (``n_l`` = the size of the last dimension).
    """
    fired = (spikes > 0).to(spikes.dtype)
    if variant == "ns":
        n = spikes.shape[-1]
        return fired * (1.0 + 1.0 / n) - 1.0 / n
    return fired


def propagate(
    factors: Sequence[torch.Tensor], weights: Sequence[torch.Tensor], last: torch.Tensor | None
) -> torch.Tensor:
    """``B(t) = d_0(t) * (W_0 diag(d_1(t)) W_1 ... W_{L-1})`` for all steps: ``[B, C, n_0, K]``.

    Computed right to left, class-major, so that every product is one batched matrix product
    ``W_{l-1} [n_{l-1}, n_l] @ [B, C, n_l, K]`` and the result needs no transposition.

    Args:
        factors: ``L`` tensors ``[B, n_l, K]`` (the diagonals of ``D_l``, step-minor).
        weights: ``L`` matrices ``W_l [n_l, n_{l+1}]``.
        last: optional ``[B, n_{L-1}, C]`` replacing ``W_{L-1}`` (e.g. ``W_{L-1} diag(p)``).
    """
    right = last if last is not None else weights[-1].unsqueeze(0)
    product = right.transpose(1, 2).unsqueeze(-1)  # [B, C, n_{L-1}, 1]
    for layer in range(len(weights) - 1, 0, -1):
        product = torch.matmul(weights[layer - 1], factors[layer].unsqueeze(1) * product)
    return factors[0].unsqueeze(1) * product


def attribute_recording(
    recording: SpikeRecording | MapRecording,
    variant: str = "s",
    target: Target = None,
    dtype: torch.dtype | None = None,
    tolerance: float | None = None,
) -> Attribution:
    """TSA of the last step of a recorded window; see the module docstring for the formula.

    A :class:`MapRecording` (convolutions, pooling, shaped layers) is explained by
    :func:`spikeattr.explain.tsa_maps.attribute_maps`.
    """
    if isinstance(recording, MapRecording):
        return attribute_maps(recording, variant, target, dtype, tolerance)
    if variant not in VARIANTS:
        raise ExplanationError(f"unknown variant {variant!r}; choose one of {list(VARIANTS)}")
    dtype = check_dtype(dtype)
    n_steps = recording.n_steps
    scores = recording.scores.to(dtype)
    probs = torch.softmax(scores, dim=-1)
    predicted = probs.argmax(dim=-1)
    chosen = resolve_target(target, predicted, recording.n_classes)
    in_log_space = keeps_tails(dtype, tolerance)
    support = (
        n_steps if in_log_space else support_length(recording.betas, n_steps, dtype, tolerance)
    )
    batch = recording.batch_size
    n_inputs = recording.layer_inputs[0].shape[-1]
    values = torch.zeros(
        batch, recording.n_classes, n_inputs, n_steps, dtype=dtype, device=scores.device
    )
    if support > 0:
        start = n_steps - support
        back = torch.arange(support, 0, -1, dtype=torch.float64, device=scores.device)
        factors = [
            layer_factors(s[:, start:].to(dtype), variant).transpose(1, 2)  # [B, n_l, K]
            for s in recording.layer_inputs
        ]
        if not in_log_space:  # the paper's float32: the decay of all layers at once
            factors[0] = factors[0] * torch.exp(-decay_exponents(recording.betas) * back).to(dtype)
        weights = [
            torch.ones_like(w, dtype=dtype) if variant == "sam" else w.to(dtype)
            for w in recording.weights
        ]
        last = weights[-1].unsqueeze(0) * probs.unsqueeze(1)  # W_{L-1} diag(p): [B, n, C]
        product = propagate(factors, weights, last)
        if in_log_space:
            product = apply_decay(product, decay_exponents(recording.betas) * back)
        values[..., start:] = product
    return Attribution(
        values=values,
        probs=probs,
        predicted=predicted,
        target=chosen,
        variant=variant,
        support=support,
    )


class TemporalSpikeAttribution:
    """Temporal Spike Attribution of a spiking network's prediction at the last input step.

    Captum's call shape: the constructor takes the model, :meth:`attribute` the data.

    Args:
        model: a :class:`~spikeattr.snn.network.LIFNetwork`, or any model with
            ``record_spikes(spikes) -> SpikeRecording``.
        variant: ``"s"`` (TSA-S, spikes only), ``"ns"`` (TSA-NS, silent neurons count
            negatively) or ``"sam"`` (the SAM baseline).
        tolerance: decay below which past steps are set to 0 (default: none in float64, the
            default precision; the dtype's smallest normal number otherwise).

    Examples:
        >>> from spikeattr.snn import load_model
        >>> model = load_model("published:synthetic_1L")
        >>> spikes = torch.ones(1, 100, 3)
        >>> result = TemporalSpikeAttribution(model, variant="ns").attribute(spikes)
        >>> tuple(result.values.shape)  # [B, C, n_in, T]
        (1, 4, 3, 100)
    """

    def __init__(self, model: Any, variant: str = "s", tolerance: float | None = None) -> None:
        if variant not in VARIANTS:
            raise ExplanationError(f"unknown variant {variant!r}; choose one of {list(VARIANTS)}")
        self.model = model
        self.variant = variant
        self.tolerance = tolerance

    def attribute(
        self, spikes: torch.Tensor, target: Target = None, dtype: torch.dtype | None = None
    ) -> Attribution:
        """Explain the prediction at the last step of each window of ``spikes [B, T, n_in]``
        (``[B, T, *shape]`` for a network with shaped inputs, e.g. ``[B, T, 2, 34, 34]``).

        Each window is run from zero state. ``target=None`` explains the predicted class; an int
        or one index per sample picks other classes. ``dtype`` sets the precision of the
        attribution algebra (the forward pass stays in the model's dtype): float64 by default,
        every step kept; ``torch.float32`` is the paper's, truncated where the decay underflows.

        Returns:
            :class:`Attribution` with ``values [B, C, n_in, T]`` (``[B, C, *shape, T]``: the
            maps are laid out like the spikes).
        """
        recording = record_network(self.model, spikes)
        result = attribute_recording(recording, self.variant, target, dtype, self.tolerance)
        if tuple(result.values.shape[2:-1]) != tuple(spikes.shape[2:]):
            # a shaped network given flattened spikes: maps laid out like the spikes
            result.values = result.values.reshape(
                *spikes.shape[:1], -1, *spikes.shape[2:], spikes.shape[1]
            )
        return result


TSA = TemporalSpikeAttribution
