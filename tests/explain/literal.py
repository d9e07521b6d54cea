"""A slow, literal implementation of SPEC 4, kept in the tests as the oracle.

Per explained step, per past step ``t``, per layer: build the diagonal matrices ``D_l(t)`` and
multiply ``D_0 W_0 D_1 W_1 ... D_{L-1} W_{L-1} diag(p)`` exactly as written, in float64.
Also a literal simulation of SPEC 3, one neuron at a time, to record the spikes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def simulate_literal(
    spikes: np.ndarray, weights: Sequence[np.ndarray], alpha: float, beta: float
) -> tuple[list[np.ndarray], np.ndarray]:
    """SPEC 3 for one window ``[T, n_0]`` from zero state, float64.

    Returns ``(layer_inputs, output_membrane)``: ``L`` arrays ``[T, n_l]`` (input, then hidden
    spikes) and the output membrane ``[T, C]``.
    """
    layer_inputs = [spikes.astype(np.float64)]
    x = layer_inputs[0]
    membrane_out = np.zeros(0)
    for index, weight in enumerate(weights):
        steps, n_out = x.shape[0], weight.shape[1]
        syn = np.zeros(n_out)
        mem = np.zeros(n_out)
        emitted = np.zeros((steps, n_out))
        membrane = np.zeros((steps, n_out))
        for t in range(steps):
            current = x[t] @ weight
            for j in range(n_out):
                s = 1.0 if mem[j] - 1.0 > 0 else 0.0
                syn[j] = alpha * syn[j] + current[j]
                mem[j] = (beta * mem[j] + syn[j]) * (1.0 - s)
                emitted[t, j] = s
                membrane[t, j] = mem[j]
        if index < len(weights) - 1:
            layer_inputs.append(emitted)
        x = emitted
        membrane_out = membrane
    return layer_inputs, membrane_out


def tsa_literal(
    layer_inputs: Sequence[np.ndarray],
    weights: Sequence[np.ndarray],
    beta: float,
    probs: np.ndarray,
    variant: str,
) -> np.ndarray:
    """``A [C, n_0, T]`` for the prediction at the last step, exactly as SPEC 4 writes it."""
    steps, n_inputs = layer_inputs[0].shape
    n_classes = weights[-1].shape[1]
    result = np.zeros((n_classes, n_inputs, steps))
    for t in range(steps):
        decay = beta ** (steps - t)
        product = np.eye(n_inputs)
        for spikes, weight in zip(layer_inputs, weights, strict=True):
            n = spikes.shape[1]
            diagonal = np.zeros((n, n))
            for i in range(n):
                if spikes[t, i] > 0:
                    diagonal[i, i] = decay
                elif variant == "ns":
                    diagonal[i, i] = -(1.0 / n) * decay
            matrix = np.ones_like(weight) if variant == "sam" else weight
            product = product @ diagonal @ matrix
        product = product @ np.diag(probs)
        result[:, :, t] = product.T
    return result


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax of a ``[C]`` vector in float64."""
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()


def decay_per_step(dt: float, tau_mem: float) -> float:
    """``beta = exp(-dt / tau_mem)``."""
    return math.exp(-dt / tau_mem)


def large_product_case(steps: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A one-layer case whose ``B = W diag(p)`` is of order 1e100: ``spikes [1, steps, 2]``
    (all ones), ``weight [2, 3]`` (row 1 negative) and ``scores [1, 3]``, float64, with
    ``beta = e^-1``. At 800 steps back the decay e^-800 alone is below float64's range but
    the attribution e^(230 - 800) is not."""
    weight = np.full((2, 3), 1e100)
    weight[1] = -3e100
    return np.ones((1, steps, 2)), weight, np.array([[0.5, -1.0, 2.0]])
