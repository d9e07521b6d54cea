"""Kim & Panda's spike activation map against a literal loop over neurons and spike pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain import TSA, KimPandaSAM
from spikeattr.explain.kim_panda_sam import neuron_contribution
from spikeattr.explain.tsa import record_network
from spikeattr.snn import load_model


def sam_literal(spikes: np.ndarray, gamma: float, include_current: bool) -> np.ndarray:
    """``M[i, t] = s_i(t) * sum_{t' < t (or <=), s_i(t') = 1} exp(-gamma (t - t'))``, ``[n, T]``."""
    steps, n = spikes.shape
    heat = np.zeros((n, steps))
    for i in range(n):
        for t in range(steps):
            if spikes[t, i] == 0:
                continue
            last = t + 1 if include_current else t
            heat[i, t] = sum(
                math.exp(-gamma * abs(t - before)) for before in range(last) if spikes[before, i]
            )
    return heat


@pytest.fixture(scope="module")
def spikes() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    window = (torch.rand(2, 80, 3, generator=generator) < 0.4).double()
    window[:, :, 0] = 1  # the synthetic data's bias input
    return window


@pytest.mark.parametrize(("gamma", "include_current"), [(0.5, False), (0.1, False), (2.0, True)])
def test_equals_the_literal_loop(spikes: torch.Tensor, gamma: float, include_current: bool) -> None:
    model = load_model("published:synthetic_2L").double()
    result = KimPandaSAM(model, gamma=gamma, include_current=include_current).attribute(spikes)
    assert result.values.shape == (2, 4, 3, 80)
    assert result.variant == "kim_panda_sam"
    for b in range(2):
        expected = sam_literal(spikes[b].numpy(), gamma, include_current)
        assert expected.max() > 0
        for c in range(4):  # the same (label-free) map for every class
            np.testing.assert_allclose(result.values[b, c].numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("chunk", [1, 7, 80, 1000])
def test_chunked_scores_equal_the_literal_sum(spikes: torch.Tensor, chunk: int) -> None:
    scores = neuron_contribution(spikes, gamma=0.7, chunk=chunk)
    for b in range(2):
        train = spikes[b].numpy()
        for i in range(3):
            for t in range(80):
                expected = sum(math.exp(-0.7 * (t - u)) for u in range(t) if train[u, i])
                assert float(scores[b, t, i]) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_regular_train_and_zero_gamma() -> None:
    train = torch.ones(1, 5, 1)
    # gamma = 0: the NCS counts the previous spikes
    assert neuron_contribution(train, gamma=0.0)[0, :, 0].tolist() == [0, 1, 2, 3, 4]
    decay = math.exp(-0.5)
    expected = [0.0, decay, decay + decay**2]
    np.testing.assert_allclose(neuron_contribution(train, 0.5)[0, :3, 0].numpy(), expected)


def test_prediction_matches_tsa_and_target_is_honoured(spikes: torch.Tensor) -> None:
    model = load_model("published:synthetic_2L")
    result = KimPandaSAM(model).attribute(spikes.float(), target=[1, 3])
    reference = TSA(model, "s").attribute(spikes.float())
    torch.testing.assert_close(result.probs, reference.probs)
    assert torch.equal(result.predicted, reference.predicted)
    assert result.target.tolist() == [1, 3]
    torch.testing.assert_close(result.explanation[1], result.values[1, 3])


def test_layer_maps_cover_input_and_hidden_layers(spikes: torch.Tensor) -> None:
    model = load_model("published:synthetic_3L").double()
    maps = KimPandaSAM(model, gamma=0.3).layer_maps(spikes)
    recording = record_network(model, spikes)
    assert [tuple(m.shape) for m in maps] == [(2, 3, 80), (2, 10, 80), (2, 10, 80)]
    hidden = recording.layer_inputs[2][1].numpy()
    assert hidden.sum() > 0
    np.testing.assert_allclose(maps[2][1].numpy(), sam_literal(hidden, 0.3, False), rtol=1e-12)


def test_bad_gamma_is_refused() -> None:
    model = load_model("published:synthetic_1L")
    with pytest.raises(ExplanationError, match="gamma must be a finite number >= 0"):
        KimPandaSAM(model, gamma=-1.0)
    with pytest.raises(ExplanationError, match="gamma"):
        neuron_contribution(torch.ones(1, 3, 1), gamma=float("nan"))


def test_default_float64_keeps_a_spike_after_a_long_silence() -> None:
    # two spikes of input 1, 240 steps apart: the second one's score exp(-0.5 * 240) = e^-120
    # is below float32's range (exactly 0 there) and exact in float64, the default
    model = load_model("published:synthetic_1L")
    spikes = torch.zeros(1, 260, 3)
    spikes[0, [10, 250], 1] = 1
    double = KimPandaSAM(model).attribute(spikes).values
    single = KimPandaSAM(model).attribute(spikes, dtype=torch.float32).values
    assert double.dtype == torch.float64
    assert single.dtype == torch.float32
    assert float(single[0, 0, 1, 250]) == 0.0
    assert float(double[0, 0, 1, 250]) == pytest.approx(math.exp(-120.0), rel=1e-12)
