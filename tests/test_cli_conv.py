"""The command line with convolutional networks: event data, training, evaluation, explanation
files of shaped inputs and their frame figure; dense-only commands refuse them in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.data.events import EVENTS_SHA256, generate_events
from spikeattr.data.synthetic import generate_synthetic
from spikeattr.explain.files import Explanations
from spikeattr.snn import ConvLIFNetwork, load_network

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("one_torch_thread")
TINY = ("--set", "window=60", "--set", "batch_size=4", "--set", "tau_mem=0.02")


def _invoke(*args: str) -> Any:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def frames_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("conv_cli") / "frames.npz"
    series = generate_events(seed=2, grid=8, splits={"train": 600, "test": 120}, noise=0.02).series
    series.save(path)
    return path


@pytest.fixture(scope="module")
def trained(frames_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("conv_run")
    result = _invoke(
        "train",
        "--data",
        frames_file,
        "--conv",
        "conv 4 3 stride=2; lif",
        "--epochs",
        "2",
        *TINY,
        "--out",
        out,
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["layer_sizes"] == [128, 36, 10] and summary["epochs_run"] == 2
    assert summary["config"]["conv"] == ["conv 4 3 stride=2", "lif"]
    return out / "model.json"


def test_data_events_writes_the_default_task(tmp_path: Path) -> None:
    result = _invoke("data", "events", "--out", tmp_path / "events.npz", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["input_shape"] == [2, 34, 34]
    assert {k: summary[k] for k in EVENTS_SHA256} == EVENTS_SHA256


def test_a_trained_convolutional_checkpoint_evaluates_and_explains(
    trained: Path, frames_file: Path, tmp_path: Path
) -> None:
    assert isinstance(load_network(trained), ConvLIFNetwork)
    result = _invoke("model", "evaluate", "--model", trained, "--data", frames_file, "--json")
    assert result.exit_code == 0, result.output
    assert 0 <= json.loads(result.stdout)["balanced_accuracy"] <= 1
    explained = tmp_path / "e.npz"
    result = _invoke(
        "explain",
        "--model",
        trained,
        "--data",
        frames_file,
        "--split",
        "test",
        "--stamp",
        "60",
        "--stamp",
        "30",
        "--variant",
        "ns",
        "--window",
        "40",
        "--out",
        explained,
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    explanations = Explanations.load(explained)
    assert explanations.input_shape == (2, 8, 8)
    assert explanations.attribution.shape == (2, 10, 128, 40)
    figure = tmp_path / "frames.png"
    result = _invoke("plot", "explanation", explained, "--stamp", "30", "--out", figure)
    assert result.exit_code == 0, result.output
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("conv", "message"),
    [
        ("conv 4 9; lif", "'conv' does not fit inputs of shape [2, 8, 8]"),
        ("pool 2", "must start with one of"),
    ],
)
def test_bad_convolutional_layers_exit_2_in_one_line(
    frames_file: Path, tmp_path: Path, conv: str, message: str
) -> None:
    result = _invoke("train", "--data", frames_file, "--conv", conv, *TINY, "--out", tmp_path / "r")
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # none uncaught
    assert result.exit_code == 2 and message in " ".join(result.output.split())
    assert not (tmp_path / "r").exists()


def test_convolutions_on_flat_inputs_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "flat.npz"
    generate_synthetic(n_steps=700, n_train=600).save(data)
    result = _invoke(
        "train", "--data", data, "--conv", "conv 4 3; lif", *TINY, "--out", tmp_path / "r"
    )
    assert result.exit_code == 2, result.output
    assert "needs data whose inputs have a shape" in " ".join(result.output.split())


def test_the_live_stream_refuses_a_convolutional_model(trained: Path) -> None:
    result = _invoke("stream", "--model", trained, "--input", "-")
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # none uncaught
    assert result.exit_code == 2, result.output
    assert "holds a convolutional network" in " ".join(result.output.split())
