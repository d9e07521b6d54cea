"""The oracle for TSA on convolutional networks: dense expansions and SPEC 4 written literally.

Every linear operation is expanded into its dense matrix ``M [n_in, n_out]`` by running the
torch operation itself on the basis vectors (``M[i] = op(e_i) - op(0)``, so a bias drops out);
max pooling is written out window by window: its forward takes the maximum literally, and its
matrix at step ``t`` routes each window to the units holding the maximum, split evenly (the
documented rule). The convolutional LIF network is simulated one neuron at a time from those
matrices (SPEC 3), and ``A[:, :, t] = D_0(t) M_0(t) D_1(t) M_1(t) ... M_{L-1}(t) diag(p)`` is
multiplied out per step in float64, as :func:`literal.tsa_literal` does for dense networks.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


def dense_matrix(op: Callable[[torch.Tensor], torch.Tensor], in_shape: Sequence[int]) -> np.ndarray:
    """``M [n_in, n_out]`` of a linear ``op`` on one sample of ``in_shape`` (float64)."""
    n_in = math.prod(in_shape)
    with torch.no_grad():
        basis = torch.eye(n_in, dtype=torch.float64).reshape(n_in, *in_shape)
        zero = op(torch.zeros(1, *in_shape, dtype=torch.float64)).reshape(1, -1)
        return (op(basis).reshape(n_in, -1) - zero).numpy()


@dataclass(frozen=True)
class MaxPoolGeometry:
    """Where the windows of a max pooling lie; 1-D pools have ``H = 1``."""

    in_shape: tuple[int, ...]  # (channels, *spatial)
    out_shape: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]

    def windows(self) -> list[tuple[int, list[int]]]:
        """Per output unit (flat index, in order), the flat input units of its window."""
        return _windows(self)

    def forward(self, values: np.ndarray) -> np.ndarray:
        """The maximum of every window of one flat sample ``[n_in]``."""
        return np.array([values[units].max() for _, units in self.windows()])

    def routing(self, values: np.ndarray) -> np.ndarray:
        """``[n_in, n_out]``: each window's value shared evenly by the units holding its max."""
        matrix = np.zeros((values.size, math.prod(self.out_shape)))
        for out, units in self.windows():
            ties = [u for u in units if values[u] == values[units].max()]
            for unit in ties:
                matrix[unit, out] = 1.0 / len(ties)
        return matrix


@functools.lru_cache(maxsize=64)
def _windows(geometry: MaxPoolGeometry) -> list[tuple[int, list[int]]]:
    """:meth:`MaxPoolGeometry.windows`, computed once per geometry."""
    spatial_in = geometry.in_shape[1:]
    result = []
    for channel in range(geometry.in_shape[0]):
        for position in itertools.product(*(range(n) for n in geometry.out_shape[1:])):
            units = []
            for offsets in itertools.product(*(range(k) for k in geometry.kernel)):
                coords = [
                    p * s + o * d - pad
                    for p, s, o, d, pad in zip(
                        position,
                        geometry.stride,
                        offsets,
                        geometry.dilation,
                        geometry.padding,
                        strict=True,
                    )
                ]
                if all(0 <= c < n for c, n in zip(coords, spatial_in, strict=True)):
                    units.append(int(np.ravel_multi_index((channel, *coords), geometry.in_shape)))
            result.append((len(result), units))
    return result


def max_pool_geometry(module: nn.Module, in_shape: Sequence[int]) -> MaxPoolGeometry:
    """The geometry of an ``nn.MaxPool1d/2d`` on one sample of ``in_shape``."""
    dims = len(in_shape) - 1

    def spread(value: object) -> tuple[int, ...]:
        return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * dims  # type: ignore[arg-type]

    with torch.no_grad():
        out_shape = tuple(module(torch.zeros(1, *in_shape, dtype=torch.float64)).shape[1:])
    stride = module.stride if module.stride is not None else module.kernel_size
    return MaxPoolGeometry(
        tuple(in_shape),
        out_shape,
        spread(module.kernel_size),
        spread(stride),
        spread(module.padding),
        spread(module.dilation),
    )


def lif_literal(
    currents: np.ndarray, alpha: float, beta: float, threshold: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """SPEC 3, one neuron at a time: ``(spikes [T, n], membrane [T, n])`` from zero state."""
    steps, n = currents.shape
    syn, mem = np.zeros(n), np.zeros(n)
    spikes, membrane = np.zeros((steps, n)), np.zeros((steps, n))
    for t in range(steps):
        for j in range(n):
            s = 1.0 if mem[j] - threshold > 0 else 0.0
            syn[j] = alpha * syn[j] + currents[t, j]
            mem[j] = (beta * mem[j] + syn[j]) * (1.0 - s)
            spikes[t, j] = s
            membrane[t, j] = mem[j]
    return spikes, membrane


def tsa_literal_maps(
    layer_inputs: Sequence[np.ndarray],
    matrices: Callable[[int, int], np.ndarray],
    betas: Sequence[float],
    probs: np.ndarray,
    variant: str,
) -> np.ndarray:
    """``A [C, n_0, T]``: SPEC 4 with the matrix of layer ``l`` at step ``t`` =
    ``matrices(l, t)`` (already with ones for SAM) and ``D_l(t)`` built literally."""
    steps, n_inputs = layer_inputs[0].shape
    result = np.zeros((probs.size, n_inputs, steps))
    for t in range(steps):
        product = np.eye(n_inputs)
        for layer, (spikes, beta) in enumerate(zip(layer_inputs, betas, strict=True)):
            decay = beta ** (steps - t)
            n = spikes.shape[1]
            diagonal = np.zeros(n)  # D_l(t) as its diagonal: P @ D scales P's columns exactly
            for i in range(n):
                if spikes[t, i] > 0:
                    diagonal[i] = decay
                elif variant == "ns":
                    diagonal[i] = -(1.0 / n) * decay
            product = (product * diagonal) @ matrices(layer, t)
        result[:, :, t] = (product @ np.diag(probs)).T
    return result
