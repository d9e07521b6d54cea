"""Compiled CPU kernel for the LIF time loop (numba), numerically identical to :func:`lif_step`.

The loop is the same float32 (or float64) arithmetic as the torch implementation, in the same
order, one neuron at a time; only the Python overhead per step is gone. Used for inference (no
gradient) on the CPU.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _lif_layer_kernel(
    currents: np.ndarray,
    syn: np.ndarray,
    mem: np.ndarray,
    alpha: np.floating,
    beta: np.floating,
    threshold: np.floating,
    spikes_out: np.ndarray,
    membrane_out: np.ndarray,
) -> None:
    batch, steps, n = currents.shape
    for b in range(batch):
        for t in range(steps):
            for j in range(n):
                fired = mem[b, j] - threshold > 0
                syn[b, j] = alpha * syn[b, j] + currents[b, t, j]
                # (beta * mem + syn) * (1 - s): the product with 0 or 1 is exact, so branch.
                mem[b, j] = 0.0 if fired else beta * mem[b, j] + syn[b, j]
                spikes_out[b, t, j] = 1.0 if fired else 0.0
                membrane_out[b, t, j] = mem[b, j]


def lif_layer_numba(
    currents: np.ndarray,
    syn: np.ndarray,
    mem: np.ndarray,
    alpha: float,
    beta: float,
    threshold: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Run one layer over time; ``syn``/``mem`` ``[B, n]`` are updated in place (carried state).

    Args:
        currents: ``[B, T, n]`` float32 or float64, C-contiguous.

    Returns:
        ``(spikes [B, T, n], membrane [B, T, n])`` in the dtype of ``currents``.
    """
    dtype = currents.dtype.type
    spikes = np.empty_like(currents)
    membrane = np.empty_like(currents)
    _lif_layer_kernel(
        np.ascontiguousarray(currents),
        syn,
        mem,
        dtype(alpha),
        dtype(beta),
        dtype(threshold),
        spikes,
        membrane,
    )
    return spikes, membrane


@numba.njit(cache=True, nogil=True)
def _currents_kernel(spikes: np.ndarray, weight: np.ndarray, out: np.ndarray) -> None:
    rows, n_in = spikes.shape
    n_out = weight.shape[1]
    accumulator = np.zeros(n_out, dtype=np.float64)
    for r in range(rows):
        accumulator[:] = 0.0
        for i in range(n_in):
            value = spikes[r, i]
            if value != 0:
                for j in range(n_out):
                    accumulator[j] += np.float64(value) * np.float64(weight[i, j])
        for j in range(n_out):
            out[r, j] = accumulator[j]


def input_currents_numba(spikes: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``spikes [..., n_in] @ weight [n_in, n_out]`` accumulated in float64, one row at a time.

    Sums of float32 weights are exact in float64 (their exponents span far less than the 29
    spare bits), so the result is the correctly rounded product whatever the row count or order.
    """
    flat = np.ascontiguousarray(spikes.reshape(-1, spikes.shape[-1]))
    out = np.empty((flat.shape[0], weight.shape[1]), dtype=weight.dtype)
    _currents_kernel(flat, np.ascontiguousarray(weight), out)
    return out.reshape(*spikes.shape[:-1], weight.shape[1])
