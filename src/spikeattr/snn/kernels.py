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
