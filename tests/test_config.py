"""The one configuration mechanism: TOML files, --set overrides, layering with type checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from spikeattr.config import ConfigError, apply_layers, parse_override, parse_value, read_toml

DEFAULTS = {"run": {"seed": 0, "report": True}, "evaluate": {"methods": ["s"], "lr": 0.1}}


def test_read_toml_refuses_what_is_no_toml_file_in_one_line(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[run]\nseed = 3\n")
    assert read_toml(good) == {"run": {"seed": 3}}
    binary = tmp_path / "weights.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    invalid = tmp_path / "bad.toml"
    invalid.write_text("[run\nseed = 3\n")
    cases = {
        tmp_path / "missing.toml": "missing.toml does not exist; expected a TOML config file",
        tmp_path: "is a directory; expected a TOML config file",
        binary: "weights.bin is not a text file (not UTF-8); expected a TOML config file",
        invalid: "bad.toml is not valid TOML: ",
    }
    for path, message in cases.items():
        with pytest.raises(ConfigError) as info:
            read_toml(path)
        assert message in str(info.value) and "\n" not in str(info.value)


def test_overrides_read_toml_literals_and_bare_words() -> None:
    assert parse_value("5") == 5 and parse_value("1e-3") == 1e-3
    assert parse_value("true") is True and parse_value('["s", "ns"]') == ["s", "ns"]
    assert parse_value("paper") == "paper" and parse_value('"5"') == "5"
    assert parse_override(" evaluate.window = 5 ") == ("evaluate.window", 5)
    assert parse_override("x=a=b") == ("x", "a=b")
    for text in ("window", "=5"):
        with pytest.raises(ConfigError, match="key=value"):
            parse_override(text)


def test_apply_layers_later_wins_and_checks_types() -> None:
    config = apply_layers(
        DEFAULTS,
        [("a.toml", {"run": {"seed": 2}}), ("--set", {"run.seed": 5, "evaluate.lr": 1})],
    )
    assert config == {"run": {"seed": 5, "report": True}, "evaluate": {"methods": ["s"], "lr": 1.0}}
    assert DEFAULTS["run"]["seed"] == 0  # the defaults are not modified
    cases = [
        ({"run.seed": "5"}, "--set: run.seed must be an integer; got '5'"),
        ({"run.report": 1}, "--set: run.report must be true or false"),
        ({"evaluate.methods": ["s", 3]}, "--set: evaluate.methods must be a list of strings"),
        ({"evaluate.lr": float("nan")}, "--set: evaluate.lr must be finite"),
        ({"run.bogus": 1}, "--set: unknown key 'run.bogus'; [run] knows seed, report"),
        ({"nosection.x": 1}, "--set: unknown section [nosection]; known sections: run, evaluate"),
        ({"seed": 1}, "unknown section [seed] (an override is section.key=value)"),
        ({"run": 1}, "--set: [run] must be a table of settings"),
    ]
    for layer, message in cases:
        with pytest.raises(ConfigError) as info:
            apply_layers(DEFAULTS, [("--set", layer)])
        assert message in str(info.value), str(info.value)


def test_flat_defaults_and_no_check() -> None:
    assert apply_layers({"lr": 0.1}, [("x", {"lr": "anything"})], check=None) == {"lr": "anything"}
    with pytest.raises(ConfigError, match="x: unknown key 'lrate'; known keys: lr"):
        apply_layers({"lr": 0.1}, [("x", {"lrate": 1})])
