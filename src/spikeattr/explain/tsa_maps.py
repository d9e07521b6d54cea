"""TSA for networks whose weight layers are linear maps of any kind (convolutions, pooling).

The formula is SPEC 4's, ``A[c, :, t] = (D_0(t) W_0 D_1(t) W_1 ... W_{L-1} diag(p))[:, c]``, read
as linear maps: for class ``c`` and step ``t``, start from ``p_c e_c`` at the output, apply each
layer's transpose ``W_l^T`` (:class:`~spikeattr.explain.linear_maps.LayerMap`) from the last
layer down and multiply elementwise by the diagonal ``d_l(t)`` of the layer below::

    v_L     = p * e_c
    v_l     = d_l(t) * W_l^T v_{l+1}          (l = L-1 .. 0)
    A[c, :, t] = decay(t) * v_0,    decay(t) = prod_l beta_l^(T-t)

All classes and the steps of a chunk go through each transpose as one batch (``[B, C, K,
*shape]``); the steps of the support are cut into chunks so that no intermediate holds more than
``chunk_elements`` numbers. ``d_l`` is as for dense networks (1 for a unit that spiked, 0 or
``-1/n_l`` otherwise, ``n_l`` the number of units of layer ``l``); SAM sets every learned weight
to one and keeps pooling as it is. A network of :class:`~spikeattr.explain.linear_maps.DenseOp`
layers gives exactly the dense product of :func:`~spikeattr.explain.tsa.propagate`.

:func:`spikeattr.explain.tsa.attribute_recording` hands a :class:`MapRecording` to
:func:`attribute_maps`, and :func:`~spikeattr.explain.tsa.record_network` a convolutional
network to :func:`record_conv_network`; this module imports only what both share
(:mod:`spikeattr.explain.attribution`), never :mod:`spikeattr.explain.tsa`.
"""

from __future__ import annotations

from typing import Any

import torch

from spikeattr.errors import ExplanationError
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
from spikeattr.explain.linear_maps import (
    AvgPoolOp,
    ConvOp,
    DenseOp,
    FlattenOp,
    LayerMap,
    LinearOp,
    MaxPoolOp,
    numel,
)
from spikeattr.explain.recording import MapRecording

#: Largest number of elements of one intermediate of the batched transposes (a chunk of steps).
CHUNK_ELEMENTS = 1 << 24


def unit_factors(spikes: torch.Tensor, variant: str) -> torch.Tensor:
    """The diagonal of ``D_l`` without the decay, for spikes ``[B, K, *shape]``: 1 where a unit
    spiked, else 0 (``s``, ``sam``) or ``-1/n_l`` (``ns``, ``n_l`` = units of the layer)."""
    fired = (spikes > 0).to(spikes.dtype)
    if variant == "ns":
        n = numel(tuple(spikes.shape[2:]))
        return fired * (1.0 + 1.0 / n) - 1.0 / n
    return fired


def chunk_steps(recording: MapRecording, support: int, chunk_elements: int) -> int:
    """Steps per chunk so that the largest intermediate stays under ``chunk_elements``."""
    per_step = recording.batch_size * recording.n_classes
    per_step *= max(max(layer.work_per_step(), numel(layer.in_shape)) for layer in recording.layers)
    return max(1, min(support, chunk_elements // max(1, per_step)))


def attribute_maps(
    recording: MapRecording,
    variant: str = "s",
    target: Target = None,
    dtype: torch.dtype | None = None,
    tolerance: float | None = None,
    chunk_elements: int = CHUNK_ELEMENTS,
) -> Attribution:
    """TSA of the last step of a recorded window: ``values [B, C, *input_shape, T]``."""
    if variant not in VARIANTS:
        raise ExplanationError(f"unknown variant {variant!r}; choose one of {list(VARIANTS)}")
    dtype = check_dtype(dtype)
    if chunk_elements < 1:
        raise ExplanationError(f"chunk_elements must be at least 1; got {chunk_elements}")
    n_steps = recording.n_steps
    scores = recording.scores.to(dtype)
    device = scores.device
    probs = torch.softmax(scores, dim=-1)
    predicted = probs.argmax(dim=-1)
    chosen = resolve_target(target, predicted, recording.n_classes)
    in_log_space = keeps_tails(dtype, tolerance)
    support = (
        n_steps if in_log_space else support_length(recording.betas, n_steps, dtype, tolerance)
    )
    batch, n_classes = recording.batch_size, recording.n_classes
    values = torch.zeros(
        batch, n_classes, *recording.input_shape, n_steps, dtype=dtype, device=device
    )
    if support > 0:
        layers = [
            (layer.ones() if variant == "sam" else layer).to(dtype) for layer in recording.layers
        ]
        start = n_steps - support
        back = torch.arange(support, 0, -1, dtype=torch.float64, device=device)
        exponents = decay_exponents(recording.betas) * back  # [K]
        decay = torch.exp(-exponents).to(dtype)
        # p_c e_c for every class: [B, C, 1, C], the same for every step
        top = torch.diag_embed(probs).unsqueeze(2)
        size = chunk_steps(recording, support, chunk_elements)
        for first in range(start, n_steps, size):
            steps = slice(first, min(first + size, n_steps))
            grad = top
            for index in range(len(layers) - 1, -1, -1):
                grad = layers[index].transpose(grad, steps)
                spikes = recording.layer_inputs[index][:, steps].to(dtype)
                factors = unit_factors(spikes, variant).unsqueeze(1)  # [B, 1, K, *shape]
                if index == 0 and not in_log_space:  # the paper's float32
                    chunk_decay = decay[steps.start - start : steps.stop - start]
                    factors = factors * chunk_decay.view(1, 1, -1, *([1] * (factors.ndim - 3)))
                grad = grad * factors
            chunk = grad.movedim(2, -1)
            if in_log_space:
                chunk = apply_decay(chunk, exponents[steps.start - start : steps.stop - start])
            values[..., steps] = chunk
    return Attribution(
        values=values,
        probs=probs,
        predicted=predicted,
        target=chosen,
        variant=variant,
        support=support,
    )


def network_layers(model: Any, pooled: dict[int, torch.Tensor]) -> list[LayerMap]:
    """The weight layers of a :class:`~spikeattr.snn.conv_network.ConvLIFNetwork` as linear
    maps; ``pooled[i]`` holds the values max pooling ``i`` of ``model.layers`` saw,
    ``[B, T, *shape]``."""
    from spikeattr.snn.conv_layers import Conv, Flatten, Linear, Pool

    maps: list[LayerMap] = []
    ops: list[LinearOp] = []
    shape = tuple(model.input_shape)
    weights = iter(model.weights)
    for position, (spec, out_shape) in enumerate(zip(model.layers, model.shapes, strict=True)):
        op: LinearOp | None = None
        if isinstance(spec, Conv):
            op = ConvOp(
                next(weights).detach(),
                shape,
                spec.stride,
                tuple((p, p) for p in spec.padding),
                spec.dilation,
                spec.groups,
            )
        elif isinstance(spec, Linear):
            op = DenseOp(next(weights).detach())
        elif isinstance(spec, Flatten):
            op = FlattenOp(shape)
        elif isinstance(spec, Pool) and spec.mode == "avg":
            op = AvgPoolOp(shape, spec.kernel, spec.stride, (0,) * len(spec.kernel))
        elif isinstance(spec, Pool):
            zeros = (0,) * len(spec.kernel)
            op = MaxPoolOp(pooled[position], spec.kernel, spec.stride, zeros, (1,) * len(zeros))
        if op is not None:
            ops.append(op)
        else:  # a neuron layer closes the weight layer
            maps.append(LayerMap(ops))
            ops = []
        shape = tuple(out_shape)
    return maps


def record_conv_network(model: Any, spikes: torch.Tensor) -> MapRecording:
    """Run a :class:`~spikeattr.snn.conv_network.ConvLIFNetwork` on ``spikes [B, T, *shape]``
    (or flattened ``[B, T, n_in]``) from zero state and record what TSA needs."""
    with torch.no_grad():
        trace = model.record(spikes)
    dtype = model.weights[0].dtype
    layers = network_layers(model, trace.pooled)
    inputs = [trace.inputs.to(dtype), *trace.layer_spikes[:-1]]
    return MapRecording(inputs, layers, [model.beta] * len(layers), trace.membrane[:, -1])
