"""Behaviours of the exact LIF attribution that ``tools/mutate.py`` found no test for (each test
kills the survivors named in its docstring, in explain/exact.py and explain/exact_kernels.py).

The expected values are written out here with plain loops: the membrane's response to one unit
of current under each reset mode, and the relevance a hidden spike passes back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.exact import LIFRecording, exact_maps
from spikeattr.explain.exact_attribution import ExactLIFAttribution
from spikeattr.explain.exact_kernels import CARRY, NONE, ZERO, hidden_pass
from spikeattr.snn.network import LIFNetwork

from .literal_exact import literal_exact, simulate


def _response(alpha: float, beta: float, resets: np.ndarray, mode: int, t: int) -> np.ndarray:
    """``mem[v]`` for one unit of current at step ``t`` and none else, the resets held: ZERO
    sets the membrane to 0 at a reset, CARRY to the step's synaptic current, NONE ignores it."""
    syn = mem = 0.0
    out = np.zeros(len(resets))
    for v in range(len(resets)):
        syn = alpha * syn + (1.0 if v == t else 0.0)
        if mode != NONE and resets[v] != 0:
            mem = 0.0 if mode == ZERO else syn
        else:
            mem = beta * mem + syn
        out[v] = mem
    return out


def _literal_hidden_pass(
    upper: np.ndarray,
    spikes: np.ndarray,
    denominators: np.ndarray,
    factors: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    weight: np.ndarray,
    lag: int,
    resets: np.ndarray,
    mode: int,
) -> np.ndarray:
    """``out[b, c, k, t] = sum_j weight[k, j] sum_v h[b, c, j, v] mem_j[v] / (unit at t)``,
    ``h[v] = factors[v] upper[v + lag] / denominators[v]`` where the neuron spiked at ``v + lag``
    and the denominator is not 0."""
    batch, classes, n, steps = upper.shape
    out = np.zeros((batch, classes, weight.shape[0], steps))
    for b in range(batch):
        for c in range(classes):
            for j in range(n):
                h = np.zeros(steps)
                for v in range(steps):
                    u = v + lag
                    if u < steps and spikes[b, j, u] != 0 and denominators[b, j, v] != 0:
                        h[v] = factors[b, j, v] * upper[b, c, j, u] / denominators[b, j, v]
                for t in range(steps):
                    g = float(h @ _response(alpha[j], beta[j], resets[b, j], mode, t))
                    for k in range(weight.shape[0]):
                        out[b, c, k, t] += weight[k, j] * g
    return out


def _pass_inputs(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    batch, classes, n, n_in, steps = 2, 3, 4, 3, 12
    spikes = (rng.random((batch, n, steps)) < 0.4).astype(np.int8)
    denominators = rng.uniform(0.5, 2.0, (batch, n, steps))
    # a membrane of exactly 1.0 and one of exactly 0.0 under a spike of every neuron
    for b in range(batch):
        for j in range(n):
            spikes[b, j, 3] = spikes[b, j, 7] = 1
            denominators[b, j, 2] = denominators[b, j, 3] = 1.0
            denominators[b, j, 6] = denominators[b, j, 7] = 0.0
    return {
        "kernel": rng.normal(size=(batch, classes, steps)),
        "top": rng.normal(size=(classes, n)),
        "spikes": spikes,
        "denominators": denominators,
        "factors": rng.uniform(-1.0, 2.0, (batch, n, steps)),
        "alpha": rng.uniform(0.2, 0.9, n),
        "beta": rng.uniform(0.2, 0.9, n),
        "weight": rng.normal(size=(n_in, n)),
    }


@pytest.mark.parametrize("mode", [ZERO, CARRY, NONE])
@pytest.mark.parametrize("lag", [0, 1])
def test_hidden_pass_is_the_literal_pass(mode: int, lag: int) -> None:
    """hidden_pass, in both forms of ``upper`` (full, and ``(kernel, top)``) and with the
    resets given or left to their default (the spikes), adds the literal pass to ``out``.
    A spike whose membrane is exactly 1.0 passes ``factor * upper`` (kills
    ``if denominator != 0.0`` -> ``!= 1.0`` in explain/exact_kernels.py), one whose membrane is
    0.0 passes nothing."""
    data = _pass_inputs(seed=10 * lag + mode)
    full = data["top"][None, :, :, None] * data["kernel"][:, :, None, :]
    common = (data["spikes"], data["denominators"], data["factors"], data["alpha"], data["beta"])
    expected = _literal_hidden_pass(
        full, *common, data["weight"], lag=lag, resets=data["spikes"], mode=mode
    )
    # (with lag 0 a spike at v resets the membrane of v itself: in mode ZERO nothing passes)
    assert np.abs(expected).max() > 0 or (mode == ZERO and lag == 0)
    start = np.random.default_rng(3).normal(size=expected.shape)  # `out` is added to
    for upper in (full, (data["kernel"], data["top"])):
        for resets in (None, data["spikes"]):
            out = start.copy()
            hidden_pass(upper, *common, data["weight"], out, lag=lag, resets=resets, mode=mode)
            np.testing.assert_allclose(out, start + expected, rtol=1e-12, atol=1e-12)


def test_hidden_pass_takes_the_resets_it_is_given() -> None:
    """Resets other than the spikes (snnTorch's: one step after each spike) are the ones that
    cut the membrane's response, not the spikes."""
    data = _pass_inputs(seed=7)
    resets = np.zeros_like(data["spikes"])
    resets[:, :, 1:] = data["spikes"][:, :, :-1]
    full = data["top"][None, :, :, None] * data["kernel"][:, :, None, :]
    common = (data["spikes"], data["denominators"], data["factors"], data["alpha"], data["beta"])
    for mode in (ZERO, CARRY):
        expected = _literal_hidden_pass(
            full, *common, data["weight"], lag=0, resets=resets, mode=mode
        )
        cut_by_spikes = _literal_hidden_pass(
            full, *common, data["weight"], lag=0, resets=data["spikes"], mode=mode
        )
        assert not np.allclose(expected, cut_by_spikes)
        out = np.zeros_like(expected)
        hidden_pass(full, *common, data["weight"], out, lag=0, resets=resets, mode=mode)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_the_exact_attribution_covers_the_whole_window() -> None:
    """Kills ``support=int(spikes.shape[1])`` -> ``shape[0]`` (explain/exact_attribution.py):
    the exact maps are never truncated, so their support is the window's T steps, whatever the
    batch size B."""
    net = LIFNetwork([4, 3, 2], seed=1).double()
    for batch, steps in ((3, 17), (5, 2), (1, 9)):
        spikes = torch.rand(batch, steps, 4, generator=torch.Generator().manual_seed(steps)) < 0.4
        result = ExactLIFAttribution(net).attribute(spikes.double())
        assert tuple(result.values.shape) == (batch, 2, 4, steps)
        assert result.support == steps


def _recording(x: np.ndarray, weights, alphas, betas, theta: float) -> LIFRecording:
    """The recording of one window ``x [T, n_0]`` from the literal simulation."""
    emitted, membranes = simulate(x, weights, alphas, betas, theta)
    spikes = [np.asarray(s, dtype=np.int8)[None] for s in emitted]
    return LIFRecording(
        layer_inputs=[x[None].astype(np.int8), *spikes[:-1]],
        layer_spikes=spikes,
        weights=[np.asarray(w, dtype=np.float64) for w in weights],
        alphas=[np.asarray(a, dtype=np.float64) for a in alphas],
        betas=[np.asarray(b, dtype=np.float64) for b in betas],
        scores=np.asarray(membranes[-1])[-1][None],
    )


@pytest.mark.parametrize("ab", [(1.0, 0.0), (2.0, 1.0)])
def test_alpha_beta_on_membranes_of_exactly_one_and_of_one_sign(ab: tuple[float, float]) -> None:
    """Hidden decays of 0 make each hidden membrane its step's input current exactly: hidden
    neuron 0 fires once from excitation of exactly 1.0 with inhibition -0.25, and once from
    excitation alone (1.0); neuron 1 from excitation alone (0.5 + 0.75). Where one sign has no
    term, the other carries the whole share (factor 1, not a or -b); a part of exactly 1.0 is
    no such case. Against the literal oracle, this kills in explain/exact.py
    ``lone = (membranes[0] == 0) | (membranes[1] == 0)`` -> ``membranes[0] == 1`` and
    -> ``membranes[1] == 1``."""
    x = np.zeros((7, 3))
    x[0, [0, 1]] = 1  # neuron 0: 1.0 - 0.25 = 0.75 > 0.5, spikes at step 1
    x[2, [0, 2]] = 1  # neuron 0: 1.0 (excitation only), neuron 1: 1.25; both spike at step 3
    weights = [
        np.array([[1.0, 0.5], [-0.25, 0.0], [0.0, 0.75]]),
        np.array([[1.0, -0.5], [0.7, 0.3]]),
    ]
    alphas = [np.zeros(2), np.array([0.8, 0.7])]
    betas = [np.zeros(2), np.array([0.6, 0.9])]
    recording = _recording(x, weights, alphas, betas, theta=0.5)
    hidden = recording.layer_spikes[0][0]
    assert hidden[:, 0].tolist() == [0, 1, 0, 1, 0, 0, 0]
    assert hidden[:, 1].tolist() == [0, 0, 0, 1, 0, 0, 0]
    maps = exact_maps(recording, "alpha_beta", ab)
    for c in range(2):
        oracle = literal_exact(
            x, weights, alphas, betas, 0.5, np.eye(2)[c], rule="alpha_beta", ab=ab
        )
        np.testing.assert_allclose(maps.relevance[0, c], oracle["relevance"], atol=1e-14)
        np.testing.assert_allclose(maps.sensitivity[0, c], oracle["sensitivity"], atol=1e-14)
    # the inhibitory input's share at step 0 is -b times the spike's relevance: none for b = 0
    assert (maps.relevance[0, :, 1, 0] == 0).all() == (ab[1] == 0)


def test_thresholds_are_needed_only_where_a_layer_resets_by_subtraction() -> None:
    """Kills ``... for i, mode in enumerate(modes) if mode == "subtract")`` -> ``!=`` in
    LIFRecording's check (explain/exact.py): a layer that resets to zero needs no threshold, a
    layer that subtracts one does."""
    x = (np.random.default_rng(0).random((8, 3)) < 0.5).astype(np.float64)
    weights = [np.full((3, 2), 0.6), np.full((2, 2), 0.4)]
    decays = [np.full(2, 0.5), np.full(2, 0.5)]
    fields = vars(_recording(x, weights, decays, decays, theta=0.5)).copy()
    theta = np.full(2, 0.5)
    LIFRecording(**{**fields, "resets": ["subtract", "zero"], "thresholds": [theta, None]})
    LIFRecording(**{**fields, "resets": ["zero", "subtract"], "thresholds": [None, theta]})
    with pytest.raises(ExplanationError, match="by subtraction needs its thresholds"):
        LIFRecording(**{**fields, "resets": ["subtract", "zero"], "thresholds": [None, theta]})


@pytest.mark.parametrize("ab", [(1.0, 0.0), (2.0, 1.0)])
def test_a_spike_from_inhibition_alone_passes_its_whole_relevance(ab: tuple[float, float]) -> None:
    """A hidden spike whose membrane holds inhibitory terms only (as a negative threshold
    allows; the recording holds the spike as observed) gives those terms its whole relevance,
    factor 1, not -b: kills in explain/exact.py
    ``lone = (membranes[0] == 0) | (membranes[1] == 0)`` -> ``(membranes[1] == 0) | ...`` and
    ``np.where(lone, 1.0, -b_weight)`` -> ``np.where(lone, 0.0, -b_weight)``.

    One input, one hidden neuron (decays 0: its membrane is its step's current), one class: the
    input spike at step 1 gives the hidden membrane -0.5 there, the hidden spike at step 2
    (lag 1) reaches the class's membrane at the last step with ``R = 0.8 K(T-1, 2)``."""
    steps, alpha, beta = 6, 0.5, 0.7
    x = np.zeros((1, steps, 1), dtype=np.int8)
    x[0, 1, 0] = 1
    hidden = np.zeros((1, steps, 1), dtype=np.int8)
    hidden[0, 2, 0] = 1
    # K(T-1, 2) = sum_{u = 2..T-1} alpha^(u - 2) beta^(T-1-u): no output spike, no reset
    big_r = 0.8 * sum(alpha ** (u - 2) * beta ** (steps - 1 - u) for u in range(2, steps))
    recording = LIFRecording(
        layer_inputs=[x, hidden],
        layer_spikes=[hidden, np.zeros((1, steps, 1), dtype=np.int8)],
        weights=[np.array([[-0.5]]), np.array([[0.8]])],
        alphas=[np.zeros(1), np.array([alpha])],
        betas=[np.zeros(1), np.array([beta])],
        scores=np.array([[big_r]]),
    )
    maps = exact_maps(recording, "alpha_beta", ab)
    expected = np.zeros((1, 1, 1, steps))
    expected[0, 0, 0, 1] = big_r  # the whole share, R (-0.5) / (-0.5)
    np.testing.assert_allclose(maps.relevance, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(maps.membrane, [[big_r]], rtol=1e-13)
