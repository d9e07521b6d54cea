"""The six published models of the TSA paper reproduce the research code's outputs (SPEC 3)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from spikeattr.data.series import SpikeSeries
from spikeattr.snn.accuracy import balanced_accuracy
from spikeattr.snn.checkpoint import (
    BENCHMARK_MODELS,
    PAPER_MODELS,
    PUBLISHED_MODELS,
    load_model,
)
from spikeattr.snn.network import LIFNetwork

# Published oracle values: reference/README.md, balanced accuracy over the whole test series.
SYNTHETIC_BALANCED_ACCURACY = {"1L": 0.98281, "2L": 0.96174, "3L": 0.94278}
ADL_BALANCED_ACCURACY = {
    "A": {"1L": 0.66569, "2L": 0.66287, "3L": 0.65063},
    "B": {"1L": 0.49825, "2L": 0.50531, "3L": 0.49203},
}
_CASE = re.compile(r"^(\dL)_t(\d+)_X$")


def _cases(path: Path) -> list[tuple[str, int]]:
    with np.load(path) as archive:
        found = [_CASE.match(key) for key in archive.files]
    return sorted((m.group(1), int(m.group(2))) for m in found if m)


@pytest.fixture(scope="module")
def models() -> dict[str, LIFNetwork]:
    return {name: load_model(f"published:{name}") for name in PAPER_MODELS}


def test_six_paper_models_and_the_benchmark_models_are_published() -> None:
    assert set(PAPER_MODELS) == {f"{d}_{n}L" for d in ("synthetic", "adl") for n in (1, 2, 3)}
    assert PUBLISHED_MODELS == PAPER_MODELS + BENCHMARK_MODELS


@pytest.mark.parametrize("name", PAPER_MODELS)
def test_published_model_equals_reference_weights_and_hyperparameters(
    name: str, models: dict[str, LIFNetwork], reference_dir: Path
) -> None:
    model = models[name]
    spec = json.loads((reference_dir / "models" / f"{name}.json").read_text(encoding="utf-8"))
    assert list(model.layer_sizes) == spec["layer_sizes"]
    assert model.params.dt == spec["time_step"]
    assert model.params.tau_syn == spec["tau_syn"]
    assert model.params.tau_mem == spec["tau_mem"]
    assert list(model.input_names) == spec["inputs"]
    assert list(model.class_names) == spec["classes"]
    assert model.name == name
    assert not model.training  # loaded in eval mode
    with np.load(reference_dir / "models" / f"{name}.npz") as archive:
        assert sorted(archive.files) == [f"W{i}" for i in range(model.n_layers)]
        for index, weight in enumerate(model.weights):
            assert weight.dtype == torch.float32
            np.testing.assert_array_equal(weight.detach().numpy(), archive[f"W{index}"])


def _check_window(model: LIFNetwork, archive: Any, prefix: str) -> None:
    x = torch.from_numpy(archive[f"{prefix}_X"].astype(np.float32)).unsqueeze(0)
    with torch.no_grad():
        out = model(x)
    probs = out.probs[0].numpy()
    np.testing.assert_allclose(probs, archive[f"{prefix}_probs_all"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(probs[-1], archive[f"{prefix}_probs_last"], rtol=0, atol=1e-5)
    assert int(probs[-1].argmax()) == int(archive[f"{prefix}_pred"])
    assert len(out.layer_spikes) == model.n_layers - 1
    for layer, spikes in enumerate(out.layer_spikes, start=1):
        np.testing.assert_array_equal(spikes[0].numpy(), archive[f"{prefix}_spk{layer}"])


def test_reference_windows_synthetic(models: dict[str, LIFNetwork], reference_dir: Path) -> None:
    path = reference_dir / "explanations" / "synthetic.npz"
    cases = _cases(path)
    assert {depth for depth, _ in cases} == {"1L", "2L", "3L"} and len(cases) == 18
    with np.load(path) as archive:
        for depth, stamp in cases:
            _check_window(models[f"synthetic_{depth}"], archive, f"{depth}_t{stamp}")


def test_reference_windows_adl_subject_a(
    models: dict[str, LIFNetwork], reference_dir: Path
) -> None:
    path = reference_dir / "explanations" / "adl_A_1L.npz"
    cases = _cases(path)
    assert cases == sorted(("1L", t) for t in (80763, 119459, 189037, 5124))
    with np.load(path) as archive:
        for depth, stamp in cases:
            _check_window(models[f"adl_{depth}"], archive, f"{depth}_t{stamp}")


def test_reference_windows_are_the_test_series_before_the_stamp(
    synthetic_test: SpikeSeries, reference_dir: Path
) -> None:
    with np.load(reference_dir / "explanations" / "synthetic.npz") as archive:
        for depth, stamp in _cases(reference_dir / "explanations" / "synthetic.npz"):
            window = slice(stamp - 1000, stamp)
            np.testing.assert_array_equal(
                archive[f"{depth}_t{stamp}_X"], synthetic_test.spikes[window]
            )
            np.testing.assert_array_equal(
                archive[f"{depth}_t{stamp}_y"], synthetic_test.labels[window]
            )


@pytest.mark.parametrize("backend", ["torch", "numba"])
def test_reference_window_with_both_backends(
    backend: str, models: dict[str, LIFNetwork], reference_dir: Path
) -> None:
    with np.load(reference_dir / "explanations" / "synthetic.npz") as archive:
        x = torch.from_numpy(archive["3L_t14611_X"].astype(np.float32)).unsqueeze(0)
        with torch.no_grad():
            out = models["synthetic_3L"](x, backend=backend)  # type: ignore[arg-type]
        np.testing.assert_allclose(
            out.probs[0].numpy(), archive["3L_t14611_probs_all"], rtol=0, atol=1e-5
        )


@pytest.mark.parametrize("depth", ["1L", "2L", "3L"])
def test_synthetic_test_balanced_accuracy(
    depth: str, models: dict[str, LIFNetwork], synthetic_test: SpikeSeries
) -> None:
    model = models[f"synthetic_{depth}"]
    model.check_data(synthetic_test.input_names, synthetic_test.class_names)
    prediction = model.predict_series(synthetic_test.spikes, keep_probs=False)
    assert prediction.predicted.shape == (270_000,)
    value = balanced_accuracy(synthetic_test.labels, prediction.predicted)
    assert abs(value - SYNTHETIC_BALANCED_ACCURACY[depth]) <= 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("subject", ["A", "B"])
def test_adl_test_balanced_accuracy(
    subject: str, models: dict[str, LIFNetwork], checksums: dict[str, Any]
) -> None:
    from spikeattr.data.adl import encode_subject

    series = encode_subject(None, subject, compat="reference")
    expected = checksums["adl"][subject]
    assert series.n_steps == expected["n_steps"]
    assert series.checksums()["y_sha256"] == expected["y_sha256"]
    test = series.split("test")
    assert test.n_steps == expected["split_sizes"]["test"]
    for depth, target in ADL_BALANCED_ACCURACY[subject].items():
        model = models[f"adl_{depth}"]
        model.check_data(series.input_names, series.class_names)
        prediction = model.predict_series(test.spikes, keep_probs=False)
        value = balanced_accuracy(test.labels, prediction.predicted)
        assert abs(value - target) <= 1e-4, (subject, depth, value, target)
