"""Compiled time scans of the exact LIF attribution (numba, float64).

Every array is neuron-major and step-minor (``[..., n, T]``, the layout of the maps), so a scan
over the steps of one neuron reads contiguous memory. For one layer whose output spikes
``s [B, n, T]`` are held as observed:

* :func:`membrane_scan` (forward): the membrane that the LIF update gives for input currents
  ``z [B, n, T]`` with the resets ``r`` held as observed::

      syn[t] = alpha * syn[t-1] + z[t]
      mem[t] = (beta * mem[t-1] + syn[t]) * (1 - r[t])          # mode ZERO (spikeattr's LIF)
      mem[t] = beta * (1 - r[t]) * mem[t-1] + syn[t]            # mode CARRY (snnTorch's Leaky)
      mem[t] = beta * mem[t-1] + syn[t]                         # mode NONE (no cut; a
                                                                # subtractive reset is added
                                                                # apart, it is not an input)

* :func:`state_scan` (forward): the same update from a given state, returning ``syn`` and
  ``mem`` after every step and carrying the state on (windows of a longer run).
* :func:`adjoint_scan` (backward): for read-out weights ``h [R, n, T]`` on the membranes, the
  weight ``G[t]`` of each input current in ``sum_v h[v] mem[v]``, that is
  ``G[t] = sum_v h[v] K(v, t)`` with the exact response ``K`` of the linear map above::

      lm[v] = h[v] + beta * (1 - c[v+1]) * lm[v+1]
      ls[v] = (1 - d[v]) * lm[v] + alpha * ls[v+1]      G[v] = ls[v]

  where ``c`` (the carry from ``v - 1`` to ``v`` is cut) is ``r`` in modes ZERO and CARRY, and
  ``d`` (the step's own input is cut) is ``r`` in mode ZERO only.

* :func:`hidden_pass`: the same backward scan for a hidden layer whose read-out weights are the
  relevance shares of its spikes, ``h[v] = f[v] S_up[v+lag] / mem[v]`` where the neuron emitted
  a spike at ``v + lag`` (computed on the fly; ``lag = 1``: a spike at ``t`` comes from the
  membrane of ``t - 1``, as in spikeattr's LIF; ``lag = 0``: from the membrane of ``t``, as in
  snnTorch), followed by the product with the layer's weights: ``S_in[k, t] = sum_j W[k, j]
  G_j[t]``.

Each costs ``O(B T n)`` (the pass ``O(B C T n_in n)`` for its product) and keeps every tail:
nothing is truncated, the decays are multiplied in float64 step by step.
"""

from __future__ import annotations

import numba
import numpy as np

#: Reset modes of the scans (see the module documentation).
ZERO, CARRY, NONE = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def _membrane_kernel(
    currents: np.ndarray,
    resets: np.ndarray,
    mode: int,
    alpha: np.ndarray,
    beta: np.ndarray,
    out: np.ndarray,
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
                reset = mode != NONE and resets[r, j, t] != 0
                if reset and mode == ZERO:
                    mem = 0.0
                elif reset:
                    mem = syn
                else:
                    mem = b * mem + syn
                out[r, j, t] = mem


@numba.njit(cache=True, nogil=True)
def _state_kernel(
    currents: np.ndarray,
    resets: np.ndarray,
    mode: int,
    alpha: np.ndarray,
    beta: np.ndarray,
    syn: np.ndarray,
    mem: np.ndarray,
    syn_out: np.ndarray,
    mem_out: np.ndarray,
) -> None:
    steps, n = currents.shape
    for j in range(n):
        s = syn[j]
        m = mem[j]
        for t in range(steps):
            s = alpha[j] * s + currents[t, j]
            reset = mode != NONE and resets[t, j] != 0
            if reset and mode == ZERO:
                m = 0.0
            elif reset:
                m = s
            else:
                m = beta[j] * m + s
            syn_out[t, j] = s
            mem_out[t, j] = m
        syn[j] = s
        mem[j] = m


@numba.njit(cache=True, nogil=True)
def _adjoint_kernel(
    weights: np.ndarray,
    resets: np.ndarray,
    mode: int,
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
            cut_next = True  # nothing after the last step carries back
            for v in range(steps - 1, -1, -1):
                lm = weights[r, j, v] + (0.0 if cut_next else b * lm)
                reset = mode != NONE and resets[b_row, j, v] != 0
                ls = (0.0 if reset and mode == ZERO else lm) + a * ls
                out[r, j, v] = ls
                cut_next = reset


@numba.njit(cache=True, nogil=True)
def _hidden_kernel(
    upper: np.ndarray,
    kernel: np.ndarray,
    top: np.ndarray,
    low_rank: bool,
    emitted: np.ndarray,
    lag: int,
    resets: np.ndarray,
    mode: int,
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
                cut_next = True
                for v in range(steps - 1, -1, -1):
                    share = 0.0
                    u = v + lag
                    if u < steps and emitted[b, j, u] != 0:
                        denominator = denominators[b, j, v]
                        if denominator != 0.0:
                            above = scale * kernel[b, c, u] if low_rank else upper[b, c, j, u]
                            share = factors[b, j, v] * above / denominator
                    lm = share + (0.0 if cut_next else d * lm)
                    reset = mode != NONE and resets[b, j, v] != 0
                    ls = (0.0 if reset and mode == ZERO else lm) + a * ls
                    scanned[j, base + v] = ls
                    cut_next = reset
        product = np.dot(weight, scanned)  # [n_in, C x T]
        for c in range(classes):
            base = c * steps
            for k in range(n_in):
                for v in range(steps):
                    out[b, c, k, v] += product[k, base + v]


def membrane_scan(
    currents: np.ndarray,
    spikes: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    mode: int = ZERO,
) -> np.ndarray:
    """The membrane ``[B, n, T]`` of currents ``[B, n, T]`` with the resets ``spikes`` (``r``)
    acting as ``mode`` says (:data:`ZERO`, :data:`CARRY` or :data:`NONE`)."""
    out = np.empty(currents.shape, dtype=np.float64)
    _membrane_kernel(
        np.ascontiguousarray(currents, dtype=np.float64),
        np.ascontiguousarray(spikes),
        int(mode),
        np.ascontiguousarray(alpha, dtype=np.float64),
        np.ascontiguousarray(beta, dtype=np.float64),
        out,
    )
    return out


def state_scan(
    currents: np.ndarray,
    resets: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    syn: np.ndarray,
    mem: np.ndarray,
    mode: int = ZERO,
) -> tuple[np.ndarray, np.ndarray]:
    """One layer's ``syn`` and ``mem`` ``[T, n]`` after each step of currents ``[T, n]`` with the
    resets ``[T, n]`` acting as ``mode`` says, from the state ``syn``, ``mem`` ``[n]`` (float64,
    contiguous), which is advanced in place to the state after the last step."""
    syn_out = np.empty(currents.shape, dtype=np.float64)
    mem_out = np.empty(currents.shape, dtype=np.float64)
    _state_kernel(
        np.ascontiguousarray(currents, dtype=np.float64),
        np.ascontiguousarray(resets),
        int(mode),
        np.ascontiguousarray(alpha, dtype=np.float64),
        np.ascontiguousarray(beta, dtype=np.float64),
        syn,
        mem,
        syn_out,
        mem_out,
    )
    return syn_out, mem_out


def adjoint_scan(
    weights: np.ndarray,
    spikes: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    repeat: int = 1,
    mode: int = ZERO,
) -> np.ndarray:
    """``G [R, n, T]``: the weight of each input current in ``sum_v weights[v] mem[v]``.

    Args:
        weights: read-out weights ``h [R, n, T]`` on the membranes.
        spikes: the resets ``r [R // repeat, n, T]``, held as observed.
        alpha: per-neuron synaptic decays ``[n]``.
        beta: per-neuron membrane decays ``[n]``.
        repeat: rows of ``weights`` per row of ``spikes``.
        mode: how a reset acts (:data:`ZERO`, :data:`CARRY` or :data:`NONE`).
    """
    out = np.empty(weights.shape, dtype=np.float64)
    _adjoint_kernel(
        np.ascontiguousarray(weights, dtype=np.float64),
        np.ascontiguousarray(spikes),
        int(mode),
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
    lag: int = 1,
    resets: np.ndarray | None = None,
    mode: int = ZERO,
) -> None:
    """Add to ``out [B, C, n_in, T]`` the sensitivity of a layer's inputs, given the sensitivity
    ``upper [B, C, n, T]`` of its output spikes ``spikes [B, n, T]``.

    ``upper`` may also be given as ``(kernel [B, C, T], top [C, n])`` for
    ``upper[b, c, j, t] = top[c, j] kernel[b, c, t]`` (the layer under the output layer), which
    is never built. A spike of neuron ``j`` at ``v + lag`` passes
    ``factors[v] * upper[v + lag] / denominators[v]`` (``denominators``: the membrane that
    crossed the threshold, or one sign's part of it) back through ``K_j`` (with the resets
    ``resets``, by default ``spikes``, acting as ``mode`` says); then
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
        int(lag),
        np.ascontiguousarray(spikes if resets is None else resets),
        int(mode),
        np.ascontiguousarray(denominators, dtype=np.float64),
        np.ascontiguousarray(factors, dtype=np.float64),
        np.ascontiguousarray(alpha, dtype=np.float64),
        np.ascontiguousarray(beta, dtype=np.float64),
        np.ascontiguousarray(weight, dtype=np.float64),
        out,
    )
