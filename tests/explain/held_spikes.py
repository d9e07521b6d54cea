"""A spike function for autograd oracles: Heaviside ``x > 0`` whose gradient is 0, so that
``d(membrane)/d(input)`` holds every spike (and so every reset) as observed."""

from __future__ import annotations

from typing import Any

import torch


class HeldSpike(torch.autograd.Function):
    """Heaviside ``x > 0`` whose gradient is 0: every spike held as observed."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(grad)
