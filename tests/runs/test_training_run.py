"""A training run in a directory: checkpoint, history, manifest, resume, lock, temp sweep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from spikeattr._io import RunLock
from spikeattr.data.series import SpikeSeries
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.errors import RunLockedError, RunStateError, SpikeAttrError
from spikeattr.runs.training import run_training
from spikeattr.snn import TrainConfig, train
from spikeattr.snn.batching import TrainingError
from spikeattr.snn.checkpoint import load_model
from spikeattr.snn.training import EpochReport

# Tiny tensors: intra-op threads only add overhead (and contention on a shared machine).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def small_series() -> SpikeSeries:
    """3 050 training steps (31 windows of 100) and 950 test steps."""
    return generate_synthetic(n_steps=4_000, n_train=3_050)


def _config(**changes: Any) -> TrainConfig:
    base: dict[str, Any] = {"window": 100, "batch_size": 4, "epochs": 3, "lr": 0.05}
    return TrainConfig(**{**base, **changes})


def _never_called(report: EpochReport) -> None:
    raise AssertionError("training started although the run should have been refused")


def test_run_writes_checkpoint_history_state_and_manifest(
    small_series: SpikeSeries, tmp_path: Path
) -> None:
    result = run_training(_config(epochs=3, hidden=(4,)), small_series, None, tmp_path)
    in_memory = train(_config(epochs=3, hidden=(4,)), small_series)
    assert [h["train_loss"] for h in result.history] == [h["train_loss"] for h in in_memory.history]
    assert result.checkpoint == tmp_path / "model.json" and result.out_dir == tmp_path
    loaded = load_model(result.checkpoint)
    assert loaded.input_names == small_series.input_names
    assert all(torch.equal(a, b) for a, b in zip(loaded.weights, result.model.weights, strict=True))
    assert json.loads((tmp_path / "history.json").read_text()) == result.history
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["command"] == "train" and manifest["seed"] == 0
    assert manifest["config"]["window"] == 100
    assert manifest["data_checksums"]["X_sha256"] == small_series.checksums()["X_sha256"]
    assert manifest["results"]["best_epoch"] == result.best_epoch
    assert "torch" in manifest["versions"]
    state = json.loads((tmp_path / "train_state.json").read_text())
    assert state["epoch"] == 3 and (tmp_path / state["tensors_file"]).is_file()
    assert set(load_file(str(tmp_path / state["tensors_file"]))) >= {"weight.0", "carry.1.mem"}
    assert sorted(p.name for p in tmp_path.glob(".*")) == [".lock"]  # no temporary file left


class _Interrupt(Exception):
    pass


def test_resume_after_an_interruption_gives_the_same_weights(
    small_series: SpikeSeries, tmp_path: Path
) -> None:
    config = _config(epochs=4, hidden=(5,))
    whole = run_training(config, small_series, None, tmp_path / "whole")

    def interrupt_at_2(report: EpochReport) -> None:
        if report.epoch == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        run_training(config, small_series, None, tmp_path / "split", progress=interrupt_at_2)
    resumed = run_training(config, small_series, None, tmp_path / "split")
    assert resumed.resumed_from == 2 and resumed.epochs_run == 4
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in whole.history]
    for a, b in zip(resumed.model.weights, whole.model.weights, strict=True):
        assert torch.equal(a, b)
    assert len(list((tmp_path / "split").glob("train_state-e*.safetensors"))) == 1
    # a finished run resumes to the same result without training; more epochs continue it
    again = run_training(config, small_series, None, tmp_path / "split", progress=_never_called)
    assert again.epochs_run == 4 and torch.equal(again.model.weights[0], whole.model.weights[0])
    longer = run_training(config.replace(epochs=5), small_series, None, tmp_path / "split")
    assert longer.resumed_from == 4 and longer.epochs_run == 5
    # another configuration in the same directory is refused unless resume=False
    with pytest.raises(RunStateError, match=r"another configuration \(lr: 0.05 -> 0.1\)"):
        run_training(config.replace(lr=0.1), small_series, None, tmp_path / "split")
    fresh = run_training(
        config.replace(lr=0.1), small_series, None, tmp_path / "split", resume=False
    )
    assert fresh.resumed_from == 0 and fresh.epochs_run == 4


def test_garbage_state_on_resume_is_one_error_naming_the_file(
    small_series: SpikeSeries, tmp_path: Path
) -> None:
    run_training(_config(epochs=1), small_series, None, tmp_path)
    state = tmp_path / "train_state.json"
    state.write_text('{"format": "spikeattr-train-st')
    with pytest.raises(RunStateError) as info:
        run_training(_config(epochs=2), small_series, None, tmp_path, progress=_never_called)
    message = str(info.value)
    assert f"{state} is not valid JSON" in message and "\n" not in message
    state.write_text(json.dumps({"format": "spikeattr-train-state", "format_version": 1}))
    with pytest.raises(RunStateError, match=r"train_state\.json is incomplete or inconsistent"):
        run_training(_config(epochs=2), small_series, None, tmp_path, progress=_never_called)


def test_a_second_writer_is_refused_naming_the_holder(
    small_series: SpikeSeries, tmp_path: Path
) -> None:
    with RunLock(tmp_path / "run", "train (the first one)"):
        with pytest.raises(RunLockedError, match=r"in use by another run \(pid \d+ on .*'train"):
            run_training(_config(), small_series, None, tmp_path / "run", progress=_never_called)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [".lock"]


def test_temporary_files_of_a_killed_run_are_swept(
    small_series: SpikeSeries, tmp_path: Path
) -> None:
    leftovers = [tmp_path / ".model.json.k1ll3d.tmp", tmp_path / ".train_state.json.x.tmp"]
    for path in leftovers:
        path.write_text("half a file")
    (tmp_path / "notes.tmp").write_text("not ours: kept")
    run_training(_config(epochs=1), small_series, None, tmp_path)
    assert not any(path.exists() for path in leftovers)
    assert (tmp_path / "notes.tmp").is_file()


def test_refused_runs_leave_no_directory(small_series: SpikeSeries, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="batch_size 32 is larger than the number of training"):
        run_training(_config(batch_size=32), small_series, None, tmp_path / "a")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(SpikeAttrError, match="cannot write to the run directory"):
        run_training(_config(), small_series, None, blocker / "run", progress=_never_called)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
