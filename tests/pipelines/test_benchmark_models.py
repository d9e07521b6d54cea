"""Training the benchmark models: calibration, seeds, the checkpoint's record."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from spikeattr.data.benchmark import generate_task
from spikeattr.pipelines.benchmark_models import (
    CALIBRATION_STEPS,
    OUTPUT_STD,
    RECIPES,
    calibrate,
    initial_network,
    train_recipe,
)
from spikeattr.snn import load_model


def test_calibration_sets_every_hidden_rate_and_the_output_spread() -> None:
    series = generate_task("rare_channel")
    recipe = RECIPES["bench_rare_channel_3L"]
    model, factors = initial_network(recipe, series, seed=0)
    sample = series.split("train").spikes[:5000]
    with torch.no_grad():
        out = model(torch.from_numpy(sample[None]).float())
    for spikes in out.layer_spikes:
        assert float(spikes.mean()) == pytest.approx(recipe.target_rate, abs=0.01)
    assert float(out.membrane.std()) == pytest.approx(OUTPUT_STD, rel=0.2)
    assert len(factors) == 3 and all(f > 0 for f in factors)
    # deterministic: the same seed gives the same network
    again, _ = initial_network(recipe, series, seed=0)
    for first, second in zip(model.weights, again.weights, strict=True):
        assert torch.equal(first, second)
    # calibrating a calibrated network on the same steps changes nothing
    steps = series.split("train").spikes[:CALIBRATION_STEPS]
    assert calibrate(again, steps, recipe.target_rate) == pytest.approx([1.0] * 3, rel=1e-3)


def test_the_lowest_validation_loss_is_kept_and_recorded(tmp_path: Path) -> None:
    series = generate_task("conjunction")
    recipe = dataclasses.replace(RECIPES["bench_conjunction_1L"], epochs=2, seeds=(0, 1))
    trained = train_recipe(recipe, series, tmp_path / "runs", tmp_path / "models")
    losses = {run["seed"]: run["best_val_loss"] for run in trained.runs}
    assert trained.seed == min(losses, key=losses.__getitem__)
    meta = json.loads(trained.checkpoint.read_text(encoding="utf-8"))
    assert meta["training"]["seed"] == trained.seed
    kept = next(run for run in trained.runs if run["seed"] == trained.seed)
    assert meta["training"]["calibration"]["factors"] == kept["calibration"]
    assert meta["provenance"]["test_balanced_accuracy"] == trained.balanced_accuracy
    assert meta["provenance"]["data"]["X_sha256"] == series.checksums()["X_sha256"]
    model = load_model(trained.checkpoint)
    assert model.name == "bench_conjunction_1L"
    assert np.isfinite(trained.val_loss)
