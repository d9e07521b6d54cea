"""The exact LIF attribution of Norse models, against Norse's own equations with autograd.

The oracle re-states Norse's step functions (``lif_feed_forward_step``,
``lif_box_feed_forward_step``, ``li_feed_forward_step`` of norse 1.1) in torch with a spike
whose gradient is 0, checks that they give Norse's own spikes and scores, and then computes
the relevance as in ``test_exact_snntorch.py``: ``x * d(sum h v)/dx`` per layer, a hidden
spike at step ``t`` passing its relevance to the terms of the membrane that crossed the
threshold at ``t`` (before its reset), the class score read after the last step's reset.
"""

from __future__ import annotations

import itertools
from typing import Any

import norse.torch as norse
import numpy as np
import pytest
import torch
from torch import nn

from spikeattr.errors import UnsupportedLayerError
from spikeattr.explain.adapters import NorseAdapter
from spikeattr.explain.exact_attribution import ExactLIFAttribution

from .held_spikes import HeldSpike

DT = 1e-3


def _network(sizes: tuple[int, ...], cell: str, readout: bool, bias: bool, seed: int) -> Any:
    """Linear -> cell per layer (the last one a LICell read-out when ``readout``), float64,
    per-neuron time constants."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    modules: list[nn.Module] = []
    pairs = list(itertools.pairwise(sizes))
    for index, (n_in, n_out) in enumerate(pairs):
        linear = nn.Linear(n_in, n_out, bias=bias).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(rng.normal(0.0, 12.0, (n_out, n_in))))
            if bias:
                linear.bias.copy_(torch.from_numpy(rng.normal(0.0, 3.0, n_out)))
        tau_mem_inv = torch.from_numpy(rng.uniform(80.0, 400.0, n_out))
        tau_syn_inv = torch.from_numpy(rng.uniform(50.0, 300.0, n_out))
        if readout and index == len(pairs) - 1:
            neuron: nn.Module = norse.LICell(
                norse.LIParameters(tau_syn_inv=tau_syn_inv, tau_mem_inv=tau_mem_inv), dt=DT
            )
        elif cell == "box":
            neuron = norse.LIFBoxCell(
                norse.LIFBoxParameters(tau_mem_inv=tau_mem_inv, v_th=torch.tensor(0.5)), dt=DT
            )
        else:
            neuron = norse.LIFCell(
                norse.LIFParameters(
                    tau_syn_inv=tau_syn_inv, tau_mem_inv=tau_mem_inv, v_th=torch.tensor(0.5)
                ),
                dt=DT,
            )
        modules += [linear, neuron]
    return norse.SequentialState(*modules)


def _layer_run(linear: nn.Linear, neuron: Any, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
    """Norse's step equations on ``inputs [B, T, n_in]`` from rest: the membrane before each
    step's reset ``[B, T, n]`` (in autograd's graph), the spikes, and the final ``v``."""
    p = neuron.p
    g = DT * torch.as_tensor(p.tau_mem_inv, dtype=torch.float64)
    decay_i = 1.0 - DT * torch.as_tensor(getattr(p, "tau_syn_inv", 0.0), dtype=torch.float64)
    v_th = torch.as_tensor(getattr(p, "v_th", 0.0), dtype=torch.float64)
    batch, steps = inputs.shape[:2]
    n = linear.out_features
    v = torch.zeros(batch, n, dtype=torch.float64)
    i = torch.zeros(batch, n, dtype=torch.float64)
    before, spikes = [], []
    for t in range(steps):
        current = linear(inputs[:, t])
        if isinstance(neuron, norse.LIFBoxCell):
            v_pre = v + g * (current - v)
        else:
            i = i + current
            v_pre = v + g * (-v + i)
            i = i * decay_i
        if isinstance(neuron, norse.LICell):
            z = torch.zeros_like(v_pre)
        else:
            z = HeldSpike.apply(v_pre - v_th)
        v = (1 - z) * v_pre
        before.append(v_pre)
        spikes.append(z.detach())
    return {"before": torch.stack(before, 1), "spikes": torch.stack(spikes, 1), "v": v}


def oracle(model: Any, x: torch.Tensor, weights: torch.Tensor) -> dict[str, Any]:
    modules = list(model)
    pairs = [(modules[k], modules[k + 1]) for k in range(0, len(modules), 2)]
    inputs = [x]
    runs = []
    for linear, neuron in pairs:
        run = _layer_run(linear, neuron, inputs[-1])
        runs.append(run)
        inputs.append(run["spikes"])
    scores = runs[-1]["v"].detach()
    target = (weights * scores).sum(-1)
    absorbed = torch.zeros(x.shape[0], dtype=torch.float64)
    relevance = torch.zeros(0)
    for layer in range(len(pairs) - 1, -1, -1):
        linear, neuron = pairs[layer]
        leaf = inputs[layer].clone().requires_grad_(True)
        run = _layer_run(linear, neuron, leaf)
        if layer == len(pairs) - 1:
            total = (weights * run["v"]).sum(-1)  # the score, after the last reset
        else:
            fired = inputs[layer + 1] != 0
            before = run["before"]
            h = torch.where(fired, relevance / torch.where(fired, before.detach(), 1.0), 0.0)
            total = (h * before).sum(dim=(1, 2))
        (grad,) = torch.autograd.grad(total.sum(), [leaf], retain_graph=True)
        relevance = (leaf * grad).detach()
        absorbed += total.detach() - relevance.sum(dim=(1, 2))  # the bias's share
    return {
        "relevance": relevance.transpose(1, 2).numpy(),
        "absorbed": absorbed.numpy(),
        "target": target.numpy(),
        "spikes": [run["spikes"] for run in runs],
        "scores": scores,
    }


CASES = [
    (sizes, cell, readout, bias)
    for sizes in [(5, 4), (5, 6, 4), (4, 6, 5, 3)]
    for cell in ("lif", "box")
    for readout in (False, True)
    for bias in (False, True)
]


@pytest.mark.parametrize(("sizes", "cell", "readout", "bias"), CASES)
def test_exact_maps_of_norse_models_equal_norse_autograd(
    sizes: tuple[int, ...], cell: str, readout: bool, bias: bool
) -> None:
    seed = 7 * len(sizes) + 3 * (cell == "box") + 2 * readout + bias
    model = _network(sizes, cell, readout, bias, seed)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy((rng.random((2, 40, sizes[0])) < 0.35).astype(np.float64))
    adapter = NorseAdapter(model)
    trace = adapter.run(x)
    classes = sizes[-1]
    for c in range(classes):
        weights = torch.zeros(2, classes, dtype=torch.float64)
        weights[:, c] = 1.0
        expected = oracle(model, x, weights)
        if c == 0:  # the oracle's equations are Norse's: same spikes, same scores
            for ours, norses in zip(expected["spikes"], trace.layer_spikes, strict=True):
                torch.testing.assert_close(ours, norses.double(), rtol=0, atol=0)
            torch.testing.assert_close(expected["scores"], trace.scores, rtol=1e-12, atol=1e-12)
            hidden = [int(s.sum()) for s in expected["spikes"][:-1]]
            assert all(count > 0 for count in hidden), hidden
        explainer = ExactLIFAttribution(adapter, output="membrane", reference="none")
        result = explainer.attribute(x)
        np.testing.assert_allclose(
            result.values[:, c].numpy(), expected["relevance"], rtol=1e-9, atol=1e-11
        )
        assert explainer.last_target is not None and explainer.last_absorbed is not None
        np.testing.assert_allclose(explainer.last_target[:, c], expected["target"], rtol=1e-9)
        np.testing.assert_allclose(
            explainer.last_absorbed[:, c], expected["absorbed"], rtol=1e-9, atol=1e-9
        )
        if not bias:
            np.testing.assert_allclose(expected["absorbed"], 0.0, atol=1e-9)


def test_a_norse_output_neuron_that_spikes_at_the_last_step_scores_its_reset_value() -> None:
    model = _network((5, 4), "lif", False, False, seed=1)
    x = torch.ones(1, 30, 5, dtype=torch.float64)
    trace = NorseAdapter(model).run(x)
    last = trace.layer_spikes[-1][0, -1] != 0
    assert bool(last.any()), "the case needs an output spike at the last step"
    result = ExactLIFAttribution(
        NorseAdapter(model), output="membrane", reference="none"
    ).attribute(x)
    sums = result.values[0].sum(dim=(1, 2))
    assert bool((sums[last] == 0).all()) and bool((trace.scores[0, last] == 0).all())
    torch.testing.assert_close(sums, trace.scores[0], rtol=1e-9, atol=1e-12)


def test_what_the_exact_attribution_does_not_model_in_norse_is_refused() -> None:
    x = torch.ones(1, 5, 3, dtype=torch.float64)
    for parameters, message in (
        (norse.LIFParameters(v_leak=torch.tensor(0.1)), "non-zero v_leak"),
        (norse.LIFParameters(v_reset=torch.tensor(-0.1)), "non-zero v_reset"),
    ):
        model = norse.SequentialState(nn.Linear(3, 2).double(), norse.LIFCell(parameters))
        with pytest.raises(UnsupportedLayerError, match=message):
            ExactLIFAttribution(NorseAdapter(model)).attribute(x)
