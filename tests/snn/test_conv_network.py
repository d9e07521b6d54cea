"""The convolutional LIF network: declared layers, dynamics, checkpoints (format_version 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from spikeattr.errors import CheckpointError
from spikeattr.snn import LIFNetwork, load_model, save_checkpoint
from spikeattr.snn.checkpoint import load_network
from spikeattr.snn.conv_layers import LayerSpecError, default_layers, parse_layer, resolve_layers
from spikeattr.snn.conv_network import ConvLIFNetwork

LAYERS = ["conv 3 3 stride=2", "maxpool 2 stride=1", "lif", "flatten", "linear 4", "lif"]


def _network(**options: Any) -> ConvLIFNetwork:
    net = ConvLIFNetwork((2, 9, 9), LAYERS, tau_mem=5e-3, seed=1, **options)
    with torch.no_grad():
        for weight in net.weights:
            weight.mul_(3.0)
    return net


def _spikes(batch: int = 2, steps: int = 30) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return (torch.rand(batch, steps, 2, 9, 9, generator=generator) < 0.3).float()


def test_shapes_sizes_and_weights_follow_the_declared_layers() -> None:
    net = _network()
    assert net.shapes == ((3, 4, 4), (3, 3, 3), (3, 3, 3), (27,), (4,), (4,))
    assert net.layer_sizes == (162, 27, 4) and net.n_layers == 2
    assert [tuple(w.shape) for w in net.weights] == [(3, 2, 3, 3), (27, 4)]
    assert net.input_names[:3] == ("c0_y0_x0", "c0_y0_x1", "c0_y0_x2")
    assert net.input_names[-1] == "c1_y8_x8"


def test_flattened_and_shaped_inputs_and_every_backend_agree() -> None:
    net = _network()
    spikes = _spikes()
    shaped = net(spikes)
    flat = net(spikes.flatten(2))
    torch.testing.assert_close(flat.membrane, shaped.membrane, rtol=0, atol=0)
    assert float(shaped.layer_spikes[0].mean()) > 0.05
    for backend in ("torch", "fused", "numba"):
        other = net(spikes, backend=backend)  # type: ignore[arg-type]
        torch.testing.assert_close(other.membrane, shaped.membrane, rtol=0, atol=1e-6)
        torch.testing.assert_close(other.layer_spikes[0], shaped.layer_spikes[0])


def test_a_series_gives_the_same_predictions_in_any_chunking() -> None:
    net = _network().double()
    series = _spikes(1, 200)[0].flatten(1).double()
    whole = net.predict_series(series, chunk_size=200)
    pieces = net.predict_series(series, chunk_size=37)
    np.testing.assert_array_equal(whole.predicted, pieces.predicted)
    assert whole.probs is not None and pieces.probs is not None
    np.testing.assert_allclose(whole.probs, pieces.probs, atol=1e-6)
    last = net.predict_last(series.unsqueeze(0)).numpy()
    np.testing.assert_allclose(last[0], whole.probs[-1], atol=1e-6)


def test_gradients_reach_every_weight() -> None:
    net = _network()
    out = net(_spikes())
    out.membrane.sum().backward()
    assert all(w.grad is not None and float(w.grad.abs().sum()) > 0 for w in net.weights)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (["conv 3 3", "lif"], "last layers must be 'linear C' and 'lif'"),
        (["linear 4", "lif"], "'linear' needs a flat input"),
        (["lif", "flatten", "linear 4", "lif"], "needs a conv or linear layer before it"),
        (["conv 3 30", "lif", "flatten", "linear 4", "lif"], "does not fit"),
        (["conv 3 3 groups=2", "lif", "flatten", "linear 4", "lif"], "groups=2 must divide"),
        (["pool 2", "flatten", "linear 4", "lif"], "must start with one of"),
        (["conv 3", "flatten", "linear 4", "lif"], "'conv' takes CHANNELS KERNEL"),
        (["conv 3 3 strid=2", "flatten", "linear 4", "lif"], "unknown option(s) ['strid']"),
        (["conv 3 a", "flatten", "linear 4", "lif"], "kernel must be an integer or AxB"),
        ([{"kind": "flatten"}, {"kind": "linear", "units": 0}], "units must be an integer >= 1"),
    ],
)
def test_malformed_layers_are_refused_by_position(layers: list[Any], message: str) -> None:
    with pytest.raises(
        LayerSpecError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("[", r"\[")
        .replace("]", r"\]"),
    ):
        resolve_layers(layers, (2, 9, 9))


def test_texts_and_records() -> None:
    assert parse_layer("conv 8 3x5 stride=2") == {
        "kind": "conv",
        "channels": 8,
        "kernel": [3, 5],
        "stride": 2,
    }
    assert default_layers(["conv 4 3", "lif"], [20], 10) == [
        "conv 4 3",
        "lif",
        "flatten",
        "linear 20",
        "lif",
        "linear 10",
        "lif",
    ]


# -- checkpoints -------------------------------------------------------------------------------
def test_checkpoint_round_trip(tmp_path: Path) -> None:
    net = _network(class_names=["a", "b", "c", "d"], name="toy")
    path = save_checkpoint(net, tmp_path / "conv.json")
    meta = json.loads(path.read_text(encoding="utf-8"))
    assert meta["format_version"] == 2 and meta["input_shape"] == [2, 9, 9]
    assert meta["layers"][0] == {
        "kind": "conv",
        "channels": 3,
        "kernel": [3, 3],
        "stride": [2, 2],
        "padding": [0, 0],
        "dilation": [1, 1],
        "groups": 1,
    }
    loaded = load_network(path)
    assert isinstance(loaded, ConvLIFNetwork) and loaded.class_names == ("a", "b", "c", "d")
    spikes = _spikes()
    torch.testing.assert_close(loaded(spikes).membrane, net(spikes).membrane, rtol=0, atol=0)
    with pytest.raises(CheckpointError, match=r"holds a convolutional network .* needs a dense"):
        load_model(path)
    assert isinstance(load_network("published:synthetic_1L"), LIFNetwork)


def _edit(path: Path, **changes: Any) -> None:
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(changes)
    path.write_text(json.dumps(meta), encoding="utf-8")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"input_shape": [2, 9]}, "field 'layers': layer 0 .*kernel needs 1 values"),
        ({"input_shape": "2x9x9"}, "field 'input_shape' must list positive integers"),
        ({"layers": "conv"}, "field 'layers' must be a list of layer records"),
        ({"layers": [{"kind": "conv", "channels": 3}]}, "field 'layers': layer 0 .*'kernel'"),
        ({"layer_sizes": [162, 28, 4]}, "'layer_sizes' is \\[162, 28, 4\\] but input_shape"),
        (
            {
                "layers": [
                    {"kind": "conv", "channels": 3, "kernel": [3, 3], "stride": 2},
                    *_network().layer_records()[1:],
                ]
            },
            "must list every field",
        ),
    ],
)
def test_malformed_conv_checkpoints_name_the_field(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    path = save_checkpoint(_network(), tmp_path / "conv.json")
    _edit(path, **changes)
    with pytest.raises(CheckpointError, match=message) as info:
        load_network(path)
    assert str(path) in str(info.value)


def test_weights_of_the_wrong_shape_are_refused(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    from spikeattr._io import file_sha256

    path = save_checkpoint(_network(), tmp_path / "conv.json")
    weights = tmp_path / "conv.safetensors"
    save_file(
        {"W0": np.zeros((3, 2, 2, 2), np.float32), "W1": np.zeros((27, 4), np.float32)},
        str(weights),
    )
    _edit(path, weights_sha256=file_sha256(weights))
    with pytest.raises(
        CheckpointError, match=r"'W0' has shape \(3, 2, 2, 2\); layers .* \[3, 2, 3, 3\]"
    ):
        load_network(path)
