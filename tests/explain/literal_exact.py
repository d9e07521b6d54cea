"""A slow, literal numpy oracle of the exact LIF attribution (float64, explicit loops).

Nothing here imports ``spikeattr``: it is written straight from the definitions, for clarity
rather than speed, so that the library's fast implementation can be checked against it.

The network is discrete-time and feed-forward with ``L`` weight layers. Layer ``l`` has weights
``W_l [n_l, n_{l+1}]``, per-neuron synaptic decay ``alpha_l [n_{l+1}]``, membrane decay
``beta_l [n_{l+1}]`` and the common threshold ``theta``. Every layer, the output layer included,
runs the same loop from ``syn = mem = 0``::

    for t in 0..T-1:
        s[t] = 1 if mem > theta else 0          # strict >, membrane of the previous step
        syn  = alpha * syn + x[t] @ W
        mem  = (beta * mem + syn) * (1 - s[t])  # reset to zero on a spike; syn is not reset

The next layer's input is that layer's ``s``; the output layer's membranes are the class scores.

Exact decomposition, spikes held as observed: with ``r`` the last step ``<= s`` at which neuron
``j`` spiked (``-1`` if none),

    mem_j[s] = sum_{t<=s} sum_i x[t, i] W[i, j] K_j(s, t),
    K_j(s, t) = sum_{u=max(t, r+1)..s} alpha_j^(u-t) beta_j^(s-u)

and the term of input cell ``(i, t)`` in ``mem_j[s]`` is ``x[t, i] W[i, j] K_j(s, t)``.

Relevance starts from ``F = sum_c w[c] m_c[T-1]`` on the terms of the output membranes, and each
hidden spike at ``t`` passes its relevance back to the terms of ``mem_i[t-1]`` (the membrane that
crossed the threshold), with rule ``"z"`` or ``"alpha_beta"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RULES = ("z", "alpha_beta")


def simulate(
    x0: np.ndarray,
    weights: Sequence[np.ndarray],
    alphas: Sequence[np.ndarray],
    betas: Sequence[np.ndarray],
    theta: float,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Run the network literally, one neuron and one step at a time, with plain Python floats.

    Returns ``(spikes, membranes)``: for each layer ``l``, its spikes ``s [T, n_{l+1}]`` (0/1)
    and its membranes ``mem [T, n_{l+1}]`` (the value recorded at the end of each step).
    """
    x = np.asarray(x0, dtype=np.float64)
    T = x.shape[0]
    all_spikes: list[np.ndarray] = []
    all_membranes: list[np.ndarray] = []
    for W, alpha, beta in zip(weights, alphas, betas, strict=True):
        W = np.asarray(W, dtype=np.float64)
        n_in, n_out = W.shape
        spikes = np.zeros((T, n_out), dtype=np.float64)
        membranes = np.zeros((T, n_out), dtype=np.float64)
        for j in range(n_out):
            a = float(alpha[j])
            b = float(beta[j])
            syn = 0.0
            mem = 0.0
            for t in range(T):
                spike = 1.0 if mem > theta else 0.0
                current = 0.0
                for i in range(n_in):
                    current += float(x[t, i]) * float(W[i, j])
                syn = a * syn + current
                mem = (b * mem + syn) * (1.0 - spike)
                spikes[t, j] = spike
                membranes[t, j] = mem
        all_spikes.append(spikes)
        all_membranes.append(membranes)
        x = spikes
    return all_spikes, all_membranes


def last_spike(spikes_j: np.ndarray, s: int) -> int:
    """The last step ``r <= s`` with ``spikes_j[r] == 1``, or ``-1`` if the neuron never spiked."""
    r = -1
    for u in range(s + 1):
        if spikes_j[u] == 1:
            r = u
    return r


def kernel(alpha: float, beta: float, s: int, t: int, r: int) -> float:
    """``K(s, t) = sum_{u=max(t, r+1)..s} alpha^(u-t) beta^(s-u)``, summed term by term.

    The membrane restarts from 0 after the reset at ``r`` while the synaptic current carries on:
    an input at ``t`` reaches the membrane at ``s`` only through the steps ``u`` after the reset.
    The sum is empty (0) when ``t > s`` or when the neuron spiked at ``s`` (``r == s``).
    """
    total = 0.0
    for u in range(max(t, r + 1), s + 1):
        total += alpha ** (u - t) * beta ** (s - u)
    return total


def membrane_terms(
    x: np.ndarray,
    W: np.ndarray,
    alpha_j: float,
    beta_j: float,
    spikes_j: np.ndarray,
    j: int,
    s: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The terms of ``mem_j[s]`` over the input cells of one layer.

    Returns ``(terms, unit_terms)``, both ``[T, n_in]``: ``unit_terms[t, i] = W[i, j] K_j(s, t)``
    (the term a spike at ``(i, t)`` would have) and ``terms[t, i] = x[t, i] * unit_terms[t, i]``.
    Cells after ``s`` are 0. Since ``x`` is 0/1, a term equals its unit term bit for bit where
    ``x`` is 1.
    """
    T, n_in = x.shape
    r = last_spike(spikes_j, s)
    terms = np.zeros((T, n_in), dtype=np.float64)
    unit_terms = np.zeros((T, n_in), dtype=np.float64)
    for t in range(s + 1):
        K = kernel(float(alpha_j), float(beta_j), s, t, r)
        for i in range(n_in):
            unit = float(W[i, j]) * K
            unit_terms[t, i] = unit
            terms[t, i] = float(x[t, i]) * unit
    return terms, unit_terms


def _check_inputs(
    x0: np.ndarray,
    weights: Sequence[np.ndarray],
    alphas: Sequence[np.ndarray],
    betas: Sequence[np.ndarray],
    w: np.ndarray,
    rule: str,
    ab: tuple[float, float],
) -> None:
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, not {rule!r}")
    if rule == "alpha_beta" and abs(ab[0] - ab[1] - 1.0) > 1e-12:
        raise ValueError(f"alpha_beta needs a - b = 1, got {ab}")
    if not (len(weights) == len(alphas) == len(betas)) or len(weights) == 0:
        raise ValueError("weights, alphas and betas need one entry per layer (at least one)")
    x0 = np.asarray(x0)
    if x0.ndim != 2 or not np.all((x0 == 0) | (x0 == 1)):
        raise ValueError("x0 must be a [T, n_0] array of 0/1 spikes")
    n = x0.shape[1]
    for W, alpha, beta in zip(weights, alphas, betas, strict=True):
        if W.shape[0] != n or len(alpha) != W.shape[1] or len(beta) != W.shape[1]:
            raise ValueError("layer shapes do not chain")
        n = W.shape[1]
    if len(w) != n:
        raise ValueError(f"w has {len(w)} entries for {n} classes")


def _pass_back(
    R: float,
    terms: np.ndarray,
    unit_terms: np.ndarray,
    W_col: np.ndarray,
    rule: str,
    ab: tuple[float, float],
    relevance_in: np.ndarray,
    sensitivity_in: np.ndarray,
) -> None:
    """Add the share of relevance ``R`` of every term (and of its unit term) in place."""
    T, n_in = terms.shape
    if rule == "z":
        Z = 0.0
        for t in range(T):
            for k in range(n_in):
                Z += terms[t, k]
        if Z == 0.0:
            return
        for t in range(T):
            for k in range(n_in):
                relevance_in[t, k] += R * terms[t, k] / Z
                sensitivity_in[t, k] += R * unit_terms[t, k] / Z
        return

    a, b = ab
    Zplus = 0.0
    Zminus = 0.0
    for t in range(T):
        for k in range(n_in):
            if W_col[k] > 0:
                Zplus += terms[t, k]
            elif W_col[k] < 0:
                Zminus += terms[t, k]
    if Zplus == 0.0 and Zminus == 0.0:
        return
    for t in range(T):
        for k in range(n_in):
            if W_col[k] > 0:
                if Zplus == 0.0:
                    continue  # no positive term to share (and no factor for a silent cell)
                factor = 1.0 if Zminus == 0.0 else a
                relevance_in[t, k] += factor * R * terms[t, k] / Zplus
                sensitivity_in[t, k] += factor * R * unit_terms[t, k] / Zplus
            elif W_col[k] < 0:
                if Zminus == 0.0:
                    continue  # no negative term to share (and no factor for a silent cell)
                factor = 1.0 if Zplus == 0.0 else -b
                relevance_in[t, k] += factor * R * terms[t, k] / Zminus
                sensitivity_in[t, k] += factor * R * unit_terms[t, k] / Zminus


def literal_exact(
    x0: np.ndarray,
    weights: Sequence[np.ndarray],
    alphas: Sequence[np.ndarray],
    betas: Sequence[np.ndarray],
    theta: float,
    w: np.ndarray,
    rule: str = "z",
    ab: tuple[float, float] = (1.0, 0.0),
) -> dict[str, object]:
    """The exact attribution of ``F = sum_c w[c] m_c[T-1]`` onto the input cells.

    x0 [T, n_0] 0/1; weights list of [n_l, n_{l+1}]; alphas, betas: lists of [n_{l+1}] arrays;
    w [C]. Returns a dict with 'relevance' [n_0, T], 'sensitivity' [n_0, T] (the relevance a
    spike at each cell would get with the rule's factors held as computed from the actual
    spikes, so that relevance == x0.T * sensitivity), 'membrane' [C] (m_c[T-1] recomputed as the
    sum of its terms), 'spikes' (each layer's s [T, n_{l+1}]) and 'target' = sum_c w[c] *
    membrane[c].
    """
    x0 = np.asarray(x0, dtype=np.float64)
    weights = [np.asarray(W, dtype=np.float64) for W in weights]
    alphas = [np.asarray(a, dtype=np.float64) for a in alphas]
    betas = [np.asarray(b, dtype=np.float64) for b in betas]
    w = np.asarray(w, dtype=np.float64)
    ab = (float(ab[0]), float(ab[1]))
    _check_inputs(x0, weights, alphas, betas, w, rule, ab)

    spikes, _ = simulate(x0, weights, alphas, betas, theta)
    inputs = [x0, *spikes[:-1]]  # the input spikes of each layer
    T = x0.shape[0]
    L = len(weights)

    # 1. Output layer: the terms of m_c[T-1], weighted by w[c].
    out = L - 1
    x = inputs[out]
    W = weights[out]
    n_in, C = W.shape
    s = T - 1
    membrane = np.zeros(C, dtype=np.float64)
    relevance_in = np.zeros((T, n_in), dtype=np.float64)
    sensitivity_in = np.zeros((T, n_in), dtype=np.float64)
    for c in range(C):
        terms, unit_terms = membrane_terms(
            x, W, alphas[out][c], betas[out][c], spikes[out][:, c], c, s
        )
        for t in range(T):
            for i in range(n_in):
                membrane[c] += terms[t, i]
                relevance_in[t, i] += w[c] * terms[t, i]
                sensitivity_in[t, i] += w[c] * unit_terms[t, i]
    target = 0.0
    for c in range(C):
        target += w[c] * membrane[c]

    # 2. Hidden layers, going down: the relevance of the spike of neuron i at t goes to the terms
    # of mem_i[t-1], the membrane that crossed the threshold.
    for layer in range(L - 2, -1, -1):
        relevance_out = relevance_in  # [T, n_{layer+1}], on the spikes of this layer
        x = inputs[layer]
        W = weights[layer]
        n_in, n_out = W.shape
        relevance_in = np.zeros((T, n_in), dtype=np.float64)
        sensitivity_in = np.zeros((T, n_in), dtype=np.float64)
        for t in range(T):
            for i in range(n_out):
                if spikes[layer][t, i] != 1:
                    continue
                if t == 0:
                    continue  # mem_i[-1] has no terms: nothing to pass (only when theta < 0)
                R = relevance_out[t, i]
                terms, unit_terms = membrane_terms(
                    x, W, alphas[layer][i], betas[layer][i], spikes[layer][:, i], i, t - 1
                )
                _pass_back(R, terms, unit_terms, W[:, i], rule, ab, relevance_in, sensitivity_in)

    return {
        "relevance": relevance_in.T.copy(),
        "sensitivity": sensitivity_in.T.copy(),
        "membrane": membrane,
        "spikes": spikes,
        "target": target,
    }
