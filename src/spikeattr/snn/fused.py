"""One LIF layer over all time steps as one autograd operation, forward and backward compiled.

:func:`lif_layer_fused` computes exactly what :func:`spikeattr.snn.lif.lif_layer_torch` computes
(the same numbers: the forward is the inference kernel of :mod:`spikeattr.snn.kernels`) and the
same gradients, without one Python iteration and one autograd node per time step. With input
currents ``I[t]`` and ``r[t] = 1 - s[t]`` (the reset factor, treated as a constant)::

    s[t]   = H(mem[t-1] - theta)
    syn[t] = alpha * syn[t-1] + I[t]
    mem[t] = (beta * mem[t-1] + syn[t]) * r[t]

the backward pass runs the adjoint recursion from ``t = T-1`` down to ``0``. With ``M`` the
adjoint of ``mem[t]`` and ``S`` the adjoint of ``syn[t]`` (both start from the gradients of the
final state)::

    M     += dL/dmem[t]                       # the recorded membrane is an output
    G      = M * r[t]
    S     += G
    dL/dI[t] = S
    M      = beta * G + dL/ds[t] * sigma'(mem[t-1] - theta)
    S      = alpha * S

with the surrogate derivative ``sigma'(x) = 1 / (100 |x| + 1)^2``. After step 0, ``M`` and ``S``
are the gradients with respect to the initial state ``mem[-1]`` and ``syn[-1]``, so state
carried in from a previous window is differentiable too (training detaches it anyway).

Only the membrane trace is kept for the backward pass (``[B, T, n]``); spikes and reset factors
are recomputed from it.

:func:`fused_nll_loss` is the training loss in one compiled pass: the NLL of the per-step
log-softmax of the output membrane, averaged over the labelled steps, with its gradient
``(softmax - onehot) / n_labelled`` computed in the same pass (in the scores' dtype, summed
over rows in float64).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import torch
from torch.autograd.function import once_differentiable

from spikeattr.snn.kernels import _lif_layer_kernel
from spikeattr.snn.lif import SURROGATE_SCALE, LIFState

FUSED_DTYPES = (torch.float32, torch.float64)


@numba.njit(cache=True, nogil=True)
def _lif_layer_backward_kernel(
    membrane: np.ndarray,
    mem0: np.ndarray,
    grad_spikes: np.ndarray,
    grad_membrane: np.ndarray,
    grad_syn_final: np.ndarray,
    grad_mem_final: np.ndarray,
    alpha: np.floating,
    beta: np.floating,
    threshold: np.floating,
    scale: np.floating,
    grad_currents: np.ndarray,
    grad_syn0: np.ndarray,
    grad_mem0: np.ndarray,
) -> None:
    batch, steps, n = membrane.shape
    one = scale / scale
    zero = scale - scale
    adj_mem = np.empty(n, dtype=membrane.dtype)
    adj_syn = np.empty(n, dtype=membrane.dtype)
    for b in range(batch):
        for j in range(n):
            adj_mem[j] = grad_mem_final[b, j]
            adj_syn[j] = grad_syn_final[b, j]
        for t in range(steps - 1, -1, -1):
            for j in range(n):
                previous = membrane[b, t - 1, j] if t > 0 else mem0[b, j]
                x = previous - threshold
                fired = x > 0
                total = adj_mem[j] + grad_membrane[b, t, j]
                through = zero if fired else total
                syn_adj = adj_syn[j] + through
                grad_currents[b, t, j] = syn_adj
                denominator = scale * abs(x) + one
                adj_mem[j] = beta * through + grad_spikes[b, t, j] / (denominator * denominator)
                adj_syn[j] = alpha * syn_adj
        for j in range(n):
            grad_mem0[b, j] = adj_mem[j]
            grad_syn0[b, j] = adj_syn[j]


def _as_array(tensor: torch.Tensor) -> np.ndarray:
    array: np.ndarray = tensor.detach().contiguous().numpy()
    return array


class FusedLIFLayer(torch.autograd.Function):
    """Autograd function: ``(currents, syn0, mem0) -> (spikes, membrane, syn_T, mem_T)``.

    Shapes: ``currents [B, T, n]``; ``syn0``, ``mem0``, ``syn_T``, ``mem_T`` ``[B, n]``;
    ``spikes``, ``membrane`` ``[B, T, n]``. CPU tensors of dtype float32 or float64.
    ``alpha``, ``beta`` and ``threshold`` are constants (no gradient).
    """

    @staticmethod
    def forward(
        ctx: Any,
        currents: torch.Tensor,
        syn0: torch.Tensor,
        mem0: torch.Tensor,
        alpha: float,
        beta: float,
        threshold: float,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        cast = _as_array(currents).dtype.type
        syn = _as_array(syn0).copy()
        mem = _as_array(mem0).copy()
        current_array = _as_array(currents)
        spikes = np.empty_like(current_array)
        membrane = np.empty_like(current_array)
        _lif_layer_kernel(
            current_array, syn, mem, cast(alpha), cast(beta), cast(threshold), spikes, membrane
        )
        membrane_t = torch.from_numpy(membrane)
        ctx.save_for_backward(membrane_t, mem0.detach())
        ctx.constants = (alpha, beta, threshold)
        return torch.from_numpy(spikes), membrane_t, torch.from_numpy(syn), torch.from_numpy(mem)

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any,
        grad_spikes: torch.Tensor,
        grad_membrane: torch.Tensor,
        grad_syn_final: torch.Tensor,
        grad_mem_final: torch.Tensor,
    ) -> tuple[torch.Tensor | None, ...]:
        membrane, mem0 = ctx.saved_tensors
        alpha, beta, threshold = ctx.constants
        membrane_array = _as_array(membrane)
        cast = membrane_array.dtype.type
        grad_currents = np.empty_like(membrane_array)
        grad_syn0 = np.empty(mem0.shape, dtype=membrane_array.dtype)
        grad_mem0 = np.empty(mem0.shape, dtype=membrane_array.dtype)
        _lif_layer_backward_kernel(
            membrane_array,
            _as_array(mem0),
            _as_array(grad_spikes),
            _as_array(grad_membrane),
            _as_array(grad_syn_final),
            _as_array(grad_mem_final),
            cast(alpha),
            cast(beta),
            cast(threshold),
            cast(SURROGATE_SCALE),
            grad_currents,
            grad_syn0,
            grad_mem0,
        )
        needs = ctx.needs_input_grad
        return (
            torch.from_numpy(grad_currents) if needs[0] else None,
            torch.from_numpy(grad_syn0) if needs[1] else None,
            torch.from_numpy(grad_mem0) if needs[2] else None,
            None,
            None,
            None,
        )


def fused_supported(currents: torch.Tensor) -> bool:
    """Whether :func:`lif_layer_fused` can run on ``currents`` (CPU, float32 or float64)."""
    return currents.device.type == "cpu" and currents.dtype in FUSED_DTYPES


def lif_layer_fused(
    currents: torch.Tensor, state: LIFState, alpha: float, beta: float, threshold: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, LIFState]:
    """Drop-in replacement for :func:`~spikeattr.snn.lif.lif_layer_torch` on the CPU.

    Args:
        currents: ``[B, T, n]`` input currents ``x @ W`` (float32 or float64, CPU).
        state: initial state, each ``[B, n]``; differentiable if it requires grad.

    Returns:
        ``(spikes [B, T, n], membrane [B, T, n], final_state)``, numerically identical to the
        torch loop, with gradients flowing into ``currents`` and ``state``.
    """
    if not fused_supported(currents):
        raise ValueError(
            "the fused LIF layer runs on CPU float32/float64 tensors; got "
            f"{currents.dtype} on {currents.device} (use backend='torch')"
        )
    if currents.ndim != 3:
        raise ValueError(f"currents must have shape [B, T, n]; got {tuple(currents.shape)}")
    expected = (currents.shape[0], currents.shape[2])
    for name, tensor in (("syn", state.syn), ("mem", state.mem)):
        if tuple(tensor.shape) != expected:
            raise ValueError(
                f"state.{name} must have shape [B, n] = {list(expected)}; got {list(tensor.shape)}"
            )
    syn0 = state.syn.to(currents.dtype)
    mem0 = state.mem.to(currents.dtype)
    spikes, membrane, syn, mem = FusedLIFLayer.apply(currents, syn0, mem0, alpha, beta, threshold)
    return spikes, membrane, LIFState(syn, mem)


@numba.njit(cache=True, nogil=True)
def _nll_kernel(
    scores: np.ndarray, labels: np.ndarray, ignore_index: int, gradient: np.ndarray
) -> tuple[float, int, int]:
    """Returns ``(sum of NLL, labelled rows, first row with an invalid label or -1)``."""
    n_rows, n_classes = scores.shape
    total = 0.0
    count = 0
    for row in range(n_rows):
        label = labels[row]
        if label == ignore_index:
            for c in range(n_classes):
                gradient[row, c] = 0.0
            continue
        if label < 0 or label >= n_classes:
            return total, count, row
        peak = scores[row, 0]
        for c in range(1, n_classes):
            peak = max(peak, scores[row, c])
        norm = scores[row, 0] - scores[row, 0]
        for c in range(n_classes):
            weight = np.exp(scores[row, c] - peak)
            gradient[row, c] = weight
            norm += weight
        total += np.float64(peak + np.log(norm) - scores[row, label])
        count += 1
        inverse = (norm / norm) / norm
        for c in range(n_classes):
            gradient[row, c] *= inverse
        gradient[row, label] -= 1
    return total, count, -1


class FusedNLLLoss(torch.autograd.Function):
    """Mean NLL of ``log_softmax(scores)`` over the labelled rows; ``scores [N, C]``,
    ``labels [N]`` int64 with ``ignore_index`` for ignored rows. ``nan`` if none is labelled."""

    @staticmethod
    def forward(
        ctx: Any, scores: torch.Tensor, labels: torch.Tensor, ignore_index: int
    ) -> torch.Tensor:
        score_array = _as_array(scores)
        label_array = _as_array(labels)
        gradient = np.empty_like(score_array)
        total, count, bad = _nll_kernel(score_array, label_array, ignore_index, gradient)
        if bad >= 0:
            raise ValueError(
                f"labels must lie in [0, {score_array.shape[1]}) or equal ignore_index="
                f"{ignore_index}; got {int(label_array[bad])} at flat index {bad}"
            )
        ctx.gradient = torch.from_numpy(gradient)
        ctx.count = count
        value = total / count if count else math.nan
        return torch.tensor(value, dtype=scores.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        if not ctx.count:
            return torch.zeros_like(ctx.gradient), None, None
        scale = grad_output.to(ctx.gradient.dtype) / ctx.count
        return ctx.gradient * scale, None, None


def fused_nll_loss(
    scores: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100
) -> torch.Tensor:
    """``F.nll_loss(log_softmax(scores, -1), labels, ignore_index=...)`` in one compiled pass.

    Args:
        scores: ``[..., C]`` output membrane (CPU, float32 or float64).
        labels: ``[...]`` class indices, ``ignore_index`` where ignored.

    Returns:
        The scalar mean over labelled steps (``nan`` if there is none), differentiable with
        respect to ``scores``.
    """
    if not fused_supported(scores):
        raise ValueError(
            f"fused_nll_loss runs on CPU float32/float64 scores; got {scores.dtype} on "
            f"{scores.device}"
        )
    n_classes = scores.shape[-1]
    if tuple(labels.shape) != tuple(scores.shape[:-1]):
        raise ValueError(
            f"labels must have shape {list(scores.shape[:-1])} (scores without the class "
            f"dimension); got {list(labels.shape)}"
        )
    flat_labels = labels.reshape(-1).to(torch.int64)
    loss: torch.Tensor = FusedNLLLoss.apply(
        scores.reshape(-1, n_classes), flat_labels, ignore_index
    )
    return loss
