"""Compiled time scans of the exact LIF attribution (numba, float64).

Every array is neuron-major and step-minor (``[..., n, T]``, the layout of the maps), so a scan
over the steps of one neuron reads contiguous memory. For one layer whose output spikes
``s [B, n, T]`` are held as observed:

* :func:`membrane_scan` (forward): the membrane that the LIF update gives for input currents
  ``z [B, n, T]`` with the resets of ``s``::

      syn[t] = alpha * syn[t-1] + z[t]
      mem[t] = (beta * mem[t-1] + syn[t]) * (1 - s[t])

* :func:`adjoint_scan` (backward): for read-out weights ``h [R, n, T]`` on the membranes, the
  weight ``G[t]`` of each input current in ``sum_v h[v] mem[v]``, that is
  ``G[t] = sum_v h[v] K(v, t)`` with the exact response ``K`` of the linear map above::

      lm[v] = h[v] + beta * (1 - s[v+1]) * lm[v+1]
      ls[v] = (1 - s[v]) * lm[v] + alpha * ls[v+1]      G[v] = ls[v]

* :func:`hidden_pass`: the same backward scan for a hidden layer whose read-out weights are the
  relevance shares of its spikes, ``h[v] = f[v] S_up[v+1] / mem[v]`` where the neuron spiked at
  ``v + 1`` (computed on the fly), followed by the product with the layer's weights:
  ``S_in[k, t] = sum_j W[k, j] G_j[t]``.

Each costs ``O(B T n)`` (the pass ``O(B C T n_in n)`` for its product) and keeps every tail:
nothing is truncated, the decays are multiplied in float64 step by step.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _membrane_kernel(
    currents: np.ndarray, spikes: np.ndarray, alpha: np.ndarray, beta: np.ndarray, out: np.ndarray
) -> None:
    rows, n, steps = currents.shape
    for r in range(rows):
        for j in range(n):
            syn = 0.0
            mem = 0.0
            a = alpha[j]
            b = beta[j]
            for t in range(steps):
                syn = a * syn + currents[r, j, t]
                mem = 0.0 if spikes[r, j, t] != 0 else b * mem + syn
                out[r, j, t] = mem


@numba.njit(cache=True, nogil=True)
def _adjoint_kernel(
    weights: np.ndarray,
    spikes: np.ndarray,
    repeat: int,
    alpha: np.ndarray,
    beta: np.ndarray,
    out: np.ndarray,
) -> None:
    rows, n, steps = weights.shape
    for r in range(rows):
        b_row = r // repeat
        for j in range(n):
            a = alpha[j]
            b = beta[j]
            lm = 0.0
            ls = 0.0
            fired_next = True  # nothing after the last step carries back
            for v in range(steps - 1, -1, -1):
                lm = weights[r, j, v] + (0.0 if fired_next else b * lm)
                fired = spikes[b_row, j, v] != 0
                ls = (0.0 if fired else lm) + a * ls
                out[r, j, v] = ls
                fired_next = fired


@numba.njit(cache=True, nogil=True)
def _hidden_kernel(
    upper: np.ndarray,
    kernel: np.ndarray,
    top: np.ndarray,
    low_rank: bool,
    spikes: np.ndarray,
    denominators: np.ndarray,
    factors: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    weight: np.ndarray,
    out: np.ndarray,
) -> None:
    batch, classes, n_in, steps = out.shape
    n = weight.shape[1]
    scanned = np.empty((n, classes * steps))  # [n, C x T]: one product per sample
    for b in range(batch):
        for c in range(classes):
            base = c * steps
            for j in range(n):
                a = alpha[j]
                d = beta[j]
                scale = top[c, j] if low_rank else 1.0
                lm = 0.0
                ls = 0.0
                fired_next = True
                for v in range(steps - 1, -1, -1):
                    share = 0.0
                    if v + 1 < steps and spikes[b, j, v + 1] != 0:
                        denominator = denominators[b, j, v]
                        if denominator != 0.0:
                            above = (
                                scale * kernel[b, c, v + 1] if low_rank else upper[b, c, j, v + 1]
                            )
                            share = factors[b, j, v] * above / denominator
                    lm = share + (0.0 if fired_next else d * lm)
                    fired = spikes[b, j, v] != 0
                    ls = (0.0 if fired else lm) + a * ls
                    scanned[j, base + v] = ls
                    fired_next = fired
        product = np.dot(weight, scanned)  # [n_in, C x T]
        for c in range(classes):
            base = c * steps
            for k in range(n_in):
                for v in range(steps):
                    out[b, c, k, v] += product[k, base + v]


def membrane_scan(
    currents: np.ndarray, spikes: np.ndarray, alpha: np.ndarray, beta: np.ndarray
) -> np.ndarray:
    """The membrane ``[B, n, T]`` of currents ``[B, n, T]`` with the resets of ``spikes``."""
    out = np.empty(currents.shape, dtype=np.float64)
    _membrane_kernel(
        np.ascontiguousarray(currents, dtype=np.float64),
        np.ascontiguousarray(spikes),
        np.ascontiguousarray(alpha, dtype=np.float64),
        np.ascontiguousarray(beta, dtype=np.float64),
        out,
    )
    return out


def adjoint_scan(
    weights: np.ndarray,
    spikes: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    repeat: int = 1,
) -> np.ndarray:
    """``G [R, n, T]``: the weight of each input current in ``sum_v weights[v] mem[v]``.

    Args:
        weights: read-out weights ``h [R, n, T]`` on the membranes.
        spikes: observed spikes ``[R // repeat, n, T]`` (resets held fixed).
        alpha: per-neuron synaptic decays ``[n]``.
        beta: per-neuron membrane decays ``[n]``.
        repeat: rows of ``weights`` per row of ``spikes``.
    """
    out = np.empty(weights.shape, dtype=np.float64)
    _adjoint_kernel(
        np.ascontiguousarray(weights, dtype=np.float64),
        np.ascontiguousarray(spikes),
        int(repeat),
        np.ascontiguousarray(alpha, dtype=np.float64),
        np.ascontiguousarray(beta, dtype=np.float64),
        out,
    )
    return out


def hidden_pass(
    upper: np.ndarray | tuple[np.ndarray, np.ndarray],
    spikes: np.ndarray,
    denominators: np.ndarray,
    factors: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    weight: np.ndarray,
    out: np.ndarray,
) -> None:
    """Add to ``out [B, C, n_in, T]`` the sensitivity of a layer's inputs, given the sensitivity
    ``upper [B, C, n, T]`` of its output spikes ``spikes [B, n, T]``.

    ``upper`` may also be given as ``(kernel [B, C, T], top [C, n])`` for
    ``upper[b, c, j, t] = top[c, j] kernel[b, c, t]`` (the layer under the output layer), which
    is never built. A spike of neuron ``j`` at ``v + 1`` passes
    ``factors[v] * upper[v + 1] / denominators[v]`` (``denominators``: the membrane that crossed
    the threshold, or one sign's part of it) back through ``K_j``; then
    ``out[k, t] += sum_j weight[k, j] G_j[t]`` (``weight [n_in, n]``).
    """
    if isinstance(upper, tuple):
        kernel, top = (np.ascontiguousarray(a, dtype=np.float64) for a in upper)
        full = np.zeros((1, 1, 1, 1))
        low_rank = True
    else:
        full = np.ascontiguousarray(upper, dtype=np.float64)
        kernel, top = np.zeros((1, 1, 1)), np.zeros((1, 1))
        low_rank = False
    _hidden_kernel(
        full,
        kernel,
        top,
        low_rank,
        np.ascontiguousarray(spikes),
        np.ascontiguousarray(denominators, dtype=np.float64),
        np.ascontiguousarray(factors, dtype=np.float64),
        np.ascontiguousarray(alpha, dtype=np.float64),
        np.ascontiguousarray(beta, dtype=np.float64),
        np.ascontiguousarray(weight, dtype=np.float64),
        out,
    )
