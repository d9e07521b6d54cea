"""A window of a longer run: the exact attribution with the state carried in.

The initial state enters as two leading pseudo-steps whose currents bring every neuron to its
carried ``syn`` and ``mem``. The oracle is the attribution of the whole run from rest: inside the
window the maps must be the same (the rules are linear in the terms, and the terms of the steps
before the window add up to the initial state's), and the initial state's share must be what
the whole run gives to the steps before the window.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.exact import LIFRecording, exact_maps, final_states
from spikeattr.explain.exact_attribution import record_lif_network

from .test_exact import REGIMES, _network, _spikes


def _window(recording: LIFRecording, start: int, state: tuple) -> LIFRecording:
    syn, mem = state
    return LIFRecording(
        layer_inputs=[x[:, start:] for x in recording.layer_inputs],
        layer_spikes=[s[:, start:] for s in recording.layer_spikes],
        weights=recording.weights,
        alphas=recording.alphas,
        betas=recording.betas,
        scores=recording.scores,
        initial_syn=syn,
        initial_mem=mem,
    )


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("regime", list(REGIMES))
@pytest.mark.parametrize("rule", ["z", "alpha_beta"])
def test_a_window_with_its_carried_state_is_the_tail_of_the_whole_run(
    depth: int, regime: str, rule: str
) -> None:
    net = _network(depth, regime, seed=10 + depth, scale=2.0)
    spikes = _spikes(3, 90, 6, seed=20 + depth)
    whole = record_lif_network(net, spikes)
    assert sum(int(s.sum()) for s in whole.layer_spikes) > 0
    full = exact_maps(whole, rule)
    for start in (1, 37, 89):
        with torch.no_grad():
            state = net(spikes[:, :start]).state
        prefix = LIFRecording(
            **{
                **vars(whole),
                "layer_inputs": [x[:, :start] for x in whole.layer_inputs],
                "layer_spikes": [s[:, :start] for s in whole.layer_spikes],
            }
        )
        syn, mem = final_states(prefix)
        for part_syn, part_mem, carried in zip(syn, mem, state, strict=True):  # parts add up
            np.testing.assert_allclose(part_syn.sum(0), carried.syn.numpy(), rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(part_mem.sum(0), carried.mem.numpy(), rtol=1e-9, atol=1e-12)
        if rule == "z":  # the whole state is enough for the z-rule
            syn = [s.sum(0) for s in syn]
            mem = [m.sum(0) for m in mem]
        window = exact_maps(_window(whole, start, (syn, mem)), rule)
        np.testing.assert_allclose(
            window.sensitivity, full.sensitivity[..., start:], rtol=1e-9, atol=1e-12
        )
        np.testing.assert_array_equal(window.inputs, full.inputs[..., start:])
        before = full.relevance[..., :start].sum(axis=(2, 3))
        scale = np.abs(full.membrane).max()
        np.testing.assert_allclose(window.absorbed, before, rtol=1e-8, atol=1e-10 * scale)
        np.testing.assert_allclose(window.membrane, full.membrane, rtol=1e-9, atol=1e-12)
        total = window.relevance.sum(axis=(2, 3)) + window.absorbed
        np.testing.assert_allclose(total, whole.scores, rtol=1e-8, atol=1e-10 * scale)


def test_an_initial_state_is_checked() -> None:
    net = _network(2, "syn>>mem", seed=1)
    recording = record_lif_network(net, _spikes(2, 10, 6, seed=1))
    fields = vars(recording).copy()
    syn = [np.zeros((2, 5)), np.zeros((2, 3))]
    with pytest.raises(ExplanationError, match="given together"):
        LIFRecording(**{**fields, "initial_syn": syn})
    with pytest.raises(ExplanationError, match=r"initial_mem\[1\] must have shape \[B=2, 3\]"):
        LIFRecording(**{**fields, "initial_syn": syn, "initial_mem": [syn[0], np.zeros((2, 4))]})
    with pytest.raises(ExplanationError, match="a window with a carried state needs lag 1"):
        LIFRecording(**{**fields, "initial_syn": syn, "initial_mem": syn, "lag": 0})
    with pytest.raises(ExplanationError, match="needs beta > 0"):
        LIFRecording(
            **{
                **fields,
                "initial_syn": syn,
                "initial_mem": syn,
                "betas": [np.zeros(5), recording.betas[1]],
            }
        )


@pytest.mark.parametrize("mode", ["zero", "carry", "none"])
def test_state_scan_is_the_literal_update_and_carries_its_state(mode: str) -> None:
    from spikeattr.explain.exact_kernels import CARRY, NONE, ZERO, state_scan

    rng = np.random.default_rng(len(mode))
    currents = rng.normal(size=(30, 4))
    resets = (rng.random((30, 4)) < 0.2).astype(np.int8)
    alpha, beta = rng.uniform(0.2, 0.9, 4), rng.uniform(0.2, 0.9, 4)
    syn0, mem0 = rng.normal(size=4), rng.normal(size=4)
    syn, mem = syn0.copy(), mem0.copy()
    code = {"zero": ZERO, "carry": CARRY, "none": NONE}[mode]
    syn_out, mem_out = state_scan(currents, resets, alpha, beta, syn, mem, code)
    for j in range(4):
        s, m = syn0[j], mem0[j]
        for t in range(30):
            s = alpha[j] * s + currents[t, j]
            cut = resets[t, j] != 0 and mode != "none"
            if cut and mode == "zero":
                m = 0.0
            elif cut:
                m = s
            else:
                m = beta[j] * m + s
            assert syn_out[t, j] == pytest.approx(s, rel=1e-12)
            assert mem_out[t, j] == pytest.approx(m, rel=1e-12, abs=1e-15)
        assert (syn[j], mem[j]) == (pytest.approx(s), pytest.approx(m))  # carried in place


@pytest.mark.parametrize("mode", ["carry", "none"])
@pytest.mark.parametrize("rule", ["z", "alpha_beta"])
def test_other_reset_modes_split_and_carry_their_state(mode: str, rule: str) -> None:
    """final_states follows each layer's reset mode (here snnTorch's carry cut, or no reset),
    with biases: its parts add up to a literal run of that update, and a window started from
    them is the tail of the whole run."""
    rng = np.random.default_rng(len(mode) + len(rule))
    sizes, steps, batch = [4, 5, 3], 40, 2
    weights = [rng.normal(0, 1.0, (a, b)) for a, b in itertools.pairwise(sizes)]
    alphas = [rng.uniform(0.3, 0.9, n) for n in sizes[1:]]
    betas = [rng.uniform(0.3, 0.9, n) for n in sizes[1:]]
    biases = [rng.normal(0, 0.3, n) for n in sizes[1:]]
    spikes = [(rng.random((batch, steps, n)) < 0.3).astype(np.int8) for n in sizes[1:]]
    for emitted in spikes:  # spikes as a run could make them: none from the state before step 0
        emitted[:, 0] = 0
    inputs = [(rng.random((batch, steps, sizes[0])) < 0.4).astype(np.int8), spikes[0]]
    whole = LIFRecording(
        layer_inputs=inputs,
        layer_spikes=spikes,
        weights=weights,
        alphas=alphas,
        betas=betas,
        scores=rng.normal(size=(batch, sizes[-1])),
        resets=[mode, mode],
        biases=biases,
    )
    start = 23
    prefix = LIFRecording(
        **{
            **vars(whole),
            "layer_inputs": [x[:, :start] for x in inputs],
            "layer_spikes": [s[:, :start] for s in spikes],
        }
    )
    syn, mem = final_states(prefix)
    for layer in range(2):  # the literal update, by hand
        for b in range(batch):
            s_, m_ = np.zeros(sizes[layer + 1]), np.zeros(sizes[layer + 1])
            for t in range(start):
                s_ = alphas[layer] * s_ + inputs[layer][b, t] @ weights[layer] + biases[layer]
                cut = spikes[layer][b, t] != 0 if mode == "carry" else False
                m_ = np.where(cut, 0.0, betas[layer] * m_) + s_
            np.testing.assert_allclose(syn[layer][:, b].sum(0), s_, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(mem[layer][:, b].sum(0), m_, rtol=1e-12, atol=1e-12)
    if rule == "z":
        syn, mem = [s.sum(0) for s in syn], [m.sum(0) for m in mem]
    window = LIFRecording(
        **{
            **vars(whole),
            "layer_inputs": [x[:, start:] for x in inputs],
            "layer_spikes": [s[:, start:] for s in spikes],
            "initial_syn": syn,
            "initial_mem": mem,
        }
    )
    full, part = exact_maps(whole, rule), exact_maps(window, rule)
    conserved = full.relevance.sum(axis=(2, 3)) + full.absorbed  # the biases keep every
    np.testing.assert_allclose(conserved, full.membrane, rtol=1e-9, atol=1e-12)  # membrane > 0
    np.testing.assert_allclose(
        part.sensitivity, full.sensitivity[..., start:], rtol=1e-9, atol=1e-12
    )
    scale = np.abs(full.membrane).max()
    before = full.relevance[..., :start].sum(axis=(2, 3))
    np.testing.assert_allclose(part.absorbed, full.absorbed + before, rtol=1e-8, atol=1e-10 * scale)
