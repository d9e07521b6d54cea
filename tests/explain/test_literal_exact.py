"""The literal exact-attribution oracle (``literal_exact.py``) checked on its own properties.

Random small networks (seeded numpy), depth 1 to 4, 12 to 30 steps, 2 to 5 neurons a layer, in
three regimes of the decays (alpha >> beta, alpha == beta, alpha << beta). Every layer's weights
are scaled until the layer spikes (so resets happen, the output layer's included); each test
asserts that the resets it relies on did happen.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest

from .literal_exact import kernel, literal_exact, membrane_terms, simulate

REGIMES = ("alpha>>beta", "alpha==beta", "alpha<<beta")
RULES = (("z", (1.0, 0.0)), ("alpha_beta", (1.0, 0.0)), ("alpha_beta", (2.0, 1.0)))
THETA = 1.0
NO_SPIKE_THETA = 1e6  # far above any membrane of these networks: no neuron ever spikes


@dataclass
class Net:
    x0: np.ndarray
    weights: list[np.ndarray]
    alphas: list[np.ndarray]
    betas: list[np.ndarray]
    theta: float
    w: np.ndarray

    def simulate(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return simulate(self.x0, self.weights, self.alphas, self.betas, self.theta)

    def explain(self, rule: str = "z", ab: tuple[float, float] = (1.0, 0.0)) -> dict:
        return literal_exact(
            self.x0, self.weights, self.alphas, self.betas, self.theta, self.w, rule, ab
        )


def decays(rng: np.random.Generator, regime: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    fast = rng.uniform(0.1, 0.3, n)
    slow = rng.uniform(0.8, 0.95, n)
    if regime == "alpha>>beta":
        return slow, fast
    if regime == "alpha<<beta":
        return fast, slow
    same = rng.uniform(0.4, 0.85, n)
    return same, same.copy()


def make_network(seed: int, depth: int, T: int, regime: str, theta: float = THETA) -> Net:
    """A random network; each layer's weights are scaled until 10 to 45 % of its cells spike."""
    rng = np.random.default_rng(seed)
    sizes = [int(n) for n in rng.integers(2, 6, size=depth + 1)]
    x0 = (rng.random((T, sizes[0])) < 0.4).astype(np.float64)
    x0[rng.integers(T), rng.integers(sizes[0])] = 1.0  # never an empty input
    weights, alphas, betas = [], [], []
    x = x0
    for n_in, n_out in itertools.pairwise(sizes):
        alpha, beta = decays(rng, regime, n_out)
        W = rng.normal(0.3, 1.0, (n_in, n_out)) / n_in
        for _ in range(100):
            (s,), _ = simulate(x, [W], [alpha], [beta], theta)
            rate = s.mean()
            if rate < 0.1:
                W = W * 1.1 + 0.05  # a shift too: scaling alone cannot fix all-negative inputs
            elif rate > 0.45:
                W = W * 0.9
            else:
                break
        weights.append(W)
        alphas.append(alpha)
        betas.append(beta)
        (x,), _ = simulate(x, [W], [alpha], [beta], theta)
    w = rng.normal(0.0, 1.0, sizes[-1])
    return Net(x0, weights, alphas, betas, theta, w)


# (seed, depth, T, regime): deeper networks get more steps (each layer adds a few steps of latency)
CASES = [
    (seed, depth, T, regime)
    for seed, (depth, T, regime) in enumerate(
        (depth, T, regime)
        for depth, steps in (
            (1, (12, 20, 30)),
            (2, (12, 20, 30)),
            (3, (20, 24, 30)),
            (4, (24, 30, 30)),
        )
        for T, regime in zip(steps, REGIMES, strict=True)
    )
]
CASE_IDS = [f"L{depth}-T{T}-{regime}" for _, depth, T, regime in CASES]


@pytest.fixture(scope="module", params=CASES, ids=CASE_IDS)
def net(request: pytest.FixtureRequest) -> Net:
    seed, depth, T, regime = request.param
    network = make_network(seed, depth, T, regime)
    spikes, _ = network.simulate()
    for layer, s in enumerate(spikes):
        assert s.sum() > 0, f"layer {layer} never spikes (never resets)"
    return network


def test_hand_computed_neuron() -> None:
    """One neuron, W = 1, alpha = beta = 1/2, theta = 1: every value is a binary fraction."""
    x0 = np.array([[1.0], [1.0], [1.0], [0.0], [0.0]])
    args = ([np.ones((1, 1))], [np.array([0.5])], [np.array([0.5])])
    (s,), (mem,) = simulate(x0, *args, 1.0)
    # syn: 1, 1.5, 1.75, 0.875, 0.4375; mem 2 > 1 at step 1, so the spike is s[2] and mem[2] = 0
    assert s[:, 0].tolist() == [0, 0, 1, 0, 0]
    assert mem[:, 0].tolist() == [1.0, 2.0, 0.0, 0.875, 0.875]
    # mem[4] after the reset at 2: K(4, t) = 2 * 0.5^(4 - t) for t = 0, 1, 2
    terms, _ = membrane_terms(x0, np.ones((1, 1)), 0.5, 0.5, s[:, 0], 0, 4)
    assert terms[:, 0].tolist() == [0.125, 0.25, 0.5, 0.0, 0.0]
    # the threshold is strict: mem[1] = 2 spikes at step 2 for theta just below 2, not for 2
    x0 = np.array([[1.0], [1.0], [0.0], [0.0], [0.0]])
    (s,), _ = simulate(x0, *args, 2.0)
    assert s.sum() == 0
    (s,), _ = simulate(x0, *args, 1.999)
    assert s[:, 0].tolist() == [0, 0, 1, 0, 0]


def test_terms_sum_to_the_simulated_membrane(net: Net) -> None:
    spikes, membranes = net.simulate()
    inputs = [net.x0, *spikes[:-1]]
    T = net.x0.shape[0]
    for layer, W in enumerate(net.weights):
        for j in range(W.shape[1]):
            for s in range(T):
                terms, unit_terms = membrane_terms(
                    inputs[layer], W, net.alphas[layer][j], net.betas[layer][j],
                    spikes[layer][:, j], j, s,
                )  # fmt: skip
                mem = membranes[layer][s, j]
                assert abs(terms.sum() - mem) <= 1e-12 * max(1.0, abs(mem)), (layer, j, s)
                assert np.array_equal(terms, inputs[layer] * unit_terms)
    result = net.explain()
    np.testing.assert_allclose(result["membrane"], membranes[-1][T - 1], rtol=1e-12, atol=1e-12)
    assert result["target"] == pytest.approx(float(net.w @ membranes[-1][T - 1]), rel=1e-12)
    for mine, theirs in zip(result["spikes"], spikes, strict=True):
        assert np.array_equal(mine, theirs)


def test_the_decomposition_check_sees_an_ignored_reset(net: Net) -> None:
    """Counting every step since 0 (r = -1, the reset ignored) breaks the sum of the terms."""
    spikes, membranes = net.simulate()
    inputs = [net.x0, *spikes[:-1]]
    T = net.x0.shape[0]
    worst = 0.0
    for layer, W in enumerate(net.weights):
        x = inputs[layer]
        for j in range(W.shape[1]):
            a, b = net.alphas[layer][j], net.betas[layer][j]
            for s in range(T):
                no_reset = sum(
                    x[t, i] * W[i, j] * kernel(a, b, s, t, -1)
                    for t in range(s + 1)
                    for i in range(W.shape[0])
                )
                worst = max(worst, abs(no_reset - membranes[layer][s, j]))
    assert worst > 1e-3


@pytest.mark.parametrize(("rule", "ab"), RULES, ids=["z", "ab10", "ab21"])
def test_relevance_is_conserved(net: Net, rule: str, ab: tuple[float, float]) -> None:
    result = net.explain(rule, ab)
    target = result["target"]
    assert abs(target) > 1e-6
    relevance = result["relevance"]
    assert relevance.shape == net.x0.T.shape
    assert abs(relevance.sum() - target) <= 1e-9 * abs(target)


def hand_network(x0_rows: list[list[float]]) -> Net:
    """2 inputs -> 1 hidden -> 1 output, W0 = (2, -1/2), W1 = 1, alpha = beta = 1/2, w = 2, T = 4.

    With input 0 spiking at step 0 the hidden neuron's mem[0] = 2 * 1 (+ -1/2 if input 1 spikes
    at 0 too) exceeds theta = 1: its only spike is at step 1. The output neuron never spikes;
    m[3] = K(3, 1) = sum_{u=1..3} 2^-(u-1) 2^-(3-u) = 3/4, so F = 2 * 3/4 = 3/2 is the hidden
    spike's relevance R.
    """
    half = np.array([0.5])
    return Net(
        x0=np.array(x0_rows),
        weights=[np.array([[2.0], [-0.5]]), np.array([[1.0]])],
        alphas=[half, half],
        betas=[half, half],
        theta=1.0,
        w=np.array([2.0]),
    )


# rule, ab, relevance of input 0 and input 1 at step 0 when both spike there (Z+ = 2, Z- = -1/2,
# Z = 3/2), and when only input 0 does (Z+ = Z = 2, Z- = 0): relevance of input 0 and sensitivity
# of the silent input 1
HAND_RULES = [
    ("z", (1.0, 0.0), (1.5 * 2 / 1.5, 1.5 * -0.5 / 1.5), (1.5, 1.5 * -0.5 / 2)),
    ("alpha_beta", (1.0, 0.0), (1.5, 0.0), (1.5, 0.0)),
    ("alpha_beta", (2.0, 1.0), (2 * 1.5 * 2 / 2, -1 * 1.5 * -0.5 / -0.5), (1.5, 0.0)),
]


@pytest.mark.parametrize(("rule", "ab", "both", "one"), HAND_RULES, ids=["z", "ab10", "ab21"])
def test_the_rules_on_a_hand_computed_network(
    rule: str, ab: tuple[float, float], both: tuple[float, float], one: tuple[float, float]
) -> None:
    network = hand_network([[1, 1], [0, 0], [0, 0], [0, 0]])
    result = network.explain(rule, ab)
    assert [s[:, 0].tolist() for s in result["spikes"]] == [[0, 1, 0, 0], [0, 0, 0, 0]]
    assert result["target"] == 1.5
    expected = np.zeros((2, 4))
    expected[:, 0] = both
    assert np.array_equal(result["relevance"], expected)

    # input 1 silent: no negative term (Z- = 0), so alpha_beta gives the positive terms factor 1
    # and the silent negative-weight cell no sensitivity; z still gives it R W K / Z
    network = hand_network([[1, 0], [0, 0], [0, 0], [0, 0]])
    result = network.explain(rule, ab)
    assert [s[:, 0].tolist() for s in result["spikes"]] == [[0, 1, 0, 0], [0, 0, 0, 0]]
    assert result["target"] == 1.5
    assert result["relevance"][0, 0] == one[0]
    assert result["sensitivity"][1, 0] == one[1]
    assert result["relevance"].sum() == 1.5
    # later input steps never reach mem[0]
    assert not result["sensitivity"][:, 1:].any()


@pytest.mark.parametrize(("rule", "ab"), RULES, ids=["z", "ab10", "ab21"])
def test_relevance_is_x0_times_sensitivity(net: Net, rule: str, ab: tuple[float, float]) -> None:
    result = net.explain(rule, ab)
    relevance, sensitivity = result["relevance"], result["sensitivity"]
    assert np.array_equal(relevance, net.x0.T * sensitivity)
    # the sensitivity is more than the relevance: silent cells have one too
    silent = net.x0.T == 0
    assert np.abs(sensitivity[silent]).max() > 0


def unit_response(alpha: float, beta: float, T: int, t0: int, resets: np.ndarray) -> np.ndarray:
    """The membrane of one neuron fed a single unit spike at t0, reset where ``resets`` is 1."""
    syn = 0.0
    mem = 0.0
    out = np.zeros(T)
    for t in range(T):
        syn = alpha * syn + (1.0 if t == t0 else 0.0)
        mem = (beta * mem + syn) * (1.0 - resets[t])
        out[t] = mem
    return out


def closed_form(alpha: float, beta: float, k: int) -> float:
    """The response of a neuron without reset to one unit spike k steps back."""
    if alpha == beta:
        return (k + 1) * alpha**k
    return (alpha ** (k + 1) - beta ** (k + 1)) / (alpha - beta)


def single_layer_sensitivity(net: Net, resets: np.ndarray) -> np.ndarray:
    """sum_c w_c W[k, c] K_c(T-1, t'), K_c from the unit response (resets held as given)."""
    (W,), (alpha,), (beta,) = net.weights, net.alphas, net.betas
    T = net.x0.shape[0]
    sens = np.zeros((W.shape[0], T))
    for c in range(W.shape[1]):
        for t0 in range(T):
            K = unit_response(alpha[c], beta[c], T, t0, resets[:, c])[T - 1]
            for k in range(W.shape[0]):
                sens[k, t0] += net.w[c] * W[k, c] * K
    return sens


@pytest.mark.parametrize("regime", REGIMES)
def test_single_layer_without_reset_matches_the_closed_form(regime: str) -> None:
    network = make_network(7, 1, 25, regime)
    network.theta = NO_SPIKE_THETA
    T = network.x0.shape[0]
    (spikes,), _ = network.simulate()
    assert spikes.sum() == 0
    for alpha, beta in zip(network.alphas[0], network.betas[0], strict=True):
        for t0 in range(T):
            response = unit_response(alpha, beta, T, t0, np.zeros(T))
            for s in range(t0, T):
                assert response[s] == pytest.approx(closed_form(alpha, beta, s - t0), rel=1e-12)
    expected = single_layer_sensitivity(network, np.zeros_like(spikes))
    result = network.explain()
    np.testing.assert_allclose(result["sensitivity"], expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(result["relevance"], network.x0.T * expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("regime", REGIMES)
def test_single_layer_with_resets_matches_the_unit_response(regime: str) -> None:
    network = make_network(11, 1, 25, regime)
    (spikes,), _ = network.simulate()
    T = network.x0.shape[0]
    assert spikes[: T - 1].sum() > 0, "the output layer should reset before the last step"
    expected = single_layer_sensitivity(network, spikes)
    result = network.explain()
    np.testing.assert_allclose(result["sensitivity"], expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(result["relevance"], network.x0.T * expected, rtol=1e-12, atol=1e-14)
    # ... and the resets matter: the same sum with them ignored is another map
    ignored = single_layer_sensitivity(network, np.zeros_like(spikes))
    assert np.abs(result["sensitivity"] - ignored).max() > 1e-3


def test_bad_arguments_are_refused() -> None:
    network = make_network(0, 2, 12, "alpha==beta")
    with pytest.raises(ValueError, match="rule"):
        network.explain("epsilon")
    with pytest.raises(ValueError, match="a - b = 1"):
        network.explain("alpha_beta", (2.0, 0.0))
    with pytest.raises(ValueError, match="0/1"):
        literal_exact(
            network.x0 * 0.5, network.weights, network.alphas, network.betas, THETA, network.w
        )
