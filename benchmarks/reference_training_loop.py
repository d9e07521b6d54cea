"""A literal per-step training loop in plain torch: the baseline of ``bench_training.py``.

This is the SPEC 3 update written the way research code usually writes it: time outermost, one
Python iteration per time step and layer, spikes through a surrogate-gradient autograd function,
the state carried between batches and detached, Adam, NLL of the per-step log-softmax of the
output membrane averaged over the labelled steps. It shares no code with ``spikeattr.snn`` so the
benchmark compares two independent implementations.
"""

from __future__ import annotations

from typing import Any

import torch

IGNORE = -100


class SurrogateSpike(torch.autograd.Function):
    """Heaviside forward; fast-sigmoid derivative ``1 / (100 |x| + 1)^2`` backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad / (100.0 * torch.abs(x) + 1.0) ** 2


def run_batch(
    weights: list[torch.Tensor],
    x: torch.Tensor,
    state: list[tuple[torch.Tensor, torch.Tensor]],
    alpha: float,
    beta: float,
) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Simulate ``x [B, T, n_in]``; returns the output membrane ``[B, T, C]`` and the state."""
    syn = [s for s, _ in state]
    mem = [m for _, m in state]
    outputs = []
    for t in range(x.shape[1]):
        layer_in = x[:, t]
        for index, weight in enumerate(weights):
            spk = SurrogateSpike.apply(mem[index] - 1.0)
            syn[index] = alpha * syn[index] + layer_in @ weight
            mem[index] = (beta * mem[index] + syn[index]) * (1.0 - spk.detach())
            layer_in = spk
        outputs.append(mem[-1])
    return torch.stack(outputs, dim=1), list(zip(syn, mem, strict=True))


def zero_state(weights: list[torch.Tensor], batch: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Zero ``(syn, mem)`` of every layer, each ``[batch, n_out]``."""
    return [
        (
            torch.zeros(batch, w.shape[1], dtype=w.dtype),
            torch.zeros(batch, w.shape[1], dtype=w.dtype),
        )
        for w in weights
    ]


def batch_loss(
    weights: list[torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    state: list[tuple[torch.Tensor, torch.Tensor]],
    alpha: float,
    beta: float,
) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
    """NLL loss of one batch (labels ``y [B, T]``, ``-100`` ignored) and the detached state."""
    membrane, new_state = run_batch(weights, x, state, alpha, beta)
    log_probs = torch.log_softmax(membrane, dim=-1)
    loss = torch.nn.functional.nll_loss(
        log_probs.reshape(-1, log_probs.shape[-1]), y.reshape(-1), ignore_index=IGNORE
    )
    return loss, [(s.detach(), m.detach()) for s, m in new_state]


def train_batches(
    weights: list[torch.Tensor],
    optimizer: torch.optim.Optimizer,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    state: list[tuple[torch.Tensor, torch.Tensor]],
    alpha: float,
    beta: float,
) -> tuple[list[float], list[tuple[torch.Tensor, torch.Tensor]]]:
    """One pass over ``batches`` (``x [B, T, n_in]``, ``y [B, T]``): Adam step per batch."""
    losses = []
    for x, y in batches:
        loss, state = batch_loss(weights, x, y, state, alpha, beta)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses, state
