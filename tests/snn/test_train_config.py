"""TrainConfig: the paper's defaults, one check per setting, TOML files and --set overrides."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from spikeattr.errors import SpikeAttrError
from spikeattr.snn.train_config import TrainConfig, TrainConfigError, build_config, parse_hidden


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
    assert TrainConfig.from_toml(_written(tmp_path, config.to_toml())) == config  # round trip
    path.write_text("hidden = [10]\nlearnrate = 1\n")
    with pytest.raises(TrainConfigError, match=r"train.toml: unknown key 'learnrate'; known"):
        TrainConfig.from_toml(path)
    path.write_text("batch_size = 1.5\n")
    with pytest.raises(TrainConfigError, match=r"train.toml: config key 'batch_size' must be an"):
        TrainConfig.from_toml(path)
    path.write_text("hidden = [10\n")
    with pytest.raises(TrainConfigError, match="is not valid TOML"):
        TrainConfig.from_toml(path)
    with pytest.raises(TrainConfigError, match="does not exist"):
        TrainConfig.from_toml(tmp_path / "missing.toml")


def _written(folder: Path, text: str) -> Path:
    path = folder / "again.toml"
    path.write_text(text)
    return path


def test_build_config_layers_and_names_the_source(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    path.write_text("lr = 0.1\nepochs = 5\nhidden = [3]\n")
    config = build_config(path, ["lr=0.02", "epochs=4"], epochs=1, monitor=None)
    # file < --set < options; None options are skipped
    assert (config.lr, config.epochs, config.hidden, config.monitor) == (0.02, 1, (3,), "train")
    with pytest.raises(TrainConfigError, match=r"^--set: config key 'lr' must be > 0; got 0.0$"):
        build_config(path, ["lr=0"])
    with pytest.raises(TrainConfigError, match=r"^--monitor: config key 'monitor' must be"):
        build_config(None, (), monitor="test")
    with pytest.raises(TrainConfigError, match=r"^--set: unknown key 'learning_rate'"):
        build_config(None, ["learning_rate=1"])
    with pytest.raises(TrainConfigError, match="an override must look like key=value"):
        build_config(None, ["lr"])


def test_parse_hidden() -> None:
    assert parse_hidden("10") == [10] and parse_hidden("50, 25") == [50, 25]
    assert parse_hidden("none") == [] and parse_hidden("[]") == []
    with pytest.raises(TrainConfigError, match="comma-separated integers"):
        parse_hidden("ten")
