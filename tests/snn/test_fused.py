"""The fused LIF layer: same forward numbers and same gradients as the per-step torch loop."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeattr.snn.fused import fused_nll_loss, lif_layer_fused
from spikeattr.snn.lif import LIFState, lif_layer_torch
from spikeattr.snn.network import LIFNetwork

# Tiny tensors: intra-op threads only add overhead (and contention on a shared machine).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


LAYERS = {"torch": lif_layer_torch, "fused": lif_layer_fused}


def _case(
    seed: int, batch: int, steps: int, n: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """Random currents, an initial state (some membranes above threshold) and upstream grads."""
    gen = torch.Generator().manual_seed(seed)
    currents = torch.randn(batch, steps, n, generator=gen, dtype=dtype) * 0.7 + 0.15
    syn0 = torch.randn(batch, n, generator=gen, dtype=dtype)
    mem0 = torch.rand(batch, n, generator=gen, dtype=dtype) * 2.0 - 0.5
    upstream = [
        torch.randn(batch, steps, n, generator=gen, dtype=dtype),  # d/d spikes
        torch.randn(batch, steps, n, generator=gen, dtype=dtype),  # d/d membrane
        torch.randn(batch, n, generator=gen, dtype=dtype),  # d/d final syn
        torch.randn(batch, n, generator=gen, dtype=dtype),  # d/d final mem
    ]
    return currents, syn0, mem0, upstream


def _run(
    layer: str,
    currents: torch.Tensor,
    syn0: torch.Tensor,
    mem0: torch.Tensor,
    upstream: list[torch.Tensor],
    alpha: float,
    beta: float,
) -> list[torch.Tensor]:
    """Outputs and the gradients of ``sum(upstream * outputs)`` w.r.t. currents and state."""
    inputs = [t.clone().requires_grad_() for t in (currents, syn0, mem0)]
    spikes, membrane, final = LAYERS[layer](inputs[0], LIFState(inputs[1], inputs[2]), alpha, beta)
    outputs = [spikes, membrane, final.syn, final.mem]
    objective = sum((o * g).sum() for o, g in zip(outputs, upstream, strict=True))
    grads = torch.autograd.grad(objective, inputs)
    return [o.detach() for o in outputs] + list(grads)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    batch=st.integers(1, 3),
    steps=st.integers(1, 25),
    n=st.integers(1, 4),
    alpha=st.floats(0.05, 0.99),
    beta=st.floats(0.05, 0.99),
)
def test_forward_equal_and_gradients_exact_in_float64(
    seed: int, batch: int, steps: int, n: int, alpha: float, beta: float
) -> None:
    case = _case(seed, batch, steps, n, torch.float64)
    reference = _run("torch", *case, alpha, beta)
    fused = _run("fused", *case, alpha, beta)
    names = ["spikes", "membrane", "syn_T", "mem_T", "d_currents", "d_syn0", "d_mem0"]
    for name, a, b in zip(names[:4], reference[:4], fused[:4], strict=True):
        assert torch.equal(a, b), name
    for name, a, b in zip(names[4:], reference[4:], fused[4:], strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-10, msg=name)


@pytest.mark.parametrize("seed", range(3))
def test_float32_forward_identical_gradients_close(seed: int) -> None:
    case = _case(seed, 4, 60, 6, torch.float32)
    reference = _run("torch", *case, 0.9048, 0.3679)
    fused = _run("fused", *case, 0.9048, 0.3679)
    for a, b in zip(reference[:4], fused[:4], strict=True):
        assert torch.equal(a, b)
    assert float(reference[0].sum()) > 0  # the case has spikes, so resets and surrogates matter
    for a, b in zip(reference[4:], fused[4:], strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


def test_a_membrane_exactly_at_threshold_neither_spikes_nor_resets_its_gradient() -> None:
    """Currents of exactly 1.0 at step 0 put the membranes on the threshold at step 0 (and a
    start state on it at step -1): forward and gradients equal the torch loop's, which does
    not spike there, so the gradient flows through the membrane instead of being reset."""
    currents, syn0, _, upstream = _case(3, 2, 6, 3, torch.float64)
    currents[:, 0] = 1.0
    syn0[:] = 0.0
    mem0 = torch.zeros(2, 3, dtype=torch.float64)
    mem0[1] = 1.0
    torch_run = _run("torch", currents, syn0, mem0, upstream, 0.9, 0.5)
    fused_run = _run("fused", currents, syn0, mem0, upstream, 0.9, 0.5)
    assert torch_run[0][:, 0].sum() == 0  # row 1 starts at 1.0: no spike at step 0
    assert torch_run[0][0, 1].sum() == 0  # row 0 reached 1.0 at step 0: no spike at step 1
    assert torch_run[1][0, 0].tolist() == [1.0, 1.0, 1.0]
    for ours, theirs in zip(fused_run, torch_run, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


def test_no_steps_passes_the_state_and_its_gradient_through() -> None:
    syn0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    mem0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    spikes, membrane, final = lif_layer_fused(
        torch.zeros(2, 0, 3, dtype=torch.float64), LIFState(syn0, mem0), 0.9, 0.5
    )
    assert spikes.shape == membrane.shape == (2, 0, 3)
    assert torch.equal(final.syn, syn0.detach()) and torch.equal(final.mem, mem0.detach())
    d_syn, d_mem = torch.autograd.grad((2 * final.syn + 3 * final.mem).sum(), [syn0, mem0])
    assert torch.equal(d_syn, torch.full_like(syn0, 2.0))
    assert torch.equal(d_mem, torch.full_like(mem0, 3.0))


@pytest.mark.parametrize("sizes", [[3, 4], [3, 7, 4], [5, 6, 5, 3]])
def test_network_weight_gradients_match_the_torch_loop(sizes: list[int]) -> None:
    torch.manual_seed(0)
    net = LIFNetwork(sizes, seed=3).double()
    x = (torch.rand(3, 40, sizes[0]) < 0.6).double()
    labels = torch.randint(0, sizes[-1], (3, 40))
    state = None
    results = []
    for backend in ("torch", "fused"):
        net.zero_grad()
        out = net(x, state=state, backend=backend)  # type: ignore[arg-type]
        loss = torch.nn.functional.nll_loss(out.log_probs.reshape(-1, sizes[-1]), labels.ravel())
        loss.backward()
        results.append((out.membrane.detach(), [w.grad.clone() for w in net.weights]))  # type: ignore[union-attr]
    assert torch.equal(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1], strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-10)
    assert any(float(g.abs().sum()) > 0 for g in results[1][1])


def test_auto_backend_uses_the_fused_layer_when_gradients_are_needed() -> None:
    net = LIFNetwork([3, 5, 2], seed=0)
    x = torch.ones(1, 20, 3)
    out = net(x)
    assert out.membrane.grad_fn is not None
    assert "FusedLIFLayer" in type(out.membrane.grad_fn).__name__
    # a gradient w.r.t. the input spikes flows even when the weights are frozen
    for weight in net.weights:
        weight.requires_grad_(False)
    spikes = x.clone().requires_grad_()
    (grad,) = torch.autograd.grad(net(spikes).membrane.sum(), spikes)
    assert grad.shape == x.shape and float(grad.abs().sum()) > 0


def test_carried_state_gives_the_same_gradients_as_one_long_run() -> None:
    """Splitting T into two calls with the (non-detached) state carried changes nothing."""
    currents, syn0, mem0, upstream = _case(11, 2, 30, 3, torch.float64)
    whole = _run("fused", currents, syn0, mem0, upstream, 0.8, 0.4)
    inputs = [t.clone().requires_grad_() for t in (currents, syn0, mem0)]
    first = lif_layer_fused(inputs[0][:, :12], LIFState(inputs[1], inputs[2]), 0.8, 0.4)
    second = lif_layer_fused(inputs[0][:, 12:], first[2], 0.8, 0.4)
    spikes = torch.cat([first[0], second[0]], 1)
    membrane = torch.cat([first[1], second[1]], 1)
    outputs = [spikes, membrane, second[2].syn, second[2].mem]
    objective = sum((o * g).sum() for o, g in zip(outputs, upstream, strict=True))
    grads = torch.autograd.grad(objective, inputs)
    for a, b in zip(whole[4:], grads, strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-10)


def test_refuses_unsupported_inputs() -> None:
    state = LIFState(torch.zeros(1, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="CPU float32/float64"):
        lif_layer_fused(torch.zeros(1, 3, 2, dtype=torch.float16), state, 0.9, 0.5)
    with pytest.raises(ValueError, match=r"state.syn must have shape \[B, n\] = \[1, 3\]"):
        lif_layer_fused(torch.zeros(1, 4, 3), state, 0.9, 0.5)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fused_nll_loss_matches_log_softmax_nll(dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(4)
    scores = (torch.randn(5, 40, 4, generator=gen, dtype=dtype) * 8).requires_grad_()
    labels = torch.randint(0, 4, (5, 40), generator=gen)
    labels[0, :7] = -100
    labels[3] = -100
    expected = torch.nn.functional.nll_loss(
        torch.log_softmax(scores, -1).reshape(-1, 4), labels.reshape(-1), ignore_index=-100
    )
    (expected_grad,) = torch.autograd.grad(2.5 * expected, scores)
    loss = fused_nll_loss(scores, labels)
    (grad,) = torch.autograd.grad(2.5 * loss, scores)
    assert loss.dtype == dtype
    tolerance = 1e-12 if dtype == torch.float64 else 1e-6
    torch.testing.assert_close(loss, expected, rtol=tolerance, atol=tolerance)
    torch.testing.assert_close(grad, expected_grad, rtol=tolerance, atol=tolerance)
    assert float(grad[3].abs().sum()) == 0.0  # ignored steps get no gradient


def test_fused_nll_loss_edge_cases() -> None:
    scores = torch.zeros(2, 3, 4, requires_grad=True)
    nothing = fused_nll_loss(scores, torch.full((2, 3), -100))
    assert torch.isnan(nothing)
    (grad,) = torch.autograd.grad(nothing, scores)
    assert torch.equal(grad, torch.zeros_like(scores))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\) or equal ignore_index"):
        fused_nll_loss(scores, torch.tensor([[0, 1, 4], [0, 0, 0]]))
    with pytest.raises(ValueError, match=r"labels must have shape \[2, 3\]"):
        fused_nll_loss(scores, torch.zeros(3, 2, dtype=torch.int64))
