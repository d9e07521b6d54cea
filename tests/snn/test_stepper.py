"""The compiled stepper equals LIFNetwork.forward bit for bit, however the stream is cut."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikeattr.data.adl import encode_subject
from spikeattr.data.series import SpikeSeries
from spikeattr.errors import DataFormatError
from spikeattr.snn import load_model
from spikeattr.snn.network import LIFNetwork
from spikeattr.snn.stepper import NetworkStepper


def _forward(model: LIFNetwork, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(layer_inputs [T, sum n_l], membrane [T, C])`` of one forward pass from zero state."""
    with torch.no_grad():
        out = model(torch.from_numpy(spikes).unsqueeze(0))
    inputs = [spikes.astype(np.float32)] + [s[0].numpy() for s in out.layer_spikes]
    return np.concatenate(inputs, axis=1), out.membrane[0].numpy()


def _stepped(
    stepper: NetworkStepper, spikes: np.ndarray, cuts: list[int]
) -> tuple[np.ndarray, ...]:
    inputs, scores = [], []
    for start, stop in zip([0, *cuts], [*cuts, len(spikes)], strict=True):
        a, b = stepper.advance(spikes[start:stop])
        inputs.append(a.copy())
        scores.append(b.copy())
    return np.concatenate(inputs), np.concatenate(scores)


@pytest.fixture(scope="module")
def adl_test() -> SpikeSeries:
    return encode_subject(None, "A", compat="reference").split("test")


@pytest.mark.parametrize("name", ["synthetic_1L", "synthetic_2L", "synthetic_3L"])
def test_stepper_equals_forward_on_synthetic_models(synthetic_test: SpikeSeries, name: str) -> None:
    model = load_model(f"published:{name}")
    spikes = synthetic_test.spikes[:6000]
    expected_inputs, expected_scores = _forward(model, spikes)
    inputs, scores = _stepped(NetworkStepper(model), spikes, [1, 2, 3, 100, 1001, 4999])
    np.testing.assert_array_equal(inputs, expected_inputs)
    np.testing.assert_array_equal(scores, expected_scores)
    hidden = inputs[:, 3:]
    assert hidden.size == 0 or 0 < hidden.mean() < 1  # hidden layers spike, and stay silent


@pytest.mark.parametrize("name", ["adl_1L", "adl_2L", "adl_3L"])
def test_stepper_equals_forward_on_adl_models(adl_test: SpikeSeries, name: str) -> None:
    model = load_model(f"published:{name}")
    spikes = adl_test.spikes[:20000]
    expected_inputs, expected_scores = _forward(model, spikes)
    cuts = list(range(1, 50)) + list(range(50, 20000, 777))
    inputs, scores = _stepped(NetworkStepper(model), spikes, cuts)
    np.testing.assert_array_equal(inputs, expected_inputs)
    np.testing.assert_array_equal(scores, expected_scores)


def test_a_membrane_exactly_at_threshold_does_not_spike_in_the_stepper() -> None:
    """The hidden and the output membrane land on exactly 1.0 (unit weights, one input spike):
    no spike from either until the step after; the same numbers as the torch forward."""
    model = LIFNetwork([1, 1, 1], dt=1e-3, tau_syn=1e-2, tau_mem=2e-3)
    model.load_weights([np.ones((1, 1)), np.ones((1, 1))])
    spikes = np.array([[1], [0], [0], [0], [0]], dtype=np.uint8)
    inputs, scores = NetworkStepper(model).advance(spikes)
    assert inputs[:, 1].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]  # hidden: 1.0 at step 0
    assert scores[2, 0] == 1.0 and scores[3, 0] > 1.0 and scores[4, 0] == 0.0
    expected_inputs, expected_scores = _forward(model, spikes)
    np.testing.assert_array_equal(inputs, expected_inputs)
    np.testing.assert_array_equal(scores, expected_scores)


def test_state_reset_and_refusals(synthetic_test: SpikeSeries) -> None:
    model = load_model("published:synthetic_2L")
    stepper = NetworkStepper(model)
    spikes = synthetic_test.spikes[:300]
    first = stepper.advance(spikes)[1].copy()
    with torch.no_grad():
        out = model(torch.from_numpy(spikes).unsqueeze(0))
    for (syn, mem), state in zip(stepper.state(), out.state, strict=True):
        np.testing.assert_array_equal(syn, state.syn[0].numpy())
        np.testing.assert_array_equal(mem, state.mem[0].numpy())
    before = stepper.state()
    bad = spikes[:5].astype(np.float32)
    bad[3, 1] = 0.5
    with pytest.raises(DataFormatError, match=r"row 3 holds 0\.5.*nothing was run"):
        stepper.advance(bad)
    with pytest.raises(DataFormatError, match=r"\[t, n_in=3\]"):
        stepper.advance(np.zeros((2, 4)))
    for (syn, mem), (syn0, mem0) in zip(stepper.state(), before, strict=True):
        np.testing.assert_array_equal(syn, syn0)
        np.testing.assert_array_equal(mem, mem0)
    stepper.reset()
    np.testing.assert_array_equal(stepper.advance(spikes)[1], first)
    with pytest.raises(DataFormatError, match="float32"):
        NetworkStepper(LIFNetwork([3, 4], seed=0).double())
