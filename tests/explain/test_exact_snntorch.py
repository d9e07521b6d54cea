"""The exact LIF attribution of snnTorch models, against snnTorch itself.

The oracle never calls spikeattr's exact code. It runs each layer of the snnTorch model on its
recorded input with torch's autograd, every spike held as observed (a Heaviside whose gradient
is 0; snnTorch detaches its resets itself), so that ``x * d(sum h mem)/dx`` is exactly the
terms of the input cells in ``sum h mem``, and it passes relevance down by the z-rule: a
hidden spike at step ``t`` (snnTorch: from the membrane of ``t``) gives its relevance to the
terms of that membrane. The bias's share is ``b * d/db``; what the inputs and the bias do not
explain of a membrane is its subtractive resets' share (the rest is linear and homogeneous in
``(x, b)``, so Euler's identity splits it exactly).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import snntorch as snn
import torch
from torch import nn

from spikeattr.errors import ExplanationError, UnsupportedLayerError
from spikeattr.explain.adapters import SnnTorchAdapter
from spikeattr.explain.exact_attribution import ExactLIFAttribution
from spikeattr.explain.methods import make_explainer

from .held_spikes import HeldSpike


def _network(
    sizes: tuple[int, ...], neuron: str, reset: str, bias: bool, seed: int
) -> nn.Sequential:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        linear = nn.Linear(n_in, n_out, bias=bias).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(rng.normal(0.0, 1.2, (n_out, n_in))))
            if bias:
                linear.bias.copy_(torch.from_numpy(rng.normal(0.0, 0.3, n_out)))
        beta = torch.from_numpy(rng.uniform(0.5, 0.95, n_out))  # per neuron
        common = {"spike_grad": HeldSpike.apply, "init_hidden": True, "reset_mechanism": reset}
        if neuron == "leaky":
            cell: nn.Module = snn.Leaky(beta=beta, threshold=0.8, **common)
        else:
            alpha = float(rng.uniform(0.3, 0.9))
            cell = snn.Synaptic(alpha=alpha, beta=beta, threshold=0.8, **common)
        layers += [linear, cell.double()]
    return nn.Sequential(*layers)


def _spikes(batch: int, steps: int, n: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed + 100)
    return torch.from_numpy((rng.random((batch, steps, n)) < 0.35).astype(np.float64))


def _reset(net: nn.Sequential) -> None:
    for module in net:
        if hasattr(module, "reset_mem"):
            module.reset_mem()


def _layer_run(
    linear: nn.Linear, cell: Any, inputs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One layer on ``inputs [B, T, n_in]`` from zero state: its membranes ``[B, T, n]`` (in
    autograd's graph) and spikes ``[B, T, n]``."""
    cell.reset_mem()
    membranes, spikes = [], []
    for t in range(inputs.shape[1]):
        out = cell(linear(inputs[:, t]))
        spikes.append(out.detach())
        membranes.append(cell.mem)
    return torch.stack(membranes, 1), torch.stack(spikes, 1)


def oracle(net: nn.Sequential, x: torch.Tensor, weights: torch.Tensor) -> dict[str, Any]:
    """Relevance of the input cells ``[B, n_0, T]`` of ``F = sum_c weights[b, c] m_c[T-1]``,
    the share of the biases and of the resets ``[B]``, and ``F`` itself."""
    pairs = [(net[i], net[i + 1]) for i in range(0, len(net), 2)]
    inputs = [x.detach()]
    membranes = []
    for linear, cell in pairs:  # record the layers' inputs, spike by spike
        mem, spk = _layer_run(linear, cell, inputs[-1])
        membranes.append(mem.detach())
        inputs.append(spk)
    target = (weights * membranes[-1][:, -1]).sum(-1)
    readout = torch.zeros_like(membranes[-1])
    readout[:, -1] = weights
    bias_share = torch.zeros(x.shape[0], dtype=torch.float64)
    reset_share = torch.zeros(x.shape[0], dtype=torch.float64)
    relevance = torch.zeros(0)
    for layer in range(len(pairs) - 1, -1, -1):
        linear, cell = pairs[layer]
        leaf = inputs[layer].clone().requires_grad_(True)
        mem, _ = _layer_run(linear, cell, leaf)
        if layer < len(pairs) - 1:  # h = R / mem at the spikes of this layer
            spikes = inputs[layer + 1] != 0
            readout = torch.where(spikes, relevance / torch.where(spikes, mem, 1.0), 0.0)
            readout = readout.detach()
        total = (readout * mem).sum(dim=(1, 2))
        params = [leaf] + ([linear.bias] if linear.bias is not None else [])
        grads = torch.autograd.grad(total.sum(), params, retain_graph=True)
        relevance = (leaf * grads[0]).detach()  # [B, T, n_in]
        explained = relevance.sum(dim=(1, 2))
        if linear.bias is not None:  # per sample: rerun per row for the bias's share
            shares = []
            for b in range(x.shape[0]):
                (g,) = torch.autograd.grad(total[b], [linear.bias], retain_graph=True)
                shares.append((linear.bias * g).sum())
            bias_layer = torch.stack(shares).detach()
            bias_share += bias_layer
            explained = explained + bias_layer
        reset_share += total.detach() - explained
    return {
        "relevance": relevance.transpose(1, 2).numpy(),
        "bias": bias_share.numpy(),
        "reset": reset_share.numpy(),
        "target": target.numpy(),
        "scores": membranes[-1][:, -1].numpy(),
    }


CASES = [
    (sizes, neuron, reset, bias)
    for sizes in [(5, 4), (5, 6, 4), (4, 6, 5, 3)]
    for neuron in ("leaky", "synaptic")
    for reset in ("subtract", "zero", "none")
    for bias in (False, True)
]


@pytest.mark.parametrize(("sizes", "neuron", "reset", "bias"), CASES)
def test_exact_maps_of_snntorch_models_equal_snntorch_autograd(
    sizes: tuple[int, ...], neuron: str, reset: str, bias: bool
) -> None:
    seed = len(sizes) * 100 + ["leaky", "synaptic"].index(neuron) * 10 + len(reset) + bias
    net = _network(sizes, neuron, reset, bias, seed)
    x = _spikes(2, 40, sizes[0], seed)
    explainer = ExactLIFAttribution(SnnTorchAdapter(net), output="membrane", reference="none")
    result = explainer.attribute(x)
    classes = sizes[-1]
    fired = 0
    for c in range(classes):
        weights = torch.zeros(2, classes, dtype=torch.float64)
        weights[:, c] = 1.0
        expected = oracle(net, x, weights)
        np.testing.assert_allclose(
            result.values[:, c].numpy(), expected["relevance"], rtol=1e-9, atol=1e-11
        )
        assert explainer.last_target is not None and explainer.last_absorbed is not None
        np.testing.assert_allclose(explainer.last_target[:, c], expected["target"], rtol=1e-9)
        absorbed = expected["bias"] + expected["reset"]
        np.testing.assert_allclose(explainer.last_absorbed[:, c], absorbed, atol=1e-9)
        # conservation: the cells and the absorbed share make up the class's membrane
        total = result.values[:, c].sum(dim=(1, 2)).numpy() + explainer.last_absorbed[:, c]
        np.testing.assert_allclose(total, expected["scores"][:, c], rtol=1e-9, atol=1e-9)
        if not bias:
            np.testing.assert_allclose(expected["bias"], 0.0)
        if reset != "subtract":
            np.testing.assert_allclose(expected["reset"], 0.0, atol=1e-9)
    _reset(net)
    for module in net:
        if isinstance(module, (snn.Leaky, snn.Synaptic)):
            fired += 1
    assert fired == len(sizes) - 1


def test_the_hidden_layers_spike_in_the_cases() -> None:
    """The cases above exercise the hidden rule and the resets: hidden and output neurons fire."""
    for sizes, neuron, reset, bias in CASES:
        if len(sizes) < 3:
            continue
        seed = len(sizes) * 100 + ["leaky", "synaptic"].index(neuron) * 10 + len(reset) + bias
        net = _network(sizes, neuron, reset, bias, seed)
        trace = SnnTorchAdapter(net).run(_spikes(2, 40, sizes[0], seed))
        counts = [int(s.sum()) for s in trace.layer_spikes]
        assert all(count > 0 for count in counts), (sizes, neuron, reset, bias, counts)


def test_contrastive_snntorch_maps_conserve_with_the_absorbed_share() -> None:
    net = _network((5, 6, 4), "synaptic", "subtract", True, seed=3)
    x = _spikes(3, 50, 5, seed=3)
    for rule in ("z", "alpha_beta"):
        explainer = ExactLIFAttribution(SnnTorchAdapter(net), rule=rule, reference="none")
        result = explainer.attribute(x)
        assert explainer.last_target is not None and explainer.last_absorbed is not None
        total = result.values.sum(dim=(2, 3)).numpy() + explainer.last_absorbed
        np.testing.assert_allclose(total, explainer.last_target, rtol=1e-9, atol=1e-9)
    scores = SnnTorchAdapter(net).run(x).scores
    np.testing.assert_allclose(result.probs.numpy(), torch.softmax(scores, -1).numpy())


def test_registered_methods_take_snntorch_models_and_time_first_input() -> None:
    net = _network((5, 6, 4), "leaky", "subtract", True, seed=4)
    x = _spikes(2, 30, 5, seed=4)
    batch_first = make_explainer("lif_z", SnnTorchAdapter(net)).attribute(x)
    time_first = make_explainer("lif_z", SnnTorchAdapter(net, time_first=True)).attribute(
        x.transpose(0, 1).contiguous()
    )
    assert tuple(batch_first.values.shape) == (2, 4, 5, 30)
    assert batch_first.values.dtype == torch.float64
    torch.testing.assert_close(batch_first.values, time_first.values, rtol=0, atol=0)


def test_options_the_exact_attribution_does_not_model_are_refused() -> None:
    x = _spikes(1, 10, 3, seed=5)
    for option, message in (
        ({"inhibition": True}, "inhibition=True"),
        ({"reset_delay": False}, "reset_delay=False"),
    ):
        net = nn.Sequential(nn.Linear(3, 2), snn.Leaky(beta=0.9, init_hidden=True, **option))
        with pytest.raises(UnsupportedLayerError, match=message):
            ExactLIFAttribution(SnnTorchAdapter(net)).attribute(x.float())
    conv = nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten(), snn.Leaky(beta=0.9, init_hidden=True))
    with pytest.raises(ExplanationError, match="needs dense layers"):
        ExactLIFAttribution(SnnTorchAdapter(conv)).attribute(torch.zeros(1, 5, 1, 6))
    with pytest.raises(ExplanationError, match="SnnTorchAdapter; got Sequential"):
        ExactLIFAttribution(nn.Sequential(nn.Linear(3, 2))).attribute(x)
