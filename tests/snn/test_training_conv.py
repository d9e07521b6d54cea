"""Training a convolutional network with the paper's protocol, in memory and in a run directory,
on data whose inputs have a shape (a small generated event task)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from spikeattr.data.events import generate_events
from spikeattr.data.series import SpikeSeries
from spikeattr.runs.training import run_training
from spikeattr.snn import ConvLIFNetwork, TrainConfig, load_network, train
from spikeattr.snn.batching import TrainingError
from spikeattr.snn.train_config import TrainConfigError, build_config

CONV = ("conv 4 3 stride=2", "lif")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def frames() -> SpikeSeries:
    """600 training and 100 test steps of the event task on an 8 x 8 grid."""
    return generate_events(seed=2, grid=8, splits={"train": 600, "test": 100}, noise=0.02).series


def _config(**changes: object) -> TrainConfig:
    values: dict[str, object] = {
        "conv": CONV,
        "window": 60,
        "batch_size": 4,
        "epochs": 3,
        "tau_mem": 2e-2,
        "lr": 2e-2,
    }
    return TrainConfig(**{**values, **changes})  # type: ignore[arg-type]


def test_training_builds_and_trains_a_convolutional_network(frames: SpikeSeries) -> None:
    result = train(_config(epochs=4), frames)
    model = result.model
    assert isinstance(model, ConvLIFNetwork) and model.input_shape == (2, 8, 8)
    assert [r["kind"] for r in model.layer_records()] == ["conv", "lif", "flatten", "linear", "lif"]
    assert model.input_names == frames.input_names and model.class_names == frames.class_names
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 4 and all(np.isfinite(losses))
    assert min(losses[1:]) < losses[0]  # it learns something
    assert result.best_loss == min(losses)


def test_hidden_dense_layers_follow_the_convolutions(frames: SpikeSeries) -> None:
    model = train(_config(hidden=(6,), epochs=1), frames).model
    assert isinstance(model, ConvLIFNetwork) and model.layer_sizes == (128, 36, 6, 10)


def test_convolutions_need_shaped_inputs_and_must_fit_them(frames: SpikeSeries) -> None:
    flat = SpikeSeries(
        frames.spikes, frames.labels, frames.input_names, frames.class_names, frames.splits
    )
    with pytest.raises(TrainingError, match="'conv' needs data whose inputs have a shape"):
        train(_config(), flat)
    with pytest.raises(TrainConfigError, match=r"'conv' does not fit inputs of shape \[2, 8, 8\]"):
        train(_config(conv=("conv 4 9", "lif")), frames)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("conv 4 3", "must be a list of layers"),
        (["conv 4"], "'conv' takes CHANNELS KERNEL"),
        ([3], "must list layers as text"),
    ],
)
def test_the_conv_setting_is_checked_where_it_is_given(value: object, message: str) -> None:
    with pytest.raises(TrainConfigError, match=message):
        TrainConfig(conv=value)  # type: ignore[arg-type]
    with pytest.raises(TrainConfigError, match=f"--set: .*{message}"):
        build_config(None, [f"conv={json.dumps(value)}"])


def test_a_run_directory_resumes_a_convolutional_run(frames: SpikeSeries, tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = run_training(_config(epochs=2), frames, None, out)
    resumed = run_training(_config(epochs=3), frames, None, out)
    assert (first.epochs_run, resumed.epochs_run, resumed.resumed_from) == (2, 3, 2)
    loaded = load_network(out / "model.json")
    assert isinstance(loaded, ConvLIFNetwork)
    window = torch.from_numpy(frames.spikes[:50]).float().unsqueeze(0)
    torch.testing.assert_close(
        loaded(window).membrane, resumed.model(window).membrane, rtol=0, atol=0
    )
    state = json.loads((out / "train_state.json").read_text(encoding="utf-8"))
    assert state["config"]["conv"] == list(CONV)


def test_a_state_from_before_the_conv_key_still_resumes(tmp_path: Path) -> None:
    from spikeattr.data.synthetic import generate_synthetic

    series = generate_synthetic(n_steps=700, n_train=600)
    config = TrainConfig(window=60, batch_size=4, epochs=1)
    run_training(config, series, None, tmp_path)
    state_path = tmp_path / "train_state.json"
    state = json.loads(state_path.read_text(encoding="utf-8"))
    del state["config"]["conv"]  # as spikeattr wrote it before convolutional networks
    state_path.write_text(json.dumps(state), encoding="utf-8")
    resumed = run_training(config.replace(epochs=2), series, None, tmp_path)
    assert (resumed.resumed_from, resumed.epochs_run) == (1, 2)
