"""Leaky integrate-and-fire dynamics with current-based synapses, as pure functions (SPEC 3).

One layer, input currents ``I[t] = x[t] @ W``, state ``syn = mem = 0`` at the start::

    s[t]   = H(mem - 1)                           # spike from the membrane of the previous step
    syn    = alpha * syn + I[t]
    mem    = (beta * mem + syn) * (1 - s[t])      # reset; not differentiated through

with ``alpha = exp(-dt / tau_syn)`` and ``beta = exp(-dt / tau_mem)``. ``H`` is the Heaviside step
(``H(0) = 0``) whose gradient is replaced by the fast sigmoid ``g / (100 |x| + 1)^2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

SURROGATE_SCALE = 100.0


@dataclass(frozen=True)
class LIFParameters:
    """Time constants of a LIF layer (seconds) and its firing threshold; ``alpha``/``beta`` are
    the per-step decays."""

    dt: float = 1e-3
    tau_syn: float = 1e-2
    tau_mem: float = 1e-3
    threshold: float = 1.0

    def __post_init__(self) -> None:
        for name in ("dt", "tau_syn", "tau_mem"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(
                    f"{name} must be a positive finite number of seconds; got {value!r}"
                )
        threshold = self.threshold
        if not (
            isinstance(threshold, (int, float))
            and not isinstance(threshold, bool)
            and math.isfinite(threshold)
            and threshold > 0
        ):
            raise ValueError(f"threshold must be a positive finite number; got {threshold!r}")

    @property
    def alpha(self) -> float:
        """Synaptic decay per step, ``exp(-dt / tau_syn)``."""
        return math.exp(-self.dt / self.tau_syn)

    @property
    def beta(self) -> float:
        """Membrane decay per step, ``exp(-dt / tau_mem)`` (TSA's decay factor)."""
        return math.exp(-self.dt / self.tau_mem)


class LIFState(NamedTuple):
    """State of one layer: synaptic current and membrane potential, each ``[B, n]``."""

    syn: torch.Tensor
    mem: torch.Tensor


class FastSigmoidSpike(torch.autograd.Function):
    """Heaviside forward (``x > 0``), fast-sigmoid surrogate gradient backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_output / (SURROGATE_SCALE * x.abs() + 1.0) ** 2


def spike_fn(x: torch.Tensor) -> torch.Tensor:
    """``H(x)`` with the fast-sigmoid surrogate gradient."""
    out: torch.Tensor = FastSigmoidSpike.apply(x)
    return out


def zero_state(batch: int, n: int, like: torch.Tensor) -> LIFState:
    """A zero state ``[batch, n]`` with the dtype and device of ``like``."""
    zeros = torch.zeros(batch, n, dtype=like.dtype, device=like.device)
    return LIFState(zeros, zeros.clone())


def lif_step(
    current: torch.Tensor, state: LIFState, alpha: float, beta: float, threshold: float = 1.0
) -> tuple[torch.Tensor, LIFState]:
    """One time step of one layer.

    Args:
        current: input current ``x[t] @ W``, ``[B, n]``.
        state: the layer state after the previous step.

    Returns:
        ``(spikes [B, n], new_state)``; the spikes are those emitted at this step.
    """
    spikes = spike_fn(state.mem - threshold)
    syn = alpha * state.syn + current
    mem = (beta * state.mem + syn) * (1.0 - spikes.detach())
    return spikes, LIFState(syn, mem)


def lif_layer_torch(
    currents: torch.Tensor, state: LIFState, alpha: float, beta: float, threshold: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, LIFState]:
    """Run one layer over time with :func:`lif_step` (differentiable, any device).

    Args:
        currents: ``[B, T, n]`` input currents.
        state: initial state, each ``[B, n]``.

    Returns:
        ``(spikes [B, T, n], membrane [B, T, n], final_state)``.
    """
    spikes_out = []
    membrane_out = []
    # unbind, not currents[:, t]: indexing would make the backward pass quadratic in T
    for current in currents.unbind(1):
        spikes, state = lif_step(current, state, alpha, beta, threshold)
        spikes_out.append(spikes)
        membrane_out.append(state.mem)
    if not spikes_out:
        empty = currents.new_zeros(currents.shape)
        return empty, empty.clone(), state
    return torch.stack(spikes_out, 1), torch.stack(membrane_out, 1), state
