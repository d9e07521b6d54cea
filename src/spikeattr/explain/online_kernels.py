"""Compiled kernel of the online explainer: one call per chunk of steps, no Python per step.

For the newest step ``tau`` the map column of a past step ``t`` is (SPEC 4, series form)

    A_tau[:, :, t] = g^(tau + 1 - t) B(t) diag(p_tau),   g = prod_l beta_l,
    B(t)           = d_0(t) * (W_0 diag(d_1(t)) W_1 ... diag(d_{L-1}(t)) W_{L-1})   [n_0, C]

``B(t)`` depends only on the spikes of step ``t``, so it is computed once, when step ``t``
arrives, and kept in a ring of the last ``K`` steps; each map is then the ring scaled by the
decay of each column and by ``p_tau``. The ring is stored twice over (``[C, n_0, 2K]``, step
written at slots ``pos`` and ``pos + K``) so that the ``K`` newest steps, oldest first, are the
contiguous slots ``pos + 1 .. pos + K``. Per step: the product (``sum_l n_l n_{l+1} C``
multiply-adds, silent neurons skipped for TSA-S and SAM) plus ``C n_0 K`` for the map. For
TSA-NS the last hidden layer is written ``W diag(d) R = (1 + 1/n) W diag(s) R - (1/n) W R`` with
``W R = W_{L-2} W_{L-1}`` computed once, so only its spiking neurons cost anything.

The product is accumulated in float64 and the maps rounded to float32 once. Series mode uses
the same product (:meth:`ProductOperands.products`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

MAPS_NONE = 0
"""Compute predictions and probabilities only (the ring is still updated)."""
MAPS_PREDICTED = 1
"""Also the map of the predicted class of every step."""
MAPS_ALL = 2
"""Also the map of every class of every step."""


@dataclass(frozen=True)
class ProductOperands:
    """The weights of ``B(t)`` laid out for the kernels, in float64.

    Attributes:
        weights: for ``l < L-1`` the transposed ``W_l^T [n_{l+1}, n_l]``, then
            ``W_{L-1} [n_{L-1}, C]``, row-major, concatenated (all ones for SAM).
        offsets: int64 ``[L]`` start of each block.
        sizes: int64 ``(n_0, ..., n_L)``.
        ns: TSA-NS factors (silent neurons ``-1/n_l``), else TSA-S / SAM.
        top_product: ``W_{L-2} W_{L-1} [n_{L-2}, C]`` row-major (empty for ``L = 1``).
    """

    weights: np.ndarray
    offsets: np.ndarray
    sizes: np.ndarray
    ns: bool
    top_product: np.ndarray

    @classmethod
    def of(cls, weights: Sequence[np.ndarray], variant: str) -> ProductOperands:
        """The operands for ``W_l [n_l, n_{l+1}]`` and ``variant`` (``s``, ``ns``, ``sam``)."""
        matrices = [np.asarray(w, dtype=np.float64) for w in weights]
        if variant == "sam":
            matrices = [np.ones_like(w) for w in matrices]
        blocks = [np.ascontiguousarray(w.T) for w in matrices[:-1]] + [matrices[-1]]
        sizes = [matrices[0].shape[0]] + [w.shape[1] for w in matrices]
        return cls(
            weights=np.concatenate([np.ascontiguousarray(b).ravel() for b in blocks]),
            offsets=np.cumsum([0] + [b.size for b in blocks[:-1]]).astype(np.int64),
            sizes=np.asarray(sizes, dtype=np.int64),
            ns=variant == "ns",
            top_product=(
                np.ascontiguousarray(matrices[-2] @ matrices[-1]).ravel()
                if len(matrices) >= 2
                else np.zeros(0)
            ),
        )

    def scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """Two float64 work buffers of ``max_l n_l * C``."""
        width = int(self.sizes.max() * self.sizes[-1])
        return np.zeros(width), np.zeros(width)

    def products(self, layer_inputs: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
        """``B(t) [C, n_0, t]`` of every row of ``layer_inputs [t, sum_{l<L} n_l]`` (0/1)."""
        sizes = self.sizes
        out = np.empty((int(sizes[-1]), int(sizes[0]), layer_inputs.shape[0]), dtype=dtype)
        first, second = self.scratch()
        step_products(
            np.ascontiguousarray(layer_inputs),
            self.weights,
            self.offsets,
            sizes,
            self.ns,
            self.top_product,
            first,
            second,
            out,
        )
        return out


@numba.njit(cache=True, nogil=True)
def _factor(spike: np.float32, n: int, ns: bool) -> float:
    """The diagonal entry of ``D_l`` without its decay: 1 if fired, else ``-1/n`` (NS) or 0."""
    if spike > 0:
        return 1.0
    if ns:
        return -1.0 / n
    return 0.0


@numba.njit(cache=True, nogil=True)
def _product(
    layer_inputs: np.ndarray,
    r: int,
    weights: np.ndarray,
    offsets: np.ndarray,
    sizes: np.ndarray,
    ns: bool,
    top_product: np.ndarray,
    buffer_a: np.ndarray,
    buffer_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``R = W_0 diag(d_1) W_1 ... W_{L-1}`` of row ``r``, ``[n_0, C]`` row-major, in float64.

    Returns ``(R, the other scratch buffer)``; ``B(t)[c, i] = d_0(t)[i] R[i, c]``.
    """
    n_layers = sizes.shape[0] - 1
    n_classes = sizes[n_layers]
    last = offsets[n_layers - 1]
    for x in range(sizes[n_layers - 1] * n_classes):
        buffer_a[x] = weights[last + x]
    current, other = buffer_a, buffer_b
    column = 0
    for layer in range(n_layers - 1):
        column += sizes[layer]
    for layer in range(n_layers - 1, 0, -1):
        n_prev = sizes[layer - 1]
        n_here = sizes[layer]
        column -= n_prev  # layer_inputs columns of layer l start at column + n_prev
        split = ns and layer == n_layers - 1  # (1 + 1/n) W diag(s) R - (1/n) W R
        for x in range(n_prev * n_classes):
            other[x] = -top_product[x] / n_here if split else 0.0
        base = offsets[layer - 1]
        for k in range(n_here):
            if split:
                if layer_inputs[r, column + n_prev + k] <= 0:
                    continue
                factor = 1.0 + 1.0 / n_here
            else:
                factor = _factor(layer_inputs[r, column + n_prev + k], n_here, ns)
            if factor == 0.0:
                continue
            row = base + k * n_prev
            for j in range(n_prev):
                w = weights[row + j] * factor
                if w == 0.0:
                    continue
                for c in range(n_classes):
                    other[j * n_classes + c] += w * current[k * n_classes + c]
        current, other = other, current
    return current, other


@numba.njit(cache=True, nogil=True)
def step_products(
    layer_inputs: np.ndarray,
    weights: np.ndarray,
    offsets: np.ndarray,
    sizes: np.ndarray,
    ns: bool,
    top_product: np.ndarray,
    buffer_a: np.ndarray,
    buffer_b: np.ndarray,
    out: np.ndarray,
) -> None:
    """``B(t)`` of every row of ``layer_inputs [t, sum_{l<L} n_l]`` into ``out [C, n_0, t]``,
    accumulated in float64 and rounded once (the arguments as for :func:`explain_steps`)."""
    n_inputs = sizes[0]
    n_classes = sizes[sizes.shape[0] - 1]
    for r in range(layer_inputs.shape[0]):
        current, _ = _product(
            layer_inputs, r, weights, offsets, sizes, ns, top_product, buffer_a, buffer_b
        )
        for i in range(n_inputs):
            factor = _factor(layer_inputs[r, i], n_inputs, ns)
            for c in range(n_classes):
                out[c, i, r] = factor * current[i * n_classes + c]


@numba.njit(cache=True, nogil=True)
def explain_steps(
    layer_inputs: np.ndarray,
    scores: np.ndarray,
    weights: np.ndarray,
    offsets: np.ndarray,
    sizes: np.ndarray,
    ns: bool,
    top_product: np.ndarray,
    ring: np.ndarray,
    counters: np.ndarray,
    previous_probs: np.ndarray,
    decay: np.ndarray,
    mode: int,
    buffer_a: np.ndarray,
    buffer_b: np.ndarray,
    probs_out: np.ndarray,
    predicted_out: np.ndarray,
    maps_out: np.ndarray,
    explanation_out: np.ndarray,
    changes_out: np.ndarray,
    moved_out: np.ndarray,
) -> int:
    """Explain the newest step for every row of ``layer_inputs [t, sum_{l<L} n_l]``.

    Args:
        layer_inputs: the spikes entering each weight layer at each step (input first), 0/1.
        scores: output membrane ``[t, C]``.
        weights: float64, for ``l < L-1`` the transposed ``W_l^T [n_{l+1}, n_l]``, then
            ``W_{L-1} [n_{L-1}, C]``, row-major from ``offsets[l]`` (all ones for SAM).
        sizes: ``(n_0, ..., n_L)``.
        ns: TSA-NS factors (silent neurons ``-1/n_l``), else TSA-S/SAM (silent = 0).
        top_product: float64 ``W_{L-2} W_{L-1} [n_{L-2}, C]`` row-major (``L >= 2``, NS).
        ring: float64 ``[C, n_0, 2K]``, ``B`` of the last ``K`` steps (see module doc).
        counters: int64 ``[pos, steps_seen, previous_predicted]`` (-1 before the first step).
        previous_probs: float64 ``[C]`` probabilities of the step before (zeros at first).
        decay: float64 ``[K]``, ``g^(K - k)`` for column ``k``.
        mode: :data:`MAPS_NONE`, :data:`MAPS_PREDICTED` or :data:`MAPS_ALL`.
        buffer_a: float64 scratch of ``max_l n_l * C``.
        buffer_b: float64 scratch of ``max_l n_l * C``.
        probs_out: float32 ``[t, C]``.
        predicted_out: int64 ``[t]``.
        maps_out: float32 ``[t, C, n_0, K]`` (:data:`MAPS_ALL`).
        explanation_out: float32 ``[t, n_0, K]``, map of the predicted class
            (:data:`MAPS_PREDICTED`).
        changes_out: int64 ``[t]``: rows where the prediction differs from the step before.
        moved_out: float32 ``[t, n_0, K]``: at the ``m``-th change, the map of the new class
            minus its map one step earlier, aligned on the newer map's steps (unless
            :data:`MAPS_NONE`).

    Returns:
        The number of changes written to ``changes_out``/``moved_out``.
    """
    n_layers = sizes.shape[0] - 1
    n_inputs = sizes[0]
    n_classes = sizes[n_layers]
    support = decay.shape[0]
    changes = 0
    for r in range(layer_inputs.shape[0]):
        current, other = _product(
            layer_inputs, r, weights, offsets, sizes, ns, top_product, buffer_a, buffer_b
        )
        pos = counters[0]
        for i in range(n_inputs):
            factor = _factor(layer_inputs[r, i], n_inputs, ns)
            for c in range(n_classes):
                value = factor * current[i * n_classes + c]
                ring[c, i, pos] = value
                ring[c, i, pos + support] = value
        # probabilities: softmax of the float32 scores, in float64, rounded once
        top = -np.inf
        for c in range(n_classes):
            if scores[r, c] > top:
                top = scores[r, c]
        total = 0.0
        for c in range(n_classes):
            other[c] = math.exp(np.float64(scores[r, c]) - np.float64(top))
            total += other[c]
        best = 0
        for c in range(n_classes):
            other[c] = other[c] / total
            probs_out[r, c] = other[c]
            if probs_out[r, c] > probs_out[r, best]:
                best = c
        predicted_out[r] = best
        start = pos + 1  # oldest of the K newest steps
        if mode == MAPS_ALL:
            for c in range(n_classes):
                for i in range(n_inputs):
                    for k in range(support):
                        maps_out[r, c, i, k] = decay[k] * other[c] * ring[c, i, start + k]
        elif mode == MAPS_PREDICTED:
            for i in range(n_inputs):
                for k in range(support):
                    explanation_out[r, i, k] = decay[k] * other[best] * ring[best, i, start + k]
        if best != counters[2]:
            changes_out[changes] = r
            if mode != MAPS_NONE:
                now = other[best]
                before = previous_probs[best]
                for i in range(n_inputs):
                    for k in range(support - 1):
                        scale = decay[k] * now - decay[k + 1] * before
                        moved_out[changes, i, k] = scale * ring[best, i, start + k]
                    k = support - 1
                    moved_out[changes, i, k] = decay[k] * now * ring[best, i, start + k]
            changes += 1
        for c in range(n_classes):
            previous_probs[c] = other[c]
        counters[2] = best
        counters[0] = (pos + 1) % support
        counters[1] += 1
    return changes


@numba.njit(cache=True, nogil=True)
def top_entries(
    maps: np.ndarray,
    top: int,
    channel_out: np.ndarray,
    ago_out: np.ndarray,
    value_out: np.ndarray,
) -> None:
    """The ``top`` largest non-zero entries by absolute value of each map ``[t, n, K]``.

    Fills ``channel_out``, ``ago_out`` (``K - 1 - k``: steps before the map's newest) and
    ``value_out``, each ``[t, top]``, largest first; equal magnitudes keep the order channel,
    then older step; unused slots get channel -1 and value 0.
    """
    steps, n, support = maps.shape
    for r in range(steps):
        count = 0
        for i in range(n):
            for k in range(support):
                value = maps[r, i, k]
                if value == 0.0:
                    continue
                magnitude = abs(value)
                if count == top and (top == 0 or magnitude <= abs(value_out[r, top - 1])):
                    continue
                slot = count if count < top else top - 1
                while slot > 0 and abs(value_out[r, slot - 1]) < magnitude:
                    channel_out[r, slot] = channel_out[r, slot - 1]
                    ago_out[r, slot] = ago_out[r, slot - 1]
                    value_out[r, slot] = value_out[r, slot - 1]
                    slot -= 1
                channel_out[r, slot] = i
                ago_out[r, slot] = support - 1 - k
                value_out[r, slot] = value
                if count < top:
                    count += 1
        for slot in range(count, top):
            channel_out[r, slot] = -1
            ago_out[r, slot] = 0
            value_out[r, slot] = 0.0
