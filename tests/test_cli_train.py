"""`spikeattr train` through typer's CliRunner (and a second process), on a tiny data file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from spikeattr.cli import app
from spikeattr.snn.checkpoint import load_model

runner = CliRunner()
TINY = ("--set", "window=100", "--set", "batch_size=4")
#: The command line in a process of its own.
SPIKEATTR = (sys.executable, "-c", "from spikeattr.cli import main; main()")


# Tiny tensors: intra-op threads only add overhead (and contention on a shared machine).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _flat(text: str) -> str:
    return " ".join(text.split())


def _invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def _json(*args: str) -> dict[str, Any]:
    result = _invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_train_writes_a_loadable_checkpoint(tiny_training_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    summary = _json(
        "train",
        "--data",
        str(tiny_training_file),
        "--hidden",
        "5",
        "--epochs",
        "2",
        "--out",
        str(out),
        *TINY,
    )
    assert summary["layer_sizes"] == [3, 5, 4] and summary["epochs_run"] == 2
    assert summary["config"]["window"] == 100 and summary["config"]["hidden"] == [5]
    model = load_model(summary["checkpoint"])
    assert model.layer_sizes == (3, 5, 4) and model.input_names == ("x0_bias", "x1", "x2")
    assert (out / "manifest.json").is_file() and (out / "history.json").is_file()
    # again with more epochs: resumes; --no-resume starts afresh
    summary = _json(
        "train",
        "--data",
        str(tiny_training_file),
        "--hidden",
        "5",
        "--epochs",
        "3",
        "--out",
        str(out),
        *TINY,
    )
    assert summary["resumed_from"] == 2 and summary["epochs_run"] == 3
    summary = _json(
        "train",
        "--data",
        str(tiny_training_file),
        "--hidden",
        "5",
        "--epochs",
        "1",
        "--out",
        str(out),
        "--no-resume",
        *TINY,
    )
    assert summary["resumed_from"] == 0 and summary["epochs_run"] == 1


def test_train_plain_text_and_precedence(tiny_training_file: Path, tmp_path: Path) -> None:
    config = tmp_path / "train.toml"
    config.write_text("lr = 0.1\nepochs = 5\nwindow = 100\nbatch_size = 4\nhidden = [3]\n")
    result = _invoke(
        "train",
        "--data",
        str(tiny_training_file),
        "--out",
        str(tmp_path / "run"),
        "--config",
        str(config),
        "--set",
        "lr=0.02",
        "--set",
        "epochs=4",
        "--epochs",
        "1",
        "--monitor",
        "val",
        "--hidden",
        "none",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    text = _flat(result.stdout)
    assert "trained [3, 4] for 1 epochs (max epochs); best epoch 1, val loss" in text
    assert f"checkpoint: {tmp_path / 'run' / 'model.json'}" in text
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["config"]["lr"] == 0.02 and manifest["config"]["epochs"] == 1
    assert manifest["config"]["monitor"] == "val" and manifest["config"]["hidden"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--set", "learning_rate=0.1"), "--set: unknown key 'learning_rate'; known keys:"),
        (("--set", "tau_mem=0"), "--set: config key 'tau_mem' must be > 0 seconds"),
        (("--set", "batch_size=many"), "'batch_size' must be an integer; got 'many'"),
        (("--hidden", "ten"), "hidden sizes must be comma-separated integers"),
        (("--monitor", "test"), "--monitor: config key 'monitor' must be 'train' or 'val'"),
        (("--set", "batch_size=64"), "batch_size 64 is larger than the number of training"),
        (("--set", "lr"), "an override must look like key=value"),
    ],
)
def test_train_refuses_bad_settings(
    tiny_training_file: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = _invoke(
        "train",
        "--data",
        str(tiny_training_file),
        "--out",
        str(tmp_path / "run"),
        "--set",
        "window=100",
        *args,
    )
    assert result.exit_code == 2, result.output
    assert message in _flat(result.output)
    assert not (tmp_path / "run").exists()  # a refused run leaves no folder behind


def test_train_refuses_missing_data_and_unwritable_out(
    tiny_training_file: Path, tmp_path: Path
) -> None:
    result = _invoke("train", "--data", str(tmp_path / "none.npz"), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2 and "does not exist" in _flat(result.output)
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = _invoke(
        "train", "--data", str(tiny_training_file), "--out", str(blocker / "run"), *TINY
    )
    assert result.exit_code == 2
    assert "cannot write to the run directory" in _flat(result.output)
    result = _invoke(
        "train",
        "--data",
        str(tiny_training_file),
        "--out",
        str(tmp_path / "r"),
        "--config",
        str(tmp_path / "missing.toml"),
    )
    assert result.exit_code == 2 and "missing.toml does not exist" in _flat(result.output)


def test_config_that_is_no_toml_file_is_one_line(tiny_training_file: Path, tmp_path: Path) -> None:
    binary = tmp_path / "model.safetensors"
    binary.write_bytes(b"\x93NUMPY\x01\x00\xff\xfe\x00")
    for config, message in (
        (tmp_path, f"{tmp_path} is a directory; expected a TOML config file"),
        (binary, f"{binary} is not a text file (not UTF-8); expected a TOML config file"),
    ):
        out = tmp_path / "run"
        result = _invoke(
            "train", "--data", str(tiny_training_file), "--out", str(out), "--config", str(config)
        )
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines() == [f"error: {message}"]
        assert not out.exists()


def test_a_second_trainer_on_one_directory_is_refused(
    tiny_training_file: Path, tmp_path: Path
) -> None:
    """Two `spikeattr train --out D` at once: the second is refused, naming the first (pid,
    command), and the first goes on undisturbed."""
    out = tmp_path / "run"
    forever = ("--epochs", "99999", "--quiet")
    first = subprocess.Popen(
        [
            *SPIKEATTR,
            "train",
            "--data",
            str(tiny_training_file),
            "--out",
            str(out),
            *forever,
            *TINY,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "history.json").is_file() or not (out / ".lock").read_text():
            assert first.poll() is None, first.communicate()[0]
            assert time.monotonic() < deadline, "the first trainer never started"
            time.sleep(0.1)
        result = _invoke("train", "--data", str(tiny_training_file), "--out", str(out), *TINY)
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert (
            len(lines) == 1 and f"{out} is in use by another run (pid {first.pid} on " in lines[0]
        )
        assert "'train'" in lines[0]
        assert first.poll() is None  # the first trainer was not disturbed
    finally:
        first.terminate()
        first.wait(timeout=60)


def test_stale_temporary_files_are_swept_by_the_next_run(
    tiny_training_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    stale = out / ".train_state.json.ab12cd.tmp"
    stale.write_text('{"half": ')
    result = _invoke(
        "train", "--data", str(tiny_training_file), "--out", str(out), "--epochs", "1", *TINY
    )
    assert result.exit_code == 0, result.output
    assert not stale.exists() and (out / "model.json").is_file()
