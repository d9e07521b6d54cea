"""The exact LIF attribution: conservation, the literal oracle, silence, targets and errors."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.exact import ExactMaps, LIFRecording, exact_maps
from spikeattr.explain.exact_attribution import (
    ExactLIFAttribution,
    record_lif_network,
    target_weights,
)
from spikeattr.explain.exact_kernels import adjoint_scan, membrane_scan
from spikeattr.explain.methods import channel_rates, make_explainer
from spikeattr.snn.network import LIFNetwork

from .literal_exact import literal_exact, simulate

#: (dt, tau_syn, tau_mem): synapse much slower than, as fast as, much faster than the membrane
REGIMES = {
    "syn>>mem": (1e-3, 2e-2, 1e-3),
    "syn==mem": (1e-3, 5e-3, 5e-3),
    "syn<<mem": (1e-3, 1e-3, 2e-2),
}
DEPTHS = {1: [6, 3], 2: [6, 5, 3], 3: [6, 5, 4, 3], 4: [6, 4, 5, 4, 3]}


def _network(depth: int, regime: str, seed: int, scale: float = 1.0) -> LIFNetwork:
    dt, tau_syn, tau_mem = REGIMES[regime]
    net = LIFNetwork(DEPTHS[depth], dt=dt, tau_syn=tau_syn, tau_mem=tau_mem, seed=seed).double()
    with torch.no_grad():
        for weight in net.weights:
            weight.mul_(scale)
    return net


def _spikes(batch: int, steps: int, n: int, seed: int, rate: float = 0.3) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, steps, n, generator=generator) < rate).double()


def _recording_of(x: np.ndarray, weights, alphas, betas, theta) -> LIFRecording:
    """A recording of one window from the literal simulation (per-neuron decays allowed)."""
    emitted, membranes = simulate(x, weights, alphas, betas, theta)
    spikes = [np.asarray(s)[None] for s in emitted]
    return LIFRecording(
        layer_inputs=[x[None].astype(np.int8), *(s.astype(np.int8) for s in spikes[:-1])],
        layer_spikes=[s.astype(np.int8) for s in spikes],
        weights=[np.asarray(w, dtype=np.float64) for w in weights],
        alphas=[np.asarray(a, dtype=np.float64) for a in alphas],
        betas=[np.asarray(b, dtype=np.float64) for b in betas],
        scores=np.asarray(membranes[-1])[-1][None].astype(np.float64),
    )


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("regime", list(REGIMES))
@pytest.mark.parametrize("rule", ["z", "alpha_beta"])
def test_relevance_sums_to_the_output_membrane(depth: int, regime: str, rule: str) -> None:
    """Conservation: every class's relevance sums to its membrane at the last step (the model's
    own score), to 1e-9 relative, on random networks whose neurons reset."""
    net = _network(depth, regime, seed=depth, scale=2.0)
    spikes = _spikes(4, 80, 6, seed=depth)
    recording, maps = ExactLIFAttribution(net, rule=rule).maps(spikes)
    assert sum(int(s.sum()) for s in recording.layer_spikes[:-1] or [np.ones(1)]) > 0
    total = maps.relevance.sum(axis=(2, 3))
    scale = np.abs(recording.scores).max() + 1e-300
    assert np.abs(total - recording.scores).max() / scale < 1e-9
    np.testing.assert_allclose(maps.membrane, recording.scores, rtol=1e-9, atol=1e-12)


def literal_case(depth: int, regime: str, resets: bool, salt: int = 0) -> dict[str, Any]:
    """A random 30-step case for the literal oracle: per-neuron decays around the regime's and
    the first seed whose every layer fires (``resets``), or none does (an unreachable
    threshold). Keys: ``x``, ``weights``, ``alphas``, ``betas``, ``theta``, ``recording``."""
    sizes = DEPTHS[depth]
    dt, tau_syn, tau_mem = REGIMES[regime]
    theta = 1.0 if resets else 1e6
    for attempt in range(100):
        rng = np.random.default_rng([depth, len(regime), attempt, *([salt] if salt else [])])
        x = (rng.random((30, sizes[0])) < 0.4).astype(np.float64)
        weights = [rng.normal(0.4, 1.2, (a, b)) for a, b in itertools.pairwise(sizes)]
        alphas = [np.exp(-dt / (tau_syn * rng.uniform(0.8, 1.25, n))) for n in sizes[1:]]
        betas = [np.exp(-dt / (tau_mem * rng.uniform(0.8, 1.25, n))) for n in sizes[1:]]
        if regime == "syn==mem":
            betas = [a.copy() for a in alphas]
        recording = _recording_of(x, weights, alphas, betas, theta)
        fired = [int(s.sum()) for s in recording.layer_spikes]
        if all(f > 0 for f in fired) if resets else not any(fired):
            return {
                "x": x,
                "weights": weights,
                "alphas": alphas,
                "betas": betas,
                "theta": theta,
                "recording": recording,
            }
    pytest.fail("no random network of the wanted kind in 100 seeds")


@pytest.mark.parametrize(
    ("depth", "resets"), [(1, False), (1, True), (2, True), (3, True), (4, True)]
)
@pytest.mark.parametrize("regime", list(REGIMES))
@pytest.mark.parametrize(
    ("rule", "ab"), [("z", (1.0, 0.0)), ("alpha_beta", (1.0, 0.0)), ("alpha_beta", (2.0, 1.0))]
)
def test_matches_the_literal_implementation(
    depth: int, regime: str, rule: str, ab: tuple[float, float], resets: bool
) -> None:
    """The fast scans equal plain loops over steps, neurons and terms, to 1e-9, with per-neuron
    decays, with resets in every layer, and without (depth 1 with an unreachable threshold: a
    hidden layer without spikes would pass nothing on)."""
    case = literal_case(depth, regime, resets)
    sizes, theta, recording = DEPTHS[depth], case["theta"], case["recording"]
    x, weights, alphas, betas = case["x"], case["weights"], case["alphas"], case["betas"]
    maps = exact_maps(recording, rule, ab)
    for c in range(sizes[-1]):
        w = np.eye(sizes[-1])[c]
        oracle = literal_exact(x, weights, alphas, betas, theta, w, rule=rule, ab=ab)
        np.testing.assert_allclose(maps.relevance[0, c], oracle["relevance"], atol=1e-9, rtol=0)
        np.testing.assert_allclose(maps.sensitivity[0, c], oracle["sensitivity"], atol=1e-9, rtol=0)
        assert maps.membrane[0, c] == pytest.approx(oracle["membrane"][c], abs=1e-9)


def test_one_layer_kernel_is_the_two_exponential_response() -> None:
    """Without resets one spike k steps back moves the membrane by (a^(k+1) - b^(k+1)) / (a - b)
    (TSA would say b^k); checked 60 steps back, where b^k is 1e-26 of the truth."""
    alpha, beta = math.exp(-0.1), math.exp(-1.0)
    steps = 61
    readout = np.zeros((1, 1, steps))
    readout[0, 0, -1] = 1.0
    kernel = adjoint_scan(
        readout, np.zeros((1, 1, steps), np.int8), np.array([alpha]), np.array([beta])
    )[0, 0, :]
    k = np.arange(steps)[::-1]
    expected = (alpha ** (k + 1) - beta ** (k + 1)) / (alpha - beta)
    np.testing.assert_allclose(kernel, expected, rtol=1e-12)
    assert kernel[0] > 1e20 * beta**60  # the tail TSA loses
    # alpha == beta: the limit form (k + 1) alpha^k
    equal = adjoint_scan(
        readout, np.zeros((1, 1, steps), np.int8), np.array([alpha]), np.array([alpha])
    )[0, 0, :]
    np.testing.assert_allclose(equal, (k + 1) * alpha**k, rtol=1e-12)


def test_membrane_scan_is_the_model_membrane() -> None:
    """The forward scan with the observed resets reproduces the network's own output membrane."""
    net = _network(1, "syn>>mem", seed=3, scale=3.0)
    spikes = _spikes(2, 100, 6, seed=3)
    recording = record_lif_network(net, spikes)
    assert recording.layer_spikes[-1].sum() > 0
    currents = (recording.layer_inputs[0] @ recording.weights[0]).transpose(0, 2, 1)
    fired = recording.layer_spikes[0].transpose(0, 2, 1)
    mem = membrane_scan(currents, fired, recording.alphas[0], recording.betas[0])
    expected = net(spikes).membrane.detach().numpy().transpose(0, 2, 1)
    np.testing.assert_allclose(mem, expected, atol=1e-12)


def test_an_output_membrane_exactly_at_threshold_is_recorded_as_no_spike() -> None:
    """``[1, 1, 1]`` with unit weights and one input spike: the output membrane is exactly 1.0
    at step 2, so the recorded output spike comes at step 4 (from step 3's membrane), not 3."""
    net = LIFNetwork([1, 1, 1], dt=1e-3, tau_syn=1e-2, tau_mem=2e-3).double()
    net.load_weights([np.ones((1, 1)), np.ones((1, 1))])
    spikes = torch.tensor([[[1.0], [0.0], [0.0], [0.0], [0.0]]], dtype=torch.float64)
    recording = record_lif_network(net, spikes)
    assert net(spikes).membrane[0, 2, 0].item() == 1.0
    assert recording.layer_spikes[0][0, :, 0].tolist() == [0, 0, 1, 0, 0]
    assert recording.layer_spikes[-1][0, :, 0].tolist() == [0, 0, 0, 0, 1]


def test_a_reset_cuts_the_membrane_but_not_the_synaptic_current() -> None:
    """A spike's relevance through a neuron that reset in between: the membrane part before the
    reset is gone, the synaptic current's part is not."""
    alpha, beta = 0.9, 0.5
    steps = 6
    readout = np.zeros((1, 1, steps))
    readout[0, 0, -1] = 1.0
    fired = np.zeros((1, 1, steps), np.int8)
    fired[0, 0, 3] = 1  # reset at step 3
    kernel = adjoint_scan(readout, fired, np.array([alpha]), np.array([beta]))[0, 0, :]
    for t in range(steps):
        # K(5, t) = sum_{u = max(t, 4)..5} alpha^(u - t) beta^(5 - u)
        expected = sum(alpha ** (u - t) * beta ** (5 - u) for u in range(max(t, 4), 6))
        assert kernel[t] == pytest.approx(expected, rel=1e-14)
    assert kernel[0] > 0  # the current of step 0 still flows after the reset


def test_contrastive_target_and_its_conservation() -> None:
    """Row c of the contrastive map sums to m_c - sum_k p_k m_k; the membrane map to m_c."""
    net = _network(2, "syn>>mem", seed=5, scale=2.0)
    spikes = _spikes(3, 60, 6, seed=5)
    for output in ("contrastive", "membrane"):
        explainer = ExactLIFAttribution(net, output=output, reference="none")
        result = explainer.attribute(spikes)
        assert result.values.dtype == torch.float64
        scores = net(spikes).membrane[:, -1].detach().numpy()
        probs = torch.softmax(torch.from_numpy(scores), -1).numpy()
        expected = (
            scores - (probs * scores).sum(-1, keepdims=True) if output == "contrastive" else scores
        )
        total = result.values.sum(dim=(2, 3)).numpy()
        np.testing.assert_allclose(total, expected, rtol=1e-9, atol=1e-12)
        assert explainer.last_target is not None
        np.testing.assert_allclose(explainer.last_target, expected, rtol=1e-9, atol=1e-12)


def test_reference_rates_weigh_silence_by_the_data() -> None:
    """A = (x - q) S: a silent cell gets -q S, a spike (1 - q) S; a channel that always spikes
    (q = 1) and one that never does (q = 0, silent) get exactly 0."""
    net = _network(2, "syn>>mem", seed=6, scale=2.0)
    spikes = _spikes(2, 50, 6, seed=6)
    spikes[:, :, 0] = 1.0
    spikes[:, :, 1] = 0.0
    rates = np.array([1.0, 0.0, 0.3, 0.3, 0.1, 0.5])
    plain = ExactLIFAttribution(net, reference="none")
    recording, maps = plain.maps(spikes)
    probs = torch.softmax(torch.from_numpy(recording.scores), -1).numpy()
    sensitivity, _ = maps.combine(target_weights(probs, "contrastive"))
    values = ExactLIFAttribution(net, reference=rates).attribute(spikes).values.numpy()
    x = spikes.numpy().transpose(0, 2, 1)[:, None]
    np.testing.assert_allclose(values, (x - rates[None, None, :, None]) * sensitivity, atol=1e-15)
    assert np.all(values[:, :, :2] == 0)
    silent = (x[:, :, 2:] == 0) & (sensitivity[:, :, 2:] != 0)
    assert silent.any() and np.all(values[:, :, 2:][silent] != 0)
    # the window's own rates by default
    window = ExactLIFAttribution(net).attribute(spikes).values.numpy()
    q = spikes.numpy().mean(axis=1)[:, None, :, None]
    np.testing.assert_allclose(window, (x - q) * sensitivity, atol=1e-15)


def test_registry_methods_take_the_series_rates() -> None:
    """make_explainer('lif_z', model, rates) uses those rates; the registry names its results."""
    net = _network(1, "syn>>mem", seed=7)
    spikes = _spikes(1, 40, 6, seed=7)
    rates = channel_rates(np.asarray([[1, 0, 1, 0, 1, 1], [0, 0, 1, 0, 1, 0]], dtype=np.int8))
    np.testing.assert_array_equal(rates, [0.5, 0, 1, 0, 1, 0.5])
    for name, rule in (("lif_z", "z"), ("lif_ab", "alpha_beta")):
        result = make_explainer(name, net, rates=rates).attribute(spikes)
        direct = ExactLIFAttribution(net, rule=rule, reference=rates).attribute(spikes)
        assert result.variant == name
        torch.testing.assert_close(result.values, direct.values, rtol=0, atol=0)


def test_alpha_beta_gives_inhibition_nothing() -> None:
    """With (a, b) = (1, 0) a hidden spike's relevance goes to its excitatory inputs only: an
    input whose every weight into the hidden layer is negative gets exactly 0."""
    net = _network(2, "syn>>mem", seed=8, scale=2.0)
    with torch.no_grad():
        net.weights[0][2].copy_(-net.weights[0][2].abs())
    spikes = _spikes(2, 60, 6, seed=8, rate=0.5)
    _, maps = ExactLIFAttribution(net, rule="alpha_beta").maps(spikes)
    assert np.all(maps.relevance[:, :, 2] == 0)
    _, z_maps = ExactLIFAttribution(net, rule="z").maps(spikes)
    assert np.any(z_maps.relevance[:, :, 2] != 0)


def test_combine_is_linear_in_the_target_weights() -> None:
    rng = np.random.default_rng(0)
    inputs = (rng.random((2, 4, 5)) < 0.5).astype(np.float64)
    maps = ExactMaps(
        inputs, rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    )
    np.testing.assert_array_equal(maps.relevance, inputs[:, None] * maps.sensitivity)
    weights = rng.normal(size=(2, 1, 3))
    sensitivity, target = maps.combine(weights)
    np.testing.assert_allclose(
        sensitivity[:, 0], np.einsum("bc,bcit->bit", weights[:, 0], maps.sensitivity)
    )
    np.testing.assert_allclose(target[:, 0], (weights[:, 0] * maps.membrane).sum(-1))
    absorbed = maps.combined_absorbed(weights)
    np.testing.assert_allclose(absorbed[:, 0], (weights[:, 0] * maps.absorbed).sum(-1))


def test_bad_arguments_are_refused_with_a_message() -> None:
    net = _network(1, "syn>>mem", seed=9)
    with pytest.raises(ExplanationError, match="unknown rule 'lrp'"):
        ExactLIFAttribution(net, rule="lrp")
    with pytest.raises(ExplanationError, match="unknown output 'logit'"):
        ExactLIFAttribution(net, output="logit")
    with pytest.raises(ExplanationError, match="reference must be"):
        ExactLIFAttribution(net, reference="mean")
    with pytest.raises(ExplanationError, match=r"values in \[0, 1\]"):
        ExactLIFAttribution(net, reference=np.array([2.0] * 6))
    with pytest.raises(ExplanationError, match="reference rates have 2 channels"):
        ExactLIFAttribution(net, reference=np.array([0.1, 0.2])).attribute(_spikes(1, 5, 6, 0))
    with pytest.raises(ExplanationError, match="a - b = 1"):
        exact_maps(record_lif_network(net, _spikes(1, 5, 6, 0)), "alpha_beta", (2.0, 0.0))
    with pytest.raises(ExplanationError, match="needs a spikeattr LIFNetwork"):
        ExactLIFAttribution(torch.nn.Linear(2, 2)).attribute(_spikes(1, 5, 2, 0))
    with pytest.raises(ExplanationError, match="binary"):
        ExactLIFAttribution(net).attribute(torch.full((1, 5, 6), 0.5))


def test_edge_shapes_and_dtypes_like_tsa() -> None:
    """No windows, one step, int8 and bool spikes: the shapes TSA gives, finite float64."""
    from spikeattr.explain.tsa import TSA

    net = _network(3, "syn>>mem", seed=10)
    explainer = ExactLIFAttribution(net)
    for spikes in (
        torch.zeros(0, 10, 6),
        torch.ones(1, 1, 6),
        _spikes(2, 7, 6, seed=1).to(torch.int8),
        _spikes(2, 7, 6, seed=1).bool(),
    ):
        values = explainer.attribute(spikes).values
        assert values.shape == TSA(net, "ns").attribute(spikes).values.shape
        assert values.dtype == torch.float64 and bool(torch.isfinite(values).all())


def test_float32_models_give_float64_maps_with_tails() -> None:
    """A float32 published model: the maps are float64 and reach the window's first step, where
    TSA's decay underflows float32 (beta^87 for beta = 1/e)."""
    from spikeattr.snn import load_model

    model = load_model("published:synthetic_2L")
    spikes = torch.zeros(1, 300, 3)
    spikes[:, :, 0] = 1
    spikes[:, ::3, 1] = 1
    values = ExactLIFAttribution(model, reference="none").attribute(spikes).values
    assert values.dtype == torch.float64
    assert bool((values[0, :, 0, :150] != 0).all())


def test_a_recording_that_does_not_fit_together_is_refused() -> None:
    """LIFRecording names the field that does not fit: counts, shapes, decays, scores."""
    net = _network(2, "syn>>mem", seed=11)
    good = record_lif_network(net, _spikes(2, 9, 6, seed=11))
    fields = vars(good).copy()
    bad = {
        "layer_spikes": ([good.layer_spikes[0]], "one input-spike array"),
        "layer_inputs": (
            [good.layer_inputs[0][:, :, :3], good.layer_inputs[1]],
            r"layer_inputs\[0\]",
        ),
        "alphas": (
            [np.full(5, 1.5), good.alphas[1]],
            r"alphas\[0\] must hold 5 decays in \[0, 1\]",
        ),
        "betas": ([np.full(4, 0.5), good.betas[1]], r"betas\[0\] must hold 5 decays"),
        "lag": (2, "lag must be 0 or 1"),
        "resets": (["zero", "reset"], "resets must name one of"),
        "thresholds": ([np.ones(5)], r"thresholds needs one entry per layer \(2\)"),
        "biases": ([np.ones(4), None], r"biases\[0\] must have shape \[5\]"),
        "scores": (good.scores[:, :2], r"scores must have shape \[B=2, C=3\]; got \(2, 2\)"),
    }
    for field, (value, message) in bad.items():
        with pytest.raises(ExplanationError, match=message):
            LIFRecording(**{**fields, field: value})
    with pytest.raises(ExplanationError, match="by subtraction needs its thresholds"):
        LIFRecording(**{**fields, "resets": ["subtract", "zero"]})
    LIFRecording(**fields)  # the recording itself is fine
