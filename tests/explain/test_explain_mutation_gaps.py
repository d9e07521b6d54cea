"""Behaviours of the explanation methods that ``tools/mutate.py`` found no test for (each test
kills the survivor named in its docstring)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikeattr.data.series import SpikeSeries
from spikeattr.errors import ExplanationError
from spikeattr.explain import TSA
from spikeattr.explain.kim_panda_sam import neuron_contribution
from spikeattr.explain.linear_maps import DenseOp, LayerMap, MaxPoolOp
from spikeattr.explain.online import OnlineExplainer
from spikeattr.explain.recording import MapRecording
from spikeattr.explain.series import (
    SeriesExplanation,
    _check_support,
    explain_series,
    iter_series,
)
from spikeattr.explain.tsa_maps import attribute_maps
from spikeattr.snn import LIFNetwork, load_model

from .test_tsa_maps import random_network


def test_non_binary_spikes_are_counted_and_shown_in_the_error() -> None:
    """Kills ``bad = spikes[(spikes != 0) & (spikes != 1)]`` -> ``(spikes != 1) & ...``
    (explain/tsa.py): the message counts only the values that are neither 0 nor 1."""
    model = load_model("published:synthetic_1L")
    spikes = torch.zeros(1, 30, 3)
    spikes[0, 4, 1] = 1.0
    spikes[0, 7, 2] = 0.5
    with pytest.raises(ExplanationError, match=r"found 1 other values, e\.g\. 0\.5"):
        TSA(model).attribute(spikes)


@pytest.mark.parametrize("seed", [0, 1, 4, 5])  # one weight layer (seeds 0, 4) and two
def test_float32_maps_equal_the_float64_maps(seed: int) -> None:
    """Kills, in the float32 path of explain/tsa_maps.py, ``if index == 0`` -> ``index == 1``
    (no decay at all in a one-layer network) and ``factors * chunk_decay`` -> ``/``."""
    net, spikes = random_network(seed)
    for variant in ("s", "ns"):
        double = TSA(net, variant).attribute(spikes).values
        single = TSA(net, variant).attribute(spikes, dtype=torch.float32)
        assert single.values.dtype == torch.float32
        assert single.support == spikes.shape[1]  # beta^12 is far from float32's underflow
        scale = float(double.abs().max())
        assert scale > 0
        torch.testing.assert_close(single.values.double(), double, rtol=0, atol=1e-5 * scale)


def test_maps_predict_each_window_s_own_class() -> None:
    """Kills ``probs.argmax(dim=-1)`` -> ``argmax(dim=-0)`` (explain/tsa_maps.py)."""
    net, spikes = random_network(3)
    result = TSA(net, "ns").attribute(torch.cat([spikes, spikes.flip(0), spikes]))
    assert result.predicted.shape == (6,)
    torch.testing.assert_close(result.predicted, result.probs.argmax(dim=1), rtol=0, atol=0)


def test_online_state_of_a_network_narrower_than_its_classes() -> None:
    """Kills ``np.zeros(sizes[-1])`` -> ``np.zeros(sizes[1])`` for the previous step's
    probabilities (explain/online.py): a hidden layer of 2 units before 5 classes. The mutant
    reads and writes past the end of that array in the compiled kernel, which need not show in
    the maps, so the test also checks the state's size."""
    net = LIFNetwork([6, 2, 5], seed=5)
    with torch.no_grad():
        for weight in net.weights:
            weight.mul_(2.0)
    spikes = (np.random.default_rng(0).random((200, 6)) < 0.3).astype(np.float32)
    online = OnlineExplainer(net, variant="ns", support=10)
    chunk = online.feed(spikes, maps="all")
    assert online._previous_probs.shape == (5,)
    assert chunk.attribution is not None and chunk.moved is not None
    assert len(chunk.changes) >= 10
    for index, j in enumerate(chunk.changes[1:].tolist(), start=1):
        c = int(chunk.predicted[j])
        moved = chunk.moved[index]
        older = chunk.attribution[j - 1, c, :, 1:]
        np.testing.assert_allclose(
            moved[:, :-1], chunk.attribution[j, c, :, :-1] - older, atol=1e-6
        )
        np.testing.assert_allclose(moved[:, -1], chunk.attribution[j, c, :, -1], atol=1e-6)


def test_series_reader_reads_back_every_prediction_and_explanation(
    synthetic_test: SpikeSeries, tmp_path: Path
) -> None:
    """Kills, in explain/series.py, ``0 <= start`` -> ``1 <= start`` in
    ``SeriesExplanation.predictions`` and ``self.predictions(stop - 1, stop)`` ->
    ``(stop + 1, stop)`` in ``SeriesExplanation.explanations``, and either branch alone of its
    ``class_names=known.class_names if known is not None else numbered(...)``."""
    model = load_model("published:synthetic_2L")
    spikes = synthetic_test.spikes[:700]
    explain_series(model, spikes, tmp_path, variant="ns", support=12, chunk_size=300)
    chunks = list(iter_series(model, spikes, variant="ns", support=12, chunk_size=300))
    predicted = np.concatenate([c["predicted"] for c in chunks])
    probs = np.concatenate([c["probs"] for c in chunks])
    attribution = np.concatenate([c["attribution"] for c in chunks])
    reader = SeriesExplanation(tmp_path)
    for start, stop in ((0, 700), (0, 1), (250, 650), (299, 301), (699, 700)):
        got_predicted, got_probs = reader.predictions(start, stop)
        np.testing.assert_array_equal(got_predicted, predicted[start:stop])
        np.testing.assert_array_equal(got_probs, probs[start:stop])
    np.testing.assert_array_equal(reader.predictions()[0], predicted)
    steps = [0, 5, 299, 300, 699]
    explanations = reader.explanations(steps, spikes)
    np.testing.assert_array_equal(explanations.stamps, np.array(steps) + 1)
    np.testing.assert_array_equal(explanations.predicted, predicted[steps])
    np.testing.assert_array_equal(explanations.probs, probs[steps])
    np.testing.assert_array_equal(explanations.attribution, attribution[steps])
    np.testing.assert_array_equal(explanations.window_start, np.maximum(0, np.array(steps) - 11))
    np.testing.assert_array_equal(explanations.spikes[1, -6:], spikes[:6])
    assert not explanations.spikes[1, :-6].any()  # before the series' start
    n_in, n_classes = model.layer_sizes[0], model.layer_sizes[-1]
    assert explanations.class_names == tuple(f"class {c}" for c in range(n_classes))
    assert explanations.input_names == tuple(f"input {i}" for i in range(n_in))
    assert explanations.label.tolist() == [-1] * len(steps)
    head = SpikeSeries(
        spikes=spikes,
        labels=synthetic_test.labels[:700],
        input_names=synthetic_test.input_names,
        class_names=synthetic_test.class_names,
        splits={"test": (0, 700)},
    )
    named = reader.explanations(steps, head)
    assert named.class_names == synthetic_test.class_names != explanations.class_names
    assert named.input_names == synthetic_test.input_names
    np.testing.assert_array_equal(named.label, synthetic_test.labels[steps])
    np.testing.assert_array_equal(named.attribution, explanations.attribution)


def test_series_memory_refusal_counts_classes_not_hidden_units() -> None:
    """Kills ``n_classes = model.layer_sizes[-1]`` -> ``layer_sizes[1]`` in the memory check of
    explain/series.py: 256 steps x 50 classes x 200 inputs x 200 steps x 4 bytes > 1 GiB (with the
    2 hidden units instead of the 50 classes it would be 80 MB)."""
    model = LIFNetwork([200, 2, 50], tau_mem=1.0, seed=0)
    with pytest.raises(ExplanationError, match=r"GiB per chunk .*\(50 classes x 200 inputs\)"):
        _check_support(200, model, 10_000, 200, torch.float32)
    _check_support(100, model, 10_000, 200, torch.float32)  # 0.98 GiB: accepted


def test_neuron_contribution_defaults_and_integer_spikes() -> None:
    """Kills, in explain/kim_panda_sam.py, the default ``gamma: float = 0.5`` -> ``1.5`` and
    ``.to(spikes.dtype if spikes.is_floating_point() else torch.float32)`` -> ``.to(spikes.dtype)``
    (integer or boolean spikes would be summed in their own dtype)."""
    train = torch.tensor([[[1.0], [0.0], [1.0], [1.0], [0.0], [0.0]]], dtype=torch.float64)
    # NCS(t) = sum over earlier spikes t' of exp(-0.5 (t - t')), the paper's gamma
    expected = [0.0, math.exp(-0.5), math.exp(-1.0)]
    expected += [math.exp(-1.5) + math.exp(-0.5), math.exp(-2.0) + math.exp(-1.0) + math.exp(-0.5)]
    expected += [math.exp(-2.5) + math.exp(-1.5) + math.exp(-1.0)]
    scores = neuron_contribution(train)
    np.testing.assert_allclose(scores[0, :, 0].numpy(), expected, rtol=1e-15)
    for dtype in (torch.bool, torch.int8, torch.int64):
        integer = neuron_contribution(train.to(dtype))
        assert integer.dtype == torch.float32
        np.testing.assert_allclose(integer[0, :, 0].numpy(), expected, rtol=1e-6)


def test_online_names_an_adapter_s_classes_by_its_output_layer() -> None:
    """Kills ``range(sizes[-1])`` -> ``range(sizes[1])`` for an adapter's class names
    (explain/online.py): 3 inputs, 10 hidden units, 4 classes."""
    import norse.torch as norse
    from torch import nn

    from spikeattr.explain.adapters import NorseAdapter

    torch.manual_seed(0)
    net = norse.SequentialState(
        nn.Linear(3, 10), norse.LIF(), nn.Linear(10, 4), norse.LIF(), return_hidden=True
    )
    online = OnlineExplainer(NorseAdapter(net), support=5)
    assert online.input_names == ("in0", "in1", "in2")
    assert online.class_names == ("class0", "class1", "class2", "class3")
    assert online.n_classes == 4


def test_a_shaped_network_explains_flattened_spikes_like_shaped_ones() -> None:
    """Kills ``spikes.shape[2:] != (math.prod(input_shape),)`` -> ``spikes.shape[3:]`` in
    ``check_spikes`` (explain/tsa.py): flattened ``[B, T, n_in]`` spikes are accepted."""
    net, spikes = random_network(1)  # two-dimensional inputs (channels, 7, 6)
    shaped = TSA(net, "ns").attribute(spikes)
    flat = TSA(net, "ns").attribute(spikes.flatten(2))
    assert flat.values.shape == (*spikes.shape[:1], 3, spikes[0, 0].numel(), spikes.shape[1])
    expected = shaped.values.reshape(flat.values.shape)
    torch.testing.assert_close(flat.values, expected, rtol=0, atol=0)
    with pytest.raises(ExplanationError, match="flattened"):
        TSA(net, "ns").attribute(spikes.flatten(2)[..., :-1])


def test_float32_maps_in_chunks_of_steps_equal_one_chunk() -> None:
    """Kills ``decay[steps.start - start : steps.stop - start]`` -> ``steps.stop + start`` in the
    float32 path of explain/tsa_maps.py: a support shorter than the window, cut into chunks."""
    steps = 200
    weight = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]], dtype=torch.float64)
    generator = torch.Generator().manual_seed(3)
    spikes = (torch.rand(1, steps, 2, generator=generator) < 0.5).double()
    scores = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    recording = MapRecording([spikes], [LayerMap([DenseOp(weight)])], [math.exp(-1.0)], scores)
    whole = attribute_maps(recording, "ns", dtype=torch.float32)
    assert 0 < whole.support < steps  # float32 cuts the decay's tail
    for elements in (1, 7, 50):
        chunked = attribute_maps(recording, "ns", dtype=torch.float32, chunk_elements=elements)
        torch.testing.assert_close(chunked.values, whole.values, rtol=0, atol=0)
    double = attribute_maps(recording, "ns").values[..., steps - whole.support :]
    kept = whole.values[..., steps - whole.support :].double()
    torch.testing.assert_close(kept, double, rtol=1e-5, atol=1e-30)


def test_a_new_online_explainer_starts_like_a_reset_one() -> None:
    """Kills ``self._counters = np.array([0, 0, -1])`` -> ``[1, 0, -1]`` (explain/online.py):
    with a support of one step the ring has two slots and the first write must land in slot 0."""
    model = load_model("published:synthetic_1L")
    spikes = (np.random.default_rng(1).random((40, 3)) < 0.3).astype(np.float32)
    fresh = OnlineExplainer(model, variant="ns", support=1)
    assert fresh._counters.tolist() == [0, 0, -1]
    first = fresh.feed(spikes)
    fresh.reset()
    assert fresh._counters.tolist() == [0, 0, -1]
    again = fresh.feed(spikes)
    assert first.attribution is not None and again.attribution is not None
    np.testing.assert_array_equal(first.attribution, again.attribution)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "ceil_mode"),
    [(2, 2, 0, True), (3, 2, 1, True), (2, 2, 1, False)],
)
def test_max_pooling_routes_to_torch_s_argmax(
    kernel: int, stride: int, padding: int, ceil_mode: bool
) -> None:
    """Kills ``(pads[1][0], pads[1][1], ...)`` -> ``(pads[1][0], pads[1][0], ...)`` in
    ``MaxPoolOp.routing`` (explain/linear_maps.py): with ``ceil_mode`` the last window needs
    padding on the right only. Distinct random values: each window routes all of its gradient
    to the unit torch's max pooling picks."""
    generator = torch.Generator().manual_seed(kernel + 10 * padding)
    values = torch.rand(1, 2, 3, 9, dtype=torch.float64, generator=generator)  # [B, T, ch, L]
    op = MaxPoolOp(values, (kernel,), (stride,), (padding,), (1,), ceil_mode)
    pooled, index = F.max_pool1d(
        values[0], kernel, stride, padding, ceil_mode=ceil_mode, return_indices=True
    )
    assert op.out_shape == tuple(pooled.shape[1:])
    grad = torch.randn(1, 2, 2, *op.out_shape, dtype=torch.float64, generator=generator)
    back = op.transpose(grad, slice(0, 2))  # [B, C, K, ch, L]
    expected = torch.zeros(1, 2, 2, 3, 9, dtype=torch.float64)
    for c in range(2):
        for k in range(2):
            expected[0, c, k].scatter_add_(1, index[k], grad[0, c, k])
    torch.testing.assert_close(back, expected, rtol=0, atol=1e-15)
