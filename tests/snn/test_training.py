"""Training (SPEC 3): config checks, batch arrangement, carried state, early stopping, resume."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from spikeattr.data.series import SpikeSeries
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.data.windows import IGNORE_LABEL, training_windows
from spikeattr.errors import ModelDataMismatchError, SpikeAttrError
from spikeattr.snn.checkpoint import load_model
from spikeattr.snn.network import LIFNetwork
from spikeattr.snn.training import (
    EpochReport,
    TrainConfig,
    TrainConfigError,
    TrainingError,
    arrange_batches,
    batch_window_indices,
    parse_override,
    series_nll,
    train,
)

# Tiny tensors: intra-op threads only add overhead (and contention on a shared machine).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


WINDOW = 100


@pytest.fixture(scope="module")
def small_series() -> SpikeSeries:
    """3 050 training steps (31 windows of 100, the last one padded) with an unlabelled stretch,
    and 950 test steps, cut from the synthetic generator."""
    series = generate_synthetic(n_steps=4_000, n_train=3_050)
    labels = series.labels.copy()
    labels[400:450] = -1  # unlabelled steps must be ignored like padding
    return SpikeSeries(
        series.spikes, labels, series.input_names, series.class_names, series.splits, series.meta
    )


def _config(**changes: Any) -> TrainConfig:
    base: dict[str, Any] = {"window": WINDOW, "batch_size": 4, "epochs": 3, "lr": 0.05}
    return TrainConfig(**{**base, **changes})


def _never_called(report: EpochReport) -> None:
    raise AssertionError("training started although the input should have been refused")


# -- configuration -----------------------------------------------------------------------------
def test_defaults_are_the_paper_protocol() -> None:
    config = TrainConfig()
    assert (config.dt, config.tau_syn, config.tau_mem) == (1e-3, 1e-2, 1e-3)
    assert (config.lr, config.batch_size, config.window, config.patience) == (1e-2, 128, 900, 20)
    assert config.monitor == "train" and config.hidden == ()
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert config.replace(hidden=[10]).layer_sizes(3, 4) == [3, 10, 4]


@pytest.mark.parametrize(
    ("values", "pattern"),
    [
        (
            {"learning_rate": 0.1},
            r"unknown config key\(s\) \['learning_rate'\]; valid keys: hidden",
        ),
        ({"lr": "0.01"}, r"'lr' must be a number; got '0.01' \(str\)"),
        ({"lr": 0}, r"'lr' must be > 0"),
        ({"lr": math.nan}, r"'lr' must be finite"),
        ({"batch_size": 12.0}, r"'batch_size' must be an integer; got 12.0 \(float\)"),
        ({"batch_size": True}, r"'batch_size' must be an integer"),
        ({"batch_size": 0}, r"'batch_size' must be >= 1"),
        ({"epochs": 0}, r"'epochs' must be >= 1"),
        ({"patience": 0}, r"'patience' must be >= 1"),
        ({"tau_syn": 0.0}, r"'tau_syn' must be > 0 seconds; got 0.0"),
        ({"tau_mem": -1e-3}, r"'tau_mem' must be > 0 seconds"),
        ({"dt": 0}, r"'dt' must be > 0 seconds"),
        ({"monitor": "test"}, r"'monitor' must be 'train' or 'val'; got 'test'"),
        ({"hidden": "10"}, r"'hidden' must be a list of layer sizes"),
        ({"hidden": [10, 0]}, r"'hidden' sizes must be >= 1"),
        ({"hidden": [2.5]}, r"'hidden' must list integers"),
        ({"val_fraction": 1.0}, r"'val_fraction' must lie strictly between 0 and 1"),
    ],
)
def test_config_refuses_bad_values_naming_the_key(values: dict[str, Any], pattern: str) -> None:
    with pytest.raises(TrainConfigError, match=pattern) as info:
        TrainConfig.from_dict(values, source="my.toml")
    assert str(info.value).startswith("my.toml: ")
    assert isinstance(info.value, SpikeAttrError)


def test_config_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    path.write_text('hidden = [10]\nlr = 0.005\nmonitor = "val"\nbatch_size = 64\n')
    config = TrainConfig.from_toml(path, overrides={"epochs": 7})
    assert (config.hidden, config.lr, config.monitor, config.batch_size) == (
        (10,),
        0.005,
        "val",
        64,
    )
    assert config.epochs == 7
    path.write_text("hidden = [10]\nlearnrate = 1\n")
    with pytest.raises(
        TrainConfigError, match=r"train.toml: unknown config key\(s\) \['learnrate'\]"
    ):
        TrainConfig.from_toml(path)
    path.write_text("hidden = [10\n")
    with pytest.raises(TrainConfigError, match="is not valid TOML"):
        TrainConfig.from_toml(path)
    with pytest.raises(TrainConfigError, match="does not exist"):
        TrainConfig.from_toml(tmp_path / "missing.toml")


def test_parse_override() -> None:
    assert parse_override("lr=1e-3") == ("lr", 1e-3)
    assert parse_override("hidden = [50, 25]") == ("hidden", [50, 25])
    assert parse_override("monitor=val") == ("monitor", "val")
    assert parse_override('monitor="train"') == ("monitor", "train")
    with pytest.raises(TrainConfigError, match="key=value"):
        parse_override("lr")


# -- batches -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("n_windows", "batch_size"), [(7, 3), (700, 128), (12, 4), (5, 5), (9, 1)])
def test_batches_hold_consecutive_windows_of_each_stream(n_windows: int, batch_size: int) -> None:
    index = batch_window_indices(n_windows, batch_size)
    assert index.shape == (-(-n_windows // batch_size), batch_size)
    real = index[index >= 0]
    assert sorted(real.tolist()) == list(range(n_windows))  # every window exactly once
    lengths = (index >= 0).sum(0)
    assert lengths.max() - lengths.min() <= 1
    for stream in range(batch_size):
        column = index[:, stream]
        windows = column[column >= 0]
        # consecutive windows of the series in consecutive batches, padding only at the end
        assert np.array_equal(windows, np.arange(windows[0], windows[0] + windows.size))
        assert (column[windows.size :] == -1).all()
    starts = index[0]
    assert np.array_equal(starts[1:], starts[:-1] + lengths[:-1])  # streams tile the series


def test_batch_window_indices_refuses_too_few_windows() -> None:
    with pytest.raises(TrainingError, match="batch size 8 needs at least 8 windows; there are 5"):
        batch_window_indices(5, 8)


def test_arrange_batches_places_windows_and_ignores_padding(small_series: SpikeSeries) -> None:
    part = small_series.split("train")
    batches = arrange_batches(part.spikes, part.labels, WINDOW, 4)
    windows = training_windows(part.spikes, part.labels, WINDOW)
    assert batches.spikes.shape == (8, 4, WINDOW, 3) and batches.labels.shape == (8, 4, WINDOW)
    for k in range(batches.n_batches):
        for i in range(4):
            w = batches.window_index[k, i]
            if w < 0:
                assert not batches.spikes[k, i].any()
                assert (batches.labels[k, i] == IGNORE_LABEL).all()
            else:
                assert np.array_equal(batches.spikes[k, i], windows.spikes[w])
                expected = np.where(windows.labels[w] < 0, IGNORE_LABEL, windows.labels[w])
                assert np.array_equal(batches.labels[k, i], expected)
    labels = batches.labels[batches.window_index >= 0]
    assert (labels == IGNORE_LABEL).sum() == 50 + 50  # the unlabelled stretch and the padding
    assert labels.min() == IGNORE_LABEL and set(np.unique(labels)) <= {IGNORE_LABEL, 0, 1, 2, 3}


# -- the protocol ------------------------------------------------------------------------------
def test_state_is_carried_across_batches_and_epochs(
    small_series: SpikeSeries, tmp_path: Path
) -> None:
    """With a negligible learning rate the weights stay put, so training must see exactly what
    running every stream as one long sequence (twice, for two epochs) from zero state gives."""
    config = _config(lr=1e-12, epochs=2, hidden=(6,), seed=5)
    initial = LIFNetwork([3, 6, 4], seed=5)
    reports: list[EpochReport] = []
    result = train(config, small_series, None, tmp_path, progress=reports.append)
    assert all(
        torch.equal(a, b) for a, b in zip(result.model.weights, initial.weights, strict=True)
    )

    part = small_series.split("train")
    batches = arrange_batches(part.spikes, part.labels, WINDOW, 4)
    # each stream, padding included, as one sequence: [streams, n_batches * window, 3]
    streams = torch.from_numpy(batches.spikes.transpose(1, 0, 2, 3).reshape(4, -1, 3)).float()
    labels = batches.labels.transpose(1, 0, 2).reshape(-1)
    with torch.no_grad():
        epoch1 = initial(streams)
        epoch2 = initial(streams, epoch1.state)
    for epoch, run in ((0, epoch1), (1, epoch2)):
        nll = torch.nn.functional.nll_loss(
            run.log_probs.reshape(-1, 4), torch.from_numpy(labels), ignore_index=IGNORE_LABEL
        )
        assert reports[epoch].train_loss == pytest.approx(float(nll), rel=1e-5)
    state = json.loads((tmp_path / "train_state.json").read_text())
    tensors = load_file(str(tmp_path / state["tensors_file"]))
    for layer, expected in enumerate(epoch2.state):
        torch.testing.assert_close(tensors[f"carry.{layer}.syn"], expected.syn)
        torch.testing.assert_close(tensors[f"carry.{layer}.mem"], expected.mem)


def test_training_reduces_the_loss_and_writes_a_loadable_checkpoint(
    small_series: SpikeSeries, tmp_path: Path
) -> None:
    result = train(_config(epochs=4), small_series, None, tmp_path)
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert result.stop_reason == "max epochs" and result.epochs_run == 4
    loaded = load_model(result.checkpoint)
    assert loaded.input_names == small_series.input_names
    assert loaded.class_names == small_series.class_names
    assert all(torch.equal(a, b) for a, b in zip(loaded.weights, result.model.weights, strict=True))
    assert json.loads((tmp_path / "history.json").read_text()) == result.history
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["command"] == "train" and manifest["seed"] == 0
    assert manifest["config"]["window"] == WINDOW
    assert manifest["data_checksums"]["X_sha256"] == small_series.checksums()["X_sha256"]
    assert manifest["results"]["best_epoch"] == result.best_epoch
    assert "torch" in manifest["versions"]


def test_same_seed_same_weights(small_series: SpikeSeries, tmp_path: Path) -> None:
    a = train(_config(epochs=2), small_series, None, tmp_path / "a")
    b = train(_config(epochs=2), small_series, None, tmp_path / "b")
    c = train(_config(epochs=2, seed=1), small_series, None, tmp_path / "c")
    assert all(torch.equal(x, y) for x, y in zip(a.model.weights, b.model.weights, strict=True))
    assert not torch.equal(a.model.weights[0], c.model.weights[0])


def test_early_stopping_after_patience_keeps_the_best_weights(
    small_series: SpikeSeries, tmp_path: Path
) -> None:
    # with a huge min_delta only epoch 1 (from an infinite best) counts as an improvement
    config = _config(epochs=50, patience=3, min_delta=1e9)
    result = train(config, small_series, None, tmp_path / "stopped")
    assert result.stop_reason == "early stopping"
    assert result.epochs_run == 1 + 3 and result.best_epoch == 1
    assert [h["improved"] for h in result.history] == [True, False, False, False]
    first_epoch = train(_config(epochs=1), small_series, None, tmp_path / "one")
    for best, expected in zip(result.model.weights, first_epoch.model.weights, strict=True):
        assert torch.equal(best, expected)
    on_disk = load_model(result.checkpoint)
    assert all(
        torch.equal(a, b) for a, b in zip(on_disk.weights, result.model.weights, strict=True)
    )


def test_early_stopping_on_validation_loss(small_series: SpikeSeries, tmp_path: Path) -> None:
    result = train(_config(monitor="val", epochs=2), small_series, None, tmp_path)
    assert all(h["val_loss"] is not None for h in result.history)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    ranges = manifest["data_checksums"]["ranges"]
    assert ranges == {"train": [0, 2440], "val": [2440, 3050], "val_source": "last 20% of 'train'"}
    part = small_series.split("train")
    expected = series_nll(result.model, part.spikes[2440:], part.labels[2440:])
    assert result.best_loss == pytest.approx(expected, rel=1e-6)
    # a series with its own 'val' split validates on it, also when monitoring the training loss
    with_val = SpikeSeries(
        small_series.spikes,
        small_series.labels,
        small_series.input_names,
        small_series.class_names,
        {"train": (0, 3050), "val": (3050, 4000)},
    )
    result = train(_config(epochs=1), with_val, None, tmp_path / "val_split")
    expected = series_nll(result.model, with_val.spikes[3050:], with_val.labels[3050:])
    assert result.history[0]["val_loss"] == pytest.approx(expected, rel=1e-6)


class _Interrupt(Exception):
    pass


def test_resume_after_an_interruption_gives_the_same_weights(
    small_series: SpikeSeries, tmp_path: Path
) -> None:
    config = _config(epochs=4, hidden=(5,))
    whole = train(config, small_series, None, tmp_path / "whole")

    def interrupt_at_2(report: EpochReport) -> None:
        if report.epoch == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train(config, small_series, None, tmp_path / "split", progress=interrupt_at_2)
    resumed = train(config, small_series, None, tmp_path / "split")
    assert resumed.resumed_from == 2 and resumed.epochs_run == 4
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in whole.history]
    for a, b in zip(resumed.model.weights, whole.model.weights, strict=True):
        assert torch.equal(a, b)
    assert len(list((tmp_path / "split").glob("train_state-e*.safetensors"))) == 1
    # a finished run resumes to the same result without training; more epochs continue it
    again = train(config, small_series, None, tmp_path / "split", progress=_never_called)
    assert again.epochs_run == 4 and torch.equal(again.model.weights[0], whole.model.weights[0])
    longer = train(config.replace(epochs=5), small_series, None, tmp_path / "split")
    assert longer.resumed_from == 4 and longer.epochs_run == 5
    # another configuration in the same directory is refused unless resume=False
    with pytest.raises(TrainingError, match=r"another configuration \(lr: 0.05 -> 0.1\)"):
        train(config.replace(lr=0.1), small_series, None, tmp_path / "split")
    fresh = train(config.replace(lr=0.1), small_series, None, tmp_path / "split", resume=False)
    assert fresh.resumed_from == 0 and fresh.epochs_run == 4


def test_training_a_given_model(small_series: SpikeSeries, tmp_path: Path) -> None:
    model = LIFNetwork([3, 4], seed=2)  # default names: it takes the data's
    result = train(model, small_series, _config(epochs=1), tmp_path)
    assert result.model is model and model.input_names == small_series.input_names
    with pytest.raises(TrainConfigError, match="hidden: config \\(\\) vs model \\(7,\\)"):
        train(LIFNetwork([3, 7, 4]), small_series, _config(), tmp_path / "x")
    named = LIFNetwork([3, 4], input_names=["a", "b", "c"], class_names=list("pqrs"))
    with pytest.raises(ModelDataMismatchError):
        train(named, small_series, _config(), tmp_path / "y")
    with pytest.raises(TrainingError, match="the model has 5 inputs and 4 classes"):
        train(LIFNetwork([5, 4]), small_series, _config(), tmp_path / "z")


# -- refusals before any work ------------------------------------------------------------------
def test_refuses_a_batch_larger_than_the_number_of_windows(
    small_series: SpikeSeries, tmp_path: Path
) -> None:
    with pytest.raises(
        TrainingError,
        match=r"batch_size 32 is larger than the number of training "
        r"windows \(31 windows of 100 steps in 3050 steps\)",
    ):
        train(_config(batch_size=32), small_series, None, tmp_path / "run", progress=_never_called)
    assert not (tmp_path / "run").exists()


def test_refuses_an_unwritable_output_directory(small_series: SpikeSeries, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(TrainingError, match="cannot write to the output directory"):
        train(_config(), small_series, None, blocker / "run", progress=_never_called)


def test_refuses_missing_split_and_unlabelled_data(
    small_series: SpikeSeries, tmp_path: Path
) -> None:
    with pytest.raises(TrainingError, match=r"no split 'fit' to train on \(it has \['test', "):
        train(_config(train_split="fit"), small_series, None, tmp_path, progress=_never_called)
    unlabelled = SpikeSeries(
        small_series.spikes,
        np.full(small_series.n_steps, -1),
        small_series.input_names,
        small_series.class_names,
        small_series.splits,
    )
    with pytest.raises(TrainingError, match="no labelled step"):
        train(_config(), unlabelled, None, tmp_path, progress=_never_called)
    with pytest.raises(TrainConfigError, match="two different TrainConfigs"):
        train(_config(), small_series, _config(lr=0.5), tmp_path)
    assert not any(tmp_path.iterdir())
