"""Checkpoints: JSON metadata plus safetensors/npz weights, never pickle; every error is clear."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file as load_safetensors
from safetensors.numpy import save_file as save_safetensors

from spikeattr.errors import CheckpointError, ModelDataMismatchError, SpikeAttrError
from spikeattr.snn.checkpoint import PUBLISHED_MODELS, load_model, save_checkpoint
from spikeattr.snn.network import LIFNetwork

DOCUMENTED_FIELDS = {
    "format",
    "format_version",
    "name",
    "layer_sizes",
    "dt",
    "tau_syn",
    "tau_mem",
    "threshold",
    "input_names",
    "class_names",
    "weights_file",
    "weights_sha256",
    "provenance",
    "training",
}


def _model(seed: int = 0) -> LIFNetwork:
    return LIFNetwork(
        [3, 6, 5, 4],
        dt=2e-3,
        tau_syn=2e-2,
        tau_mem=5e-3,
        input_names=["x0_bias", "x1", "x2"],
        class_names=["a", "b", "c", "d"],
        seed=seed,
        name="toy",
    )


def _inputs() -> torch.Tensor:
    generator = torch.Generator().manual_seed(3)
    return (torch.rand(2, 200, 3, generator=generator) < 0.6).float()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(path: Path) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return payload


def _write(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload), encoding="utf-8")


@pytest.mark.parametrize("weights_format", ["safetensors", "npz"])
def test_round_trip_gives_identical_outputs(tmp_path: Path, weights_format: str) -> None:
    model = _model()
    path = save_checkpoint(
        model,
        tmp_path / "toy.json",
        provenance={"by": "test"},
        training={"epochs": 3},
        weights_format=weights_format,
    )
    assert path == tmp_path / "toy.json"
    weights_path = tmp_path / f"toy.{weights_format}"
    assert weights_path.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, weights_path.name])
    for source in (path, weights_path, str(path)):
        loaded = load_model(source)
        assert loaded.layer_sizes == model.layer_sizes
        assert loaded.input_names == model.input_names
        assert loaded.class_names == model.class_names
        assert loaded.params == model.params
        assert loaded.name == "toy"
        assert loaded.provenance == {"by": "test"}
        for a, b in zip(loaded.weights, model.weights, strict=True):
            assert torch.equal(a, b)
        with torch.no_grad():
            assert torch.equal(loaded(_inputs()).membrane, model(_inputs()).membrane)


def test_json_has_the_documented_fields(tmp_path: Path) -> None:
    model = _model()
    path = save_checkpoint(model, tmp_path / "run" / "model")  # suffix added, folder created
    assert path == tmp_path / "run" / "model.json"
    meta = _read(path)
    assert set(meta) == DOCUMENTED_FIELDS
    assert meta["format"] == "spikeattr-checkpoint" and meta["format_version"] == 1
    assert meta["layer_sizes"] == [3, 6, 5, 4]
    assert (meta["dt"], meta["tau_syn"], meta["tau_mem"], meta["threshold"]) == (
        2e-3,
        2e-2,
        5e-3,
        1.0,
    )
    assert meta["input_names"] == ["x0_bias", "x1", "x2"]
    assert meta["class_names"] == ["a", "b", "c", "d"]
    assert meta["weights_file"] == "model.safetensors"
    assert meta["weights_sha256"] == _sha256(tmp_path / "run" / "model.safetensors")
    tensors = load_safetensors(str(tmp_path / "run" / "model.safetensors"))
    assert sorted(tensors) == ["W0", "W1", "W2"]
    assert [t.shape for t in (tensors["W0"], tensors["W1"], tensors["W2"])] == [
        (3, 6),
        (6, 5),
        (5, 4),
    ]


def test_npz_weights_need_no_pickle(tmp_path: Path) -> None:
    save_checkpoint(_model(), tmp_path / "m.json", weights_format="npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        assert sorted(archive.files) == ["W0", "W1", "W2"]
        assert archive["W1"].dtype == np.float32


def test_rejects_unknown_weights_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="weights_format"):
        save_checkpoint(_model(), tmp_path / "m.json", weights_format="pt")
    assert list(tmp_path.iterdir()) == []


# -- errors: each a CheckpointError naming the file and the field ------------------------------
@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, Path]:
    json_path = save_checkpoint(_model(), tmp_path / "toy.json")
    return json_path, tmp_path / "toy.safetensors"


def _replace_weights(json_path: Path, weights_path: Path, tensors: dict[str, np.ndarray]) -> None:
    """Rewrite the weights file and record its new checksum, so only the content is wrong."""
    save_safetensors(tensors, str(weights_path))
    meta = _read(json_path)
    meta["weights_sha256"] = _sha256(weights_path)
    _write(json_path, meta)


def _expect(path: Path, *fragments: str) -> pytest.ExceptionInfo[CheckpointError]:
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    message = str(info.value)
    assert isinstance(info.value, SpikeAttrError)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return info


def test_wrong_weight_shape(saved: tuple[Path, Path]) -> None:
    json_path, weights_path = saved
    tensors = load_safetensors(str(weights_path))
    tensors["W1"] = np.zeros((5, 6), dtype=np.float32)
    _replace_weights(json_path, weights_path, tensors)
    _expect(json_path, str(weights_path), "'W1'", "(5, 6)", "[6, 5]", "layer_sizes")


def test_missing_tensor(saved: tuple[Path, Path]) -> None:
    json_path, weights_path = saved
    tensors = load_safetensors(str(weights_path))
    del tensors["W2"]
    _replace_weights(json_path, weights_path, tensors)
    _expect(json_path, str(weights_path), "'W2'", "missing")


def test_extra_tensor(saved: tuple[Path, Path]) -> None:
    json_path, weights_path = saved
    tensors = load_safetensors(str(weights_path))
    tensors["W3"] = np.zeros((4, 4), dtype=np.float32)
    _replace_weights(json_path, weights_path, tensors)
    _expect(json_path, str(weights_path), "'W3'", "unexpected")


def test_non_finite_weights(saved: tuple[Path, Path]) -> None:
    json_path, weights_path = saved
    tensors = load_safetensors(str(weights_path))
    tensors["W0"][1, 2] = np.nan
    _replace_weights(json_path, weights_path, tensors)
    _expect(json_path, str(weights_path), "'W0'", "finite")


def test_modified_weights_file(saved: tuple[Path, Path]) -> None:
    json_path, weights_path = saved
    tensors = load_safetensors(str(weights_path))
    tensors["W0"] = tensors["W0"] * 2
    save_safetensors(tensors, str(weights_path))  # checksum in the JSON not updated
    info = _expect(json_path, str(weights_path), "weights_sha256")
    assert _sha256(weights_path) not in str(info.value)  # never a hash oracle


def test_corrupt_weights_file(saved: tuple[Path, Path]) -> None:
    json_path, weights_path = saved
    weights_path.write_bytes(b"not a safetensors file")
    meta = _read(json_path)
    meta["weights_sha256"] = _sha256(weights_path)
    _write(json_path, meta)
    _expect(json_path, str(weights_path), "safetensors")


def test_missing_weights_file(saved: tuple[Path, Path]) -> None:
    json_path, weights_path = saved
    weights_path.unlink()
    _expect(json_path, str(json_path), str(weights_path), "does not exist")


def test_missing_checkpoint(tmp_path: Path) -> None:
    _expect(tmp_path / "absent.json", str(tmp_path / "absent.json"), "does not exist")


def test_invalid_json(saved: tuple[Path, Path]) -> None:
    json_path, _ = saved
    json_path.write_text('{"format": "spikeattr-checkpoint", ', encoding="utf-8")
    _expect(json_path, str(json_path), "not valid JSON")


def _edit(json_path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    meta = _read(json_path)
    change(meta)
    _write(json_path, meta)


@pytest.mark.parametrize(
    "change,fragments",
    [
        (lambda m: m.update(format="other"), ("'format'", "spikeattr-checkpoint")),
        (lambda m: m.pop("format"), ("'format'",)),
        (lambda m: m.update(format_version=3), ("'format_version'", "3")),
        (lambda m: m.update(format_version=2), ("'input_shape'", "positive integers")),
        (lambda m: m.update(layers=[]), ("'layers'", "format_version 2")),
        (lambda m: m.pop("dt"), ("'dt'", "missing")),
        (lambda m: m.pop("input_names"), ("'input_names'", "missing")),
        (lambda m: m.pop("weights_file"), ("'weights_file'", "missing")),
        (lambda m: m.update(tau_mem="fast"), ("'tau_mem'", "wrong type")),
        (lambda m: m.update(dt=True), ("'dt'", "wrong type")),
        (lambda m: m.update(tau_syn=0.0), ("'tau_syn'", "positive finite")),
        (lambda m: m.update(layer_sizes=[3]), ("'layer_sizes'",)),
        (lambda m: m.update(layer_sizes=[3, 0, 5, 4]), ("'layer_sizes'",)),
        (
            lambda m: m.update(input_names=["x0_bias", "x1"]),
            ("'input_names'", "2 names", "layer_sizes says 3"),
        ),
        (lambda m: m.update(class_names=["a"]), ("'class_names'", "1 names", "layer_sizes says 4")),
        (lambda m: m.update(layer_sizes=[4, 6, 5, 4]), ("'input_names'", "layer_sizes says 4")),
    ],
)
def test_malformed_metadata(
    saved: tuple[Path, Path], change: Callable[[dict[str, Any]], None], fragments: tuple[str, ...]
) -> None:
    json_path, _ = saved
    _edit(json_path, change)
    _expect(json_path, str(json_path), *fragments)


def test_not_an_object(saved: tuple[Path, Path]) -> None:
    json_path, _ = saved
    json_path.write_text("[1, 2, 3]", encoding="utf-8")
    _expect(json_path, str(json_path), "'format'")


def test_unknown_published_name_lists_available() -> None:
    with pytest.raises(CheckpointError) as info:
        load_model("published:synthetic_9L")
    message = str(info.value)
    assert "synthetic_9L" in message
    for name in PUBLISHED_MODELS:
        assert f"published:{name}" in message


def test_model_data_mismatch_names_both_lists() -> None:
    model = load_model("published:synthetic_1L")
    with pytest.raises(ModelDataMismatchError) as info:
        model.check_data(["Bias", "Maindoor", "Cupboard"])
    message = str(info.value)
    assert "['x0_bias', 'x1', 'x2']" in message
    assert "['Bias', 'Maindoor', 'Cupboard']" in message


# -- hostile checkpoints (issue 11) -----------------------------------------------------------
@pytest.mark.parametrize(
    "change,fragments",
    [
        (lambda m: m.update(threshold=-5), ("'threshold'", "positive finite", "-5")),
        (lambda m: m.update(threshold=0), ("'threshold'", "positive finite")),
        (lambda m: m.update(threshold="high"), ("'threshold'", "wrong type")),
        (lambda m: m.update(threshold=True), ("'threshold'", "wrong type")),
        (lambda m: m.pop("threshold"), ("'threshold'", "missing")),
        (lambda m: m.pop("weights_sha256"), ("'weights_sha256'", "missing")),
        (lambda m: m.update(weights_sha256="abc"), ("'weights_sha256'", "64")),
        (lambda m: m.update(weights_file="../other/toy.safetensors"), ("'weights_file'",)),
        (lambda m: m.update(weights_file="/etc/passwd"), ("'weights_file'",)),
        (lambda m: m.update(weights_file="sub/toy.safetensors"), ("'weights_file'",)),
        (lambda m: m.update(weights_file=".."), ("'weights_file'",)),
        (lambda m: m.update(weights_file="toy.pt"), ("'weights_file'", ".safetensors")),
        (lambda m: m.update(input_names=["a", "a", "b"]), ("'input_names'", "distinct")),
    ],
)
def test_hostile_metadata_is_refused(
    saved: tuple[Path, Path], change: Callable[[dict[str, Any]], None], fragments: tuple[str, ...]
) -> None:
    json_path, _ = saved
    _edit(json_path, change)
    _expect(json_path, str(json_path), *fragments)


def test_weights_outside_the_folder_are_never_read_or_hashed(tmp_path: Path) -> None:
    """A checkpoint naming another folder's file is refused before that file is opened, and
    the message carries no hash of it (no hash oracle)."""
    secret = tmp_path / "other" / "toy.safetensors"
    secret.parent.mkdir()
    json_path = save_checkpoint(_model(), tmp_path / "ckpt" / "toy.json")
    secret.write_bytes((tmp_path / "ckpt" / "toy.safetensors").read_bytes() + b"x")
    for name in ("../other/toy.safetensors", str(secret)):
        _edit(json_path, lambda m, name=name: m.update(weights_file=name))
        info = _expect(json_path, "'weights_file'")
        assert _sha256(secret) not in str(info.value)


def test_a_link_leading_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    json_path = save_checkpoint(_model(), tmp_path / "ckpt" / "toy.json")
    outside = tmp_path / "outside.safetensors"
    (tmp_path / "ckpt" / "toy.safetensors").rename(outside)
    (tmp_path / "ckpt" / "toy.safetensors").symlink_to(outside)
    _expect(json_path, "leads out of the checkpoint's folder")


@pytest.mark.parametrize("weights_format", ["safetensors", "npz"])
def test_truncated_weights_behind_a_matching_sha(tmp_path: Path, weights_format: str) -> None:
    json_path = save_checkpoint(_model(), tmp_path / "toy.json", weights_format=weights_format)
    weights_path = tmp_path / f"toy.{weights_format}"
    weights_path.write_bytes(weights_path.read_bytes()[:150])
    _edit(json_path, lambda m: m.update(weights_sha256=_sha256(weights_path)))
    _expect(json_path, str(weights_path), "not a readable")


def test_pickled_npz_weights_are_refused(tmp_path: Path) -> None:
    json_path = save_checkpoint(_model(), tmp_path / "toy.json", weights_format="npz")
    weights_path = tmp_path / "toy.npz"
    np.savez(weights_path, W0=np.array([{"a": 1}], dtype=object))
    _edit(json_path, lambda m: m.update(weights_sha256=_sha256(weights_path)))
    _expect(json_path, str(weights_path), "pickled")


def test_the_threshold_is_saved_loaded_and_honoured_by_every_backend(tmp_path: Path) -> None:
    model = LIFNetwork(
        [3, 6, 4], dt=2e-3, tau_syn=2e-2, tau_mem=5e-3, seed=1, threshold=0.25, name="low"
    )
    json_path = save_checkpoint(model, tmp_path / "low.json")
    assert _read(json_path)["threshold"] == 0.25
    loaded = load_model(json_path)
    assert loaded.params.threshold == 0.25
    spikes = _inputs()
    default = LIFNetwork([3, 6, 4], dt=2e-3, tau_syn=2e-2, tau_mem=5e-3, seed=1)
    reference = default(spikes, backend="torch").layer_spikes[0]
    outputs = {}
    for backend in ("torch", "numba", "fused"):
        with torch.set_grad_enabled(backend == "fused"):
            out = loaded(spikes.clone().requires_grad_(backend == "fused"), backend=backend)
        outputs[backend] = out.layer_spikes[0].detach()
    # a lower threshold fires more, and every backend agrees on the spikes
    assert outputs["torch"].sum() > reference.sum()
    for backend in ("numba", "fused"):
        assert torch.equal(outputs[backend], outputs["torch"]), backend


@pytest.mark.parametrize("bad", [-5.0, 0.0, float("nan"), float("inf"), "high", True])
def test_network_refuses_a_bad_threshold(bad: Any) -> None:
    with pytest.raises(ValueError, match="threshold must be a positive finite number"):
        LIFNetwork([3, 4], threshold=bad)
