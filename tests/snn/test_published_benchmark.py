"""The published benchmark models: what their files claim is what they do on their tasks."""

from __future__ import annotations

import json

import pytest

from spikeattr.data.benchmark import TASKS, generate_task
from spikeattr.pipelines.benchmark_models import BENCHMARK_MODEL_NAMES, RECIPES
from spikeattr.snn import balanced_accuracy, load_model
from spikeattr.snn.checkpoint import BENCHMARK_MODELS, published_model_path


def test_every_recipe_is_published_under_its_name() -> None:
    assert BENCHMARK_MODEL_NAMES == BENCHMARK_MODELS
    assert {r.task for r in RECIPES.values()} == set(TASKS)
    for name in BENCHMARK_MODELS:
        assert published_model_path(name).with_suffix(".safetensors").is_file()


@pytest.mark.parametrize("task", list(TASKS))
def test_models_learn_their_task_on_the_data_they_were_trained_on(task: str) -> None:
    series = generate_task(task)
    test = series.split("test")
    for depth in (1, 2, 3):
        name = f"bench_{task}_{depth}L"
        meta = json.loads(published_model_path(name).read_text(encoding="utf-8"))
        assert meta["provenance"]["data"]["X_sha256"] == series.checksums()["X_sha256"]
        assert (
            meta["provenance"]["data"]["evidence_sha256"]
            == TASKS[task].checksums["evidence_sha256"]
        )
        model = load_model(f"published:{name}")
        assert model.n_layers == depth
        model.check_data(series.input_names, series.class_names)
        value = balanced_accuracy(
            test.labels, model.predict_series(test.spikes, keep_probs=False).predicted
        )
        recorded = meta["provenance"]["test_balanced_accuracy"]
        assert value == pytest.approx(recorded, abs=1e-9), name
        assert value >= 0.9, name
        assert meta["training"]["config"]["monitor"] == "val"
