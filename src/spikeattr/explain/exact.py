"""Exact LIF attribution: relevance that follows the synaptic current, the membrane and the resets.

For one weight layer with input spikes ``x [T, n_in]``, weights ``W [n_in, n]``, per-neuron decays
``alpha_j = exp(-dt / tau_syn)``, ``beta_j = exp(-dt / tau_mem)`` and the layer's observed output
spikes held fixed, the membrane of neuron ``j`` at step ``s`` is exactly linear in its inputs::

    mem_j[s] = sum_{t <= s} sum_i x[t, i] W[i, j] K_j(s, t)
    K_j(s, t) = sum_{u = max(t, r + 1) .. s} alpha_j^(u - t) beta_j^(s - u)

where ``r`` is the neuron's last spike at or before ``s`` (the reset zeroes the membrane; the
synaptic current is not reset). Without resets ``K(k) = (alpha^(k+1) - beta^(k+1)) /
(alpha - beta)`` for ``k = s - t`` (``(k + 1) alpha^k`` when ``alpha == beta``); TSA's
``beta^k`` is the membrane's decay alone.

**Relevance.** The explained quantity is ``F = sum_c w_c m_c[T-1]`` of the output membranes
``m`` at the last step: ``w = e_c`` (the class's membrane) or ``w = e_c - p`` (contrastive: the
linearisation of ``log p_c`` in the membranes). The output layer's input cell ``(i, t)`` gets its
term ``x[t, i] sum_c w_c W[i, c] K_c(T-1, t)``. A hidden spike of neuron ``i`` at step ``t``
exists because ``mem_i[t-1]`` crossed the threshold, so its relevance ``R`` goes back to the
terms of ``mem_i[t-1]``:

* ``rule="z"`` (LRP's z-rule): in proportion to each term, ``R term / mem_i[t-1]``;
* ``rule="alpha_beta"`` (LRP-alpha-beta, ``a - b = 1``): excitatory terms get
  ``a R term / Z+``, inhibitory ones ``-b R term / Z-`` (``Z+-``: the sums of the positive and
  negative terms); with ``(a, b) = (1, 0)`` only excitation carries relevance.

Both conserve: the relevance of all input cells sums to ``F`` exactly (up to float64 rounding),
which :class:`ExactMaps` lets a caller check. Everything is computed in float64 by two linear
time scans per layer (:mod:`spikeattr.explain.exact_kernels`), with every tail kept.

**Sensitivity and silence.** The relevance of an input cell is ``x[t, i] S[i, t]``, where the
sensitivity ``S`` is what a spike at that cell would receive with every factor of the rule
held as observed. ``S`` is defined at silent cells too: it is the signed effect that a spike
there would have had (through the observed resets), the counterfactual that the plain rule
(which gives a silent cell exactly 0) cannot see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spikeattr.errors import ExplanationError
from spikeattr.explain.exact_kernels import (
    CARRY,
    NONE,
    ZERO,
    adjoint_scan,
    hidden_pass,
    membrane_scan,
    state_scan,
)
from spikeattr.explain.recording import check_scores

RULES: tuple[str, ...] = ("z", "alpha_beta")
#: How a layer's reset acts on its membrane (``r[t]``: the layer reset at step ``t``):
#: ``zero``: ``mem[t] = 0`` (spikeattr's LIF; snnTorch's ``Synaptic``, reset to zero);
#: ``carry``: ``mem[t] = syn[t]``, only the carried membrane is cut (snnTorch's ``Leaky``,
#: reset to zero); ``subtract``: ``mem[t] = beta mem[t-1] + syn[t] - theta`` (snnTorch's
#: default); ``none``: no reset.
RESETS: tuple[str, ...] = ("zero", "carry", "subtract", "none")
_MODES = {"zero": ZERO, "carry": CARRY, "subtract": NONE, "none": NONE}


@dataclass
class LIFRecording:
    """Everything the exact attribution needs from one forward pass over ``[B, T, n_0]``.

    Attributes:
        layer_inputs: ``L`` arrays ``[B, T, n_l]`` of 0/1: the input spikes, then each hidden
            layer's spikes.
        layer_spikes: ``L`` arrays ``[B, T, n_{l+1}]`` of 0/1: the spikes each layer emitted
            (the last is the output layer's; they fix the resets).
        weights: ``L`` float64 arrays ``W_l [n_l, n_{l+1}]``.
        alphas: ``L`` float64 arrays ``[n_{l+1}]``: per-neuron synaptic decays per step (a
            layer-wide constant repeated).
        betas: ``L`` float64 arrays ``[n_{l+1}]``: per-neuron membrane decays per step.
        scores: the model's output membrane at the last step ``[B, C]`` (its softmax is ``p``).
        lag: when a layer's spike leaves it: ``1``, a spike emitted at ``t`` comes from the
            membrane of ``t - 1`` and resets the membrane at ``t`` (spikeattr's LIF); ``0``, it
            comes from the membrane of ``t`` and resets the membrane at ``t + 1`` (snnTorch).
        resets: per layer, how the reset acts (one of :data:`RESETS`; default ``zero``).
        thresholds: per layer ``[n_{l+1}]`` float64 thresholds (needed for ``subtract``).
        biases: per layer ``[n_{l+1}]`` float64 constant input currents, or ``None`` (their share
            of the explained quantity is :attr:`ExactMaps.absorbed`, not any input cell's).
        scores_after_reset: the scores are read after the last step's reset (Norse): a class
            whose output neuron spiked at the last step scores 0 (its reset value), whatever
            its inputs.
        initial_syn: per layer ``[B, n_{l+1}]`` float64: the synaptic current before the first
            step (a window of a longer run; ``None``: 0). Its share, and that of
            ``initial_mem``, is :attr:`ExactMaps.absorbed`. ``[2, B, n_{l+1}]``: split into
            the part of the excitatory terms (weights > 0) and of the inhibitory ones, which
            the alpha-beta rule needs.
        initial_mem: per layer ``[B, n_{l+1}]`` or ``[2, B, n_{l+1}]`` float64: the membrane
            before the first step (needs ``beta > 0`` and ``lag = 1``).
    """

    layer_inputs: list[np.ndarray]
    layer_spikes: list[np.ndarray]
    weights: list[np.ndarray]
    alphas: list[np.ndarray]
    betas: list[np.ndarray]
    scores: np.ndarray
    lag: int = 1
    resets: list[str] | None = None
    thresholds: list[np.ndarray] | None = None
    biases: list[np.ndarray | None] | None = None
    scores_after_reset: bool = False
    initial_syn: list[np.ndarray] | None = None
    initial_mem: list[np.ndarray] | None = None

    def __post_init__(self) -> None:
        n_layers = len(self.weights)
        counts = {len(self.layer_inputs), len(self.layer_spikes), len(self.alphas)}
        if n_layers == 0 or counts | {len(self.betas)} != {n_layers}:
            raise ExplanationError(
                "a LIF recording needs one input-spike array, one output-spike array and one "
                f"alpha and beta per weight layer; got {len(self.layer_inputs)}, "
                f"{len(self.layer_spikes)}, {len(self.alphas)}, {len(self.betas)} for "
                f"{n_layers} weight matrices"
            )
        batch, steps = self.layer_inputs[0].shape[:2]
        for index, weight in enumerate(self.weights):
            n_in, n_out = weight.shape
            for name, array, size in (
                ("layer_inputs", self.layer_inputs[index], n_in),
                ("layer_spikes", self.layer_spikes[index], n_out),
            ):
                if array.shape != (batch, steps, size):
                    raise ExplanationError(
                        f"{name}[{index}] must have shape [B={batch}, T={steps}, {size}]; got "
                        f"{tuple(array.shape)}"
                    )
            for name, decays in (("alphas", self.alphas[index]), ("betas", self.betas[index])):
                if decays.shape != (n_out,) or not bool(((decays >= 0) & (decays <= 1)).all()):
                    raise ExplanationError(
                        f"{name}[{index}] must hold {n_out} decays in [0, 1]; got shape "
                        f"{tuple(decays.shape)}"
                    )
        check_scores(self.scores, batch, self.n_classes)
        if self.lag not in (0, 1):
            raise ExplanationError(f"lag must be 0 or 1; got {self.lag!r}")
        modes = self.reset_modes
        if len(modes) != n_layers or any(mode not in RESETS for mode in modes):
            raise ExplanationError(
                f"resets must name one of {list(RESETS)} per layer ({n_layers}); got {modes!r}"
            )
        for name, values in (("thresholds", self.thresholds), ("biases", self.biases)):
            if values is None:
                continue
            if len(values) != n_layers:
                raise ExplanationError(f"{name} needs one entry per layer ({n_layers})")
            for index, value in enumerate(values):
                size = self.weights[index].shape[1]
                if value is not None and np.shape(value) != (size,):
                    raise ExplanationError(
                        f"{name}[{index}] must have shape [{size}]; got {np.shape(value)}"
                    )
        if (self.initial_syn is None) != (self.initial_mem is None):
            raise ExplanationError("initial_syn and initial_mem are given together or not at all")
        if self.initial_syn is not None and self.lag == 0:
            raise ExplanationError(
                "a window with a carried state needs lag 1: with lag 0 the reset of its first "
                "step comes from a spike before the window, which the recording does not hold"
            )
        for name, states in (("initial_syn", self.initial_syn), ("initial_mem", self.initial_mem)):
            for index, state in enumerate(states or []):
                size = self.weights[index].shape[1]
                if np.shape(state) not in ((batch, size), (2, batch, size)):
                    raise ExplanationError(
                        f"{name}[{index}] must have shape [B={batch}, {size}] or [2, B, {size}]; "
                        f"got {np.shape(state)}"
                    )
            if states is not None and len(states) != n_layers:
                raise ExplanationError(f"{name} needs one entry per layer ({n_layers})")
        if self.initial_mem is not None and any(not bool((beta > 0).all()) for beta in self.betas):
            raise ExplanationError("an initial membrane needs beta > 0 in every layer")
        if "subtract" in modes and (
            self.thresholds is None
            or any(self.thresholds[i] is None for i, mode in enumerate(modes) if mode == "subtract")
        ):
            raise ExplanationError("a layer that resets by subtraction needs its thresholds")

    @property
    def reset_modes(self) -> list[str]:
        """The reset of every layer (``zero`` where not given)."""
        return list(self.resets) if self.resets is not None else ["zero"] * len(self.weights)

    @property
    def n_classes(self) -> int:
        """``C``."""
        return int(self.weights[-1].shape[1])


@dataclass
class ExactMaps:
    """The exact attribution of every class's output membrane at the last step.

    Attributes:
        inputs: ``[B, n_0, T]`` float64: the input spikes ``x``, laid out like the maps.
        sensitivity: ``[B, C, n_0, T]`` float64: the relevance a spike at each input cell gets
            (or would get) towards ``m_c[T-1]``; defined at silent cells too.
        membrane: ``[B, C]`` float64: ``m_c[T-1]`` recomputed as the sum of its terms.
        absorbed: ``[B, C]`` float64: the share of ``m_c[T-1]`` that the rule gives to the
            biases and to subtractive resets of every layer, not to any input cell (0 for
            spikeattr's networks); ``relevance.sum() + absorbed = membrane``.
    """

    inputs: np.ndarray
    sensitivity: np.ndarray
    membrane: np.ndarray
    absorbed: np.ndarray

    @property
    def relevance(self) -> np.ndarray:
        """``[B, C, n_0, T]``: ``x * sensitivity``, the relevance of each input cell to class
        ``c``'s membrane; it sums over the cells to ``membrane[:, c]``."""
        return self.inputs[:, None] * self.sensitivity

    def combine(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sensitivity ``[B, K, n_0, T]`` and target ``[B, K]`` of the targets
        ``F_k = sum_c weights[b, k, c] m_c`` (``weights [B, K, C]``): the maps are linear in
        the target weights (the relevance of ``F_k`` is ``x`` times that sensitivity)."""
        batch, classes = self.membrane.shape
        flat = self.sensitivity.reshape(batch, classes, math.prod(self.sensitivity.shape[2:]))
        sensitivity = np.empty((batch, weights.shape[1], flat.shape[2]))
        for b in range(batch):  # one BLAS product per sample: np.matmul's stacks are 3x slower
            np.dot(weights[b], flat[b], out=sensitivity[b])
        target = np.einsum("bkc,bc->bk", weights, self.membrane)
        shape = (batch, weights.shape[1], *self.sensitivity.shape[2:])
        return sensitivity.reshape(shape), target

    def combined_absorbed(self, weights: np.ndarray) -> np.ndarray:
        """``[B, K]``: the absorbed share of the targets ``F_k = sum_c weights[b, k, c] m_c``."""
        return np.einsum("bkc,bc->bk", weights, self.absorbed)


def _subtracted(
    resets: np.ndarray, beta: np.ndarray, threshold: np.ndarray | None, mode: str
) -> np.ndarray | None:
    """``[B, n, T]``: the membrane's part from subtractive resets, ``q[t] = beta q[t-1] -
    theta r[t]`` (``None`` unless ``mode`` is ``subtract``)."""
    if mode != "subtract" or threshold is None:
        return None
    batch, n, steps = resets.shape
    part = np.zeros((batch, n, steps))
    previous = np.zeros((batch, n))
    for t in range(steps):
        previous = beta * previous - threshold * resets[:, :, t]
        part[:, :, t] = previous
    return part


def _extra_rows(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    initial: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The layer's input ``[B, n_in + e, T]`` and weight ``[n_in + e, n]`` with ``e`` extra rows
    that are not input cells: a bias (an input that is 1 at every step of the window, weight
    ``b``; the initial state holds what it gave before), and the initial state.

    With an initial state ``(syn0, mem0, alpha, beta)`` the window has been given two leading
    steps (``x`` is 0 there). Currents ``c1 = (mem0 - syn0) / beta`` at the first and
    ``c2 = syn0 - alpha c1`` at the second bring a neuron from rest to exactly ``syn0`` and
    ``mem0``. They enter as rows of weight ``+I`` (the state of the excitatory terms) and
    ``-I`` (of the inhibitory ones, negated), so that the alpha-beta rule counts each part
    where the whole run would."""
    rows, weights = [x], [weight]
    batch, steps = x.shape[0], x.shape[2]
    lead = 0 if initial is None else 2
    if bias is not None and np.any(bias):
        ones = np.ones((batch, 1, steps))
        ones[:, :, :lead] = 0.0  # not during the leading steps that set the initial state
        rows.append(ones)
        weights.append(np.asarray(bias, dtype=np.float64)[None])
    if initial is not None:
        syn0, mem0, alpha, beta = initial
        n = weight.shape[1]
        if syn0.ndim == 2:  # one state: its terms' signs do not matter (z-rule)
            syn0, mem0 = (
                np.stack([syn0, np.zeros_like(syn0)]),
                np.stack([mem0, np.zeros_like(mem0)]),
            )
        for part, sign in ((0, 1.0), (1, -1.0)):
            c1 = (mem0[part] - syn0[part]) / beta
            c2 = syn0[part] - alpha * c1
            currents = np.zeros((batch, n, steps))
            currents[:, :, 0], currents[:, :, 1] = sign * c1, sign * c2
            rows.append(currents)
            weights.append(sign * np.eye(n))
    if len(rows) == 1:
        return x, weight
    return np.concatenate(rows, axis=1), np.vstack(weights)


def final_states(recording: LIFRecording) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The state after the recording's last step, per layer ``(syn, mem)`` each
    ``[2, B, n_{l+1}]``: the part of the excitatory terms (weight > 0, the initial state's own
    excitatory part included) and of the inhibitory ones; their sum is the layer's state. A
    window that starts there (``initial_syn``, ``initial_mem``) is explained as the tail of the
    whole run. Resets ``zero``, ``carry`` and ``none`` (a subtractive reset is not a term of
    either part); biases count by their sign."""
    modes = recording.reset_modes
    if "subtract" in modes:
        raise ExplanationError("the state of a layer that resets by subtraction is not split")
    syns, mems = [], []
    for index, weight in enumerate(recording.weights):
        x = np.asarray(recording.layer_inputs[index], dtype=np.float64)  # [B, T, n_in]
        emitted = np.asarray(recording.layer_spikes[index]) != 0
        resets = (
            emitted if recording.lag == 1 else np.pad(emitted, ((0, 0), (1, 0), (0, 0)))[:, :-1]
        )
        alpha, beta = recording.alphas[index], recording.betas[index]
        bias = None if recording.biases is None else recording.biases[index]
        batch = x.shape[0]
        syn = np.zeros((2, batch, weight.shape[1]))
        mem = np.zeros((2, batch, weight.shape[1]))
        if recording.initial_syn is not None and recording.initial_mem is not None:
            syn0 = np.asarray(recording.initial_syn[index], dtype=np.float64)
            mem0 = np.asarray(recording.initial_mem[index], dtype=np.float64)
            syn[:], mem[:] = (syn0, mem0) if syn0.ndim == 3 else ((syn0, 0.0), (mem0, 0.0))
        for part, keep in enumerate((np.maximum, np.minimum)):
            w = keep(np.asarray(weight, dtype=np.float64), 0.0)
            b = 0.0 if bias is None else keep(np.asarray(bias, dtype=np.float64), 0.0)
            for row in range(batch):  # advances syn[part, row], mem[part, row] in place
                state_scan(
                    x[row] @ w + b,
                    resets[row],
                    alpha,
                    beta,
                    syn[part, row],
                    mem[part, row],
                    _MODES[modes[index]],
                )
        syns.append(syn)
        mems.append(mem)
    return syns, mems


def exact_maps(
    recording: LIFRecording, rule: str = "z", ab: tuple[float, float] = (1.0, 0.0)
) -> ExactMaps:
    """The exact attribution of every class's membrane target; see the module docstring."""
    if rule not in RULES:
        raise ExplanationError(f"unknown rule {rule!r}; choose one of {list(RULES)}")
    a_weight, b_weight = (float(v) for v in ab)
    if rule == "alpha_beta" and (abs(a_weight - b_weight - 1.0) > 1e-12 or b_weight < 0):
        raise ExplanationError(f"alpha_beta needs a - b = 1 and b >= 0; got ab = {ab!r}")
    if rule == "alpha_beta" and any(np.ndim(s) == 2 for s in recording.initial_syn or []):
        raise ExplanationError(
            "the alpha-beta rule needs the initial state split into the part of the excitatory "
            "and of the inhibitory terms ([2, B, n])"
        )
    # neuron-major, step-minor: [B, n, T], the layout of the maps
    lead = 0 if recording.initial_syn is None else 2  # leading steps that set the initial state
    pad = ((0, 0), (0, 0), (lead, 0))
    inputs = [
        np.pad(np.asarray(x, dtype=np.float64).transpose(0, 2, 1), pad)
        for x in recording.layer_inputs
    ]
    emitted = [np.pad(s.transpose(0, 2, 1), pad) for s in recording.layer_spikes]
    if recording.lag == 1:
        resets = emitted
    else:  # a spike emitted at t resets the membrane at t + 1
        resets = [np.zeros_like(e) for e in emitted]
        for reset, spikes in zip(resets, emitted, strict=True):
            reset[:, :, 1:] = spikes[:, :, :-1]
    modes = recording.reset_modes
    n_layers = len(recording.weights)
    biases = recording.biases if recording.biases is not None else [None] * n_layers
    thresholds = recording.thresholds if recording.thresholds is not None else [None] * n_layers
    initial = [
        None
        if recording.initial_syn is None or recording.initial_mem is None
        else (
            np.asarray(recording.initial_syn[index], dtype=np.float64),
            np.asarray(recording.initial_mem[index], dtype=np.float64),
            np.asarray(recording.alphas[index], dtype=np.float64),
            np.asarray(recording.betas[index], dtype=np.float64),
        )
        for index in range(n_layers)
    ]
    layers = [
        _extra_rows(x, np.asarray(w, dtype=np.float64), b, start)
        for x, w, b, start in zip(inputs, recording.weights, biases, initial, strict=True)
    ]
    batch, _, steps = inputs[0].shape
    classes = recording.n_classes
    last = n_layers - 1
    absorbed = np.zeros((batch, classes))

    # Output layer: K_c(T-1, t) of every class at once; the sensitivity of its input (i, t) to
    # class c's membrane is W[i, c] K_c(T-1, t).
    readout = np.zeros((batch, classes, steps))
    readout[:, :, -1] = 1.0
    if recording.scores_after_reset:  # a neuron that spiked at the last step was reset to 0
        readout[:, :, -1] = emitted[last][:, :, -1] == 0
    kernel = adjoint_scan(
        readout,
        resets[last],
        recording.alphas[last],
        recording.betas[last],
        mode=_MODES[modes[last]],
    )  # [B, C, T]
    x_top, w_top = layers[last]
    n_top = inputs[last].shape[1]
    top = np.ascontiguousarray(w_top[:n_top].T)  # [C, n_L]: the spikes' rows only
    currents = np.matmul(w_top.T, x_top)  # [B, C, T]
    membrane = (currents * kernel).sum(axis=-1)
    if w_top.shape[0] > n_top:  # the extra rows' share (bias, initial state)
        extra = np.matmul(w_top[n_top:].T, x_top[:, n_top:])  # [B, C, T]
        absorbed += (extra * kernel).sum(axis=-1)
    subtracted = _subtracted(resets[last], recording.betas[last], thresholds[last], modes[last])
    if subtracted is not None:
        membrane = membrane + subtracted[:, :, -1]
        absorbed += subtracted[:, :, -1]
    # [B, C, n_L, T] is built only when it is the answer (one layer); the hidden layer under the
    # output layer reads it as kernel x top
    sensitivity: np.ndarray = np.empty((0, 0, 0, 0))
    if last == 0:
        sensitivity = np.multiply(top[None, :, :, None], kernel[:, :, None, :], order="C")

    for layer in range(last - 1, -1, -1):
        spikes = emitted[layer]  # this layer's output: the next layer's input
        alpha, beta = recording.alphas[layer], recording.betas[layer]
        x_layer, weight = layers[layer]
        n_spiking = inputs[layer].shape[1]
        mode = _MODES[modes[layer]]
        if rule == "z":
            parts = [weight]
        else:
            parts = [np.maximum(weight, 0.0), np.minimum(weight, 0.0)]
        membranes = [
            membrane_scan(np.matmul(part.T, x_layer), resets[layer], alpha, beta, mode)
            for part in parts
        ]
        subtracted = _subtracted(resets[layer], beta, thresholds[layer], modes[layer])
        if subtracted is not None:  # an inhibitory term of the membrane, not an input's
            membranes[-1] = membranes[-1] + subtracted
        if rule == "z":
            factors = [np.ones_like(membranes[0])]
        else:
            # where one sign has no terms, the other carries the whole share
            lone = (membranes[0] == 0) | (membranes[1] == 0)
            factors = [np.where(lone, 1.0, a_weight), np.where(lone, 1.0, -b_weight)]
        below = np.zeros((batch, classes, weight.shape[0], steps))
        upper = (kernel, top) if layer == last - 1 else sensitivity
        for part, denominators, factor in zip(parts, membranes, factors, strict=True):
            hidden_pass(
                upper,
                spikes,
                denominators,
                factor,
                alpha,
                beta,
                part,
                below,
                lag=recording.lag,
                resets=resets[layer],
                mode=mode,
            )
        if subtracted is not None:
            absorbed += _reset_share(
                upper, spikes, recording.lag, membranes[-1], factors[-1], subtracted
            )
        if weight.shape[0] > n_spiking:  # the extra rows: bias, initial state
            absorbed += np.einsum("bkt,bckt->bc", x_layer[:, n_spiking:], below[:, :, n_spiking:])
            below = np.ascontiguousarray(below[:, :, :n_spiking])
        sensitivity = below
    return ExactMaps(
        inputs=np.ascontiguousarray(inputs[0][:, :, lead:]),
        sensitivity=np.ascontiguousarray(sensitivity[..., lead:]),
        membrane=membrane,
        absorbed=absorbed,
    )


def _reset_share(
    upper: np.ndarray | tuple[np.ndarray, np.ndarray],
    spikes: np.ndarray,
    lag: int,
    denominators: np.ndarray,
    factors: np.ndarray,
    subtracted: np.ndarray,
) -> np.ndarray:
    """``[B, C]``: what the spikes of a layer pass to its subtractive resets: at each spike
    (``v + lag``), ``factor[v] upper[v + lag] q[v] / denominator[v]``."""
    steps = spikes.shape[-1]
    shifted = np.zeros(spikes.shape)
    shifted[:, :, : steps - lag] = spikes[:, :, lag:]  # [B, n, T]: spike at v + lag
    safe = np.where(denominators != 0, denominators, 1.0)
    weight = np.where(shifted * (denominators != 0) != 0, factors * subtracted / safe, 0.0)
    if isinstance(upper, tuple):
        kernel, top = upper  # upper[b, c, j, t] = top[c, j] kernel[b, c, t]
        above = np.zeros(kernel.shape)
        above[:, :, : steps - lag] = kernel[:, :, lag:]
        return np.einsum("cj,bct,bjt->bc", top, above, weight)
    above = np.zeros(upper.shape)
    above[..., : steps - lag] = upper[..., lag:]
    return np.einsum("bcjt,bjt->bc", above, weight)
