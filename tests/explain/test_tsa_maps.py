"""TSA on convolutional networks equals SPEC 4 on the dense expansion of the same network.

Random convolutional LIF networks (1 to 4 weight layers; 1-D and 2-D convolutions with strides,
padding, dilation and groups; max and average pooling before and after the neurons; flatten and
dense layers) are simulated literally from their dense matrices (``literal_maps``), and the maps
of the batched transposes must equal the literal product in float64 to 1e-9 of the map's
largest value. On dense networks the general path equals the dense one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spikeattr.explain import TSA
from spikeattr.explain.linear_maps import DenseOp, LayerMap, MaxPoolOp
from spikeattr.explain.recording import MapRecording, SpikeRecording
from spikeattr.explain.tsa import attribute_recording
from spikeattr.explain.tsa_maps import attribute_maps
from spikeattr.snn.conv_layers import (
    LIF,
    Conv,
    Flatten,
    LayerSpecError,
    Linear,
    Pool,
    resolve_layers,
)
from spikeattr.snn.conv_network import ConvLIFNetwork
from spikeattr.snn.network import LIFNetwork

from .literal import large_product_case, softmax
from .literal_maps import MaxPoolGeometry, dense_matrix, lif_literal, tsa_literal_maps

VARIANTS = ("s", "ns", "sam")
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: one thread is faster
STEPS = 12


def random_network(seed: int) -> tuple[ConvLIFNetwork, torch.Tensor]:
    """A random float64 network of 1-4 weight layers and a batch of two input windows."""
    rng = np.random.default_rng(seed)
    two_d = bool(seed % 2)
    channels = int(rng.integers(1, 3))
    shape = (channels, 7, 6) if two_d else (channels, 13)
    n_weight_layers = 1 + seed % 4
    layers: list[str] = []
    flat = False
    for _ in range(n_weight_layers - 1):
        choice = rng.integers(0, 5) if not flat else 4
        groups = 2 if channels == 2 and rng.random() < 0.5 else 1
        out = 2 * int(rng.integers(1, 3))
        candidates = {
            0: [f"conv {out} 3 padding=1 groups={groups}", "lif"],
            1: [f"conv {out} 2 stride=2 dilation=1", "maxpool 2 stride=1", "lif"],
            2: ["maxpool 2 stride=1", f"conv {out} 2 dilation=2", "lif"],
            3: [f"conv {out} 2", "avgpool 2", "lif"],
        }
        block = candidates.get(int(choice), [])
        try:  # a block that no longer fits the shrinking input becomes a dense layer
            resolve_layers([*layers, *block, "flatten", "linear 3", "lif"], shape)
        except LayerSpecError:
            block = []
        if not block:
            block = [*([] if flat else ["flatten"]), f"linear {int(rng.integers(4, 9))}", "lif"]
            flat = True
        layers += block
        if not flat:
            channels = out
    pool = [] if flat or rng.random() < 0.5 else ["maxpool 2"]
    layers += [*pool, "flatten", "linear 3", "lif"]
    net = ConvLIFNetwork(shape, layers, tau_mem=6e-3, seed=seed).double()
    with torch.no_grad():
        for weight in net.weights:
            weight.mul_(3.0)
    spikes = torch.rand(2, STEPS, *shape, generator=torch.Generator().manual_seed(seed)) < 0.4
    return net, spikes.double()


def _op(spec: Any, weight: torch.Tensor | None) -> Any:
    """The torch operation of a layer spec, on a batch of samples."""
    if isinstance(spec, Conv):
        conv = F.conv1d if len(spec.kernel) == 1 else F.conv2d
        return lambda x: conv(
            x, weight, None, spec.stride, spec.padding, spec.dilation, spec.groups
        )
    if isinstance(spec, Pool):
        pool = F.avg_pool1d if len(spec.kernel) == 1 else F.avg_pool2d
        return lambda x: pool(x, spec.kernel, spec.stride)
    if isinstance(spec, Flatten):
        return lambda x: x.reshape(x.shape[0], -1)
    return lambda x: x @ weight


def literal_network(
    net: ConvLIFNetwork, window: np.ndarray, variant: str
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Simulate one window ``[T, *shape]`` literally; ``(layer_inputs, scores, maps [C, n, T])``."""
    steps = window.shape[0]
    x = window.reshape(steps, -1).astype(np.float64)
    layer_inputs = [x]
    per_layer: list[list[Any]] = [[]]  # per weight layer: (matrix | geometry, ones-matrix)
    shape = net.input_shape
    weights = iter(w.detach() for w in net.weights)
    membrane = np.zeros(0)
    for spec, out_shape in zip(net.layers, net.shapes, strict=True):
        if isinstance(spec, LIF):
            currents = np.zeros((steps, math.prod(out_shape)))
            routes: list[list[np.ndarray]] = []
            for t in range(steps):
                value, route = x[t], []
                for op, _ in per_layer[-1]:
                    if isinstance(op, MaxPoolGeometry):
                        route.append(op.routing(value))
                        value = op.forward(value)
                    else:
                        value = value @ op
                routes.append(route)
                currents[t] = value
            per_layer[-1] = [per_layer[-1], routes]
            x, membrane = lif_literal(currents, net.alpha, net.beta)
            layer_inputs.append(x)
            per_layer.append([])
        elif isinstance(spec, Pool) and spec.mode == "max":
            zeros = (0,) * len(spec.kernel)
            geometry = MaxPoolGeometry(
                shape, out_shape, spec.kernel, spec.stride, zeros, (1,) * len(zeros)
            )
            per_layer[-1].append((geometry, geometry))
        else:
            weight = next(weights) if isinstance(spec, (Conv, Linear)) else None
            ones = None if weight is None else torch.ones_like(weight)
            per_layer[-1].append(
                (dense_matrix(_op(spec, weight), shape), dense_matrix(_op(spec, ones), shape))
            )
        shape = out_shape
    layers = per_layer[:-1]

    def matrices(layer: int, t: int) -> np.ndarray:
        ops, routes = layers[layer]
        product = np.eye(layer_inputs[layer].shape[1])
        pools = iter(routes[t])
        for op, ones in ops:
            if isinstance(op, MaxPoolGeometry):
                product = product @ next(pools)
            else:
                product = product @ (ones if variant == "sam" else op)
        return product

    scores = membrane[-1]
    inputs = layer_inputs[:-1]
    maps = tsa_literal_maps(inputs, matrices, [net.beta] * len(inputs), softmax(scores), variant)
    return inputs, scores, maps


@pytest.mark.parametrize("seed", range(12))
def test_random_convolutional_networks_equal_the_dense_expansion(seed: int) -> None:
    net, spikes = random_network(seed)
    recording = net.record(spikes)
    assert all(float(s.mean()) > 0.02 for s in recording.layer_spikes[:-1]), "too few spikes"
    for variant in VARIANTS:
        result = TSA(net, variant).attribute(spikes)
        assert tuple(result.values.shape) == (2, 3, *net.input_shape, STEPS)
        assert result.support == STEPS
        for sample in range(2):
            inputs, scores, maps = literal_network(net, spikes[sample].numpy(), variant)
            for layer, literal in enumerate(inputs[1:], start=1):
                recorded = recording.layer_spikes[layer - 1][sample].reshape(STEPS, -1)
                np.testing.assert_array_equal(recorded.numpy(), literal)
            np.testing.assert_allclose(recording.membrane[sample, -1].numpy(), scores, atol=1e-12)
            ours = result.values[sample].reshape(3, -1, STEPS).numpy()
            scale = np.abs(maps).max()
            assert scale > 0
            np.testing.assert_allclose(ours, maps, rtol=0, atol=1e-9 * scale)


def test_chunks_of_steps_do_not_change_the_maps() -> None:
    net, spikes = random_network(5)
    recording = TSA(net, "ns").attribute(spikes).values
    from spikeattr.explain.tsa import record_network

    recorded = record_network(net, spikes)
    assert isinstance(recorded, MapRecording)
    for elements in (1, 500, 10**9):
        chunked = attribute_maps(recorded, "ns", chunk_elements=elements).values
        torch.testing.assert_close(chunked, recording, rtol=0, atol=1e-15)


def test_dense_layers_take_the_dense_path_result() -> None:
    """A network of linear layers gives, through the general path, the dense product."""
    dense = LIFNetwork([5, 7, 6, 3], tau_mem=6e-3, seed=3).double()
    with torch.no_grad():
        for weight in dense.weights:
            weight.mul_(3.0)
    conv = ConvLIFNetwork(
        (5,), ["linear 7", "lif", "linear 6", "lif", "linear 3", "lif"], tau_mem=6e-3
    ).double()
    conv.load_weights([w.detach() for w in dense.weights])
    spikes = (torch.rand(3, 40, 5, generator=torch.Generator().manual_seed(1)) < 0.5).double()
    for variant in VARIANTS:
        expected = TSA(dense, variant).attribute(spikes)
        general = TSA(conv, variant).attribute(spikes)
        torch.testing.assert_close(general.probs, expected.probs, rtol=0, atol=1e-15)
        torch.testing.assert_close(general.values, expected.values, rtol=0, atol=1e-13)
        # the same recording as linear maps: identical algebra
        out = dense(spikes)
        inputs = [spikes, *out.layer_spikes]
        weights = [w.detach() for w in dense.weights]
        betas = [dense.beta] * 3
        scores = out.membrane[:, -1].detach()
        as_maps = MapRecording(inputs, [LayerMap([DenseOp(w)]) for w in weights], betas, scores)
        as_matrices = SpikeRecording(inputs, weights, betas, scores)
        torch.testing.assert_close(
            attribute_recording(as_maps, variant).values,
            attribute_recording(as_matrices, variant).values,
            rtol=0,
            atol=1e-13,
        )
    assert float(out.layer_spikes[0].mean()) > 0.05


def test_max_pooling_routes_through_the_units_that_spiked_ties_split_evenly() -> None:
    """The rule on a hand-made case: 2 x 2 windows of spikes, one step."""
    frame = torch.tensor([[[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]])  # [1 channel, 2, 4]
    values = frame.reshape(1, 1, 1, 2, 4)  # [B, T, ch, H, W]
    pool = MaxPoolOp(values, (2, 2), (2, 2), (0, 0), (1, 1))
    grad = torch.tensor([6.0, 4.0]).reshape(1, 1, 1, 1, 1, 2)  # [B, C, K, ch, 1, 2]
    back = pool.transpose(grad, slice(0, 1)).reshape(2, 4)
    # left window: both spiking units carry half of 6; right window: nobody spiked, 4 / 4 each
    expected = torch.tensor([[3.0, 0.0, 1.0, 1.0], [3.0, 0.0, 1.0, 1.0]])
    torch.testing.assert_close(back, expected)


def test_max_pooling_over_currents_routes_through_the_largest_current() -> None:
    values = torch.tensor([0.2, 1.5, -3.0, 1.5, 0.7, 0.1]).reshape(1, 1, 1, 6)  # [B, T, ch, L]
    pool = MaxPoolOp(values, (3,), (3,), (0,), (1,))
    back = pool.transpose(torch.tensor([2.0, 5.0]).reshape(1, 1, 1, 1, 2), slice(0, 1))
    torch.testing.assert_close(back.flatten(), torch.tensor([0.0, 2.0, 0.0, 5.0, 0.0, 0.0]))


@pytest.mark.parametrize(
    "module",
    [
        nn.Conv2d(2, 4, 3, stride=2, padding=1, bias=False),
        nn.Conv2d(2, 4, (2, 3), padding="same", dilation=(1, 2), bias=False),
        nn.Conv1d(2, 4, 4, stride=3, padding=2, groups=2, bias=False),
        nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        nn.AvgPool1d(2),
    ],
    ids=[
        "conv2d-stride-pad",
        "conv2d-same-dilated",
        "conv1d-groups",
        "avgpool2d-ceil",
        "avgpool1d",
    ],
)
def test_transposes_equal_the_transposed_dense_matrix(module: nn.Module) -> None:
    from spikeattr.explain.adapters._maps import linear_op

    in_shape = (2, 7) if "1d" in type(module).__name__ else (2, 7, 9)
    op = linear_op(module.double(), in_shape)
    matrix = dense_matrix(module, in_shape)
    grad = torch.randn(1, 2, 3, *op.out_shape, dtype=torch.float64)
    back = op.transpose(grad, slice(0, 3)).reshape(6, -1)
    expected = grad.reshape(6, -1).numpy() @ matrix.T
    np.testing.assert_allclose(back.numpy(), expected, rtol=0, atol=1e-12)


def test_shaped_maps_keep_the_tails_float32_cuts() -> None:
    # B = W diag(p) of order 1e100 (as in test_tsa): the general path keeps every representable
    # cell, cell for cell equal to the dense path, with the chunks of steps in log space.
    steps = 1000
    spikes, weight, scores = (torch.from_numpy(a) for a in large_product_case(steps))
    beta = [math.exp(-1.0)]
    dense = attribute_recording(SpikeRecording([spikes], [weight], beta, scores), "ns").values
    shaped = MapRecording([spikes], [LayerMap([DenseOp(weight)])], beta, scores)
    general = attribute_maps(shaped, "ns", chunk_elements=100).values
    assert general.dtype == torch.float64
    assert bool(((general == 0) == (dense == 0)).all())
    assert int((general[..., : steps - 87] != 0).sum()) > 0  # beyond float32's support
    torch.testing.assert_close(general, dense, rtol=1e-12, atol=0)
    single = attribute_maps(shaped, "ns", dtype=torch.float32).values
    assert single.dtype == torch.float32
    assert bool((single[..., : steps - 87] == 0).all())
