"""The LIFNetwork module: construction, shapes, data checks and chunked series inference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spikeattr.data.series import SpikeSeries
from spikeattr.errors import DataFormatError, ModelDataMismatchError, SpikeAttrError
from spikeattr.snn.checkpoint import load_model
from spikeattr.snn.network import LIFNetwork


def test_defaults_and_shapes() -> None:
    net = LIFNetwork([3, 10, 4], seed=0)
    assert net.n_layers == 2
    assert [tuple(w.shape) for w in net.weights] == [(3, 10), (10, 4)]
    assert net.input_names == ("in0", "in1", "in2")
    assert net.class_names == ("class0", "class1", "class2", "class3")
    assert net.alpha == math.exp(-0.1) and net.beta == math.exp(-1.0)
    with torch.no_grad():
        out = net(torch.ones(2, 50, 3))
    assert out.membrane.shape == (2, 50, 4)
    assert [tuple(s.shape) for s in out.layer_spikes] == [(2, 50, 10)]
    assert [tuple(s.mem.shape) for s in out.state] == [(2, 10), (2, 4)]
    torch.testing.assert_close(out.log_probs, torch.log_softmax(out.membrane, -1))
    torch.testing.assert_close(out.probs.sum(-1), torch.ones(2, 50))
    assert "layer_sizes=[3, 10, 4]" in repr(net)


def test_seeded_initialisation_is_reproducible() -> None:
    a, b, c = (LIFNetwork([5, 40, 3], seed=s) for s in (7, 7, 8))
    assert all(torch.equal(x, y) for x, y in zip(a.weights, b.weights, strict=True))
    assert not torch.equal(a.weights[0], c.weights[0])
    scale = 7.0 * (1.0 - a.beta)
    # std 7 (1 - beta) / sqrt(n_in) within sampling error
    assert float(a.weights[1].detach().std()) == pytest.approx(scale / math.sqrt(40), rel=0.3)


@pytest.mark.parametrize("sizes", [[3], [], [3, 0, 4], [0, 2]])
def test_rejects_bad_layer_sizes(sizes: list[int]) -> None:
    with pytest.raises(ValueError, match="layer_sizes"):
        LIFNetwork(sizes)


def test_rejects_name_count_mismatch() -> None:
    with pytest.raises(ValueError, match="2 input names for 3 inputs"):
        LIFNetwork([3, 4], input_names=["a", "b"])
    with pytest.raises(ValueError, match="3 class names for 4 classes"):
        LIFNetwork([3, 4], class_names=["a", "b", "c"])


def test_load_weights_checks_count_and_shapes() -> None:
    net = LIFNetwork([3, 5, 2])
    with pytest.raises(ValueError, match="expected 2 weight tensors; got 1"):
        net.load_weights([np.zeros((3, 5))])
    with pytest.raises(ValueError, match=r"W1 must have shape \(5, 2\)") as info:
        net.load_weights([np.zeros((3, 5)), np.zeros((2, 5))])
    assert "(2, 5)" in str(info.value)
    net.load_weights([np.full((3, 5), 0.5), torch.full((5, 2), -1.0)])
    assert float(net.weights[0].detach().sum()) == 7.5
    assert float(net.weights[1].detach().sum()) == -10.0


@pytest.mark.parametrize("shape", [(10, 3), (1, 10, 4), (1, 1, 10, 3)])
def test_forward_rejects_wrong_input_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(DataFormatError, match=r"\[B, T, n_inputs=3\]"):
        LIFNetwork([3, 2])(torch.zeros(shape))


def test_check_data_names_both_lists() -> None:
    net = LIFNetwork([3, 2], input_names=["x0_bias", "x1", "x2"], class_names=["p", "q"])
    net.check_data(["x0_bias", "x1", "x2"], ["p", "q"])
    for data_inputs in (["x0_bias", "x2", "x1"], ["Bias", "a", "b"], ["x0_bias", "x1"]):
        with pytest.raises(ModelDataMismatchError) as info:
            net.check_data(data_inputs)
        message = str(info.value)
        assert str(["x0_bias", "x1", "x2"]) in message and str(data_inputs) in message
        assert isinstance(info.value, SpikeAttrError)
    with pytest.raises(ModelDataMismatchError) as info:
        net.check_data(["x0_bias", "x1", "x2"], ["q", "p"])
    assert "['p', 'q']" in str(info.value) and "['q', 'p']" in str(info.value)


def test_published_model_rejects_adl_data_order() -> None:
    model = load_model("published:adl_1L")
    shuffled = list(model.input_names)
    shuffled[1], shuffled[2] = shuffled[2], shuffled[1]
    with pytest.raises(ModelDataMismatchError, match="name or order"):
        model.check_data(shuffled)


@pytest.fixture(scope="module")
def model_3l() -> LIFNetwork:
    return load_model("published:synthetic_3L")


def test_predict_series_chunking_is_exact(
    model_3l: LIFNetwork, synthetic_test: SpikeSeries
) -> None:
    spikes = synthetic_test.spikes[:4000]
    small = model_3l.predict_series(spikes, chunk_size=7)
    whole = model_3l.predict_series(spikes, chunk_size=10**6)
    assert small.probs is not None and whole.probs is not None
    assert small.probs.dtype == np.float32 and small.probs.shape == (4000, 4)
    np.testing.assert_array_equal(small.predicted, whole.predicted)
    np.testing.assert_array_equal(small.probs, whole.probs)
    # and both equal one forward pass over the whole series from zero state
    with torch.no_grad():
        out = model_3l(torch.from_numpy(spikes).float().unsqueeze(0), backend="torch")
    np.testing.assert_array_equal(whole.probs, out.probs[0].numpy())
    np.testing.assert_array_equal(whole.predicted, out.membrane[0].argmax(-1).numpy())
    assert np.unique(whole.predicted).size > 1


def test_predict_series_progress_and_options(model_3l: LIFNetwork) -> None:
    seen: list[int] = []
    spikes = torch.ones(25, 3)
    result = model_3l.predict_series(spikes, chunk_size=10, keep_probs=False, progress=seen.append)
    assert seen == [10, 20, 25]
    assert result.probs is None
    assert result.predicted.shape == (25,) and result.predicted.dtype == np.int64
    with pytest.raises(DataFormatError, match=r"\[T, n_inputs\]"):
        model_3l.predict_series(np.zeros((1, 5, 3)))


def test_predict_series_starts_from_zero_state_every_call(
    model_3l: LIFNetwork, synthetic_test: SpikeSeries
) -> None:
    spikes = synthetic_test.spikes[1000:1500]
    first = model_3l.predict_series(spikes)
    model_3l.predict_series(synthetic_test.spikes[:300])
    again = model_3l.predict_series(spikes)
    assert first.probs is not None and again.probs is not None
    np.testing.assert_array_equal(first.probs, again.probs)


def test_float64_model_matches_float32_closely(synthetic_test: SpikeSeries) -> None:
    model32 = load_model("published:synthetic_2L")
    model64 = load_model("published:synthetic_2L", dtype=torch.float64)
    assert model64.weights[0].dtype == torch.float64
    spikes = synthetic_test.spikes[:3000]
    p32, p64 = model32.predict_series(spikes), model64.predict_series(spikes)
    assert p32.probs is not None and p64.probs is not None
    np.testing.assert_allclose(p32.probs, p64.probs, atol=1e-4)
