"""LIF dynamics (SPEC 3) against a slow, literal transcription of the pseudo-code."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeattr.snn.lif import LIFParameters, LIFState, lif_layer_torch, lif_step, spike_fn
from spikeattr.snn.network import LIFNetwork


# -- the oracle: SPEC 3 written out with Python loops in float64 --------------------------------
def literal_lif_network(
    x: np.ndarray, weights: list[np.ndarray], dt: float, tau_syn: float, tau_mem: float
) -> tuple[list[np.ndarray], np.ndarray]:
    """Spikes of every layer ``[B, T, n_l]`` and the output membrane ``[B, T, C]``.

    For each layer, with state ``syn = mem = 0``::

        s[t] = H(mem - 1); syn = alpha syn + x[t] @ W; mem = (beta mem + syn) (1 - s[t])
    """
    alpha = math.exp(-dt / tau_syn)
    beta = math.exp(-dt / tau_mem)
    batch, steps, _ = x.shape
    layer_input = [[[float(v) for v in row] for row in series] for series in x]
    all_spikes: list[np.ndarray] = []
    membrane_out = None
    for weight in weights:
        n_in, n_out = weight.shape
        w = [[float(weight[i, j]) for j in range(n_out)] for i in range(n_in)]
        spikes = [[[0.0] * n_out for _ in range(steps)] for _ in range(batch)]
        membrane = [[[0.0] * n_out for _ in range(steps)] for _ in range(batch)]
        for b in range(batch):
            syn = [0.0] * n_out
            mem = [0.0] * n_out
            for t in range(steps):
                for j in range(n_out):
                    s = 1.0 if mem[j] - 1.0 > 0.0 else 0.0
                    current = 0.0
                    for i in range(n_in):
                        current += layer_input[b][t][i] * w[i][j]
                    syn[j] = alpha * syn[j] + current
                    mem[j] = (beta * mem[j] + syn[j]) * (1.0 - s)
                    spikes[b][t][j] = s
                    membrane[b][t][j] = mem[j]
        all_spikes.append(np.array(spikes))
        membrane_out = np.array(membrane)
        layer_input = spikes
    assert membrane_out is not None
    return all_spikes, membrane_out


@dataclass
class Case:
    sizes: list[int]
    steps: int
    batch: int
    dt: float
    tau_syn: float
    tau_mem: float
    x: np.ndarray
    weights: list[np.ndarray]

    def network(self, dtype: torch.dtype) -> LIFNetwork:
        net = LIFNetwork(self.sizes, dt=self.dt, tau_syn=self.tau_syn, tau_mem=self.tau_mem)
        net = net.to(dtype)
        net.load_weights(self.weights)  # after the cast, so float64 weights stay exact
        return net


@st.composite
def cases(draw: st.DrawFn) -> Case:
    depth = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(1, 12), min_size=depth + 1, max_size=depth + 1))
    steps = draw(st.integers(1, 60))
    batch = draw(st.integers(1, 2))
    dt = draw(st.floats(1e-4, 5e-3))
    tau_syn = draw(st.floats(1e-3, 5e-2))
    tau_mem = draw(st.floats(5e-4, 5e-2))
    rate = draw(st.floats(0.2, 1.0))
    gain = draw(st.floats(0.5, 4.0))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = (rng.random((batch, steps, sizes[0])) < rate).astype(np.float64)
    # positive-leaning weights, scaled with the fan-in, so that layers do spike
    weights = [
        rng.normal(0.4, 1.0, size=(n_in, n_out)) * gain / math.sqrt(n_in)
        for n_in, n_out in itertools.pairwise(sizes)
    ]
    return Case(sizes, steps, batch, dt, tau_syn, tau_mem, x, weights)


def test_oracle_on_a_hand_computed_example() -> None:
    # one neuron, W = 0.6, alpha = exp(-1), beta = exp(-1), input spikes at every step
    spikes, membrane = literal_lif_network(np.ones((1, 4, 1)), [np.array([[0.6]])], 1.0, 1.0, 1.0)
    a = b = math.exp(-1)
    syn1 = 0.6
    mem1 = syn1
    syn2 = a * syn1 + 0.6
    mem2 = b * mem1 + syn2
    assert membrane[0, :2, 0] == pytest.approx([mem1, mem2], abs=1e-15)
    assert mem2 > 1  # so the neuron spikes at step 2, from the membrane of step 1, and resets
    assert spikes[0][0, :, 0].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert membrane[0, 2, 0] == 0.0


def test_network_matches_literal_oracle_in_float64() -> None:
    spiking = []

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(cases())
    def check(case: Case) -> None:
        ref_spikes, ref_membrane = literal_lif_network(
            case.x, case.weights, case.dt, case.tau_syn, case.tau_mem
        )
        net = case.network(torch.float64)
        x = torch.from_numpy(case.x)
        for backend in ("torch", "numba"):
            with torch.no_grad():
                out = net(x, backend=backend)
            assert out.membrane.dtype == torch.float64
            assert out.membrane.shape == (case.batch, case.steps, case.sizes[-1])
            np.testing.assert_allclose(out.membrane.numpy(), ref_membrane, rtol=1e-12, atol=1e-9)
            assert len(out.layer_spikes) == len(case.sizes) - 2
            for mine, ref in zip(out.layer_spikes, ref_spikes[:-1], strict=True):
                np.testing.assert_array_equal(mine.numpy(), ref)
            last = out.state[-1]
            np.testing.assert_allclose(last.mem.numpy(), ref_membrane[:, -1], rtol=1e-12, atol=1e-9)
        spiking.append([float(s.sum()) for s in ref_spikes])

    check()
    # the strategy must exercise the reset: many draws spike, some in a deeper layer
    assert sum(1 for counts in spiking if sum(counts) > 0) >= len(spiking) // 3
    assert any(len(counts) > 1 and counts[-1] > 0 and counts[0] > 0 for counts in spiking)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_torch_and_numba_identical_in_float32(case: Case) -> None:
    net = case.network(torch.float32)
    x = torch.from_numpy(case.x).float()
    with torch.no_grad():
        a = net(x, backend="torch")
        b = net(x, backend="numba")
    assert a.membrane.dtype == b.membrane.dtype == torch.float32
    assert torch.equal(a.membrane, b.membrane)
    for sa, sb in zip(a.layer_spikes, b.layer_spikes, strict=True):
        assert torch.equal(sa, sb)
    for state_a, state_b in zip(a.state, b.state, strict=True):
        assert torch.equal(state_a.syn, state_b.syn) and torch.equal(state_a.mem, state_b.mem)


@settings(max_examples=30, deadline=None)
@given(cases(), st.integers(0, 60))
def test_state_carries_across_calls(case: Case, cut: int) -> None:
    cut = min(cut, case.steps)
    net = case.network(torch.float64)
    x = torch.from_numpy(case.x)
    for backend in ("torch", "numba"):
        with torch.no_grad():
            whole = net(x, backend=backend)
            first = net(x[:, :cut], backend=backend)
            second = net(x[:, cut:], state=first.state, backend=backend)
        joined = torch.cat([first.membrane, second.membrane], dim=1)
        # not bit-exact: torch.matmul's reduction order may depend on the number of rows
        np.testing.assert_allclose(joined.numpy(), whole.membrane.numpy(), rtol=1e-12, atol=1e-12)
        for a, b in zip(first.layer_spikes, whole.layer_spikes, strict=True):
            assert torch.equal(a, b[:, :cut])


# -- single steps and parameters ----------------------------------------------------------------
def test_lif_step_follows_spec() -> None:
    syn = torch.tensor([[0.5, 0.2, -0.1]])
    mem = torch.tensor([[1.5, 1.0, 0.3]])  # above, at and below threshold
    current = torch.tensor([[0.1, 0.2, 0.3]])
    spikes, new = lif_step(current, LIFState(syn, mem), alpha=0.9, beta=0.8)
    assert spikes.tolist() == [[1.0, 0.0, 0.0]]  # H(0) = 0: exactly at threshold is no spike
    expected_syn = 0.9 * syn + current
    assert torch.equal(new.syn, expected_syn)
    expected_mem = (0.8 * mem + expected_syn) * torch.tensor([[0.0, 1.0, 1.0]])
    assert torch.allclose(new.mem, expected_mem)
    assert new.mem[0, 0] == 0.0


def threshold_network(dtype: torch.dtype) -> LIFNetwork:
    """``[1, 1, 1]`` with unit weights: one input spike at step 0 puts the hidden membrane at
    exactly 1.0; its spike (at step 2) puts the output membrane at exactly 1.0."""
    net = LIFNetwork([1, 1, 1], dt=1e-3, tau_syn=1e-2, tau_mem=2e-3).to(dtype)
    net.load_weights([np.ones((1, 1)), np.ones((1, 1))])
    return net


#: the input of :func:`threshold_network`: one spike at step 0 of 5.
THRESHOLD_INPUT = np.array([[[1.0], [0.0], [0.0], [0.0], [0.0]]])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_membrane_exactly_at_threshold_does_not_spike_in_any_backend(dtype: torch.dtype) -> None:
    """H(0) = 0 in every backend: the spike comes a step after the membrane reached 1.0."""
    net = threshold_network(dtype)
    alpha, beta = net.alpha, net.beta
    ref_spikes, ref_membrane = literal_lif_network(
        THRESHOLD_INPUT, [np.ones((1, 1))] * 2, 1e-3, 1e-2, 2e-3
    )
    assert ref_spikes[0][0, :, 0].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert ref_spikes[1][0, :, 0].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]
    x = torch.from_numpy(THRESHOLD_INPUT).to(dtype)
    for backend in ("torch", "numba"):
        with torch.no_grad():
            out = net(x, backend=backend)
        assert out.layer_spikes[0][0, :, 0].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0], backend
        membrane = out.membrane[0, :, 0].tolist()
        assert membrane[2] == 1.0  # the output neuron sits exactly at threshold ...
        assert membrane[3] == pytest.approx(beta + alpha, rel=1e-6), backend  # ... not reset
        assert membrane[4] == 0.0  # it fires at step 4 and resets
        np.testing.assert_allclose(membrane, ref_membrane[0, :, 0], rtol=1e-6)


def test_lif_layer_torch_with_no_steps() -> None:
    state = LIFState(torch.zeros(2, 3), torch.zeros(2, 3))
    spikes, membrane, final = lif_layer_torch(torch.zeros(2, 0, 3), state, 0.9, 0.5)
    assert spikes.shape == membrane.shape == (2, 0, 3)
    assert final is state


def test_parameters_decays() -> None:
    params = LIFParameters(dt=1e-3, tau_syn=1e-2, tau_mem=1e-3)
    assert params.alpha == math.exp(-0.1)
    assert params.beta == math.exp(-1.0)
    assert params.threshold == 1.0


@pytest.mark.parametrize("field", ["dt", "tau_syn", "tau_mem"])
@pytest.mark.parametrize("value", [0.0, -1e-3, float("nan"), float("inf"), "1e-3"])
def test_parameters_reject_non_positive(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        LIFParameters(**{field: value})  # type: ignore[arg-type]


def test_network_rejects_bad_time_constants() -> None:
    with pytest.raises(ValueError, match="tau_mem"):
        LIFNetwork([2, 3], tau_mem=0.0)


# -- surrogate gradient -------------------------------------------------------------------------
def test_surrogate_gradient_is_fast_sigmoid() -> None:
    x = torch.tensor(
        [-2.0, -0.3, -0.01, 0.0, 1e-4, 0.05, 0.7, 3.0], dtype=torch.float64, requires_grad=True
    )
    y = spike_fn(x)
    assert y.tolist() == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    (grad,) = torch.autograd.grad(y.sum(), x)
    expected = 1.0 / (100.0 * x.detach().abs() + 1.0) ** 2
    torch.testing.assert_close(grad, expected, rtol=1e-15, atol=0.0)
    # the incoming gradient scales it
    weights = torch.linspace(-1, 2, x.numel(), dtype=torch.float64)
    (grad,) = torch.autograd.grad((spike_fn(x) * weights).sum(), x)
    torch.testing.assert_close(grad, weights * expected, rtol=1e-15, atol=0.0)


def test_reset_is_not_differentiated_through() -> None:
    beta = 0.7
    for mem_value, spikes_now in ((1.4, True), (0.4, False)):
        mem = torch.tensor([[mem_value]], dtype=torch.float64, requires_grad=True)
        syn = torch.tensor([[0.2]], dtype=torch.float64, requires_grad=True)
        spikes, new = lif_step(
            torch.zeros(1, 1, dtype=torch.float64), LIFState(syn, mem), alpha=0.9, beta=beta
        )
        assert bool(spikes.item()) is spikes_now
        d_mem, d_syn = torch.autograd.grad(new.mem.sum(), (mem, syn))
        if spikes_now:
            # mem = (beta mem + syn) * (1 - s) with s detached: gradient 0, not -(beta mem + syn) g
            assert d_mem.item() == 0.0 and d_syn.item() == 0.0
        else:
            assert d_mem.item() == pytest.approx(beta) and d_syn.item() == pytest.approx(0.9)
        # the spike itself carries the surrogate gradient of mem - 1
        (d_spike,) = torch.autograd.grad(spikes.sum(), mem)
        assert d_spike.item() == pytest.approx(1.0 / (100 * abs(mem_value - 1.0) + 1) ** 2)


def test_gradients_flow_through_the_network() -> None:
    torch.manual_seed(0)
    net = LIFNetwork([3, 8, 4], seed=1)
    x = (torch.rand(2, 40, 3) < 0.5).float()
    out = net(x)  # auto backend: weights need gradients, so the fused differentiable layer
    assert out.membrane.grad_fn is not None
    out.log_probs.mean().backward()
    assert all(w.grad is not None and torch.isfinite(w.grad).all() for w in net.weights)
    assert any(float(w.grad.abs().sum()) > 0 for w in net.weights)
    with torch.no_grad():
        fast = net(x)  # auto backend without gradients: the numba kernel, same numbers
    assert torch.equal(fast.membrane, out.membrane.detach())
