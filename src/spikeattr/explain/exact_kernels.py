"""Compiled time scans of the exact LIF attribution (numba, float64).

Two scans over one layer whose output spikes ``s [R, T, n]`` are held as observed:

* :func:`membrane_scan` (forward): the membrane that the SPEC update gives for input currents
  ``z [R, T, n]`` with the resets of ``s``::

      syn[t] = alpha * syn[t-1] + z[t]
      mem[t] = (beta * mem[t-1] + syn[t]) * (1 - s[t])

* :func:`adjoint_scan` (backward): for read-out weights ``h [R, T, n]`` on the membranes, the
  weight ``G[t]`` of each input current in ``sum_v h[v] mem[v]``, that is
  ``G[t] = sum_v h[v] K(v, t)`` with the exact response ``K`` of the linear map above::

      lm[v] = h[v] + beta * (1 - s[v+1]) * lm[v+1]
      ls[v] = (1 - s[v]) * lm[v] + alpha * ls[v+1]      G[v] = ls[v]

Both cost ``O(R T n)`` and keep every tail: nothing is truncated, the decays are multiplied in
float64 step by step (a product of decays underflows only below 1e-308).

``alpha`` and ``beta`` are per-neuron ``[n]``; the spikes of row ``r`` are ``s[r // repeat]``,
so the relevance of ``C`` classes ``[B * C, T, n]`` shares the ``[B, T, n]`` spikes.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _membrane_kernel(
    currents: np.ndarray, spikes: np.ndarray, alpha: np.ndarray, beta: np.ndarray, out: np.ndarray
) -> None:
    rows, steps, n = currents.shape
    for r in range(rows):
        for j in range(n):
            syn = 0.0
            mem = 0.0
            a = alpha[j]
            b = beta[j]
            for t in range(steps):
                syn = a * syn + currents[r, t, j]
                mem = 0.0 if spikes[r, t, j] != 0 else b * mem + syn
                out[r, t, j] = mem


@numba.njit(cache=True, nogil=True)
def _adjoint_kernel(
    weights: np.ndarray,
    spikes: np.ndarray,
    repeat: int,
    alpha: np.ndarray,
    beta: np.ndarray,
    out: np.ndarray,
) -> None:
    rows, steps, n = weights.shape
    for r in range(rows):
        b_row = r // repeat
        for j in range(n):
            a = alpha[j]
            b = beta[j]
            lm = 0.0
            ls = 0.0
            fired_next = True  # nothing after the last step carries back
            for v in range(steps - 1, -1, -1):
                lm = weights[r, v, j] + (0.0 if fired_next else b * lm)
                fired = spikes[b_row, v, j] != 0
                ls = (0.0 if fired else lm) + a * ls
                out[r, v, j] = ls
                fired_next = fired


def membrane_scan(
    currents: np.ndarray, spikes: np.ndarray, alpha: np.ndarray, beta: np.ndarray
) -> np.ndarray:
    """The membrane ``[R, T, n]`` of currents ``[R, T, n]`` with the resets of ``spikes``."""
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
    """``G [R, T, n]``: the weight of each input current in ``sum_v weights[v] mem[v]``.

    Args:
        weights: read-out weights ``h [R, T, n]`` on the membranes.
        spikes: observed spikes ``[R // repeat, T, n]`` (resets held fixed).
        alpha, beta: per-neuron decays ``[n]``.
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
