"""The training loop (SPEC 3) in memory: carried state, early stopping, the store hook."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch

from spikeattr.data.series import SpikeSeries
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.data.windows import IGNORE_LABEL
from spikeattr.errors import ModelDataMismatchError
from spikeattr.snn import TrainConfig, TrainResult, train
from spikeattr.snn.batching import TrainingError, arrange_batches
from spikeattr.snn.losses import series_nll
from spikeattr.snn.network import LIFNetwork
from spikeattr.snn.train_config import TrainConfigError
from spikeattr.snn.training import (
    EpochReport,
    TrainingSetup,
    TrainState,
    fit,
    prepare_training,
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


class RecordingStore:
    """A store that keeps copies of every saved state in memory and restores a given one."""

    def __init__(self, start: TrainState | None = None) -> None:
        self.start = start
        self.saved: list[tuple[TrainState, bool]] = []

    def restore(self, setup: TrainingSetup) -> TrainState | None:
        return copy.deepcopy(self.start)

    def save(self, setup: TrainingSetup, state: TrainState, improved: bool) -> None:
        self.saved.append((copy.deepcopy(state), improved))


def test_state_is_carried_across_batches_and_epochs(small_series: SpikeSeries) -> None:
    """With a negligible learning rate the weights stay put, so training must see exactly what
    running every stream as one long sequence (twice, for two epochs) from zero state gives."""
    config = _config(lr=1e-12, epochs=2, hidden=(6,), seed=5)
    initial = LIFNetwork([3, 6, 4], seed=5)
    reports: list[EpochReport] = []
    store = RecordingStore()
    result = train(config, small_series, progress=reports.append, store=store)
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
    # the store saw the state after every epoch, before the progress callback
    assert [state.epoch for state, _ in store.saved] == [1, 2]
    carried = store.saved[-1][0].carried
    assert carried is not None
    for layer, expected in enumerate(epoch2.state):
        torch.testing.assert_close(carried[layer].syn, expected.syn)
        torch.testing.assert_close(carried[layer].mem, expected.mem)


def test_training_reduces_the_loss_in_memory(small_series: SpikeSeries) -> None:
    result = train(_config(epochs=4), small_series)
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert result.stop_reason == "max epochs" and result.epochs_run == 4
    assert isinstance(result, TrainResult) and result.checkpoint is None and result.out_dir is None
    assert result.model.input_names == small_series.input_names


def test_same_seed_same_weights(small_series: SpikeSeries) -> None:
    a = train(_config(epochs=2), small_series)
    b = train(_config(epochs=2), small_series)
    c = train(_config(epochs=2, seed=1), small_series)
    assert all(torch.equal(x, y) for x, y in zip(a.model.weights, b.model.weights, strict=True))
    assert not torch.equal(a.model.weights[0], c.model.weights[0])


def test_early_stopping_after_patience_keeps_the_best_weights(small_series: SpikeSeries) -> None:
    # with a huge min_delta only epoch 1 (from an infinite best) counts as an improvement
    store = RecordingStore()
    result = train(_config(epochs=50, patience=3, min_delta=1e9), small_series, store=store)
    assert result.stop_reason == "early stopping"
    assert result.epochs_run == 1 + 3 and result.best_epoch == 1
    assert [h["improved"] for h in result.history] == [True, False, False, False]
    assert [improved for _, improved in store.saved] == [True, False, False, False]
    first_epoch = train(_config(epochs=1), small_series)
    for best, expected in zip(result.model.weights, first_epoch.model.weights, strict=True):
        assert torch.equal(best, expected)


def test_a_restored_state_continues_where_it_stopped(small_series: SpikeSeries) -> None:
    """What a store restores (weights, Adam, carried state, RNG) continues the run exactly."""
    config = _config(epochs=4, hidden=(5,))
    whole = train(config, small_series)
    setup = prepare_training(config, small_series)
    store = RecordingStore()

    class Stop(Exception):
        pass

    def stop_after_2(report: EpochReport) -> None:
        if report.epoch == 2:
            raise Stop

    with pytest.raises(Stop):
        fit(setup, progress=stop_after_2, store=store)
    saved, _ = store.saved[-1]
    # a new setup whose model and optimizer hold what a store would have loaded
    resumed_setup = prepare_training(config, small_series)
    resumed_setup.model.load_weights(setup.model.weights)
    resumed_setup.optimizer.load_state_dict(setup.optimizer.state_dict())
    resumed = fit(resumed_setup, store=RecordingStore(start=saved))
    assert resumed.resumed_from == 2 and resumed.epochs_run == 4
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in whole.history]
    for a, b in zip(resumed.model.weights, whole.model.weights, strict=True):
        assert torch.equal(a, b)


def test_validation_loss(small_series: SpikeSeries) -> None:
    config = _config(monitor="val", epochs=2)
    setup = prepare_training(config, small_series)
    assert setup.data.description == {
        "train": [0, 2440],
        "val": [2440, 3050],
        "val_source": "last 20% of 'train'",
    }
    result = fit(setup)
    assert all(h["val_loss"] is not None for h in result.history)
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
    result = train(_config(epochs=1), with_val)
    expected = series_nll(result.model, with_val.spikes[3050:], with_val.labels[3050:])
    assert result.history[0]["val_loss"] == pytest.approx(expected, rel=1e-6)


def test_training_a_given_model(small_series: SpikeSeries) -> None:
    model = LIFNetwork([3, 4], seed=2)  # default names: it takes the data's
    result = train(model, small_series, _config(epochs=1))
    assert result.model is model and model.input_names == small_series.input_names
    with pytest.raises(TrainConfigError, match="hidden: config \\(\\) vs model \\(7,\\)"):
        train(LIFNetwork([3, 7, 4]), small_series, _config())
    named = LIFNetwork([3, 4], input_names=["a", "b", "c"], class_names=list("pqrs"))
    with pytest.raises(ModelDataMismatchError):
        train(named, small_series, _config())
    with pytest.raises(TrainingError, match="the model has 5 inputs and 4 classes"):
        train(LIFNetwork([5, 4]), small_series, _config())


# -- refusals before any work ------------------------------------------------------------------
def test_refuses_a_batch_larger_than_the_number_of_windows(small_series: SpikeSeries) -> None:
    with pytest.raises(
        TrainingError,
        match=r"batch_size 32 is larger than the number of training "
        r"windows \(31 windows of 100 steps in 3050 steps\)",
    ):
        train(_config(batch_size=32), small_series, progress=_never_called)


def test_refuses_missing_split_and_unlabelled_data(small_series: SpikeSeries) -> None:
    with pytest.raises(TrainingError, match=r"no split 'fit' to train on \(it has \['test', "):
        train(_config(train_split="fit"), small_series, progress=_never_called)
    unlabelled = SpikeSeries(
        small_series.spikes,
        np.full(small_series.n_steps, -1),
        small_series.input_names,
        small_series.class_names,
        small_series.splits,
    )
    with pytest.raises(TrainingError, match="no labelled step"):
        train(_config(), unlabelled, progress=_never_called)
    with pytest.raises(TrainConfigError, match="two different TrainConfigs"):
        train(_config(), small_series, _config(lr=0.5))
