"""Online explanation through the snnTorch and Norse adapters equals window-mode TSA on them.

The models are the trained ones of ``test_adapters.py``. A stream started from rest and
explained step by step must give, at every step ``tau``, window-mode TSA of the window
``[0, tau + 1)`` run from rest (the same spikes, so the same maps), and the adapters must
continue a run exactly from the state they hand back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import norse.torch as norse
import numpy as np
import pytest
import torch
from torch import nn

from spikeattr.explain.adapters import DenseSpikingAdapter, NorseAdapter, SnnTorchAdapter
from spikeattr.explain.online import OnlineExplainer
from spikeattr.explain.tsa import attribute_recording, record_network

from .test_adapters import (
    ExplicitSynapticNet,
    _norse_cells,
    _snn_sequential,
    _train,
    explained_windows,
)

__all__ = ["explained_windows"]  # the shared fixture

STEPS = 45
SUPPORT = 24


def _norse_sequence() -> Any:
    torch.manual_seed(4)
    net = norse.SequentialState(
        nn.Linear(3, 10), norse.LIF(), nn.Linear(10, 4), norse.LIF(), return_hidden=True
    )
    _train(
        net,
        lambda spikes: (
            net(spikes.transpose(0, 1))[1][3].v.unsqueeze(1).expand(-1, spikes.shape[1], -1)
        ),
    )
    return net


def _explicit() -> ExplicitSynapticNet:
    net = ExplicitSynapticNet()
    _train(net, lambda spikes: net(spikes)[1])
    return net


BUILDERS: dict[str, tuple[Callable[[], Any], type[DenseSpikingAdapter]]] = {
    "snntorch-sequential": (_snn_sequential, SnnTorchAdapter),
    "snntorch-explicit-synaptic": (_explicit, SnnTorchAdapter),
    "norse-cells": (_norse_cells, NorseAdapter),
    "norse-sequence-modules": (_norse_sequence, NorseAdapter),
}


@pytest.fixture(scope="module")
def stream(explained_windows: torch.Tensor) -> np.ndarray:
    return explained_windows[0, :STEPS].numpy()


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def adapter(request: pytest.FixtureRequest) -> DenseSpikingAdapter:
    build, kind = BUILDERS[request.param]
    return kind(build())


def test_adapter_continues_a_run_from_the_state_it_returns(
    adapter: DenseSpikingAdapter, explained_windows: torch.Tensor
) -> None:
    whole = adapter.run(explained_windows)
    first = adapter.run(explained_windows[:, :37])
    second = adapter.run(explained_windows[:, 37:], state=first.state)
    for all_steps, a, b in zip(
        whole.layer_spikes, first.layer_spikes, second.layer_spikes, strict=True
    ):
        torch.testing.assert_close(torch.cat([a, b], 1), all_steps, rtol=0, atol=0)
    # Norse's whole-sequence LIF integrates a sequence in its own compiled loop, which may
    # round the last bit differently from two shorter calls; the spikes above are exact
    torch.testing.assert_close(second.scores, whole.scores, rtol=1e-6, atol=1e-7)
    hidden = whole.layer_spikes[0]
    assert 0 < float(hidden.mean()) < 1  # the check would be vacuous without hidden activity


def test_online_on_adapter_equals_window_mode_at_every_step(
    adapter: DenseSpikingAdapter, stream: np.ndarray
) -> None:
    variants = ("s", "ns", "sam")
    explainers = {v: OnlineExplainer(adapter, variant=v, support=SUPPORT) for v in variants}
    n_classes, n_inputs = adapter.layer_sizes[-1], adapter.layer_sizes[0]
    for tau in range(STEPS):
        recording = record_network(adapter, torch.from_numpy(stream[: tau + 1]).unsqueeze(0))
        for variant, explainer in explainers.items():
            step = explainer.step(stream[tau])
            window = attribute_recording(recording, variant)  # TSA(adapter, variant), one run
            values = window.values[0].numpy()
            expected = np.concatenate([np.zeros((n_classes, n_inputs, SUPPORT)), values], -1)
            expected = expected[..., -SUPPORT:]
            scale = max(float(np.abs(values).max()), 1e-30)
            np.testing.assert_allclose(step.attribution, expected, rtol=0, atol=1e-6 * scale)
            assert step.predicted == int(window.predicted[0])
            np.testing.assert_allclose(step.probs, window.probs[0].numpy(), rtol=1e-6, atol=1e-7)
            assert step.step == tau
