"""Behaviours of the LIF layer and networks that ``tools/mutate.py`` found no test for (each test
kills the survivor named in its docstring)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spikeattr.snn.fused import fused_nll_loss
from spikeattr.snn.kernels import lif_layer_numba
from spikeattr.snn.lif import LIFParameters
from spikeattr.snn.network import LIFNetwork


def test_default_parameters_are_the_papers() -> None:
    """Kills ``tau_syn: float = 1e-2`` -> ``1.01`` (snn/lif.py)."""
    params = LIFParameters()
    assert (params.dt, params.tau_syn, params.tau_mem, params.threshold) == (1e-3, 1e-2, 1e-3, 1.0)
    assert params.alpha == math.exp(-0.1)
    assert params.beta == math.exp(-1.0)


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf"), True, "1.0"])
def test_parameters_reject_a_bad_threshold(value: object) -> None:
    """Kills ``isinstance(threshold, ...) and not isinstance(threshold, bool)`` -> ``... or ...``
    (snn/lif.py): every condition on the threshold is needed."""
    with pytest.raises(ValueError, match="threshold"):
        LIFParameters(threshold=value)  # type: ignore[arg-type]


def test_a_positive_finite_threshold_is_accepted() -> None:
    assert LIFParameters(threshold=0.25).threshold == 0.25
    assert LIFParameters(threshold=2).threshold == 2


def test_predict_last_of_no_windows_is_an_empty_batch() -> None:
    """Kills ``spikes.new_zeros(0, ...)`` -> ``new_zeros(1, ...)`` (snn/network.py)."""
    net = LIFNetwork([2, 4, 3], seed=0)
    probs = net.predict_last(torch.zeros(0, 5, 2))
    assert probs.shape == (0, 3)
    assert probs.dtype == net.weights[0].dtype


def test_numba_layer_threshold_defaults_to_one() -> None:
    """Kills ``threshold: float = 1.0`` -> ``0.0`` in ``lif_layer_numba`` (snn/kernels.py)."""
    currents = np.random.default_rng(0).random((2, 30, 4)) * 0.6
    runs = []
    for threshold in ((), (1.0,)):
        syn, mem = np.zeros((2, 4)), np.zeros((2, 4))
        runs.append(lif_layer_numba(currents, syn, mem, 0.9, 0.8, *threshold))
    assert 0 < runs[1][0].mean() < 1
    for default, explicit in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(default, explicit)


def test_fused_nll_is_stable_when_the_first_class_dominates() -> None:
    """Kills ``peak = scores[row, 0]`` -> ``scores[row, 1]`` (snn/fused.py): the log-sum-exp's
    shift must include every class, the first one too, or exp(800) overflows."""
    scores = torch.tensor(
        [[800.0, 0.0, -5.0], [0.0, 900.0, 1.0], [3.0, 2.0, 1.0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    labels = torch.tensor([0, 2, 1])
    loss = fused_nll_loss(scores, labels)
    expected = torch.nn.functional.cross_entropy(scores, labels)
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=0)
    (grad,) = torch.autograd.grad(loss, scores)
    (expected_grad,) = torch.autograd.grad(
        torch.nn.functional.cross_entropy(scores, labels), scores
    )
    torch.testing.assert_close(grad, expected_grad, rtol=1e-12, atol=1e-15)


def test_predict_last_covers_every_window_in_batches() -> None:
    """Kills ``range(0, spikes.shape[0], batch_size)`` -> ``spikes.shape[1]`` in
    ``predict_last`` (snn/network.py): 7 windows of 3 steps, 2 at a time."""
    net = LIFNetwork([2, 4, 3], seed=1)
    spikes = (torch.rand(7, 3, 2, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    batched = net.predict_last(spikes, batch_size=2)
    assert batched.shape == (7, 3)
    torch.testing.assert_close(batched, net.predict_last(spikes), rtol=0, atol=0)
